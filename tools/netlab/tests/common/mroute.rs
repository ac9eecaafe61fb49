//! Just enough of <linux/mroute.h> and <linux/mroute6.h> to make a namespace forward one
//! static (S,G), so the MFC readers can be checked against the kernel's real output.
//! (The daemon's own bindings live in crates/linux; this copy is test-only, from docs/kernel-interface.md §12.1.)
#![allow(unsafe_code, non_camel_case_types, dead_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

const MRT_INIT: libc::c_int = 200;
const MRT_ADD_VIF: libc::c_int = 202;
const MRT_ADD_MFC: libc::c_int = 204;
const MRT6_INIT: libc::c_int = 200;
const MRT6_ADD_MIF: libc::c_int = 202;
const MRT6_ADD_MFC: libc::c_int = 204;
const VIFF_USE_IFINDEX: u8 = 0x8;

#[repr(C)]
struct vifctl {
    vifc_vifi: u16,
    vifc_flags: u8,
    vifc_threshold: u8,
    vifc_rate_limit: libc::c_uint,
    vifc_lcl_ifindex: libc::c_int,
    vifc_rmt_addr: libc::in_addr,
}

#[repr(C)]
struct mfcctl {
    mfcc_origin: libc::in_addr,
    mfcc_mcastgrp: libc::in_addr,
    mfcc_parent: u16,
    mfcc_ttls: [u8; 32],
    mfcc_pkt_cnt: libc::c_uint,
    mfcc_byte_cnt: libc::c_uint,
    mfcc_wrong_if: libc::c_uint,
    mfcc_expire: libc::c_int,
}

#[repr(C)]
struct mif6ctl {
    mif6c_mifi: u16,
    mif6c_flags: u8,
    vifc_threshold: u8,
    mif6c_pifi: u16,
    vifc_rate_limit: libc::c_uint,
}

#[repr(C)]
struct mf6cctl {
    mf6cc_origin: libc::sockaddr_in6,
    mf6cc_mcastgrp: libc::sockaddr_in6,
    mf6cc_parent: u16,
    mf6cc_ifset: [u32; 8],
}

const _: () = assert!(size_of::<vifctl>() == 16);
const _: () = assert!(size_of::<mfcctl>() == 60);
const _: () = assert!(size_of::<mif6ctl>() == 12);
const _: () = assert!(size_of::<mf6cctl>() == 92);

fn set<T>(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>()).map_err(io::Error::other)?;
    // SAFETY: `value` is an initialised #[repr(C)] value of `len` bytes.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn in_addr(a: Ipv4Addr) -> libc::in_addr {
    libc::in_addr {
        s_addr: u32::from_ne_bytes(a.octets()),
    }
}

fn sin6(a: Ipv6Addr) -> libc::sockaddr_in6 {
    // SAFETY: all-zero is a valid sockaddr_in6.
    let mut s: libc::sockaddr_in6 = unsafe { zeroed() };
    s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    s.sin6_addr.s6_addr = a.octets();
    s
}

/// MRT_INIT on a raw IGMP socket, then one VIF per ifindex (VIF i = ifindexes[i]).
pub fn init_v4(fd: &impl AsRawFd, ifindexes: &[u32]) -> io::Result<()> {
    set(fd, libc::IPPROTO_IP, MRT_INIT, &1 as &libc::c_int)?;
    for (vif, ifindex) in ifindexes.iter().enumerate() {
        let ctl = vifctl {
            vifc_vifi: u16::try_from(vif).map_err(io::Error::other)?,
            vifc_flags: VIFF_USE_IFINDEX,
            vifc_threshold: 1,
            vifc_rate_limit: 0,
            vifc_lcl_ifindex: libc::c_int::try_from(*ifindex).map_err(io::Error::other)?,
            vifc_rmt_addr: in_addr(Ipv4Addr::UNSPECIFIED),
        };
        set(fd, libc::IPPROTO_IP, MRT_ADD_VIF, &ctl)?;
    }
    Ok(())
}

/// An (S,G) entry from VIF `iif` to `oifs` with threshold 1.
pub fn add_mfc_v4(
    fd: &impl AsRawFd,
    origin: Ipv4Addr,
    group: Ipv4Addr,
    iif: u16,
    oifs: &[u16],
) -> io::Result<()> {
    // SAFETY: all-zero is a valid mfcctl.
    let mut ctl: mfcctl = unsafe { zeroed() };
    ctl.mfcc_origin = in_addr(origin);
    ctl.mfcc_mcastgrp = in_addr(group);
    ctl.mfcc_parent = iif;
    for &oif in oifs {
        ctl.mfcc_ttls[usize::from(oif)] = 1;
    }
    set(fd, libc::IPPROTO_IP, MRT_ADD_MFC, &ctl)
}

/// MRT6_INIT on a raw ICMPv6 socket, then one MIF per ifindex.
pub fn init_v6(fd: &impl AsRawFd, ifindexes: &[u32]) -> io::Result<()> {
    set(fd, libc::IPPROTO_IPV6, MRT6_INIT, &1 as &libc::c_int)?;
    for (mif, ifindex) in ifindexes.iter().enumerate() {
        let ctl = mif6ctl {
            mif6c_mifi: u16::try_from(mif).map_err(io::Error::other)?,
            mif6c_flags: 0,
            vifc_threshold: 1,
            mif6c_pifi: u16::try_from(*ifindex).map_err(io::Error::other)?,
            vifc_rate_limit: 0,
        };
        set(fd, libc::IPPROTO_IPV6, MRT6_ADD_MIF, &ctl)?;
    }
    Ok(())
}

/// An (S,G) entry from MIF `iif` to `oifs`.
pub fn add_mfc_v6(
    fd: &impl AsRawFd,
    origin: Ipv6Addr,
    group: Ipv6Addr,
    iif: u16,
    oifs: &[u16],
) -> io::Result<()> {
    let mut ctl = mf6cctl {
        mf6cc_origin: sin6(origin),
        mf6cc_mcastgrp: sin6(group),
        mf6cc_parent: iif,
        mf6cc_ifset: [0; 8],
    };
    for &oif in oifs {
        ctl.mf6cc_ifset[usize::from(oif / 32)] |= 1 << (oif % 32);
    }
    set(fd, libc::IPPROTO_IPV6, MRT6_ADD_MFC, &ctl)
}
