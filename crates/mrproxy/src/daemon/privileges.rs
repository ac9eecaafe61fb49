//! `chroot DIR` and `user NAME` (mrproxy.conf(5)), and every capability: what the daemon gives
//! up once every socket is open, right before its event loop starts, as igmpproxy 0.4 does
//! (docs/igmpproxy-differences.md §3) and further: the capabilities go with or without a `user` line.
//!
//! Both are resolved at start, before going to the background, so that a missing directory or
//! an unknown user is one line on the terminal; the user is looked up there too because
//! /etc/passwd and the NSS modules are outside the new root.
//!
//! After start-up the process keeps no capability in any set (effective, permitted,
//! inheritable, ambient; the bounding set too when it holds CAP_SETPCAP to clear it), has
//! no_new_privs set, and runs with umask 027; it needs nothing more, because everything it
//! still does goes through sockets opened before or needs no privilege. Checked in the guest by
//! tests/e2e_startup.rs (uid 0 without a `user` line) and tests/e2e_privileges.rs (`user
//! nobody`), and by reading the kernel:
//! - MRT_ADD_VIF/MRT_DEL_VIF/MRT_ADD_MFC/MRT_DEL_MFC/MRT_DONE (and the MRT6_* ones) ask for
//!   CAP_NET_ADMIN only from a socket other than the table's mroute socket
//!   (`ip_mroute_setsockopt`, `ip6_mroute_setsockopt`: `sk != mrt->mroute_sk &&
//!   !ns_capable(CAP_NET_ADMIN)`); ours is the owner, so new interfaces still get VIFs/MIFs and
//!   SIGTERM still removes them. SIOCGETSGCNT needs nothing.
//! - Raw sockets need CAP_NET_RAW only to be created; the IGMP/MLD send sockets and the mroute
//!   sockets are created before, and the sticky IPv6 Router Alert option is set before too.
//!   Sending with IP_PKTINFO/IPV6_PKTINFO from an address of the interface needs nothing.
//! - Upstream memberships go over unprivileged UDP sockets, also those opened later
//!   (join_pool.rs); joining report groups on the mroute sockets needs nothing either.
//! - The rtnetlink socket is open and subscribed; dumps need nothing, and neither does a new
//!   NETLINK_ROUTE socket subscribed to link and address groups (rtnetlink allows unprivileged
//!   listeners, NL_CFG_F_NONROOT_RECV).
//! - At start, CAP_NET_RAW is what the raw sockets need; MRT_INIT itself asks for no
//!   capability. CAP_NET_ADMIN only lets SO_RCVBUFFORCE size the mroute sockets' receive
//!   buffers past net.core.rmem_max (without it they get the capped SO_RCVBUF).
//!
//! What does not survive a chroot, and is handled: /proc (the membership limit is read before,
//! `UpstreamMembership::new`), the systemd notification socket (`Notifier` connects at
//! start), syslog's /dev/log (opened at start, LOG_NDELAY), /dev/null for the background
//! daemon's stdio (opened at the fork), the status socket's file (removed
//! at exit only if it lies inside the new root). The configuration file is read again
//! on SIGHUP by the same path, which then resolves inside the new root, as in igmpproxy.

use crate::control::ControlSocket;
use mrproxy_config::Config;
use mrproxy_linux::Account;
use std::path::{Path, PathBuf};

/// What to give up, resolved from the configuration at start.
#[derive(Debug, Default)]
pub struct Plan {
    pub chroot: Option<PathBuf>,
    pub user: Option<Account>,
}

impl Plan {
    /// Checks that the directory exists and looks the user up; `file` is the configuration
    /// file, named in the errors.
    pub fn resolve(config: &Config, file: &Path) -> Result<Plan, String> {
        let file = file.display();
        let chroot = match &config.chroot {
            None => None,
            Some(dir) => match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => Some(dir.clone()),
                Ok(_) => {
                    return Err(format!(
                        "chroot {}: not a directory; make it a directory (an empty one will do) \
                         or remove the 'chroot' line from {file}",
                        dir.display()
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(format!(
                        "chroot {}: no such directory; create it (an empty one will do) or \
                         remove the 'chroot' line from {file}",
                        dir.display()
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "chroot {}: {e}; fix the directory or remove the 'chroot' line from {file}",
                        dir.display()
                    ));
                }
            },
        };
        let user = match &config.user {
            None => None,
            Some(name) => match mrproxy_linux::lookup_user(name) {
                Ok(Some(account)) => Some(account),
                Ok(None) => {
                    return Err(format!(
                        "user {name}: no such user (getent passwd {name} finds nothing); create \
                         it (useradd --system --no-create-home {name}) or change the 'user' line \
                         in {file}"
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "user {name}: cannot read the user database: {e}; fix NSS \
                         (/etc/nsswitch.conf) or remove the 'user' line from {file}"
                    ));
                }
            },
        };
        Ok(Plan { chroot, user })
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.chroot.is_none() && self.user.is_none()
    }

    /// Whether `config` asks for this plan (a reload cannot change it: both apply at start).
    pub fn made_from(&self, config: &Config) -> bool {
        config.chroot == self.chroot
            && config.user.as_deref() == self.user.as_ref().map(|a| a.name.as_str())
    }

    /// Gives everything up, once every socket is open: no_new_privs, the ambient and (with
    /// CAP_SETPCAP) bounding sets, then the root directory and the user if asked for, then
    /// every capability, with or without a user switch. The status socket keeps working; its
    /// file (`control_path`) is renamed to what it is called inside the new root, or left
    /// behind at exit when it lies outside. An error is one line naming the cause and the fix;
    /// the caller stops the daemon with it.
    pub fn apply(
        &self,
        control_path: &Path,
        control: Option<&mut ControlSocket>,
    ) -> Result<(), String> {
        // First: clearing the bounding set needs CAP_SETPCAP, which the user switch takes away.
        let inheritance = mrproxy_linux::forbid_new_privileges()
            .map_err(|e| format!("cannot restrict privileges (no_new_privs, bounding set): {e}"))?;
        // Named before the chroot, while the old root's paths still resolve.
        let socket_file = self.chroot.as_ref().map(|dir| inside(dir, control_path));
        self.give_up()?;
        mrproxy_linux::drop_capabilities()
            .map_err(|e| format!("cannot drop the capabilities after start-up: {e}"))?;
        if let (Some(inside), Some(control)) = (socket_file, control) {
            if inside.is_none() {
                tracing::info!(
                    "the status socket {} is outside the chroot: its file stays behind at exit",
                    control_path.display()
                );
            }
            control.rename_file(inside);
        }
        tracing::info!("privileges dropped: {}", self.describe(inheritance));
        Ok(())
    }

    /// chroot(DIR) and chdir("/"), then setgroups, setgid, setuid.
    fn give_up(&self) -> Result<(), String> {
        if let Some(dir) = &self.chroot {
            mrproxy_linux::enter_chroot(dir).map_err(|e| {
                let fix = if is_permission(&e) {
                    "start mrproxy as root (chroot needs CAP_SYS_CHROOT)"
                } else {
                    "fix the directory"
                };
                format!(
                    "chroot {}: {e}; {fix} or remove the 'chroot' line",
                    dir.display()
                )
            })?;
        }
        if let Some(account) = &self.user {
            if mrproxy_linux::runs_as(account) {
                tracing::info!(user = %account.name, "already running as that user");
                return Ok(());
            }
            mrproxy_linux::switch_user(account).map_err(|e| {
                let fix = if is_permission(&e.error) {
                    "start mrproxy as root (switching users needs CAP_SETUID and CAP_SETGID)"
                } else {
                    "check the user's entry"
                };
                format!(
                    "user {}: {}: {}; {fix} or remove the 'user' line",
                    account.name, e.step, e.error
                )
            })?;
        }
        Ok(())
    }

    /// One line saying what was given up.
    fn describe(&self, inheritance: mrproxy_linux::Inheritance) -> String {
        let mut parts = Vec::new();
        if let Some(dir) = &self.chroot {
            parts.push(format!("chroot {}", dir.display()));
        }
        if let Some(a) = &self.user {
            parts.push(format!(
                "user {} (uid {}, gid {}, groups {:?})",
                a.name, a.uid, a.gid, a.groups
            ));
        }
        parts.push("no capabilities".to_owned());
        parts.push(if inheritance.bounding_cleared {
            "empty bounding set".to_owned()
        } else {
            format!(
                "bounding set {:#x} kept (clearing it needs CAP_SETPCAP)",
                mrproxy_linux::bounding_set()
            )
        });
        parts.push("no_new_privs".to_owned());
        parts.join(", ")
    }
}

/// EPERM or EACCES.
fn is_permission(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied
}

/// A path of the old root as seen from inside `root` after chroot, if it lies inside it
/// (`/srv/mrproxy/run/mrproxy.sock` in `/srv/mrproxy` is `/run/mrproxy.sock`).
fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let root = std::fs::canonicalize(root).ok()?;
    let parent = std::fs::canonicalize(path.parent()?).ok()?;
    let rest = parent.strip_prefix(&root).ok()?;
    Some(Path::new("/").join(rest).join(path.file_name()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        mrproxy_config::parse(text, "test.conf").unwrap()
    }

    #[test]
    fn an_unknown_user_is_one_line_naming_it_and_the_fix() {
        let c = config("user mrproxy-no-such-user\nphyint eth0 upstream\n");
        let e = Plan::resolve(&c, Path::new("/etc/mrproxy.conf")).unwrap_err();
        assert_eq!(
            e,
            "user mrproxy-no-such-user: no such user (getent passwd mrproxy-no-such-user finds \
             nothing); create it (useradd --system --no-create-home mrproxy-no-such-user) or \
             change the 'user' line in /etc/mrproxy.conf"
        );
    }

    #[test]
    fn a_missing_chroot_directory_is_one_line() {
        let c = config("chroot /nonexistent/mrproxy-root\nphyint eth0 upstream\n");
        let e = Plan::resolve(&c, Path::new("/etc/mrproxy.conf")).unwrap_err();
        assert!(
            e.starts_with("chroot /nonexistent/mrproxy-root: no such directory; create it")
                && !e.contains('\n'),
            "{e}"
        );
    }

    #[test]
    fn root_resolves_and_nothing_is_nothing() {
        let c = config("user root\nchroot /\nphyint eth0 upstream\n");
        let p = Plan::resolve(&c, Path::new("x")).unwrap();
        assert_eq!(p.user.as_ref().map(|a| a.uid), Some(0));
        assert_eq!(p.chroot.as_deref(), Some(Path::new("/")));
        let none = Plan::resolve(&config("phyint eth0 upstream\n"), Path::new("x")).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn paths_inside_the_new_root() {
        let dir = std::env::temp_dir().join(format!("mrproxy-inside-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("run")).unwrap();
        assert_eq!(
            inside(&dir, &dir.join("run/mrproxy.sock")),
            Some(PathBuf::from("/run/mrproxy.sock"))
        );
        assert_eq!(
            inside(&dir, &dir.join("mrproxy.sock")),
            Some(PathBuf::from("/mrproxy.sock"))
        );
        assert_eq!(inside(&dir.join("run"), &dir.join("mrproxy.sock")), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
