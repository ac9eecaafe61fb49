//! Non-blocking raw sockets on the tokio reactor, and `recvmsg` with the ancillary data the
//! daemon needs (receive interface, IPv6 destination, hop limit, Hop-by-Hop options).
#![allow(unsafe_code)]

use crate::packet::hop_by_hop_has_router_alert;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrIn6, SockaddrStorage, recvmsg};
use socket2::Socket;
use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A socket registered with the current tokio reactor.
#[derive(Debug)]
pub struct AsyncSocket {
    fd: AsyncFd<Socket>,
}

/// One datagram as `recvmsg` returned it: its length, whether the buffer cut it, and the
/// family's ancillary facts.
#[derive(Clone, Copy, Debug)]
pub struct RecvMsg<M> {
    pub len: usize,
    /// The buffer was too small and the datagram was cut (MSG_TRUNC).
    pub truncated: bool,
    pub meta: M,
}

/// Ancillary facts about one IPv4 datagram.
#[derive(Clone, Copy, Debug)]
pub struct RecvMeta4 {
    /// From IP_PKTINFO; absent on kernel upcalls, which are not received on an interface.
    pub ifindex: Option<u32>,
}

/// Ancillary facts about one IPv6 datagram (the raw ICMPv6 socket strips the IPv6 header).
#[derive(Clone, Copy, Debug)]
pub struct RecvMeta6 {
    pub source: Option<Ipv6Addr>,
    /// From IPV6_PKTINFO.
    pub ifindex: Option<u32>,
    pub destination: Option<Ipv6Addr>,
    /// From IPV6_HOPLIMIT.
    pub hop_limit: Option<u8>,
    /// A Hop-by-Hop header with Router Alert came with the packet (IPV6_HOPOPTS).
    pub router_alert: bool,
}

impl AsyncSocket {
    /// Makes `socket` non-blocking and registers it. Must run inside a tokio runtime.
    pub fn new(socket: Socket) -> io::Result<AsyncSocket> {
        socket.set_nonblocking(true)?;
        // SAFETY: the Socket owns its descriptor and is moved into the AsyncFd, so the fd stays
        // open and unchanged until the AsyncFd (and with it the Socket) is dropped.
        let fd = unsafe { AsyncFd::register(socket) }.map_err(|e| e.into_parts().1)?;
        Ok(AsyncSocket { fd })
    }

    pub fn socket(&self) -> &Socket {
        self.fd.get_ref()
    }

    /// Runs the non-blocking `op` once the socket is ready for `interest`, and again after
    /// every `WouldBlock`.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        op: impl FnMut(&Socket) -> io::Result<R>,
    ) -> io::Result<R> {
        self.fd.async_io(interest, op).await
    }

    /// Runs the non-blocking `op` once, without waiting: `WouldBlock` when it would block,
    /// which clears the reactor's readiness.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        op: impl FnMut(&Socket) -> io::Result<R>,
    ) -> io::Result<R> {
        self.fd.try_io(interest, op)
    }

    /// Receives one datagram with `recvmsg` (one of [`recvmsg_v4`], [`recvmsg_v6`]), waiting
    /// until one is queued.
    pub async fn recv<M>(
        &self,
        buf: &mut [u8],
        recvmsg: impl Fn(&Socket, &mut [u8]) -> io::Result<RecvMsg<M>>,
    ) -> io::Result<RecvMsg<M>> {
        self.fd
            .async_io(Interest::READABLE, |s| recvmsg(s, buf))
            .await
    }

    /// Receives one queued datagram without waiting: `WouldBlock` when none is queued. Meant
    /// for draining the queue after `recv` returned; the reactor's readiness is cleared on
    /// `WouldBlock`, so the next `recv` waits for new data instead of spinning.
    pub fn try_recv<M>(
        &self,
        buf: &mut [u8],
        recvmsg: impl Fn(&Socket, &mut [u8]) -> io::Result<RecvMsg<M>>,
    ) -> io::Result<RecvMsg<M>> {
        self.fd.try_io(Interest::READABLE, |s| recvmsg(s, buf))
    }
}

/// One non-blocking `recvmsg` with IP_PKTINFO.
pub fn recvmsg_v4(s: &Socket, buf: &mut [u8]) -> io::Result<RecvMsg<RecvMeta4>> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut cmsg = nix::cmsg_space!(libc::in_pktinfo);
    let msg =
        recvmsg::<SockaddrStorage>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map_err(io::Error::from)?;
    let mut meta = RecvMeta4 { ifindex: None };
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::Ipv4PacketInfo(pi) = c {
            meta.ifindex = u32::try_from(pi.ipi_ifindex).ok();
        }
    }
    Ok(received(&msg, meta))
}

/// One non-blocking `recvmsg` with the IPv6 ancillary data the daemon needs.
pub fn recvmsg_v6(s: &Socket, buf: &mut [u8]) -> io::Result<RecvMsg<RecvMeta6>> {
    let mut iov = [IoSliceMut::new(buf)];
    // Room for pktinfo, hop limit and the largest Hop-by-Hop header ((255 + 1) × 8 octets,
    // RFC 8200 §4.3), so that it always arrives whole and decodes.
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, [u8; 2048]);
    let msg = recvmsg::<SockaddrIn6>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let mut meta = RecvMeta6 {
        source: msg.address.map(|a| a.ip()),
        ifindex: None,
        destination: None,
        hop_limit: None,
        router_alert: false,
    };
    for c in msg.cmsgs().map_err(io::Error::from)? {
        match c {
            ControlMessageOwned::Ipv6PacketInfo(pi) => {
                meta.ifindex = Some(pi.ipi6_ifindex);
                meta.destination = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr));
            }
            ControlMessageOwned::Ipv6HopLimit(h) => meta.hop_limit = u8::try_from(h).ok(),
            ControlMessageOwned::Unknown(u)
                if u.cmsg_header.cmsg_level == libc::IPPROTO_IPV6
                    && u.cmsg_header.cmsg_type == libc::IPV6_HOPOPTS =>
            {
                meta.router_alert |= hop_by_hop_has_router_alert(&u.data_bytes);
            }
            _ => {}
        }
    }
    Ok(received(&msg, meta))
}

/// `meta` with the length and MSG_TRUNC flag of the datagram `recvmsg` returned.
fn received<S, M>(msg: &nix::sys::socket::RecvMsg<'_, '_, S>, meta: M) -> RecvMsg<M> {
    RecvMsg {
        len: msg.bytes,
        truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
        meta,
    }
}

/// `in_pktinfo` selecting the outgoing interface and source address of one datagram.
pub fn in_pktinfo(ifindex: u32, source: Ipv4Addr) -> io::Result<libc::in_pktinfo> {
    Ok(libc::in_pktinfo {
        ipi_ifindex: libc::c_int::try_from(ifindex)
            .map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?,
        ipi_spec_dst: crate::sys::in_addr(source),
        ipi_addr: crate::sys::in_addr(Ipv4Addr::UNSPECIFIED),
    })
}

/// `in6_pktinfo` selecting the outgoing interface and source address of one datagram.
pub fn in6_pktinfo(ifindex: u32, source: Ipv6Addr) -> libc::in6_pktinfo {
    libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: source.octets(),
        },
        ipi6_ifindex: ifindex,
    }
}
