//! Hand-written bindings for <linux/mroute.h>, <linux/mroute6.h>, `struct group_filter` and
//! `struct icmp6_filter` (libc 0.2, nix and socket2 expose none of them), plus the few raw
//! `setsockopt`/`ioctl` calls that take them. Layouts were checked with gcc on x86_64
//! (docs/kernel-interface.md §2, §3) and are asserted below at compile time.
#![allow(unsafe_code, non_camel_case_types)]

use libc::{c_int, c_uint, c_ulong, in_addr, sockaddr_in6, sockaddr_storage};
use mrproxy_types::{IfIndex, IpFamily, MAX_VIFS};
use std::io;
use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

// ---- IPv4: linux/mroute.h (level IPPROTO_IP) ----
pub const MRT_INIT: c_int = 200;
pub const MRT_ADD_VIF: c_int = 202;
pub const MRT_DEL_VIF: c_int = 203;
pub const MRT_ADD_MFC: c_int = 204;
pub const MRT_DEL_MFC: c_int = 205;
pub const MRT_TABLE: c_int = 209;
// MAXVIFS (32) is `mrproxy_types::MAX_VIFS`; `mfcctl`'s size check below confirms it.
pub const VIFF_USE_IFINDEX: u8 = 0x8;
pub const IGMPMSG_NOCACHE: u8 = 1;
pub const IGMPMSG_WRONGVIF: u8 = 2;
pub const IGMPMSG_WHOLEPKT: u8 = 3;
/// SIOCPROTOPRIVATE + 1, the same number for IPv4 and IPv6.
pub const SIOCGETSGCNT: c_ulong = 0x89e1;

// ---- IPv6: linux/mroute6.h (level IPPROTO_IPV6); same numbers as IPv4 ----
pub const MRT6_INIT: c_int = 200;
pub const MRT6_ADD_MIF: c_int = 202;
pub const MRT6_DEL_MIF: c_int = 203;
pub const MRT6_ADD_MFC: c_int = 204;
pub const MRT6_DEL_MFC: c_int = 205;
pub const MRT6_TABLE: c_int = 209;
pub const SIOCGETSGCNT_IN6: c_ulong = 0x89e1;

// ---- linux/icmpv6.h ----
pub const ICMP6_FILTER: c_int = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub union vifc_lcl {
    pub vifc_lcl_addr: in_addr,
    pub vifc_lcl_ifindex: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct vifctl {
    pub vifc_vifi: u16,
    pub vifc_flags: u8,
    pub vifc_threshold: u8,
    pub vifc_rate_limit: c_uint,
    pub lcl: vifc_lcl,
    pub vifc_rmt_addr: in_addr,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct mfcctl {
    pub mfcc_origin: in_addr,
    pub mfcc_mcastgrp: in_addr,
    pub mfcc_parent: u16,
    pub mfcc_ttls: [u8; MAX_VIFS],
    pub mfcc_pkt_cnt: c_uint,
    pub mfcc_byte_cnt: c_uint,
    pub mfcc_wrong_if: c_uint,
    pub mfcc_expire: c_int,
}

/// `struct sioc_sg_req` (with `in_addr`) and `struct sioc_sg_req6` (with `sockaddr_in6`): the
/// same counters after the family's source and group.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sioc_sg_req<Addr = in_addr> {
    pub src: Addr,
    pub grp: Addr,
    pub pktcnt: c_ulong,
    pub bytecnt: c_ulong,
    pub wrong_if: c_ulong,
}

pub type sioc_sg_req6 = sioc_sg_req<sockaddr_in6>;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct mif6ctl {
    pub mif6c_mifi: u16,
    pub mif6c_flags: u8,
    pub vifc_threshold: u8,
    pub mif6c_pifi: u16,
    pub vifc_rate_limit: c_uint,
}

/// `if_set`: IF_SETSIZE 256 bits, bit n = MIF n.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct if_set {
    pub ifs_bits: [u32; 8],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct mf6cctl {
    pub mf6cc_origin: sockaddr_in6,
    pub mf6cc_mcastgrp: sockaddr_in6,
    pub mf6cc_parent: u16,
    pub mf6cc_ifset: if_set,
}

/// The fixed part of `struct group_filter` (linux/in.h); `gf_slist` (one `sockaddr_storage` per
/// source) follows it directly, so the whole option is `GROUP_FILTER_SIZE(n)` bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct group_filter_head {
    pub gf_interface: u32,
    pub gf_group: sockaddr_storage,
    pub gf_fmode: u32,
    pub gf_numsrc: u32,
}

/// `struct icmp6_filter`: a set bit blocks that ICMPv6 type (Linux polarity).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct icmp6_filter {
    pub icmp6_filt: [u32; 8],
}

const _: () = assert!(size_of::<vifctl>() == 16);
const _: () = assert!(size_of::<mfcctl>() == 60);
const _: () = assert!(size_of::<mif6ctl>() == 12);
const _: () = assert!(size_of::<mf6cctl>() == 92);
const _: () = assert!(size_of::<if_set>() == 32);
const _: () = assert!(size_of::<icmp6_filter>() == 32);
const _: () = assert!(size_of::<sockaddr_storage>() == 128);
// GROUP_FILTER_SIZE(0) = offsetof(struct group_filter, gf_slist) = 144 on every Linux target,
// because sockaddr_storage is 8-aligned.
const _: () = assert!(size_of::<group_filter_head>() == 144);
const _: () = assert!(offset_of!(group_filter_head, gf_group) == 8);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<sioc_sg_req>() == 32);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<sioc_sg_req6>() == 80);

/// Byte offsets inside the 8-byte upcall header / `mrt6msg`, as read from a received buffer
/// (docs/kernel-interface.md §2, §3).
pub mod upcall_field {
    use std::ops::Range;
    /// `igmpmsg` (20 bytes, overlays the IPv4 header).
    pub const IM_MSGTYPE: usize = 8;
    pub const IM_MBZ: usize = 9;
    pub const IM_VIF: usize = 10;
    pub const IM_VIF_HI: usize = 11;
    pub const IM_SRC: Range<usize> = 12..16;
    pub const IM_DST: Range<usize> = 16..20;
    pub const IGMPMSG_LEN: usize = 20;
    /// `mrt6msg` (40 bytes).
    pub const IM6_MBZ: usize = 0;
    pub const IM6_MSGTYPE: usize = 1;
    pub const IM6_MIF: Range<usize> = 2..4;
    pub const IM6_SRC: Range<usize> = 8..24;
    pub const IM6_DST: Range<usize> = 24..40;
    pub const MRT6MSG_LEN: usize = 40;
}

pub fn in_addr(a: Ipv4Addr) -> in_addr {
    in_addr {
        s_addr: u32::from_ne_bytes(a.octets()),
    }
}

pub fn sockaddr_in6(a: Ipv6Addr) -> sockaddr_in6 {
    sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: a.octets(),
        },
        sin6_scope_id: 0,
    }
}

/// A `sockaddr_storage` holding `a` (port 0).
pub fn sockaddr_storage(a: IpAddr) -> sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid (AF_UNSPEC) value.
    let mut storage: sockaddr_storage = unsafe { std::mem::zeroed() };
    match a {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: in_addr(v4),
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and at least as aligned as sockaddr_in
            // (that is its purpose); we write a complete, initialised value.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in>(), sin) };
        }
        IpAddr::V6(v6) => {
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut storage).cast::<sockaddr_in6>(), sockaddr_in6(v6)) };
        }
    }
    storage
}

/// `setsockopt` with a `#[repr(C)]` value.
pub fn setsockopt<T: Copy>(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points to an initialised T of exactly the length we pass; the kernel only
    // reads it during the call; `fd` is a live descriptor for the duration of the borrow.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `setsockopt` with an option value given as raw bytes (IP_OPTIONS, IPV6_HOPOPTS).
pub fn setsockopt_bytes(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: &[u8],
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `value` is a valid slice of `len` bytes, read by the kernel during the call only.
    let rc = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, value.as_ptr().cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `ioctl` with an in/out `#[repr(C)]` argument (SIOCGETSGCNT).
pub fn ioctl_inout<T: Copy>(fd: BorrowedFd<'_>, request: c_ulong, arg: &mut T) -> io::Result<()> {
    // SAFETY: `arg` is a valid, writable T whose layout matches what `request` expects (asserted
    // above); `fd` is live for the borrow.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            request as _,
            (arg as *mut T).cast::<libc::c_void>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// MCAST_MSFILTER: replace the whole source filter of (interface, group) on this socket.
/// `level` is IPPROTO_IP for AF_INET sockets, IPPROTO_IPV6 for AF_INET6 ones.
pub fn set_source_filter<A: IpFamily>(
    fd: BorrowedFd<'_>,
    level: c_int,
    ifindex: IfIndex,
    group: A,
    include: bool,
    sources: &[A],
) -> io::Result<()> {
    let numsrc =
        u32::try_from(sources.len()).map_err(|_| io::Error::from_raw_os_error(libc::ENOBUFS))?;
    let head = group_filter_head {
        gf_interface: ifindex.0,
        gf_group: sockaddr_storage(group.into_ip()),
        gf_fmode: if include {
            libc::MCAST_INCLUDE as u32
        } else {
            libc::MCAST_EXCLUDE as u32
        },
        gf_numsrc: numsrc,
    };
    let head_len = size_of::<group_filter_head>();
    let entry_len = size_of::<sockaddr_storage>();
    let total = head_len + entry_len * sources.len();
    // A u64 buffer gives the 8-byte alignment of struct group_filter.
    let mut buf = vec![0u64; total.div_ceil(8)];
    let base = buf.as_mut_ptr().cast::<u8>();
    // SAFETY: `buf` holds at least `total` bytes, 8-aligned; head_len (144) and entry_len (128)
    // are multiples of 8, so every write below is in bounds and aligned for its type.
    unsafe {
        std::ptr::write(base.cast::<group_filter_head>(), head);
        for (i, source) in sources.iter().enumerate() {
            let at = base
                .add(head_len + i * entry_len)
                .cast::<sockaddr_storage>();
            std::ptr::write(at, sockaddr_storage(source.into_ip()));
        }
    }
    let len = libc::socklen_t::try_from(total)
        .map_err(|_| io::Error::from_raw_os_error(libc::ENOBUFS))?;
    // SAFETY: `base` points to `total` initialised bytes laid out as struct group_filter.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            libc::MCAST_MSFILTER,
            base.cast(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `group_req` for MCAST_JOIN_GROUP / MCAST_LEAVE_GROUP.
pub fn group_req<A: IpFamily>(ifindex: IfIndex, group: A) -> libc::group_req {
    libc::group_req {
        gr_interface: ifindex.0,
        gr_group: sockaddr_storage(group.into_ip()),
    }
}

/// `group_source_req` for MCAST_JOIN_SOURCE_GROUP.
pub fn group_source_req<A: IpFamily>(
    ifindex: IfIndex,
    group: A,
    source: A,
) -> libc::group_source_req {
    libc::group_source_req {
        gsr_interface: ifindex.0,
        gsr_group: sockaddr_storage(group.into_ip()),
        gsr_source: sockaddr_storage(source.into_ip()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_storage_carries_family_and_address() {
        let s = sockaddr_storage("239.1.2.3".parse().unwrap());
        assert_eq!(s.ss_family, libc::AF_INET as libc::sa_family_t);
        let s6 = sockaddr_storage("ff3e::1".parse().unwrap());
        assert_eq!(s6.ss_family, libc::AF_INET6 as libc::sa_family_t);
    }

    #[test]
    fn in_addr_is_network_order() {
        // 239.1.2.3 in memory is EF 01 02 03 whatever the host byte order.
        assert_eq!(
            in_addr(Ipv4Addr::new(239, 1, 2, 3)).s_addr.to_ne_bytes(),
            [239, 1, 2, 3]
        );
    }
}
