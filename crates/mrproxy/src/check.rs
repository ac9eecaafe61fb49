//! `mrproxy --check FILE`: validate a configuration and say what it configures, including the
//! `user` and `chroot` it asks for, resolved as the daemon resolves them at start.

use crate::daemon::privileges::Plan;
use std::path::Path;
use std::process::ExitCode;

/// Read and parse the configuration (bytes that are not UTF-8, such as a Latin-1 comment, are
/// accepted with a warning, as igmpproxy accepts them); errors are one line with file:line:column.
pub fn load(path: &Path) -> Result<mrproxy_config::Config, String> {
    mrproxy_config::parse_file(path).map_err(|e| e.to_string())
}

pub fn run(path: &Path, _strict: bool) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
    // A user that does not exist or a chroot directory that is missing stops the daemon at
    // start: the check fails on them too, with the same line.
    let plan = match Plan::resolve(&config, path) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    for i in &config.interfaces {
        println!("{}: {:?}", i.name, i.role);
    }
    println!("other interfaces: {:?}", config.default_role);
    if let Some(a) = &plan.user {
        println!(
            "user {}: uid {}, gid {}, groups {:?}",
            a.name, a.uid, a.gid, a.groups
        );
    }
    if let Some(dir) = &plan.chroot {
        println!("chroot {}: a directory", dir.display());
    }
    println!("{}: OK", path.display());
    ExitCode::SUCCESS
}
