//! Process-level kernel interaction for the daemon: going to the background with a readiness
//! pipe ([`detach`]), giving up root and capabilities after start-up (`chroot DIR`, `user NAME`;
//! mrproxy.conf(5)), the umask, the group and file mode of the status socket, and what stderr
//! is connected to.

mod caps;
mod detach;

pub use caps::{
    CapabilitySets, Inheritance, bounding_set, capabilities, drop_capabilities,
    forbid_new_privileges, no_new_privileges,
};
pub use detach::{Detached, Outcome, Starting, StartupReport, detach};

use nix::sys::stat::Mode;
use nix::unistd::{Gid, Group, Uid, User};
use std::ffi::CString;
use std::io;
use std::path::Path;

/// Sets the process umask to `mask` (permission bits) for good; returns the previous one.
pub fn set_umask(mask: u32) -> u32 {
    nix::sys::stat::umask(Mode::from_bits_truncate(mask)).bits()
}

/// The device and inode numbers of what stderr is open on (fstat(2)), as systemd's
/// `$JOURNAL_STREAM` names the journal's stream socket (systemd.exec(5)).
pub fn stderr_identity() -> Option<(u64, u64)> {
    let st = nix::sys::stat::fstat(std::io::stderr()).ok()?;
    Some((st.st_dev, st.st_ino))
}

/// A user to run as, from the password and group databases (NSS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    /// The primary group (the password entry's).
    pub gid: u32,
    /// Every group the user is in, the primary one included (getgrouplist(3)).
    pub groups: Vec<u32>,
}

/// Looks `name` up (getpwnam_r, getgrouplist); `Ok(None)` when there is no such user. Must run
/// before [`enter_chroot`]: /etc/passwd and the NSS modules are outside the new root.
pub fn lookup_user(name: &str) -> io::Result<Option<Account>> {
    let Some(user) = User::from_name(name)? else {
        return Ok(None);
    };
    let cname = CString::new(name).map_err(io::Error::other)?;
    let groups = nix::unistd::getgrouplist(&cname, user.gid)?;
    Ok(Some(Account {
        name: name.to_owned(),
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        groups: groups.into_iter().map(Gid::as_raw).collect(),
    }))
}

/// Looks group `name` up (getgrnam_r); `Ok(None)` when there is no such group.
pub fn lookup_group(name: &str) -> io::Result<Option<u32>> {
    Ok(Group::from_name(name)?.map(|g| g.gid.as_raw()))
}

/// Runs `f` with the process umask set to `mask` (permission bits), then restores the previous
/// one. Files and sockets `f` creates get at most the permissions `mask` leaves, from their
/// creation on: a socket bound under umask 0o117 is never connectable by others, not even
/// until a chmod after the bind. The umask is per process; call it while no other thread
/// creates files.
pub fn with_umask<T>(mask: u32, f: impl FnOnce() -> T) -> T {
    let previous = nix::sys::stat::umask(Mode::from_bits_truncate(mask));
    let result = f();
    nix::sys::stat::umask(previous);
    result
}

/// `chroot(dir)` then `chdir("/")`, so that no directory outside the new root stays reachable
/// through the working directory. Needs CAP_SYS_CHROOT (EPERM otherwise).
pub fn enter_chroot(dir: &Path) -> io::Result<()> {
    nix::unistd::chroot(dir)?;
    nix::unistd::chdir("/")?;
    Ok(())
}

/// Which step of [`switch_user`] failed.
#[derive(Debug)]
pub struct SwitchError {
    pub step: &'static str,
    pub error: io::Error,
}

/// Whether the process already runs as `account` (real and effective uid and gid), so that
/// there is nothing to give up: a daemon started by a service manager as that user with a few
/// capabilities cannot call setgroups(2), and does not need to.
pub fn runs_as(account: &Account) -> bool {
    let (uid, gid) = (Uid::from_raw(account.uid), Gid::from_raw(account.gid));
    Uid::current() == uid
        && Uid::effective() == uid
        && Gid::current() == gid
        && Gid::effective() == gid
}

/// setgroups, setgid, setuid, in that order (each later step needs the privilege the previous
/// one keeps). setuid(2) from uid 0 to another uid sets the real, effective and saved uids and,
/// without PR_SET_KEEPCAPS, clears the permitted and effective capability sets (and with them
/// the ambient set): the process keeps no privilege at all. A last check makes sure root cannot
/// be regained.
pub fn switch_user(account: &Account) -> Result<(), SwitchError> {
    let step = |step: &'static str| {
        move |e: nix::Error| SwitchError {
            step,
            error: e.into(),
        }
    };
    let groups: Vec<Gid> = account.groups.iter().copied().map(Gid::from_raw).collect();
    nix::unistd::setgroups(&groups).map_err(step("setgroups"))?;
    nix::unistd::setgid(Gid::from_raw(account.gid)).map_err(step("setgid"))?;
    nix::unistd::setuid(Uid::from_raw(account.uid)).map_err(step("setuid"))?;
    if account.uid != 0 && nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(SwitchError {
            step: "setuid (root could be regained)",
            error: io::Error::from_raw_os_error(libc::EPERM),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_with_uid_and_gid_0() {
        let root = lookup_user("root").unwrap().expect("a root entry");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
    }

    #[test]
    fn an_unknown_user_is_none() {
        assert_eq!(lookup_user("mrproxy-no-such-user").unwrap(), None);
    }

    #[test]
    fn groups_are_found_by_name() {
        assert_eq!(lookup_group("root").unwrap(), Some(0));
        assert_eq!(lookup_group("mrproxy-no-such-group").unwrap(), None);
    }

    #[test]
    fn the_umask_applies_inside_and_is_restored_after() {
        let dir = std::env::temp_dir().join(format!("mrproxy-umask-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let before = nix::sys::stat::umask(Mode::from_bits_truncate(0o022));
        with_umask(0o077, || std::fs::create_dir(&dir)).unwrap();
        let after = nix::sys::stat::umask(before);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((mode, after.bits()), (0o700, 0o022));
    }
}
