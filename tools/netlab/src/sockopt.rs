//! Socket options and addresses that socket2 and nix do not offer: protocol-independent
//! multicast membership (RFC 3678 `MCAST_*`, both families, by interface index), the full
//! source filter (`MCAST_MSFILTER`), `IP_MULTICAST_IF` by ifindex, and `AF_PACKET` addresses.
#![allow(unsafe_code)] // setsockopt/bind/sendto with C structs

use std::io;
use std::mem::{offset_of, size_of, zeroed};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Filter mode of a source filter (RFC 3376 §3.1 / RFC 3678 §5.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterMode {
    /// Receive only from the listed sources.
    Include,
    /// Receive from every source except the listed ones.
    Exclude,
}

/// Largest source list [`crate::Receiver::set_filter`] accepts (the kernel's IPv4 limit is the per
/// namespace sysctl `net.ipv4.igmp_max_msf`, 10 by default).
pub const MAX_FILTER_SOURCES: usize = 64;

/// `struct group_filter` with room for [`MAX_FILTER_SOURCES`] sources; the kernel reads only
/// as many as the option length covers.
#[repr(C)]
struct GroupFilter {
    gf_interface: u32,
    gf_group: libc::sockaddr_storage,
    gf_fmode: u32,
    gf_numsrc: u32,
    gf_slist: [libc::sockaddr_storage; MAX_FILTER_SOURCES],
}

fn level(group: IpAddr) -> libc::c_int {
    match group {
        IpAddr::V4(_) => libc::IPPROTO_IP,
        IpAddr::V6(_) => libc::IPPROTO_IPV6,
    }
}

/// The address as a `sockaddr_storage` with port 0 (what `group_req` and friends carry).
fn storage(addr: IpAddr) -> libc::sockaddr_storage {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
    match addr {
        IpAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in>(), sin) };
        }
        IpAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut storage).cast::<libc::sockaddr_in6>(), sin6) };
        }
    }
    storage
}

/// setsockopt with a value whose first `len` bytes are passed.
fn setsockopt_raw<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    len: usize,
) -> io::Result<()> {
    debug_assert!(len <= size_of::<T>());
    let len = libc::socklen_t::try_from(len).map_err(io::Error::other)?;
    // SAFETY: `value` points to at least `len` initialised bytes for the duration of the call.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `MCAST_JOIN_GROUP` / `MCAST_LEAVE_GROUP` (any-source membership) on interface `ifindex`.
pub fn group_membership(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    group: IpAddr,
    join: bool,
) -> io::Result<()> {
    let req = libc::group_req {
        gr_interface: ifindex,
        gr_group: storage(group),
    };
    let name = if join {
        libc::MCAST_JOIN_GROUP
    } else {
        libc::MCAST_LEAVE_GROUP
    };
    setsockopt_raw(fd, level(group), name, &req, size_of::<libc::group_req>())
}

/// `MCAST_JOIN_SOURCE_GROUP` / `MCAST_LEAVE_SOURCE_GROUP` (source-specific membership).
pub fn source_membership(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    group: IpAddr,
    source: IpAddr,
    join: bool,
) -> io::Result<()> {
    let req = libc::group_source_req {
        gsr_interface: ifindex,
        gsr_group: storage(group),
        gsr_source: storage(source),
    };
    let name = if join {
        libc::MCAST_JOIN_SOURCE_GROUP
    } else {
        libc::MCAST_LEAVE_SOURCE_GROUP
    };
    setsockopt_raw(
        fd,
        level(group),
        name,
        &req,
        size_of::<libc::group_source_req>(),
    )
}

/// `MCAST_MSFILTER`: replaces the socket's whole filter for `group` on `ifindex`. The socket
/// must already be a member of the group (the kernel refuses a filter without a join).
pub fn set_source_filter(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    group: IpAddr,
    mode: FilterMode,
    sources: &[IpAddr],
) -> io::Result<()> {
    if sources.len() > MAX_FILTER_SOURCES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "too many filter sources",
        ));
    }
    // SAFETY: all-zero is valid for these plain C structs.
    let mut filter: Box<GroupFilter> = Box::new(unsafe { zeroed() });
    filter.gf_interface = ifindex;
    filter.gf_group = storage(group);
    filter.gf_fmode = match mode {
        FilterMode::Include => libc::MCAST_INCLUDE,
        FilterMode::Exclude => libc::MCAST_EXCLUDE,
    } as u32;
    filter.gf_numsrc = u32::try_from(sources.len()).map_err(io::Error::other)?;
    for (slot, source) in filter.gf_slist.iter_mut().zip(sources) {
        *slot = storage(*source);
    }
    // GROUP_FILTER_SIZE(n): the header plus exactly n source entries.
    let len =
        offset_of!(GroupFilter, gf_slist) + sources.len() * size_of::<libc::sockaddr_storage>();
    setsockopt_raw(fd, level(group), libc::MCAST_MSFILTER, &*filter, len)
}

/// `IP_MULTICAST_IF` with an `ip_mreqn` naming the interface by index (socket2 only takes an
/// address, which selects the wrong interface when the address lives on `lo`).
pub fn set_multicast_if_v4_index(fd: BorrowedFd<'_>, ifindex: u32) -> io::Result<()> {
    let req = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: libc::c_int::try_from(ifindex).map_err(io::Error::other)?,
    };
    setsockopt_raw(
        fd,
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        &req,
        size_of::<libc::ip_mreqn>(),
    )
}

/// A `sockaddr_ll` for interface `ifindex`, link protocol `ethertype`, destination `mac`.
fn link_address(
    ifindex: u32,
    ethertype: u16,
    mac: Option<[u8; 6]>,
) -> io::Result<libc::sockaddr_ll> {
    // SAFETY: all-zero is a valid sockaddr_ll.
    let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ethertype.to_be();
    addr.sll_ifindex = libc::c_int::try_from(ifindex).map_err(io::Error::other)?;
    if let Some(mac) = mac {
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&mac);
    }
    Ok(addr)
}

/// Binds an `AF_PACKET` socket to one interface and link protocol.
pub fn bind_packet(fd: BorrowedFd<'_>, ifindex: u32, ethertype: u16) -> io::Result<()> {
    let addr = link_address(ifindex, ethertype, None)?;
    let len =
        libc::socklen_t::try_from(size_of::<libc::sockaddr_ll>()).map_err(io::Error::other)?;
    // SAFETY: `addr` is a valid sockaddr_ll of `len` bytes.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sends `payload` on an `AF_PACKET` `SOCK_DGRAM` socket: the kernel builds the link header
/// from `dst_mac`, the interface's own address and `ethertype` (nothing on a tun device).
pub fn send_packet(
    fd: BorrowedFd<'_>,
    ifindex: u32,
    ethertype: u16,
    dst_mac: [u8; 6],
    payload: &[u8],
) -> io::Result<usize> {
    let addr = link_address(ifindex, ethertype, Some(dst_mac))?;
    let len =
        libc::socklen_t::try_from(size_of::<libc::sockaddr_ll>()).map_err(io::Error::other)?;
    // SAFETY: `payload` and `addr` are valid for the stated lengths during the call.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            payload.as_ptr().cast(),
            payload.len(),
            0,
            (&raw const addr).cast(),
            len,
        )
    };
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}
