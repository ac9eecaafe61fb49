//! A named network namespace (`/run/netns/<name>`) and the operations tests perform inside it.
//!
//! Topology changes shell out to `ip -n <name>` (iproute2), which never touches the host
//! namespace. Everything that needs a socket or a `/proc` file of the namespace runs on a
//! short-lived thread that has entered it with `setns(CLONE_NEWNET)` ([`Netns::run`]).

use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Command, Output};
use std::thread;

use nix::sched::{CloneFlags, setns};

/// A network namespace created by a [`crate::Lab`] (or any existing named namespace).
///
/// Cheap to clone: it is only the name. The [`crate::Lab`] that created it deletes it on drop.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Refers to an existing named namespace (as listed by `ip netns list`). Nothing is created,
    /// and nothing is deleted when the value is dropped.
    pub fn existing(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// The full namespace name, as `ip netns` knows it (unique per run).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> <args…>`; fails with stderr in the message if ip exits non-zero.
    /// Returns ip's standard output.
    ///
    /// ```no_run
    /// # fn f(ns: &netlab::Netns) -> std::io::Result<()> {
    /// ns.ip(&["link", "set", "e0", "mtu", "1400"])?;
    /// # Ok(()) }
    /// ```
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_checked("ip", &full)
    }

    /// Runs `ip netns exec <ns> <program> <args…>` to completion and returns its output, whatever
    /// its exit status (check `output.status` yourself). For long-running programs use
    /// [`crate::Lab::spawn`].
    pub fn exec(&self, program: &str, args: &[&str]) -> io::Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", self.name.as_str(), program])
            .args(args)
            .output()
    }

    /// Runs `f` on a thread that has entered this namespace and returns its result.
    ///
    /// Sockets created inside `f` belong to this namespace for their whole life, also after the
    /// thread ended and when used from other threads; this is how receivers, sources and
    /// captures live "in" a namespace without a process. `/proc/thread-self/net/…` inside `f`
    /// shows this namespace's tables (`/proc/self/net` would show the main thread's).
    ///
    /// Fails if the namespace cannot be entered (for example it was deleted). A panic in `f` is
    /// propagated to the caller with its original payload.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        let path = Path::new("/run/netns").join(&self.name);
        let ns_file = File::open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("open {}: {e}", path.display())))?;
        thread::scope(|scope| {
            let worker = thread::Builder::new()
                .name(format!("netns-{}", self.name))
                .spawn_scoped(scope, move || {
                    // setns on a thread changes only that thread's network namespace.
                    setns(&ns_file, CloneFlags::CLONE_NEWNET)
                        .map_err(|e| io::Error::other(format!("setns into {}: {e}", self.name)))?;
                    Ok(f())
                })?;
            match worker.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Reads a file under `/proc/thread-self/` inside the namespace, for example
    /// `read_proc("net/ip_mr_cache")` or `read_proc("net/igmp")`.
    pub fn read_proc(&self, path: &str) -> io::Result<String> {
        let full = Path::new("/proc/thread-self").join(path.trim_start_matches('/'));
        self.run(|| std::fs::read_to_string(&full))?.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{} in {}: {e}", full.display(), self.name),
            )
        })
    }

    /// Sets a sysctl of this namespace. `key` is the path below `/proc/sys`
    /// (`"net/ipv4/conf/e0/force_igmp_version"`) or, when it contains no `/`, the dotted form
    /// (`"net.ipv4.igmp_max_memberships"`; interface names with dots need the slash form).
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        let path = sysctl_path(key);
        let value = format!("{value}\n");
        self.run(|| std::fs::write(&path, value.as_bytes()))?
            .map_err(|e| io::Error::new(e.kind(), format!("sysctl {key} in {}: {e}", self.name)))
    }

    /// Reads a sysctl of this namespace (same key forms as [`Netns::sysctl`]), trimmed.
    pub fn sysctl_get(&self, key: &str) -> io::Result<String> {
        let path = sysctl_path(key);
        let text = self
            .run(|| std::fs::read_to_string(&path))?
            .map_err(|e| io::Error::new(e.kind(), format!("sysctl {key} in {}: {e}", self.name)))?;
        Ok(text.trim().to_owned())
    }

    /// Brings an interface up (`ip link set <ifname> up`).
    pub fn set_up(&self, ifname: &str) -> io::Result<()> {
        self.ip(&["link", "set", "dev", ifname, "up"]).map(drop)
    }

    /// Takes an interface down (`ip link set <ifname> down`).
    pub fn set_down(&self, ifname: &str) -> io::Result<()> {
        self.ip(&["link", "set", "dev", ifname, "down"]).map(drop)
    }

    /// Adds an address in CIDR form (`"192.0.2.1/24"`, `"2001:db8:1::1/64"`). IPv6 addresses are
    /// added with `nodad` so they are usable at once (no duplicate address detection delay).
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> io::Result<()> {
        let mut args = vec!["addr", "add", cidr, "dev", ifname];
        if cidr.contains(':') {
            args.push("nodad");
        }
        self.ip(&args).map(drop)
    }

    /// Removes an address given in the form it was added.
    pub fn del_addr(&self, ifname: &str, cidr: &str) -> io::Result<()> {
        self.ip(&["addr", "del", cidr, "dev", ifname]).map(drop)
    }

    /// Adds a route, given as the words after `ip route add`: `"default via 192.0.2.1"`,
    /// `"224.0.0.0/4 dev ppp-isp"`. A spec containing `:` is added as IPv6 (`ip -6`).
    pub fn add_route(&self, spec: &str) -> io::Result<()> {
        let mut args = Vec::new();
        if spec.contains(':') {
            args.push("-6");
        }
        args.extend(["route", "add"]);
        args.extend(spec.split_whitespace());
        self.ip(&args).map(drop)
    }

    /// The interface index of `ifname` inside this namespace.
    pub fn ifindex(&self, ifname: &str) -> io::Result<u32> {
        let name = ifname.to_owned();
        self.run(move || nix::net::if_::if_nametoindex(name.as_str()))?
            .map_err(|e| io::Error::other(format!("no interface {ifname} in {}: {e}", self.name)))
    }

    /// The interface flags (`IFF_*`, as `SIOCGIFFLAGS` reports them, low 16 bits), for example
    /// 0x10d1 for a PPP-like tun link.
    pub fn link_flags(&self, ifname: &str) -> io::Result<u32> {
        let flags = self.run(|| {
            let addrs = nix::ifaddrs::getifaddrs().map_err(io::Error::from)?;
            let flags = addrs
                .filter(|a| a.interface_name == ifname)
                .map(|a| a.flags.bits())
                .next();
            Ok::<_, io::Error>(flags)
        })??;
        let flags = flags
            .ok_or_else(|| io::Error::other(format!("no interface {ifname} in {}", self.name)))?;
        // Bits above 16 (LOWER_UP, DORMANT, ECHO) are not part of the classic ifreq flags.
        Ok(u32::try_from(flags).unwrap_or(0) & 0xffff)
    }

    /// Whether an interface with this name exists in the namespace.
    pub fn has_interface(&self, ifname: &str) -> bool {
        self.ifindex(ifname).is_ok()
    }
}

/// Maps a sysctl key to its file below `/proc/sys`.
fn sysctl_path(key: &str) -> String {
    let rel = if key.contains('/') {
        key.trim_start_matches('/').to_owned()
    } else {
        key.replace('.', "/")
    };
    format!("/proc/sys/{rel}")
}

/// Runs a command, returning stdout, or an error carrying the command line and stderr.
pub(crate) fn run_checked(program: &str, args: &[&str]) -> io::Result<String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::sysctl_path;

    #[test]
    fn sysctl_keys_accept_slash_and_dot_forms() {
        assert_eq!(
            sysctl_path("net/ipv4/conf/e0/force_igmp_version"),
            "/proc/sys/net/ipv4/conf/e0/force_igmp_version"
        );
        assert_eq!(
            sysctl_path("net.ipv4.igmp_max_memberships"),
            "/proc/sys/net/ipv4/igmp_max_memberships"
        );
    }
}
