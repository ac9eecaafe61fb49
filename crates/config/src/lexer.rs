//! Tokens of an igmpproxy.conf file, with positions.
//!
//! igmpproxy's lexical rules (`src/confread.c`, docs/igmpproxy-differences.md §3.1): tokens are separated by space,
//! tab, CR or LF only (form feed and vertical tab belong to tokens); `#` starts a comment that runs
//! to the end of the line; there is no quoting. Two deliberate differences:
//!
//! - igmpproxy cuts tokens at 29 characters (defect D29); here tokens have no length limit.
//! - In igmpproxy a `#` glued to a token does not end it: the comment is skipped and the token
//!   continues with the first characters of the next line. Here the token ends at `#`, with a
//!   warning, because the joined token could never have meant anything.

use crate::model::{Diagnostic, Position};

/// One token: a maximal run of non-separator characters outside comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters (not bytes).
    pub column: u32,
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits `text` into tokens. Never fails: every text is a (possibly empty) token stream.
/// Warnings about glued comments are appended to `warnings`.
pub(crate) fn tokenize<'a>(
    text: &'a str,
    file: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Token<'a>> {
    let mut tokens = Vec::new();
    let mut line: u32 = 1;
    let mut column: u32 = 1;
    // Byte offset and position of the token being read, if any.
    let mut start: Option<(usize, u32, u32)> = None;
    let mut in_comment = false;

    for (offset, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
        } else if c == '#' || is_separator(c) {
            if let Some((from, l, col)) = start.take() {
                // `from` and `offset` come from char_indices: the slice is on char boundaries.
                let token = Token {
                    text: text.get(from..offset).unwrap_or_default(),
                    line: l,
                    column: col,
                };
                if c == '#' {
                    warnings.push(glued_comment_warning(file, &token, line, column));
                }
                tokens.push(token);
            }
            in_comment = c == '#';
        } else if start.is_none() {
            start = Some((offset, line, column));
        }

        if c == '\n' {
            line = line.saturating_add(1);
            column = 1;
        } else {
            column = column.saturating_add(1);
        }
    }
    if let Some((from, l, col)) = start {
        tokens.push(Token {
            text: text.get(from..).unwrap_or_default(),
            line: l,
            column: col,
        });
    }
    tokens
}

fn glued_comment_warning(file: &str, token: &Token<'_>, line: u32, column: u32) -> Diagnostic {
    Diagnostic {
        position: Position {
            file: file.to_owned(),
            line,
            column,
        },
        message: format!(
            "'#' directly after '{}' starts a comment here; igmpproxy would instead join '{}' \
             with the first token of the next line: put a space before '#'",
            crate::diag::show(token.text),
            crate::diag::show(token.text)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(text: &str) -> (Vec<(String, u32, u32)>, Vec<Diagnostic>) {
        let mut warnings = Vec::new();
        let t = tokenize(text, "f", &mut warnings);
        let list = t
            .iter()
            .map(|t| (t.text.to_owned(), t.line, t.column))
            .collect();
        (list, warnings)
    }

    fn tok(text: &str, line: u32, column: u32) -> (String, u32, u32) {
        (text.to_owned(), line, column)
    }

    #[test]
    fn separators_are_space_tab_cr_lf_only() {
        let (tokens, warnings) = lex("a\tb\r\nc  d\x0ce\x0bf");
        assert_eq!(
            tokens,
            vec![
                tok("a", 1, 1),
                tok("b", 1, 3),
                tok("c", 2, 1),
                tok("d\x0ce\x0bf", 2, 4)
            ]
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn comments_run_to_end_of_line() {
        let (tokens, warnings) = lex("# full line\nphyint # trailing comment\n  eth0");
        assert_eq!(tokens, vec![tok("phyint", 2, 1), tok("eth0", 3, 3)]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn glued_hash_ends_the_token_and_warns() {
        let (tokens, warnings) = lex("upstream#comment\nratelimit");
        assert_eq!(tokens, vec![tok("upstream", 1, 1), tok("ratelimit", 2, 1)]);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].position.column, 9);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let (tokens, _) = lex("# 设置\n设置 x\n\u{e9}\u{e9} y");
        assert_eq!(
            tokens,
            vec![
                tok("设置", 2, 1),
                tok("x", 2, 4),
                tok("éé", 3, 1),
                tok("y", 3, 4)
            ]
        );
    }

    #[test]
    fn long_tokens_are_not_cut() {
        let long = "/a/very/long/chroot/directory/that/igmpproxy/would/cut";
        let (tokens, _) = lex(&format!("chroot {long}"));
        assert_eq!(tokens, vec![tok("chroot", 1, 1), tok(long, 1, 8)]);
    }

    #[test]
    fn no_tokens_in_blank_or_comment_only_text() {
        let mut w = Vec::new();
        assert!(tokenize("", "f", &mut w).is_empty());
        assert!(tokenize(" \t\r\n# comment\n  #x", "f", &mut w).is_empty());
        assert!(w.is_empty());
    }
}
