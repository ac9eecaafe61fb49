//! Fixtures of tests/e2e_startup.rs: daemons started with any options and wrapper, exit codes,
//! /proc fields per thread, a stand-in for syslog, the kernel's upstream memberships.

use super::common::*;
use netlab::{ChildHandle, Lab};
use nix::sys::signal::Signal;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Start-up in the guest can take seconds; a parent that has not exited after this is stuck.
pub const START: Duration = Duration::from_secs(40);

/// What MRT_INIT's EADDRINUSE becomes (crates/linux/src/error.rs).
pub const IN_USE: &str = "mrproxy: another multicast router (igmpproxy, smcroute, pimd or a second \
                      mrproxy) already owns the IPv4 multicast routing table of this network \
                      namespace; stop it first\n";

/// Writes `config` as `NAME.conf` in the lab and starts `wrapper… mrproxy options… --control
/// NAME.sock NAME.conf` in `ns`, stdout and stderr to `NAME.log`; returns the process and the
/// status socket's path. Nothing is awaited.
pub fn spawn(
    lab: &Lab,
    ns: &netlab::Netns,
    name: &str,
    config: &str,
    wrapper: &[&str],
    options: &[&str],
) -> (ChildHandle, PathBuf) {
    let config_path = lab.path(&format!("{name}.conf"));
    std::fs::write(&config_path, config).unwrap();
    let control = lab.path(&format!("{name}.sock"));
    let mut command: Vec<&str> = wrapper.to_vec();
    command.push(binary());
    command.extend(options);
    command.extend([
        "--control",
        control.to_str().unwrap(),
        config_path.to_str().unwrap(),
    ]);
    let child = lab
        .spawn(ns, command[0], &command[1..], format!("{name}.log"))
        .unwrap();
    (child, control)
}

/// The exit code of a process that must end within [`START`].
pub fn exit_code(child: &ChildHandle) -> Option<i32> {
    let status = child.wait_timeout(START).unwrap();
    assert!(
        status.is_some(),
        "still running after {START:?}:\n{}",
        child.log().unwrap_or_default()
    );
    status.and_then(|s| s.code())
}

/// Whether `mrproxy status` answers on `control`.
pub fn answers(control: &Path) -> bool {
    std::process::Command::new(binary())
        .args(["status", "--control", control.to_str().unwrap()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A field of every thread's /proc/PID/task/TID/status: capabilities and no_new_privs are per
/// thread.
pub fn task_fields(pid: u32, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let text = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let value = text.lines().find_map(|l| l.strip_prefix(field)).unwrap();
        out.push(value.trim().to_owned());
    }
    out
}

/// A stand-in for syslog: a datagram socket in the lab, read by a thread of its own (a unix
/// datagram socket queues only a few datagrams, and a daemon whose syslog(3) blocks never gets
/// ready), and the wrapper that runs a command with it at /dev/log. The spawned process already
/// has a mount namespace of its own (netlab enters the network namespace as `ip netns exec`
/// does); in it a tmpfs replaces /dev, holding the real /dev/null and the socket as /dev/log,
/// so that glibc's syslog(3) reaches the test.
pub struct Syslog {
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    wrapper: Vec<String>,
}

impl Syslog {
    pub fn new(lab: &Lab) -> Syslog {
        let path = lab.path("syslog.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, stopped) = (Arc::clone(&lines), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                    sink.lock().unwrap().push(line);
                }
            }
        });
        let old_dev = lab.path("old-dev");
        std::fs::create_dir(&old_dev).unwrap();
        let script = "set -e; mount --bind /dev \"$1\"; mount -t tmpfs tmpfs /dev; \
                      : > /dev/null; : > /dev/log; mount --bind \"$1/null\" /dev/null; \
                      mount --bind \"$2\" /dev/log; shift 2; exec \"$@\"";
        let wrapper = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            script.to_owned(),
            "sh".to_owned(),
            old_dev.display().to_string(),
            path.display().to_string(),
        ];
        Syslog {
            lines,
            stop,
            wrapper,
        }
    }

    pub fn wrapper(&self) -> Vec<&str> {
        self.wrapper.iter().map(String::as_str).collect()
    }

    /// Every message received so far once one contains `needle`, or at `timeout`.
    pub fn until(&self, needle: &str, timeout: Duration) -> Vec<String> {
        netlab::wait_until(timeout, Duration::from_millis(20), || {
            self.lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(needle))
        });
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The PID in a syslog(3) line `<PRI>TIMESTAMP mrproxy[PID]: MESSAGE`.
pub fn syslog_pid(line: &str) -> Option<u32> {
    let rest = &line[line.find("mrproxy[")? + "mrproxy[".len()..];
    rest[..rest.find(']')?].parse().ok()
}

/// Sends SIGTERM to `pid`, a daemon this test started in the background (found by its line in
/// the test's own syslog socket), and waits until it has exited.
pub fn terminate(pid: u32) -> bool {
    let pid_t = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    if nix::sys::signal::kill(pid_t, Signal::SIGTERM).is_err() {
        return false;
    }
    netlab::wait_until(WAIT, Duration::from_millis(20), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true)
    })
}

/// Whether /proc/net/igmp of `ns` lists `group` (as the kernel prints it: the address in
/// network order read as a host-order word, %08X) under `ifname`.
pub fn upstream_joined(ns: &netlab::Netns, ifname: &str, group: &str) -> bool {
    let text = ns.read_proc("net/igmp").unwrap_or_default();
    let mut current = false;
    // `IDX\tDEVICE : COUNT QUERIER` lines, each followed by its `\t\t\t\tGROUP USERS …` lines.
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            current = fields.get(1) == Some(&ifname);
        } else if current && fields.first() == Some(&group) {
            return true;
        }
    }
    false
}
