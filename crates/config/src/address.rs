//! Prefixes for `altnet`, `whitelist`, `blacklist` and `ssmrange`.
//!
//! igmpproxy (`parseSubnetAddress` in `src/config.c`, docs/igmpproxy-differences.md §3.6) splits the token at `/`,
//! reads the address with `inet_addr` and the length with `atoi`. mrproxy accepts everything that
//! reads, with the same value, and warns where igmpproxy's reading is surprising:
//!
//! - legacy `inet_addr` forms (`10.1`, `0x0a.0.0.1`, octal `010.0.0.1` = 8.0.0.1) are accepted;
//! - `255.255.255.255` is rejected, because `inet_addr` returns it as its error value;
//! - a length that is not a number (`/abc`) is atoi's 0, so the prefix becomes /0;
//! - host bits are masked off (igmpproxy kept them and then matched nothing, defect D28).
//!
//! IPv6 prefixes are an mrproxy extension and read strictly.

use crate::diag::{Source, show};
use crate::lexer::Token;
use crate::model::{ConfigError, Diagnostic};
use crate::values::{legacy_integer, strict_integer};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr};

/// How forgiving to be with IPv4 spellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spelling {
    /// igmpproxy keywords: whatever igmpproxy reads, read the same way (with warnings).
    Igmpproxy,
    /// mrproxy extensions: dotted quads and numeric lengths only.
    Strict,
}

/// Reads the prefix argument `token` of `keyword`.
pub(crate) fn prefix(
    src: &Source<'_>,
    keyword: &str,
    token: &Token<'_>,
    spelling: Spelling,
    warnings: &mut Vec<Diagnostic>,
) -> Result<IpNet, ConfigError> {
    let text = token.text;
    let expected = || {
        src.error(
            token,
            format!(
                "expected a prefix like 192.0.2.0/24 or 2001:db8::/32 after '{keyword}', found '{}'",
                show(text)
            ),
        )
    };
    let (address, length) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    if address.contains(':') {
        let address: Ipv6Addr = address.parse().map_err(|_| expected())?;
        let length = match length {
            None => 128,
            Some(l) => strict_integer(l)
                .and_then(|l| u8::try_from(l).ok())
                .filter(|&l| l <= 128)
                .ok_or_else(|| length_error(src, token, l, 128))?,
        };
        let net = Ipv6Net::new(address, length).map_err(|_| expected())?;
        return Ok(masked(src, token, IpNet::V6(net), warnings));
    }

    let address =
        ipv4_address(src, keyword, token, address, spelling, warnings)?.ok_or_else(expected)?;
    let length = match (length, spelling) {
        (None, _) => 32,
        (Some(l), Spelling::Strict) => strict_integer(l)
            .and_then(|l| u8::try_from(l).ok())
            .filter(|&l| l <= 32)
            .ok_or_else(|| length_error(src, token, l, 32))?,
        (Some(l), Spelling::Igmpproxy) => igmpproxy_length(src, token, l, warnings)?,
    };
    let net = Ipv4Net::new(address, length).map_err(|_| expected())?;
    Ok(masked(src, token, IpNet::V4(net), warnings))
}

/// The length after `/` as igmpproxy reads it: strtok skips further slashes, atoi reads the rest.
fn igmpproxy_length(
    src: &Source<'_>,
    token: &Token<'_>,
    text: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Result<u8, ConfigError> {
    let trimmed = text.trim_start_matches('/');
    if trimmed.is_empty() {
        // `10.0.0.0/`: strtok finds no second field, so igmpproxy uses the full /32.
        warnings.push(src.warning(
            token,
            format!(
                "'{}' has nothing after '/'; read as /32, as igmpproxy does",
                show(token.text)
            ),
        ));
        return Ok(32);
    }
    let n = legacy_integer(trimmed);
    let length = n.as_igmpproxy_reads_it();
    let length = u8::try_from(length)
        .ok()
        .filter(|&l| l <= 32)
        .ok_or_else(|| length_error(src, token, text, 32))?;
    if !n.clean || trimmed.len() != text.len() {
        warnings.push(src.warning(
            token,
            format!(
                "prefix length '{}' is not a number; read as /{length}, as igmpproxy does",
                show(text)
            ),
        ));
    }
    Ok(length)
}

fn length_error(src: &Source<'_>, token: &Token<'_>, length: &str, max: u8) -> ConfigError {
    src.error(
        token,
        format!(
            "prefix length must be a number from 0 to {max}, found '{}'",
            show(length)
        ),
    )
}

/// Returns `None` when the text is no IPv4 address at all (the caller reports what was expected).
fn ipv4_address(
    src: &Source<'_>,
    keyword: &str,
    token: &Token<'_>,
    text: &str,
    spelling: Spelling,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Option<Ipv4Addr>, ConfigError> {
    let (address, legacy) = match text.parse::<Ipv4Addr>() {
        Ok(a) => (a, false),
        Err(_) if spelling == Spelling::Igmpproxy => match inet_aton(text) {
            Some(a) => (a, true),
            None => return Ok(None),
        },
        Err(_) => return Ok(None),
    };
    if address == Ipv4Addr::BROADCAST {
        // inet_addr cannot tell this address from its error value INADDR_NONE.
        let subject = if text == "255.255.255.255" {
            text.to_owned()
        } else {
            format!("'{}' is 255.255.255.255, which", show(text))
        };
        return Err(src.error(
            token,
            format!(
                "{subject} cannot follow '{keyword}': igmpproxy's inet_addr reads it as an error"
            ),
        ));
    }
    if legacy {
        warnings.push(src.warning(
            token,
            format!(
                "'{}' is a legacy inet_addr spelling of {address}; write it as {address}",
                show(text)
            ),
        ));
    }
    Ok(Some(address))
}

/// Host bits are cleared (defect D28: igmpproxy kept them and the prefix matched nothing).
fn masked(
    src: &Source<'_>,
    token: &Token<'_>,
    net: IpNet,
    warnings: &mut Vec<Diagnostic>,
) -> IpNet {
    let trunc = net.trunc();
    if trunc != net {
        warnings.push(src.warning(
            token,
            format!(
                "prefix {net} has host bits set; using {trunc} (igmpproxy would match nothing)"
            ),
        ));
    }
    trunc
}

/// glibc `inet_aton`: one to four parts separated by dots, each decimal, octal (leading `0`) or
/// hex (`0x`); the last part fills all the remaining bytes (`10.1` = 10.0.0.1).
pub(crate) fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let mut parts = Vec::with_capacity(4);
    for part in text.split('.') {
        if parts.len() == 4 {
            return None;
        }
        parts.push(c_integer(part)?);
    }
    let (&last, leading) = parts.split_last()?;
    let mut address: u32 = 0;
    for (i, &part) in leading.iter().enumerate() {
        let byte = u8::try_from(part).ok()?;
        address |= u32::from(byte) << (24 - 8 * i);
    }
    let last_bits = 32 - 8 * leading.len();
    if last >= 1u64 << last_bits {
        return None;
    }
    address |= u32::try_from(last).ok()?;
    Some(Ipv4Addr::from(address))
}

/// One `strtoul(…, 0)` field as inet_aton accepts it: it must start with a digit and be consumed
/// completely.
fn c_integer(text: &str) -> Option<u64> {
    let (digits, radix) =
        if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            (hex, 16)
        } else if text.len() > 1 && text.starts_with('0') {
            (text.get(1..)?, 8)
        } else {
            (text, 10)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aton(s: &str) -> Option<String> {
        inet_aton(s).map(|a| a.to_string())
    }

    #[test]
    fn inet_aton_forms() {
        assert_eq!(aton("10.1.2.3").as_deref(), Some("10.1.2.3"));
        assert_eq!(aton("10.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(aton("10.1.2").as_deref(), Some("10.1.0.2"));
        assert_eq!(aton("167772161").as_deref(), Some("10.0.0.1"));
        assert_eq!(aton("0x0a.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(aton("010.0.0.1").as_deref(), Some("8.0.0.1"));
        assert_eq!(aton("0").as_deref(), Some("0.0.0.0"));
        assert_eq!(aton("10.0x10000").as_deref(), Some("10.1.0.0"));
    }

    #[test]
    fn inet_aton_rejects() {
        for bad in [
            "",
            "1.2.3.4.5",
            "256.0.0.1",
            "1..2",
            "1.2.3.",
            "08.1.1.1",
            "0x",
            "1.2.3.256",
            "10.0x1000000",
            "4294967296",
            "a.b.c.d",
            "+1.2.3.4",
            " 1.2.3.4",
        ] {
            assert_eq!(aton(bad), None, "{bad:?}");
        }
    }
}
