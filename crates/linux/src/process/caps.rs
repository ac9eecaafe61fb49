//! Capabilities (capabilities(7)): what the daemon gives up once start-up is complete, whether
//! or not it also switches users.
//!
//! The running daemon needs no capability: everything it does after start-up goes through the
//! sockets opened before (mroute sockets, whose owner needs no CAP_NET_ADMIN for MRT_* calls;
//! raw IGMP/MLD senders) or through sockets that need none (UDP membership sockets,
//! rtnetlink). The daemon's privilege module says why in detail and tests/e2e_startup.rs proves
//! it. So the permitted, effective and inheritable sets are emptied, the ambient set cleared,
//! the bounding set cleared (with CAP_SETPCAP, which the clearing itself needs) and
//! PR_SET_NO_NEW_PRIVS set, so that no execve(2) can bring any capability back, not even as
//! uid 0.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;

/// `struct __user_cap_header_struct` (linux/capability.h).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct` (linux/capability.h); version 3 takes two of them, for
/// capabilities 0–31 and 32–63.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const _: () = assert!(size_of::<CapHeader>() == 8);
const _: () = assert!(size_of::<CapData>() == 12);

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// CAP_SETPCAP (linux/capability.h), which PR_CAPBSET_DROP needs.
const CAP_SETPCAP: u32 = 8;

/// The calling thread's capability sets, one bit per capability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapabilitySets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

fn header() -> CapHeader {
    CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    }
}

/// capget(2) for the calling thread.
pub fn capabilities() -> io::Result<CapabilitySets> {
    let mut header = header();
    let mut data = [CapData::default(); 2];
    // SAFETY: both pointers are valid for the sizes version 3 uses (one header, two data).
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |low: u32, high: u32| u64::from(low) | (u64::from(high) << 32);
    Ok(CapabilitySets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// capset(2) for the calling thread. The daemon has one thread when it calls this (the event
/// loop runs on a current-thread runtime; blocking-pool threads, if any, start later and
/// inherit the sets).
fn set_capabilities(sets: CapabilitySets) -> io::Result<()> {
    let mut header = header();
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: as in `capabilities`; the kernel only reads `data`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// prctl(2) with integer arguments.
fn prctl(option: libc::c_int, arg2: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: the options used here take integer arguments only; the unused ones must be 0.
    let r = unsafe {
        libc::prctl(
            option,
            arg2,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// The bounding set as a bit mask (PR_CAPBSET_READ for every capability the kernel knows).
pub fn bounding_set() -> u64 {
    let mut set = 0u64;
    for cap in 0..64u32 {
        match prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap)) {
            Ok(1) => set |= 1 << cap,
            Ok(_) => {}
            // EINVAL: past the kernel's last capability.
            Err(_) => break,
        }
    }
    set
}

/// What [`forbid_new_privileges`] could do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inheritance {
    /// The bounding set is empty. False when the process lacks CAP_SETPCAP: the set then stays
    /// as the service manager limited it, harmless with no_new_privs and empty sets.
    pub bounding_cleared: bool,
}

/// Sets PR_SET_NO_NEW_PRIVS, clears the ambient set and, with CAP_SETPCAP, the bounding set.
/// Runs before a user switch, which takes CAP_SETPCAP away, and while the process has one
/// thread: every set and the flag are per thread, and only threads started later inherit them.
pub fn forbid_new_privileges() -> io::Result<Inheritance> {
    if let Some(n) = threads().filter(|&n| n > 1) {
        return Err(io::Error::other(format!(
            "{n} threads: capabilities are per thread and the others would keep theirs"
        )));
    }
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1)?;
    // EINVAL before Linux 4.3, which has no ambient set to clear.
    match prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
    ) {
        Err(e) if e.raw_os_error() != Some(libc::EINVAL) => return Err(e),
        _ => {}
    }
    let bounding = bounding_set();
    let can_drop = capabilities()?.effective & (1 << CAP_SETPCAP) != 0;
    if bounding != 0 && can_drop {
        for cap in 0..64u32 {
            if bounding & (1 << cap) != 0 {
                prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap))?;
            }
        }
    }
    Ok(Inheritance {
        bounding_cleared: bounding_set() == 0,
    })
}

/// Empties the effective, permitted and inheritable sets, then checks that none is left.
pub fn drop_capabilities() -> io::Result<()> {
    set_capabilities(CapabilitySets::default())?;
    let left = capabilities()?;
    if left != CapabilitySets::default() {
        return Err(io::Error::other(format!(
            "capabilities left after dropping them: {left:?}"
        )));
    }
    Ok(())
}

/// The number of threads of the process (/proc/self/status), if /proc can tell.
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Whether PR_SET_NO_NEW_PRIVS is set.
pub fn no_new_privileges() -> io::Result<bool> {
    Ok(prctl(libc::PR_GET_NO_NEW_PRIVS, 0)? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// capget agrees with what the kernel prints in /proc/self/status (this thread's sets).
    #[test]
    fn capget_reads_the_sets_proc_shows() {
        let sets = capabilities().unwrap();
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            u64::from_str_radix(line[name.len()..].trim(), 16).unwrap()
        };
        assert_eq!(sets.effective, field("CapEff:"));
        assert_eq!(sets.permitted, field("CapPrm:"));
        assert_eq!(sets.inheritable, field("CapInh:"));
        assert_eq!(bounding_set(), field("CapBnd:"));
    }
}
