//! Sending IGMP and MLD queries with the exact interface and source address.
//!
//! Each family has a send-only raw socket. The kernel builds the IP header; the socket's sticky
//! options give TTL / hop limit 1, Router Alert and (IPv4) TOS 0xC0 (RFC 9776 §4, RFC 9777 §5:
//! "sent with an IP TTL of 1 … and the IP Router Alert option"), and an IP_PKTINFO /
//! IPV6_PKTINFO control message per packet picks the interface and the source address.

use crate::error::{Error, Result, classify};
use crate::io::{in_pktinfo, in6_pktinfo};
use crate::mroute::icmp6_filter_passing;
use crate::sys;
use mrproxy_types::IfIndex;
use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrIn, SockaddrIn6, sendmsg};
use socket2::{Domain, Protocol, SockFilter, Socket, Type};
use std::io::IoSlice;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd};

/// RFC 2113 Router Alert: type 148 (copied, class 0, number 20), length 4, value 0.
const IPV4_ROUTER_ALERT: [u8; 4] = [0x94, 0x04, 0x00, 0x00];
/// Internetwork control precedence, as igmpproxy and the kernel's own IGMP use.
const IGMP_TOS: u32 = 0xc0;
/// Hop-by-Hop Options header: next header (filled by the kernel), length 0 (8 octets), Router
/// Alert (RFC 2711: type 5, length 2, value 0 = MLD), PadN of 2.
const IPV6_HOPOPTS_ROUTER_ALERT: [u8; 8] = [0, 0, 5, 2, 0, 0, 1, 0];
/// Classic BPF `ret #0` (linux/filter.h: BPF_RET | BPF_K): accept zero bytes of every packet.
const BPF_RET_K: u16 = 0x06;
/// Makes a send-only raw socket drop everything it would receive. A raw IGMP socket otherwise
/// gets a copy of every IGMP packet of the namespace and its queue would sit full.
const DROP_ALL: [SockFilter; 1] = [SockFilter::new(BPF_RET_K, 0, 0, 0)];

/// Sends IGMP messages (the bytes come from mrproxy-wire, checksum included).
#[derive(Debug)]
pub struct IgmpSender {
    socket: Socket,
}

impl IgmpSender {
    pub fn open() -> Result<IgmpSender> {
        const WHAT: &str = "opening the IGMP send socket";
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(libc::IPPROTO_IGMP)),
        )
        .map_err(|e| classify(WHAT, e))?;
        let io = |op: &'static str| move |e| Error::io(op, e);
        socket
            .set_multicast_ttl_v4(1)
            .map_err(io("IP_MULTICAST_TTL"))?;
        // Looped back, our queries reach the router's own host part, which answers them for
        // receivers on the router itself (docs/igmpproxy-differences.md D34); the receive path knows them as ours.
        socket
            .set_multicast_loop_v4(true)
            .map_err(io("IP_MULTICAST_LOOP"))?;
        socket.set_tos_v4(IGMP_TOS).map_err(io("IP_TOS"))?;
        sys::setsockopt_bytes(
            socket.as_fd(),
            libc::IPPROTO_IP,
            libc::IP_OPTIONS,
            &IPV4_ROUTER_ALERT,
        )
        .map_err(io("IP_OPTIONS (Router Alert)"))?;
        socket
            .attach_filter(&DROP_ALL)
            .map_err(io("SO_ATTACH_FILTER"))?;
        socket.set_nonblocking(true).map_err(io("O_NONBLOCK"))?;
        Ok(IgmpSender { socket })
    }

    /// Sends `igmp` out of `ifindex` from `source` (an address of that interface, or 0.0.0.0
    /// to let the kernel choose) to `destination`. Never blocks: a full send queue is an error.
    pub fn send(
        &self,
        ifindex: IfIndex,
        source: Ipv4Addr,
        destination: Ipv4Addr,
        igmp: &[u8],
    ) -> Result<()> {
        let IfIndex(ifindex) = ifindex;
        let op = || format!("sending IGMP from {source} to {destination} on interface {ifindex}");
        let info = in_pktinfo(ifindex, source).map_err(|e| Error::io(op(), e))?;
        let to = SockaddrIn::from(SocketAddrV4::new(destination, 0));
        sendmsg(
            self.socket.as_raw_fd(),
            &[IoSlice::new(igmp)],
            &[ControlMessage::Ipv4PacketInfo(&info)],
            MsgFlags::empty(),
            Some(&to),
        )
        .map_err(|e| Error::io(op(), e.into()))?;
        Ok(())
    }
}

/// Sends MLD messages; the kernel fills in the ICMPv6 checksum.
#[derive(Debug)]
pub struct MldSender {
    socket: Socket,
}

impl MldSender {
    pub fn open() -> Result<MldSender> {
        const WHAT: &str = "opening the MLD send socket";
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
            .map_err(|e| classify(WHAT, e))?;
        let io = |op: &'static str| move |e| Error::io(op, e);
        socket
            .set_multicast_hops_v6(1)
            .map_err(io("IPV6_MULTICAST_HOPS"))?;
        // As for IGMP: the router's own MLD host part hears and answers our queries (D34).
        socket
            .set_multicast_loop_v6(true)
            .map_err(io("IPV6_MULTICAST_LOOP"))?;
        // Sticky Hop-by-Hop options need CAP_NET_RAW (docs/kernel-interface.md §5): set before any drop.
        sys::setsockopt_bytes(
            socket.as_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_HOPOPTS,
            &IPV6_HOPOPTS_ROUTER_ALERT,
        )
        .map_err(|e| classify("setting IPV6_HOPOPTS (Router Alert)", e))?;
        // Send-only: accept no ICMPv6 type at all.
        sys::setsockopt(
            socket.as_fd(),
            libc::IPPROTO_ICMPV6,
            sys::ICMP6_FILTER,
            &icmp6_filter_passing(&[]),
        )
        .map_err(io("ICMP6_FILTER"))?;
        socket.set_nonblocking(true).map_err(io("O_NONBLOCK"))?;
        Ok(MldSender { socket })
    }

    /// Sends `mld` (an ICMPv6 message, checksum left to the kernel) out of `ifindex` from the
    /// link-local `source` to `destination`.
    pub fn send(
        &self,
        ifindex: IfIndex,
        source: Ipv6Addr,
        destination: Ipv6Addr,
        mld: &[u8],
    ) -> Result<()> {
        let IfIndex(ifindex) = ifindex;
        let op = || format!("sending MLD from {source} to {destination} on interface {ifindex}");
        let info = in6_pktinfo(ifindex, source);
        // The scope id matters for link-scope destinations (ff02::1).
        let to = SockaddrIn6::from(SocketAddrV6::new(destination, 0, 0, ifindex));
        sendmsg(
            self.socket.as_raw_fd(),
            &[IoSlice::new(mld)],
            &[ControlMessage::Ipv6PacketInfo(&info)],
            MsgFlags::empty(),
            Some(&to),
        )
        .map_err(|e| Error::io(op(), e.into()))?;
        Ok(())
    }
}
