//! The mrproxy configuration: every file the C igmpproxy 0.4 accepts, with the same meaning, plus
//! extension keywords documented in `docs/mrproxy.conf.5.md`. Parsing is pure (`&str` in,
//! [`Config`] or [`ConfigError`] out); reading the file is the caller's job.

#![forbid(unsafe_code)]

mod model;
pub use model::*;

// The parser (lexer, grammar, semantic checks) is provided by `parse.rs` and friends:
// pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError>
