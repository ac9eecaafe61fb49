//! `mrproxy --check FILE`: validate a configuration and say what it configures.

use std::path::Path;
use std::process::ExitCode;

/// Read and parse the configuration; errors are one line with file:line:column.
pub fn load(path: &Path) -> Result<mrproxy_config::Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read configuration file {}: {e}", path.display()))?;
    mrproxy_config::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())
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
