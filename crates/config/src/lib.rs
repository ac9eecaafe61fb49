//! The mrproxy configuration: every file the C igmpproxy 0.4 accepts, with the same meaning, plus
//! extension keywords documented in `docs/mrproxy.conf.5.md`. Parsing is pure (`&str` in,
//! [`Config`] or [`ConfigError`] out); [`parse_file`] adds reading the file and nothing else.
//!
//! Structure: `lexer` (tokens with positions), `grammar` and `phyint` (keywords and their
//! arguments, in file order), `extensions` (mrproxy's keywords and their value ranges), `address`
//! (prefixes, with igmpproxy's `inet_addr` quirks), `semantic` (resolving the extension keywords
//! per interface and the checks that relate several settings).

#![forbid(unsafe_code)]

mod address;
mod diag;
mod extensions;
mod grammar;
mod lexer;
mod model;
mod phyint;
mod render;
mod semantic;
mod values;

pub use model::*;
pub use semantic::{DEFAULT_MAX_TOTAL_ROUTES, default_ssm_ranges};

use std::path::{Path, PathBuf};

/// Parses the text of a configuration file. `file` is the name used in positions
/// (`file:line:column` in messages). Warnings of an accepted file are in [`Config::warnings`].
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let src = diag::Source { file };
    let mut warnings = Vec::new();
    let tokens = lexer::tokenize(text, file, &mut warnings);
    if tokens.is_empty() {
        // igmpproxy: "Config file was empty." (fatal). A file of comments only counts as empty.
        return Err(ConfigError {
            position: src.position(1, 1),
            message: "the configuration file is empty (no keywords, only blanks or comments)"
                .into(),
        });
    }
    let draft = grammar::Parser::new(&src, &tokens, warnings).parse()?;
    semantic::resolve(draft)
}

/// Why a configuration file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// Reads and parses a configuration file. Bytes that are not UTF-8 (a Latin-1 comment, say) do not
/// stop igmpproxy, so they do not stop this either: they are replaced, with a warning, and only
/// matter if they are inside a keyword or value.
pub fn parse_file(path: &Path) -> Result<Config, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.into(),
        source,
    })?;
    let file = path.display().to_string();
    let text = String::from_utf8_lossy(&bytes);
    let mut config = parse(&text, &file)?;
    if let Err(e) = std::str::from_utf8(&bytes) {
        let valid = String::from_utf8_lossy(bytes.get(..e.valid_up_to()).unwrap_or_default());
        let line = valid.matches('\n').count() + 1;
        let column = valid
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        let position = Position {
            file,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        };
        let message = "the file is not valid UTF-8; invalid bytes were read as U+FFFD".to_owned();
        config.warnings.insert(0, Diagnostic { position, message });
    }
    Ok(config)
}
