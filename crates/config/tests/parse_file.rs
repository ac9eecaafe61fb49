//! `parse_file`: reading the file is the only thing it adds to `parse`.

use mrproxy_config::{LoadError, Role, parse_file};
use std::path::PathBuf;

/// A file in the temp directory, removed when dropped (also when the test fails).
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("mrproxy-config-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn reads_and_parses_with_the_path_as_file_name() {
    let f = TempFile::new("ok.conf", b"quickleave\nphyint eth0 upstream\n");
    let c = parse_file(&f.0).unwrap();
    assert!(c.quickleave);
    assert_eq!(c.interface("eth0").0, Role::Upstream);
    assert_eq!(c.interfaces[0].position.file, f.0.display().to_string());
}

#[test]
fn errors_name_the_path() {
    let f = TempFile::new("bad.conf", b"quickleave\nphyint eth0 threshold 0\n");
    let e = parse_file(&f.0).unwrap_err();
    assert!(matches!(e, LoadError::Invalid(_)));
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:23: threshold must be from 1 to 255, found 0",
            f.0.display()
        )
    );
}

#[test]
fn a_missing_file_is_a_read_error() {
    let path = std::env::temp_dir().join(format!("mrproxy-config-{}-missing", std::process::id()));
    let e = parse_file(&path).unwrap_err();
    assert!(matches!(e, LoadError::Read { .. }));
    assert!(
        e.to_string().starts_with("cannot read configuration file"),
        "{e}"
    );
}

#[test]
fn latin1_comments_load_with_a_warning_at_the_first_bad_byte() {
    // "# Köln" in Latin-1: 0xF6 is not UTF-8. igmpproxy reads bytes, so this file works there.
    let f = TempFile::new(
        "latin1.conf",
        b"quickleave\n# K\xf6ln\nphyint eth0 upstream\n",
    );
    let c = parse_file(&f.0).unwrap();
    assert_eq!(c.interface("eth0").0, Role::Upstream);
    assert_eq!(c.warnings.len(), 1);
    let w = &c.warnings[0];
    assert_eq!((w.position.line, w.position.column), (2, 4));
    assert!(w.message.contains("not valid UTF-8"), "{}", w.message);
}
