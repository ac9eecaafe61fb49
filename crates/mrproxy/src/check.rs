//! `mrproxy --check FILE`: validate a configuration and say what it configures.

use std::path::Path;
use std::process::ExitCode;

/// Read and parse the configuration (bytes that are not UTF-8, such as a Latin-1 comment, are
/// accepted with a warning, as igmpproxy accepts them); errors are one line with file:line:column.
pub fn load(path: &Path) -> Result<mrproxy_config::Config, String> {
    mrproxy_config::parse_file(path).map_err(|e| e.to_string())
}

pub fn run(path: &Path) -> ExitCode {
    match load(path) {
        Ok(config) => {
            for w in &config.warnings {
                eprintln!("warning: {w}");
            }
            for i in &config.interfaces {
                println!("{}: {:?}", i.name, i.role);
            }
            println!("other interfaces: {:?}", config.default_role);
            println!("{}: OK", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mrproxy: {e}");
            ExitCode::from(1)
        }
    }
}
