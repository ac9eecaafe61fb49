//! The two proxies under test: where their binaries are, their configuration, starting them in
//! a router namespace, and reading their CPU time and memory from `/proc`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use netlab::{ChildHandle, Lab, Netns};
use serde::Serialize;

/// Debian's igmpproxy (0.3 on Debian 12), installed with apt when missing.
pub const IGMPPROXY: &str = "/usr/sbin/igmpproxy";

/// Which proxy a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Igmpproxy,
    Mrproxy,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Igmpproxy => "igmpproxy",
            Kind::Mrproxy => "mrproxy",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The configuration of one run. Both proxies read the same igmpproxy-syntax `phyint` lines;
/// mrproxy also gets `mrproxy_extra` (extension keywords igmpproxy would reject), placed first
/// so that they are global defaults (mrproxy.conf(5): an extension keyword after a block
/// belongs to that block).
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Global igmpproxy keywords (`quickleave`), one per line.
    pub globals: Vec<String>,
    /// The upstream interface.
    pub upstream: String,
    /// The downstream interfaces.
    pub downstreams: Vec<String>,
    /// mrproxy-only extension keywords, with why they are needed said in the scenario.
    pub mrproxy_extra: Vec<String>,
}

impl Config {
    pub fn render(&self, kind: Kind) -> String {
        let mut text = String::new();
        if kind == Kind::Mrproxy {
            for line in &self.mrproxy_extra {
                text.push_str(line);
                text.push('\n');
            }
        }
        for line in &self.globals {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&format!(
            "phyint {} upstream ratelimit 0 threshold 1\n",
            self.upstream
        ));
        for down in &self.downstreams {
            text.push_str(&format!(
                "phyint {down} downstream ratelimit 0 threshold 1\n"
            ));
        }
        text
    }

    /// Number of multicast interfaces (VIFs) the proxy creates.
    fn vifs(&self) -> usize {
        1 + self.downstreams.len()
    }
}

/// Paths of the two daemons.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub mrproxy: PathBuf,
    pub igmpproxy: PathBuf,
}

impl Binaries {
    pub fn path(&self, kind: Kind) -> &Path {
        match kind {
            Kind::Igmpproxy => &self.igmpproxy,
            Kind::Mrproxy => &self.mrproxy,
        }
    }
}

/// A proxy running in the router namespace of a lab.
pub struct Running {
    pub kind: Kind,
    pub child: ChildHandle,
}

impl Running {
    /// Writes the configuration, starts the daemon in the foreground with warnings on stderr
    /// (the same log level for both), and waits until it has created every VIF and had a
    /// moment to send its first queries.
    pub fn start(
        lab: &Lab,
        rtr: &Netns,
        kind: Kind,
        binaries: &Binaries,
        config: &Config,
    ) -> Result<Running, String> {
        let conf_path = lab.path(&format!("{kind}.conf"));
        fs::write(&conf_path, config.render(kind)).map_err(|e| format!("writing config: {e}"))?;
        let conf = conf_path.display().to_string();
        let control = lab.path("mrproxy.sock").display().to_string();
        let args: Vec<&str> = match kind {
            Kind::Igmpproxy => vec!["-d", &conf],
            Kind::Mrproxy => vec!["-d", "--control", &control, &conf],
        };
        let binary = binaries.path(kind).display().to_string();
        let child = lab
            .spawn(rtr, &binary, &args, format!("{kind}.log"))
            .map_err(|e| format!("starting {kind}: {e}"))?;
        let expected = config.vifs();
        let ready = netlab::wait_until(Duration::from_secs(15), Duration::from_millis(20), || {
            !child.is_running() || netlab::vifs_v4(rtr).is_ok_and(|v| v.len() >= expected)
        });
        if !ready || !child.is_running() {
            return Err(format!(
                "{kind} did not create its {expected} VIFs; log:\n{}",
                child.log().unwrap_or_default()
            ));
        }
        // Startup queries and the mroute socket's report-group joins.
        std::thread::sleep(Duration::from_millis(300));
        Ok(Running { kind, child })
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        self.child.log().unwrap_or_default()
    }

    /// CPU time used so far (user + system) and resident memory now.
    pub fn usage(&self) -> Result<Usage, String> {
        Usage::of(self.child.pid())
    }
}

/// Resource use of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Resident set size, bytes.
    pub rss: u64,
    /// Peak resident set size (VmHWM), bytes.
    pub rss_peak: u64,
}

impl Usage {
    pub fn of(pid: u32) -> Result<Usage, String> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
        let status = fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
        let ticks = parse_cpu_ticks(&stat).ok_or("unexpected /proc/PID/stat format")?;
        let hz = clock_ticks_per_second();
        Ok(Usage {
            cpu: Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / hz),
            rss: status_kib(&status, "VmRSS:").unwrap_or(0) * 1024,
            rss_peak: status_kib(&status, "VmHWM:").unwrap_or(0) * 1024,
        })
    }
}

/// utime + stime (fields 14 and 15) of `/proc/PID/stat`. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its closing parenthesis.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn clock_ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(100)
}

/// Installs Debian's igmpproxy if it is missing (docs/test-strategy.md §9.1), and makes sure no instance
/// runs in the host's own network namespace: the benchmark runs it only inside its namespaces.
pub fn ensure_igmpproxy() -> Result<PathBuf, String> {
    let path = PathBuf::from(IGMPPROXY);
    let installed_now = !path.exists();
    if installed_now {
        eprintln!("bench: {IGMPPROXY} missing, installing Debian's igmpproxy (apt-get)");
        apt(&["update", "-qq"])?;
        apt(&["install", "-y", "-qq", "igmpproxy"])?;
        if !path.exists() {
            return Err(format!(
                "apt-get installed igmpproxy but {IGMPPROXY} is missing"
            ));
        }
    }
    let host_instances = host_namespace_instances(&path)?;
    if host_instances.is_empty() {
        return Ok(path);
    }
    if installed_now {
        // Started by the package we just installed (a distribution whose policy allows it):
        // ours to stop, by PID.
        for pid in &host_instances {
            let pid = i32::try_from(*pid).map_err(|e| e.to_string())?;
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM)
                .map_err(|e| format!("stopping igmpproxy pid {pid}: {e}"))?;
        }
        std::thread::sleep(Duration::from_secs(1));
        if host_namespace_instances(&path)?.is_empty() {
            return Ok(path);
        }
    }
    Err(format!(
        "igmpproxy runs in the host namespace (pid {host_instances:?}); stop it first \
         (e.g. `service igmpproxy stop`): the benchmark must be the only multicast router it measures"
    ))
}

fn apt(args: &[&str]) -> Result<(), String> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("apt-get {} failed: {status}", args.join(" ")))
    }
}

/// PIDs of processes running `binary` in the network namespace the benchmark itself runs in
/// (the host's: its namespaces are entered per thread or per child only).
fn host_namespace_instances(binary: &Path) -> Result<Vec<u32>, String> {
    let host_ns =
        fs::read_link("/proc/self/ns/net").map_err(|e| format!("/proc/self/ns/net: {e}"))?;
    let mut found = Vec::new();
    let entries = fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // Processes may exit while we look: unreadable entries are skipped.
        let exe = fs::read_link(entry.path().join("exe"));
        let ns = fs::read_link(entry.path().join("ns/net"));
        if let (Ok(exe), Ok(ns)) = (exe, ns)
            && exe == binary
            && ns == host_ns
        {
            found.push(pid);
        }
    }
    Ok(found)
}

/// The mrproxy binary: the given path as it is; otherwise `mrproxy` next to this executable,
/// first brought up to date with `cargo build --release -p mrproxy` into this executable's
/// target directory when this executable was built from the workspace (`cargo run -p bench`),
/// so the figures are always those of the current source.
pub fn locate_mrproxy(given: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("--mrproxy {}: no such file", path.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let sibling = exe.with_file_name("mrproxy");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // <target>/release/bench: the target directory is two levels up.
    let target_dir = exe.parent().and_then(Path::parent);
    if let (true, Some(target_dir)) = (workspace.join("Cargo.toml").is_file(), target_dir) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        eprintln!("bench: building mrproxy (cargo build --release -p mrproxy)");
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "mrproxy",
                "--target-dir",
            ])
            .arg(target_dir)
            .current_dir(&workspace)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => return Err(format!("building mrproxy failed: {s}")),
            // No cargo here (a copied binary): use what is there.
            Err(e) => eprintln!("bench: cannot run cargo ({e}); using {}", sibling.display()),
        }
    }
    if sibling.is_file() {
        Ok(sibling)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build --release -p mrproxy` or pass --mrproxy PATH",
            sibling.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_the_command_name() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 1000 200";
        assert_eq!(parse_cpu_ticks(stat), Some(10));
        assert_eq!(parse_cpu_ticks("42 (x) S 1"), None);
    }

    #[test]
    fn status_values_are_kib() {
        let status = "Name:\tx\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(1024));
        assert_eq!(status_kib(status, "VmHWM:"), Some(2048));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn mrproxy_extensions_come_first_and_only_for_mrproxy() {
        let config = Config {
            globals: vec!["quickleave".into()],
            upstream: "up0".into(),
            downstreams: vec!["dn1".into()],
            mrproxy_extra: vec!["maxgroups 20000".into()],
        };
        let mr = config.render(Kind::Mrproxy);
        assert!(mr.starts_with("maxgroups 20000\nquickleave\nphyint up0 upstream"));
        let igmp = config.render(Kind::Igmpproxy);
        assert!(!igmp.contains("maxgroups"));
        assert!(igmp.contains("phyint dn1 downstream ratelimit 0 threshold 1\n"));
        assert_eq!(config.vifs(), 2);
    }
}
