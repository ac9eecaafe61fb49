//! `phyint IFNAME { option }` blocks (docs/igmpproxy-differences.md §3.4, `parsePhyintToken` in igmpproxy's
//! `src/config.c`).
//!
//! A block ends at the first token that is not one of its options; that token is then read at
//! top level. Because the extension keywords are block options too, an extension keyword written
//! after a block belongs to that block (documented in mrproxy.conf(5)).

use crate::address::{self, Spelling};
use crate::diag::{Source, show};
use crate::extensions;
use crate::grammar::{Parser, Spanned};
use crate::lexer::Token;
use crate::model::{ConfigError, Diagnostic, GroupFilter, Position, Role};
use crate::values::legacy_integer;
use ipnet::IpNet;

/// igmpproxy's phyint options; they are not valid at top level.
pub(crate) const OPTIONS: &[&str] = &[
    "upstream",
    "downstream",
    "disabled",
    "ratelimit",
    "threshold",
    "altnet",
    "whitelist",
    "blacklist",
];

/// Linux interface names are at most IFNAMSIZ - 1 = 15 bytes; igmpproxy fails the block on a
/// longer name (`strlen(token) >= IF_NAMESIZE`).
const MAX_IFNAME_BYTES: usize = 15;

/// One `phyint` block as written.
#[derive(Debug)]
pub(crate) struct Block {
    pub name: String,
    pub position: Position,
    /// The last role keyword of the block, if any.
    pub role: Option<Role>,
    /// `defaultdown` came before this block: a block without a role is downstream.
    pub defaultdown_before: bool,
    pub ratelimit: u32,
    pub threshold: u8,
    pub altnets: Vec<IpNet>,
    pub group_filters: Vec<GroupFilter>,
    /// Extension keywords of this block, in file order.
    pub extensions: Vec<Spanned<extensions::Extension>>,
}

/// Reads a block after its `phyint` keyword.
pub(crate) fn block(
    p: &mut Parser<'_, '_>,
    phyint: &Token<'_>,
    defaultdown_before: bool,
) -> Result<Block, ConfigError> {
    let name = p.argument(phyint, "an interface name")?;
    let bytes = name.text.len();
    if bytes > MAX_IFNAME_BYTES {
        return Err(p.src.error(
            &name,
            format!(
                "interface name '{}' is {bytes} bytes long; Linux allows at most {MAX_IFNAME_BYTES}",
                show(name.text)
            ),
        ));
    }
    let mut block = Block {
        name: name.text.to_owned(),
        position: p.src.at(phyint),
        role: None,
        defaultdown_before,
        ratelimit: 0,
        threshold: 1,
        altnets: Vec::new(),
        group_filters: Vec::new(),
        extensions: Vec::new(),
    };
    while let Some(token) = p.peek() {
        if !OPTIONS.contains(&token.text) && !extensions::is_keyword(token.text) {
            break;
        }
        p.bump();
        option(p, &mut block, &token)?;
    }
    Ok(block)
}

fn option(
    p: &mut Parser<'_, '_>,
    block: &mut Block,
    keyword: &Token<'_>,
) -> Result<(), ConfigError> {
    match keyword.text {
        "upstream" => block.role = Some(Role::Upstream),
        "downstream" => block.role = Some(Role::Downstream),
        "disabled" => block.role = Some(Role::Disabled),
        "ratelimit" => block.ratelimit = ratelimit(p, keyword)?,
        "threshold" => block.threshold = threshold(p, keyword)?,
        "altnet" => {
            let prefix = prefix_argument(p, keyword)?;
            block.altnets.push(prefix);
        }
        "whitelist" | "blacklist" => {
            let prefix = prefix_argument(p, keyword)?;
            block.group_filters.push(GroupFilter {
                allow: keyword.text == "whitelist",
                prefix,
            });
        }
        _ => {
            let value = p.bump();
            let extension =
                extensions::read(p.src, keyword, value.as_ref(), &mut p.draft.warnings)?;
            block.extensions.push(Spanned {
                value: extension,
                position: p.src.at(keyword),
            });
        }
    }
    Ok(())
}

fn prefix_argument(p: &mut Parser<'_, '_>, keyword: &Token<'_>) -> Result<IpNet, ConfigError> {
    let value = p.argument(keyword, "a prefix")?;
    address::prefix(
        p.src,
        keyword.text,
        &value,
        Spelling::Igmpproxy,
        &mut p.draft.warnings,
    )
}

/// `ratelimit N`: igmpproxy rejects a negative atoi value and takes anything else.
fn ratelimit(p: &mut Parser<'_, '_>, keyword: &Token<'_>) -> Result<u32, ConfigError> {
    let value = p.argument(keyword, "a number")?;
    let n = legacy_integer(value.text);
    let rate = n.as_igmpproxy_reads_it();
    let Ok(rate) = u32::try_from(rate) else {
        let why = if rate < 0 {
            "must be 0 or more"
        } else {
            "must be at most 4294967295"
        };
        return Err(p.src.error(
            &value,
            format!("ratelimit {why}, found {}", show(value.text)),
        ));
    };
    if !n.clean {
        let warning = not_a_number(p.src, &value, i64::from(rate));
        p.warn(warning);
    }
    if rate > 0 && !p.ratelimit_warned {
        // Defect D31: the kernel keeps the VIF rate limit but never applies it.
        p.ratelimit_warned = true;
        let warning = p.src.warning(
            keyword,
            "ratelimit is ignored: Linux multicast routing does not apply VIF rate limits \
             (igmpproxy did not limit either); warned once",
        );
        p.warn(warning);
    }
    Ok(rate)
}

/// `threshold N`, 1 … 255: forward out of this interface only packets with TTL > N.
fn threshold(p: &mut Parser<'_, '_>, keyword: &Token<'_>) -> Result<u8, ConfigError> {
    let value = p.argument(keyword, "a number")?;
    let n = legacy_integer(value.text);
    let Some(ttl) = n.value else {
        return Err(p.src.error(
            &value,
            format!(
                "expected a number after 'threshold', found '{}'",
                show(value.text)
            ),
        ));
    };
    let Some(ttl) = u8::try_from(ttl).ok().filter(|&t| t >= 1) else {
        return Err(p.src.error(
            &value,
            format!(
                "threshold must be from 1 to 255, found {}",
                show(value.text)
            ),
        ));
    };
    if !n.clean {
        let warning = not_a_number(p.src, &value, i64::from(ttl));
        p.warn(warning);
    }
    Ok(ttl)
}

/// A number igmpproxy reads with atoi although the token is not a clean number (`5x`, `abc`).
pub(crate) fn not_a_number(src: &Source<'_>, value: &Token<'_>, read_as: i64) -> Diagnostic {
    src.warning(
        value,
        format!(
            "'{}' is not a number; read as {read_as}, as igmpproxy does",
            show(value.text)
        ),
    )
}
