//! Reading numbers, durations and switches from tokens.
//!
//! igmpproxy reads its numbers with C `atoi` (docs/igmpproxy-differences.md §3.6): leading digits count and the rest
//! of the token is ignored, and a token without digits is 0. [`legacy_integer`] reproduces that so
//! that every file igmpproxy accepts still loads, and says when the token was not a clean number so
//! the caller can warn. The extension keywords are new, so they are read strictly.

use std::time::Duration;

/// A number read the way C `atoi` reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LegacyInteger {
    /// `None` when the token has no leading digits (atoi returns 0 then). Saturates at the i64
    /// range, which is far outside every accepted range.
    pub value: Option<i64>,
    /// The whole token was an optionally signed run of decimal digits.
    pub clean: bool,
}

impl LegacyInteger {
    /// What igmpproxy uses: atoi's result.
    pub fn as_igmpproxy_reads_it(self) -> i64 {
        self.value.unwrap_or(0)
    }
}

pub(crate) fn legacy_integer(text: &str) -> LegacyInteger {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or("")),
        Some(b'+') => (false, text.get(1..).unwrap_or("")),
        _ => (false, text),
    };
    let digits_len = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if digits_len == 0 {
        return LegacyInteger {
            value: None,
            clean: false,
        };
    }
    let magnitude = unsigned.bytes().take(digits_len).fold(0i64, |acc, d| {
        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    LegacyInteger {
        value: Some(if negative { -magnitude } else { magnitude }),
        clean: digits_len == unsigned.len(),
    }
}

/// A plain decimal number without sign, as the extension keywords take it.
pub(crate) fn strict_integer(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Largest number of decimals accepted in seconds: MLD codes carry milliseconds, IGMP tenths.
const SECONDS_DECIMALS: usize = 3;

/// Seconds as `10`, `0.5` or `31.25` (at most three decimals). Returns `None` for anything else.
pub(crate) fn seconds(text: &str) -> Option<Duration> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let whole = strict_integer(whole)?;
    let all_digits = fraction.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = !text.ends_with('.') && all_digits && fraction.len() <= SECONDS_DECIMALS;
    if !fraction_ok {
        return None;
    }
    let mut millis_text = fraction.to_owned();
    while millis_text.len() < SECONDS_DECIMALS {
        millis_text.push('0');
    }
    let millis: u64 = millis_text.parse().ok()?;
    let total = whole.checked_mul(1000)?.checked_add(millis)?;
    Some(Duration::from_millis(total))
}

/// Seconds for messages: `10`, `0.5`, `3174.4`.
pub(crate) fn show_seconds(d: Duration) -> String {
    let millis = d.as_millis();
    let whole = millis / 1000;
    let fraction = millis % 1000;
    if fraction == 0 {
        whole.to_string()
    } else {
        let text = format!("{whole}.{fraction:03}");
        text.trim_end_matches('0').to_owned()
    }
}

/// `on` / `off`.
pub(crate) fn switch(text: &str) -> Option<bool> {
    match text {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_integers_follow_atoi() {
        let li = |v, clean| LegacyInteger { value: v, clean };
        assert_eq!(legacy_integer("42"), li(Some(42), true));
        assert_eq!(legacy_integer("+7"), li(Some(7), true));
        assert_eq!(legacy_integer("-1"), li(Some(-1), true));
        assert_eq!(legacy_integer("5x"), li(Some(5), false));
        assert_eq!(legacy_integer("8/9"), li(Some(8), false));
        assert_eq!(legacy_integer("abc"), li(None, false));
        assert_eq!(legacy_integer(""), li(None, false));
        assert_eq!(legacy_integer("-"), li(None, false));
        assert_eq!(
            legacy_integer("99999999999999999999999").value,
            Some(i64::MAX)
        );
        assert_eq!(legacy_integer("abc").as_igmpproxy_reads_it(), 0);
    }

    #[test]
    fn strict_integers() {
        assert_eq!(strict_integer("0"), Some(0));
        assert_eq!(strict_integer("1024"), Some(1024));
        assert_eq!(strict_integer("+1"), None);
        assert_eq!(strict_integer("1e3"), None);
        assert_eq!(strict_integer(""), None);
        assert_eq!(strict_integer("99999999999999999999999"), None);
    }

    #[test]
    fn seconds_with_up_to_three_decimals() {
        assert_eq!(seconds("125"), Some(Duration::from_secs(125)));
        assert_eq!(seconds("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(seconds("31.25"), Some(Duration::from_millis(31_250)));
        assert_eq!(seconds("0.001"), Some(Duration::from_millis(1)));
        assert_eq!(seconds("0.0001"), None);
        assert_eq!(seconds("1."), None);
        assert_eq!(seconds(".5"), None);
        assert_eq!(seconds("1.2.3"), None);
        assert_eq!(seconds("-1"), None);
        assert_eq!(seconds("10s"), None);
        assert_eq!(seconds("18446744073709551615"), None);
    }

    #[test]
    fn seconds_are_shown_without_trailing_zeros() {
        assert_eq!(show_seconds(Duration::from_secs(10)), "10");
        assert_eq!(show_seconds(Duration::from_millis(3_174_400)), "3174.4");
        assert_eq!(show_seconds(Duration::from_millis(1)), "0.001");
    }

    #[test]
    fn switches() {
        assert_eq!(switch("on"), Some(true));
        assert_eq!(switch("off"), Some(false));
        assert_eq!(switch("On"), None);
    }
}
