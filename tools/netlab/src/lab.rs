//! The [`Lab`]: owner of every namespace, link and process a test creates, and the guard that
//! removes them all again, also when the test fails (docs/test-strategy.md §2).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::netns::{Netns, run_checked};
use crate::process::{ChildHandle, ChildInner, TERM_GRACE, terminate_all};
use crate::tun::{TunEnd, TunLink};

/// Environment variable that turns "not root" from a panic into a skipped test.
pub const SKIP_ENV: &str = "MRPROXY_SKIP_NETNS";

/// Environment variable that keeps the lab's work directory after a successful run.
pub const KEEP_DIR_ENV: &str = "MRPROXY_KEEP_LAB";

/// Lab counter within this process, so several labs (parallel tests) get distinct prefixes.
static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Multicast snooping mode of a bridge created with [`Lab::bridge`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snooping {
    /// `mcast_snooping 0`: the bridge floods multicast to every port.
    Off,
    /// `mcast_snooping 1`: the bridge forwards a group only to ports where it heard a report
    /// and to router ports. With `querier: false` it must learn the router port from the
    /// queries of the router under test.
    On {
        /// Whether the bridge itself runs an IGMP/MLD querier (`mcast_querier`).
        querier: bool,
    },
}

/// A test lab: a unique name prefix, the namespaces created under it, the processes spawned in
/// them, and a work directory for configs and logs.
///
/// Dropping the lab (also while unwinding from a failed assertion) stops every child it spawned
/// (SIGTERM, then SIGKILL after a grace period), stops tun relays, and deletes every namespace
/// it created. The work directory is removed too, except after a panic or with
/// `MRPROXY_KEEP_LAB=1`, so logs of a failed test survive (its path is printed).
///
/// ```no_run
/// use netlab::Lab;
/// if !Lab::require_root() { return; }
/// let lab = Lab::new("basic").unwrap();
/// let (rtr, h1) = (lab.ns("rtr").unwrap(), lab.ns("h1").unwrap());
/// lab.veth((&rtr, "dn1"), (&h1, "e0")).unwrap();
/// rtr.add_addr("dn1", "192.0.2.1/24").unwrap();
/// h1.add_addr("e0", "192.0.2.2/24").unwrap();
/// ```
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    dir: PathBuf,
    state: Mutex<LabState>,
}

#[derive(Default)]
struct LabState {
    namespaces: Vec<Netns>,
    children: Vec<Arc<ChildInner>>,
    /// Run before the namespaces are deleted (tun relays register their stop here).
    teardown: Vec<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for LabState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabState")
            .field("namespaces", &self.namespaces)
            .field("children", &self.children.len())
            .field("teardown", &self.teardown.len())
            .finish()
    }
}

impl Lab {
    /// Whether namespace tests can run. Returns `true` when running as root. Otherwise panics
    /// with an explanation, unless `MRPROXY_SKIP_NETNS=1` is set, in which case it prints a
    /// note and returns `false` so the caller can return early (skip).
    pub fn require_root() -> bool {
        if nix::unistd::geteuid().is_root() {
            return true;
        }
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("netlab: not root, skipping a network-namespace test ({SKIP_ENV}=1)");
            return false;
        }
        panic!(
            "network-namespace tests need root (CAP_SYS_ADMIN and CAP_NET_ADMIN); \
             run them as root, or set {SKIP_ENV}=1 to skip them"
        );
    }

    /// Creates a lab whose namespaces are named `mrp<pid>-<n>-<tag>-<name>`. `tag` is
    /// shortened to 12 characters of `[a-z0-9]` (it only helps a human reading `ip netns list`).
    /// Also creates the work directory `$TMPDIR/<prefix>`.
    pub fn new(tag: &str) -> io::Result<Lab> {
        let n = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("mrp{}-{n}-{}", std::process::id(), sanitize_tag(tag));
        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir)?;
        Ok(Lab {
            prefix,
            dir,
            state: Mutex::new(LabState::default()),
        })
    }

    /// The unique prefix of this lab's namespace names.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The lab's work directory (configs, logs, captures); see the type's docs for its lifetime.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path in the work directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Creates the namespace `<prefix>-<name>` with `lo` up and IPv6 duplicate address
    /// detection off for interfaces created later (`accept_dad=0`), so link-local addresses
    /// are usable at once and MLD reports do not go out from `::` while they are tentative.
    pub fn ns(&self, name: &str) -> io::Result<Netns> {
        let full = format!("{}-{name}", self.prefix);
        run_checked("ip", &["netns", "add", &full])?;
        let ns = Netns::existing(full);
        // Registered before anything else can fail, so the lab deletes it in any case.
        self.lock().namespaces.push(ns.clone());
        ns.set_up("lo")?;
        for scope in ["all", "default"] {
            ns.sysctl(&format!("net/ipv6/conf/{scope}/accept_dad"), "0")?;
        }
        Ok(ns)
    }

    /// Every namespace this lab created, in creation order.
    pub fn namespaces(&self) -> Vec<Netns> {
        self.lock().namespaces.clone()
    }

    /// Creates a veth pair, `a.1` in namespace `a.0` and its peer `b.1` in `b.0`, and brings
    /// both ends up. The pair is created directly inside `a.0` (never in the host namespace)
    /// and disappears with the namespaces.
    pub fn veth(&self, a: (&Netns, &str), b: (&Netns, &str)) -> io::Result<()> {
        let (ns_a, if_a) = a;
        let (ns_b, if_b) = b;
        let mut args = vec!["link", "add", if_a, "type", "veth", "peer", "name", if_b];
        if ns_a != ns_b {
            args.extend(["netns", ns_b.name()]);
        }
        ns_a.ip(&args)?;
        ns_a.set_up(if_a)?;
        ns_b.set_up(if_b)
    }

    /// Creates bridge `name` in `ns` with the given multicast snooping mode, and brings it up.
    pub fn bridge(&self, ns: &Netns, name: &str, snooping: Snooping) -> io::Result<()> {
        let mut args = vec!["link", "add", name, "type", "bridge"];
        match snooping {
            Snooping::Off => args.extend(["mcast_snooping", "0"]),
            Snooping::On { querier } => {
                args.extend([
                    "mcast_snooping",
                    "1",
                    "mcast_querier",
                    if querier { "1" } else { "0" },
                ]);
            }
        }
        ns.ip(&args)?;
        ns.set_up(name)
    }

    /// Makes `port` (an interface in `ns`) a port of `bridge` and brings it up.
    pub fn enslave(&self, ns: &Netns, port: &str, bridge: &str) -> io::Result<()> {
        ns.ip(&["link", "set", "dev", port, "master", bridge])?;
        ns.set_up(port)
    }

    /// Starts `program args…` inside `ns` (entered like `ip netns exec` does), with stdout and stderr
    /// appended to `log_path` (a relative path is taken inside [`Lab::dir`]) and all signal
    /// dispositions reset to their defaults. The lab stops it on drop if it still runs.
    pub fn spawn(
        &self,
        ns: &Netns,
        program: &str,
        args: &[&str],
        log_path: impl AsRef<Path>,
    ) -> io::Result<ChildHandle> {
        let log_path = self.dir.join(log_path.as_ref());
        let child = ChildHandle::spawn(ns, program, args, &log_path)?;
        self.lock().children.push(child.inner());
        Ok(child)
    }

    /// Creates a PPP-like point-to-point link: tun device `a.1` in `a.0` with local address
    /// `a.2` and peer `b.2`, and the mirror image in `b.0`, relayed by a thread of this
    /// process; both devices are up. IPv4 or IPv6 addresses (both sides the same family).
    ///
    /// ```no_run
    /// # fn f(lab: &netlab::Lab, isp: &netlab::Netns, rtr: &netlab::Netns) -> std::io::Result<()> {
    /// let ppp = lab.tun_link((isp, "ppp-isp", "198.51.100.1"), (rtr, "ppp0", "198.51.100.2"))?;
    /// isp.add_route("224.0.0.0/4 dev ppp-isp")?; // the source side sends multicast over it
    /// ppp.cut();      // PPP went down: both devices vanish
    /// ppp.restore()?; // and came back
    /// # Ok(()) }
    /// ```
    pub fn tun_link(
        &self,
        a: (&Netns, &str, &str),
        b: (&Netns, &str, &str),
    ) -> io::Result<TunLink> {
        let end = |(ns, ifname, local): (&Netns, &str, &str)| -> io::Result<TunEnd> {
            let local = local.parse().map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("address {local:?}: {e}"),
                )
            })?;
            Ok(TunEnd {
                ns: ns.clone(),
                ifname: ifname.to_owned(),
                local,
            })
        };
        let link = TunLink::create(end(a)?, end(b)?)?;
        self.on_teardown(Box::new(link.stopper()));
        Ok(link)
    }

    /// Registers work to do at teardown, before the namespaces are deleted.
    pub(crate) fn on_teardown(&self, hook: Box<dyn FnOnce() + Send>) {
        self.lock().teardown.push(hook);
    }

    fn lock(&self) -> MutexGuard<'_, LabState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let state = std::mem::take(&mut *self.lock());
        terminate_all(&state.children, TERM_GRACE);
        for hook in state.teardown {
            hook();
        }
        for ns in state.namespaces.iter().rev() {
            if let Err(e) = run_checked("ip", &["netns", "del", ns.name()]) {
                eprintln!("netlab: deleting namespace {}: {e}", ns.name());
            }
        }
        let keep = std::env::var(KEEP_DIR_ENV).is_ok_and(|v| v == "1");
        if std::thread::panicking() || keep {
            eprintln!("netlab: lab files kept in {}", self.dir.display());
        } else if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("netlab: removing {}: {e}", self.dir.display());
        }
    }
}

/// Deletes namespaces left behind by netlab labs of processes that no longer exist (a test
/// run killed before its labs could drop). Only names of this crate's form
/// `mrp<pid>-<n>-…` whose `<pid>` is not running are touched; returns the names deleted.
/// Not called automatically: a test script may call it once before starting.
pub fn sweep_orphans() -> io::Result<Vec<String>> {
    let listing = run_checked("ip", &["netns", "list"])?;
    let mut deleted = Vec::new();
    for name in listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
    {
        let Some(pid) = owner_pid(name) else { continue };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        run_checked("ip", &["netns", "del", name])?;
        deleted.push(name.to_owned());
    }
    Ok(deleted)
}

/// The PID in a netlab namespace name `mrp<pid>-<n>-…`, if the name has that form.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("mrp")?;
    let (pid, rest) = rest.split_once('-')?;
    let (counter, _) = rest.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(counter))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Keeps a human-readable hint of the test in the prefix while bounding its length.
fn sanitize_tag(tag: &str) -> String {
    let cleaned: String = tag
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    if cleaned.is_empty() {
        "lab".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::{owner_pid, sanitize_tag};

    #[test]
    fn only_netlab_names_have_an_owner() {
        assert_eq!(owner_pid("mrp1234-0-basic-rtr"), Some(1234));
        assert_eq!(
            owner_pid("mrp-1234-rtr"),
            None,
            "the shell scripts' form is not ours"
        );
        assert_eq!(owner_pid("mrp1234-x-rtr"), None);
        assert_eq!(owner_pid("igp-rtr"), None);
    }

    #[test]
    fn tags_are_short_and_plain() {
        assert_eq!(sanitize_tag("Join_Leave-IPv6 test!"), "joinleaveipv");
        assert_eq!(sanitize_tag("--"), "lab");
    }
}
