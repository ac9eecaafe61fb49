//! A NETLINK_ROUTE socket on the tokio reactor (netlink(7), rtnetlink(7)). Only datagrams
//! from the kernel (port id 0) are taken: another process may address our port, but only the
//! kernel speaks for the interfaces.

use crate::io::AsyncSocket;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recvmsg, send,
    socket,
};
use socket2::Socket;
use std::io::{self, IoSliceMut};
use std::os::fd::AsRawFd;
use tokio::io::Interest;

/// RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR (<linux/rtnetlink.h>).
pub(super) const LINK_AND_ADDRESS_GROUPS: u32 = 0x1 | 0x10 | 0x100;

/// The largest datagram expected: the kernel fills dump datagrams up to 32 KiB
/// (netlink_dump()), and a single link or address message is far smaller.
pub(super) const DATAGRAM: usize = 64 * 1024;

#[derive(Debug)]
pub(super) struct NetlinkSocket {
    fd: AsyncSocket,
}

impl NetlinkSocket {
    /// A non-blocking socket bound to a port the kernel chooses, member of `groups` (a
    /// RTMGRP_* bit mask). Must run inside a tokio runtime.
    pub(super) fn open(groups: u32) -> io::Result<NetlinkSocket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
        Ok(NetlinkSocket {
            fd: AsyncSocket::new(Socket::from(fd))?,
        })
    }

    /// SO_RCVBUF, in bytes (the kernel doubles it).
    pub(super) fn set_receive_buffer(&self, bytes: usize) -> io::Result<()> {
        self.fd.socket().set_recv_buffer_size(bytes)
    }

    pub(super) async fn send(&self, message: &[u8]) -> io::Result<()> {
        let sent = self
            .fd
            .async_io(Interest::WRITABLE, |fd| {
                send(fd.as_raw_fd(), message, MsgFlags::empty()).map_err(io::Error::from)
            })
            .await?;
        if sent == message.len() {
            Ok(())
        } else {
            Err(io::Error::from(io::ErrorKind::WriteZero))
        }
    }

    /// The next datagram from the kernel, its length. ENOBUFS means the kernel dropped
    /// datagrams for this socket; a datagram larger than `buf` is an error (InvalidData).
    pub(super) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd
            .async_io(Interest::READABLE, |fd| recv_from_kernel(fd, buf))
            .await
    }

    /// As [`NetlinkSocket::recv`] without waiting: `WouldBlock` when nothing is queued.
    pub(super) fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd
            .try_io(Interest::READABLE, |fd| recv_from_kernel(fd, buf))
    }
}

/// One non-blocking receive; datagrams from other ports are dropped and the next one is read.
fn recv_from_kernel(fd: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<NetlinkAddr>(fd.as_raw_fd(), &mut iov, None, MsgFlags::empty())
            .map_err(io::Error::from)?;
        if msg.flags.contains(MsgFlags::MSG_TRUNC) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "netlink datagram larger than the receive buffer",
            ));
        }
        if msg.address.is_some_and(|a| a.pid() == 0) {
            return Ok(msg.bytes);
        }
    }
}
