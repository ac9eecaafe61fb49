//! `mrproxy --check [--strict] FILE`: validate a configuration, warn about what cannot work on
//! this machine as written, and print the effective settings in the configuration language.
//! The `user` and `chroot` it asks for are resolved as the daemon resolves them at start.

use crate::daemon::privileges::Plan;
use ipnet::IpNet;
use mrproxy_config::{Config, Role};
use std::path::Path;
use std::process::ExitCode;

/// Read and parse the configuration (bytes that are not UTF-8, such as a Latin-1 comment, are
/// accepted with a warning, as igmpproxy accepts them); errors are one line with file:line:column.
pub fn load(path: &Path) -> Result<Config, String> {
    mrproxy_config::parse_file(path).map_err(|e| e.to_string())
}

/// Exit status of `--check --strict` when the file loads but has warnings.
const WARNINGS_EXIT: u8 = 2;

pub fn run(path: &Path, strict: bool) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    // A user that does not exist or a chroot directory that is missing stops the daemon at
    // start: the check fails on them too, with the same line.
    let plan = match Plan::resolve(&config, path) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    let mut warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    let present = mrproxy_linux::interface_names();
    warnings.extend(machine_warnings(&config, path, present.as_deref().ok()));
    if let Err(e) = &present {
        warnings.push(format!(
            "cannot list this machine's interfaces ({e}); their names were not checked"
        ));
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    print!("{}", config.effective());
    if let Some(a) = &plan.user {
        println!(
            "# user {}: uid {}, gid {}, groups {:?}",
            a.name, a.uid, a.gid, a.groups
        );
    }
    if let Some(dir) = &plan.chroot {
        println!("# chroot {}: a directory", dir.display());
    }
    if strict && !warnings.is_empty() {
        eprintln!(
            "{}: {} warning(s); --strict makes them fatal",
            path.display(),
            warnings.len()
        );
        return ExitCode::from(WARNINGS_EXIT);
    }
    eprintln!("{}: OK", path.display());
    ExitCode::SUCCESS
}

/// What loads but cannot work as written: no upstream, interfaces this machine does not have
/// (`present`: the names it has, when they could be read), group filters that no multicast
/// group can match.
pub fn machine_warnings(config: &Config, path: &Path, present: Option<&[String]>) -> Vec<String> {
    let mut warnings = Vec::new();
    let file = path.display();
    if !config.interfaces.iter().any(|i| i.role == Role::Upstream) {
        warnings.push(format!(
            "{file}: no interface is upstream: nothing is joined upstream and no stream is \
             forwarded; add 'upstream' to the phyint towards the source"
        ));
    }
    for i in &config.interfaces {
        let at = format!("{}:{}", file, i.position.line);
        let base = i.name.split(':').next().unwrap_or(&i.name);
        if let Some(names) = present
            && i.role != Role::Disabled
            && !names.iter().any(|n| n == base)
        {
            warnings.push(format!(
                "{at}: interface '{}' does not exist now (ip link shows {}); mrproxy uses it \
                 when it appears, check the name",
                i.name,
                names.join(", ")
            ));
        }
        for f in &i.settings.group_filters {
            if !can_hold_a_group(&f.prefix) {
                let list = if f.allow { "whitelist" } else { "blacklist" };
                warnings.push(format!(
                    "{at}: {list} {} on '{}' can never match a multicast group (224.0.0.0/4, \
                     ff00::/8)",
                    f.prefix, i.name
                ));
            }
        }
    }
    warnings
}

/// Whether a prefix overlaps the multicast range of its family.
fn can_hold_a_group(prefix: &IpNet) -> bool {
    let multicast: IpNet = match prefix {
        IpNet::V4(_) => "224.0.0.0/4".parse().expect("a prefix"),
        IpNet::V6(_) => "ff00::/8".parse().expect("a prefix"),
    };
    multicast.contains(prefix) || prefix.contains(&multicast)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings(text: &str, present: &[&str]) -> Vec<String> {
        let config = mrproxy_config::parse(text, "t.conf").unwrap();
        let present: Vec<String> = present.iter().map(|s| (*s).to_owned()).collect();
        machine_warnings(&config, Path::new("t.conf"), Some(&present))
    }

    #[test]
    fn a_file_without_upstream_is_warned_about() {
        let w = warnings("phyint eth1 downstream", &["eth1"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("no interface is upstream"), "{w:?}");
    }

    #[test]
    fn an_interface_this_machine_lacks_is_named_with_its_line() {
        let w = warnings(
            "phyint eth0 upstream\nphyint br-lna downstream\nphyint eth9 disabled",
            &["lo", "eth0", "br-lan"],
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("t.conf:2: interface 'br-lna' does not exist"),
            "{w:?}"
        );
        assert!(w[0].contains("br-lan"), "{w:?}");
        // An alias label names its interface.
        assert!(warnings("phyint eth0:1 upstream", &["eth0"]).is_empty());
    }

    #[test]
    fn filters_that_no_group_can_match_are_warned_about() {
        let w = warnings(
            "phyint eth0 upstream\nphyint eth1 downstream whitelist 192.168.1.0/24 \
             whitelist 239.0.0.0/8 blacklist 0.0.0.0/0 whitelist 2001:db8::/32",
            &["eth0", "eth1"],
        );
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("whitelist 192.168.1.0/24"), "{w:?}");
        assert!(w[1].contains("whitelist 2001:db8::/32"), "{w:?}");
    }
}
