//! Helpers shared by the integration tests.
#![allow(dead_code)]

use mrproxy_config::{Config, parse};

pub const FILE: &str = "igmpproxy.conf";

/// Parses a file that must be accepted.
pub fn ok(text: &str) -> Config {
    match parse(text, FILE) {
        Ok(config) => config,
        Err(e) => panic!("expected the file to parse, got: {e}\n--- file ---\n{text}"),
    }
}

/// Parses a file that must be rejected; returns the one-line message.
pub fn err(text: &str) -> String {
    match parse(text, FILE) {
        Ok(config) => panic!("expected an error, got {config:#?}\n--- file ---\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The warnings of an accepted file, one per line, as an operator sees them.
pub fn warnings(text: &str) -> Vec<String> {
    ok(text).warnings.iter().map(ToString::to_string).collect()
}

/// A reviewable table of rejected inputs and their messages, for text snapshots.
pub fn error_table(cases: &[&str]) -> String {
    let mut out = String::new();
    for case in cases {
        out.push_str(&format!("{case:?}\n  => {}\n", err(case)));
    }
    out
}

/// A reviewable table of accepted inputs and their warnings.
pub fn warning_table(cases: &[&str]) -> String {
    let mut out = String::new();
    for case in cases {
        out.push_str(&format!("{case:?}\n"));
        for w in warnings(case) {
            out.push_str(&format!("  warning: {w}\n"));
        }
    }
    out
}
