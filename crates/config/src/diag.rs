//! Building diagnostics: positions from tokens, printable token text, "did you mean".

use crate::lexer::Token;
use crate::model::{ConfigError, Diagnostic, Position};

/// Where the diagnostics of one parse point to.
pub(crate) struct Source<'f> {
    pub file: &'f str,
}

impl Source<'_> {
    pub fn at(&self, token: &Token<'_>) -> Position {
        self.position(token.line, token.column)
    }

    pub fn position(&self, line: u32, column: u32) -> Position {
        Position {
            file: self.file.to_owned(),
            line,
            column,
        }
    }

    pub fn error(&self, token: &Token<'_>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            position: self.at(token),
            message: message.into(),
        }
    }

    pub fn warning(&self, token: &Token<'_>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            position: self.at(token),
            message: message.into(),
        }
    }
}

/// Token text as it should appear between quotes in a message: control characters (a form feed
/// is part of a token, docs/igmpproxy-differences.md §3.1) are escaped so that a message stays on one line.
pub(crate) fn show(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo:
/// at most one edit for short words, two for longer ones. A case-only difference always counts,
/// because keywords are case-sensitive and `Quickleave` is an easy mistake.
pub(crate) fn did_you_mean<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|&c| {
            let distance = if c.eq_ignore_ascii_case(word) {
                0
            } else {
                edit_distance(word, c)
            };
            (distance, c)
        })
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters; words here are short, so the O(n·m) table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let substitute =
                previous.get(j).copied().unwrap_or(usize::MAX - 1) + usize::from(ca != cb);
            let delete = previous.get(j + 1).copied().unwrap_or(usize::MAX - 1) + 1;
            let insert = current.get(j).copied().unwrap_or(usize::MAX - 1) + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("phyint", "phyint"), 0);
        assert_eq!(edit_distance("phyin", "phyint"), 1);
        assert_eq!(edit_distance("quikleave", "quickleave"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let keys = ["phyint", "quickleave", "defaultdown", "user"];
        assert_eq!(did_you_mean("phyint0", &keys), Some("phyint"));
        assert_eq!(did_you_mean("Quickleave", &keys), Some("quickleave"));
        assert_eq!(did_you_mean("PHYINT", &keys), Some("phyint"));
        assert_eq!(did_you_mean("usr", &keys), Some("user"));
        assert_eq!(did_you_mean("filter", &keys), None);
        assert_eq!(did_you_mean("eth0", &keys), None);
    }

    #[test]
    fn show_escapes_control_characters_only() {
        assert_eq!(show("a\x0cb"), "a\\u{c}b");
        assert_eq!(show("设置"), "设置");
    }
}
