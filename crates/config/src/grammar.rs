//! The token grammar (docs/igmpproxy-differences.md §3.2, `loadConfig` in igmpproxy's
//! `src/config.c`):
//!
//! ```text
//! config = { global | phyint | extension | "ssmrange" PREFIX } ;
//! global = "quickleave" | "hashtablesize" INT | "defaultdown" | "rescanvif"
//!        | "chroot" TOKEN | "user" TOKEN | "maxtotalroutes" INT | "metrics" ADDR:PORT ;
//! phyint = "phyint" IFNAME { option | extension } ;     (see `phyint.rs`)
//! ```
//!
//! Keywords apply in file order where igmpproxy says so (`defaultdown`, `hashtablesize`); the
//! extension keywords are collected and resolved at the end (`semantic.rs`). The result is a
//! [`Draft`]: what the file says, not yet what each interface gets.

use crate::address::{self, Spelling};
use crate::diag::{Source, did_you_mean, show};
use crate::extensions::{self, Extension};
use crate::lexer::Token;
use crate::model::{ConfigError, Diagnostic, Position};
use crate::phyint::{self, Block};
use crate::values::legacy_integer;
use ipnet::IpNet;
use std::path::PathBuf;

/// igmpproxy's global keywords (docs/igmpproxy-differences.md §3.3), valid only at top level.
pub(crate) const GLOBAL_KEYWORDS: &[&str] = &[
    "phyint",
    "quickleave",
    "hashtablesize",
    "defaultdown",
    "rescanvif",
    "chroot",
    "user",
    "maxtotalroutes",
    "metrics",
];

/// hashtablesize bounds, as igmpproxy checks them (bytes of quickleave's host bitmap).
const HASHTABLESIZE_MAX: i64 = 536_870_912;

/// A value together with where its keyword was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spanned<T> {
    pub value: T,
    pub position: Position,
}

/// What the file says, in file order.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    /// The file name for positions.
    pub file: String,
    pub quickleave: bool,
    pub hashtablesize: Option<u32>,
    pub rescanvif: bool,
    pub chroot: Option<PathBuf>,
    pub user: Option<String>,
    /// `maxtotalroutes N` (mrproxy extension, top level only).
    pub max_total_routes: Option<usize>,
    /// `metrics ADDR:PORT` (mrproxy extension, top level only).
    pub metrics: Option<std::net::SocketAddr>,
    /// `defaultdown` appeared anywhere (igmpproxy applies it to unlisted interfaces at the end).
    pub defaultdown: bool,
    /// Extension keywords given at top level, in file order.
    pub globals: Vec<Spanned<Extension>>,
    /// `ssmrange` prefixes; `None` when the keyword never appears (the defaults stay).
    pub ssm_ranges: Option<Spanned<Vec<IpNet>>>,
    pub blocks: Vec<Block>,
    pub warnings: Vec<Diagnostic>,
}

/// Walks the tokens once; each keyword consumes its own arguments.
pub(crate) struct Parser<'t, 's> {
    pub src: &'s Source<'s>,
    tokens: &'t [Token<'t>],
    next: usize,
    pub draft: Draft,
    /// `ratelimit N > 0` is warned about once per file (defect D31).
    pub ratelimit_warned: bool,
}

impl<'t, 's> Parser<'t, 's> {
    pub fn new(src: &'s Source<'s>, tokens: &'t [Token<'t>], warnings: Vec<Diagnostic>) -> Self {
        let draft = Draft {
            file: src.file.to_owned(),
            warnings,
            ..Draft::default()
        };
        Parser {
            src,
            tokens,
            next: 0,
            draft,
            ratelimit_warned: false,
        }
    }

    pub fn peek(&self) -> Option<Token<'t>> {
        self.tokens.get(self.next).copied()
    }

    pub fn bump(&mut self) -> Option<Token<'t>> {
        let token = self.peek();
        if token.is_some() {
            self.next += 1;
        }
        token
    }

    /// The argument of `keyword`, which every keyword that takes one requires.
    pub fn argument(&mut self, keyword: &Token<'_>, what: &str) -> Result<Token<'t>, ConfigError> {
        self.bump().ok_or_else(|| {
            self.src.error(
                keyword,
                format!(
                    "expected {what} after '{}', found end of file",
                    keyword.text
                ),
            )
        })
    }

    pub fn warn(&mut self, warning: Diagnostic) {
        self.draft.warnings.push(warning);
    }

    pub fn parse(mut self) -> Result<Draft, ConfigError> {
        while let Some(token) = self.bump() {
            self.top_level(token)?;
        }
        Ok(self.draft)
    }

    fn top_level(&mut self, token: Token<'t>) -> Result<(), ConfigError> {
        match token.text {
            "phyint" => {
                let defaultdown = self.draft.defaultdown;
                let block = phyint::block(self, &token, defaultdown)?;
                self.draft.blocks.push(block);
            }
            "quickleave" => self.draft.quickleave = true,
            "hashtablesize" => self.hashtablesize(&token)?,
            "defaultdown" => self.draft.defaultdown = true,
            "rescanvif" => self.draft.rescanvif = true,
            "chroot" => {
                let dir = self.argument(&token, "a directory")?;
                self.draft.chroot = Some(PathBuf::from(dir.text));
            }
            "user" => {
                let user = self.argument(&token, "a user name")?;
                self.draft.user = Some(user.text.to_owned());
            }
            "ssmrange" => self.ssmrange(&token)?,
            "metrics" => {
                let value = self.argument(&token, "an address and port such as 127.0.0.1:9116")?;
                let Ok(address) = value.text.parse::<std::net::SocketAddr>() else {
                    return Err(self.src.error(
                        &value,
                        format!(
                            "metrics needs an address and port (127.0.0.1:9116, [::1]:9116), \
                             found '{}'",
                            show(value.text)
                        ),
                    ));
                };
                self.draft.metrics = Some(address);
            }
            "maxtotalroutes" => {
                let value = self.argument(&token, "a number")?;
                let n = crate::values::strict_integer(value.text)
                    .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
                    .and_then(|n| usize::try_from(n).ok());
                let Some(n) = n else {
                    return Err(self.src.error(
                        &value,
                        format!(
                            "maxtotalroutes must be a number from 1 to {}, found '{}'",
                            u32::MAX,
                            show(value.text)
                        ),
                    ));
                };
                self.draft.max_total_routes = Some(n);
            }
            word if extensions::is_keyword(word) => {
                let value = self.bump();
                let extension =
                    extensions::read(self.src, &token, value.as_ref(), &mut self.draft.warnings)?;
                let position = self.src.at(&token);
                self.draft.globals.push(Spanned {
                    value: extension,
                    position,
                });
            }
            word if phyint::OPTIONS.contains(&word) => {
                return Err(self.src.error(
                    &token,
                    format!(
                        "'{word}' is a phyint option: it must follow 'phyint IFNAME' and that \
                         interface's other options"
                    ),
                ));
            }
            _ => return Err(self.unknown_keyword(&token)),
        }
        Ok(())
    }

    /// igmpproxy: "hashtablesize is specified but quickleave not enabled", and 1 … 536870912.
    fn hashtablesize(&mut self, keyword: &Token<'t>) -> Result<(), ConfigError> {
        if !self.draft.quickleave {
            return Err(self.src.error(
                keyword,
                "'hashtablesize' sizes quickleave's host table: it must come after 'quickleave'",
            ));
        }
        let value = self.argument(keyword, "a number")?;
        let n = legacy_integer(value.text);
        let Some(size) = n.value else {
            return Err(self.src.error(
                &value,
                format!(
                    "expected a number after 'hashtablesize', found '{}'",
                    show(value.text)
                ),
            ));
        };
        let size = u32::try_from(size)
            .ok()
            .filter(|&s| s >= 1 && i64::from(s) <= HASHTABLESIZE_MAX);
        let Some(size) = size else {
            return Err(self.src.error(
                &value,
                format!(
                    "hashtablesize must be from 1 to {HASHTABLESIZE_MAX}, found {}",
                    show(value.text)
                ),
            ));
        };
        if !n.clean {
            self.warn(phyint::not_a_number(self.src, &value, i64::from(size)));
        }
        self.draft.hashtablesize = Some(size);
        Ok(())
    }

    /// `ssmrange PREFIX` (RFC 4607 §1, RFC 4604): the first one replaces the default list.
    fn ssmrange(&mut self, keyword: &Token<'t>) -> Result<(), ConfigError> {
        let value = self.argument(keyword, "a prefix")?;
        let range = address::prefix(
            self.src,
            "ssmrange",
            &value,
            Spelling::Strict,
            &mut self.draft.warnings,
        )?;
        let multicast = match range {
            IpNet::V4(n) => n.prefix_len() >= 4 && n.network().is_multicast(),
            IpNet::V6(n) => n.prefix_len() >= 8 && n.network().is_multicast(),
        };
        if !multicast {
            return Err(self.src.error(
                &value,
                format!(
                    "ssmrange {range} is not a multicast range (inside 224.0.0.0/4 or ff00::/8)"
                ),
            ));
        }
        let position = self.src.at(keyword);
        self.draft
            .ssm_ranges
            .get_or_insert_with(|| Spanned {
                value: Vec::new(),
                position,
            })
            .value
            .push(range);
        Ok(())
    }

    fn unknown_keyword(&self, token: &Token<'_>) -> ConfigError {
        let word = token.text;
        let mut message = format!(
            "unknown keyword '{}'; expected {}, ssmrange or an extension keyword (mrproxy.conf(5))",
            show(word),
            GLOBAL_KEYWORDS.join(", ")
        );
        let all: Vec<&str> = GLOBAL_KEYWORDS
            .iter()
            .chain(phyint::OPTIONS)
            .chain(extensions::KEYWORDS)
            .chain(&["ssmrange"])
            .copied()
            .collect();
        if let Some(prefix_keyword) = self.after_prefix_argument() {
            message.push_str(&format!(
                "; each '{prefix_keyword}' takes exactly one prefix: repeat '{prefix_keyword}' \
                 before '{}'",
                show(word)
            ));
        } else if word == "filter" {
            message.push_str("; to drop a group, write 'blacklist PREFIX' in a phyint block");
        } else if let Some(near) = did_you_mean(word, &all) {
            let case = if near.eq_ignore_ascii_case(word) {
                " (keywords are case-sensitive)"
            } else {
                ""
            };
            message.push_str(&format!("; did you mean '{near}'?{case}"));
        }
        self.src.error(token, message)
    }

    /// The prefix keyword whose single argument came just before the current token, if any: then
    /// the unknown token is most likely a second prefix given to the same keyword.
    fn after_prefix_argument(&self) -> Option<&'t str> {
        let keyword = self.tokens.get(self.next.checked_sub(3)?)?.text;
        ["altnet", "whitelist", "blacklist", "ssmrange"]
            .contains(&keyword)
            .then_some(keyword)
    }
}
