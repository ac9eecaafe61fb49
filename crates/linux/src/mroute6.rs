//! The IPv6 multicast routing socket: a raw ICMPv6 socket that owns the kernel's IPv6
//! multicast routing table (MIFs, MFC), receives MLD and the kernel's upcalls.
//! Kernel facts: docs/kernel-interface.md §3, §4.

use crate::error::{Error, Family, Result, classify};
use crate::io::{AsyncSocket, RecvMeta6};
use crate::join_pool::JoinPool;
use crate::membership::FilterMode;
use crate::mroute4::{MROUTE_RCVBUF, Upcall, set_receive_buffer};
use crate::packet::{Datagram6, decode6};
use crate::sys::{
    self, MRT6_ADD_MFC, MRT6_ADD_MIF, MRT6_DEL_MFC, MRT6_DEL_MIF, MRT6_INIT, MRT6_TABLE,
};
use crate::vif_table::{VifEntry, VifTable};
use mrproxy_wire::mld;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::AsFd;

/// MLDv1 Done goes to all-routers (ff02::2), MLDv2 reports to all-MLDv2-routers (ff02::16,
/// RFC 9777 §5.2.14); the kernel delivers them only while joined (docs/kernel-interface.md §4).
pub const MLD_REPORT_GROUPS: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2),
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16),
];

/// ICMPv6 types the socket accepts: MLD query, v1 report, v1 done, v2 report (RFC 9777 §5).
pub const MLD_TYPES: [u8; 4] = [130, 131, 132, 143];

/// One thing read from the IPv6 mroute socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received6 {
    /// An MLD message with what the ancillary data said about its IPv6 header (the kernel
    /// strips the header and has verified the checksum); the message, or why it does not
    /// decode.
    Mld {
        ifindex: u32,
        source: Ipv6Addr,
        destination: Ipv6Addr,
        hop_limit: u8,
        /// A Hop-by-Hop Router Alert option came with the message.
        router_alert: bool,
        message: Result<mld::Repr, mrproxy_wire::Error>,
    },
    Upcall(Upcall<Ipv6Addr>),
}

#[derive(Debug)]
pub struct Mroute6 {
    socket: AsyncSocket,
    mifs: VifTable,
    routes: BTreeSet<(Ipv6Addr, Ipv6Addr)>,
    report_groups: JoinPool,
}

impl Mroute6 {
    /// Opens the raw ICMPv6 socket and makes it the IPv6 mroute socket of `table` (the main
    /// table when `None`). Must run inside a tokio runtime.
    pub fn open(table: Option<u32>) -> Result<Mroute6> {
        const WHAT: &str = "opening the IPv6 multicast routing socket";
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
            .map_err(|e| classify(WHAT, e))?;
        let fd = socket.as_fd();
        if let Some(table) = table {
            sys::setsockopt(fd, libc::IPPROTO_IPV6, MRT6_TABLE, &table).map_err(|e| {
                match e.raw_os_error() {
                    Some(libc::ENOPROTOOPT) => Error::NoMultipleTables {
                        family: Family::V6,
                        table,
                    },
                    _ => classify(WHAT, e),
                }
            })?;
        }
        sys::setsockopt(fd, libc::IPPROTO_IPV6, MRT6_INIT, &(1 as libc::c_int)).map_err(
            |e| match e.raw_os_error() {
                Some(libc::EADDRINUSE) => Error::TableInUse { family: Family::V6 },
                Some(libc::ENOPROTOOPT) => Error::NoMulticastRouting { family: Family::V6 },
                _ => classify(WHAT, e),
            },
        )?;
        // Only MLD is of interest; upcalls are queued to the socket directly and bypass this.
        sys::setsockopt(
            fd,
            libc::IPPROTO_ICMPV6,
            sys::ICMP6_FILTER,
            &icmp6_filter_passing(&MLD_TYPES),
        )
        .map_err(|e| Error::io("setting ICMP6_FILTER", e))?;
        set_receive_buffer(&socket, MROUTE_RCVBUF)
            .map_err(|e| Error::io("sizing the mroute socket buffer", e))?;
        use nix::sys::socket::{setsockopt, sockopt};
        setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(|e| Error::io("enabling IPV6_RECVPKTINFO", e.into()))?;
        setsockopt(&socket, sockopt::Ipv6RecvHopLimit, &true)
            .map_err(|e| Error::io("enabling IPV6_RECVHOPLIMIT", e.into()))?;
        sys::setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVHOPOPTS,
            &(1 as libc::c_int),
        )
        .map_err(|e| Error::io("enabling IPV6_RECVHOPOPTS", e))?;
        let socket =
            AsyncSocket::new(socket).map_err(|e| Error::io("registering the mroute socket", e))?;
        Ok(Mroute6 {
            socket,
            mifs: VifTable::default(),
            routes: BTreeSet::new(),
            report_groups: JoinPool::new(Family::V6),
        })
    }

    /// Gives `ifindex` a MIF and returns its index; a no-op for an interface that has one.
    /// Linux's IPv6 MFC has no per-MIF threshold (every output needs hop limit ≥ 2), so
    /// `threshold` is only recorded in the MIF; `rate_limit` is ignored by the kernel.
    pub fn add_mif(&mut self, ifindex: u32, threshold: u8, rate_limit: u32) -> Result<u16> {
        if let Some(mif) = self.mifs.vif_of(ifindex) {
            return Ok(mif);
        }
        let pifi = u16::try_from(ifindex).map_err(|_| Error::IfIndexTooLarge { ifindex })?;
        let mif = self.mifs.free_slot().ok_or(Error::VifsExhausted {
            family: Family::V6,
            ifindex,
        })?;
        let threshold = threshold.max(1);
        let ctl = sys::mif6ctl {
            mif6c_mifi: mif,
            mif6c_flags: 0,
            vifc_threshold: threshold,
            mif6c_pifi: pifi,
            vifc_rate_limit: rate_limit,
        };
        sys::setsockopt(self.fd(), libc::IPPROTO_IPV6, MRT6_ADD_MIF, &ctl)
            .map_err(|e| Error::io(format!("MRT6_ADD_MIF mif {mif} for interface {ifindex}"), e))?;
        self.mifs.insert(mif, VifEntry { ifindex, threshold });
        Ok(mif)
    }

    /// Removes the interface's MIF, tolerating a device the kernel already removed.
    pub fn del_mif(&mut self, ifindex: u32) -> Result<()> {
        let Some(mif) = self.mifs.vif_of(ifindex) else {
            return Ok(());
        };
        // MRT6_DEL_MIF takes the bare MIF index (a mifi_t).
        match sys::setsockopt(self.fd(), libc::IPPROTO_IPV6, MRT6_DEL_MIF, &mif) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EADDRNOTAVAIL)) => {
                tracing::debug!(ifindex, mif, "MIF already removed by the kernel");
            }
            Err(e) => {
                return Err(Error::io(
                    format!("MRT6_DEL_MIF mif {mif} of interface {ifindex}"),
                    e,
                ));
            }
        }
        self.mifs.remove(ifindex);
        Ok(())
    }

    pub fn mif_of(&self, ifindex: u32) -> Option<u16> {
        self.mifs.vif_of(ifindex)
    }

    pub fn ifindex_of(&self, mif: u16) -> Option<u32> {
        self.mifs.ifindex_of(mif)
    }

    /// Installs or replaces in place the MFC entry for (source, group); see
    /// [`crate::Mroute4::set_route`].
    pub fn set_route(
        &mut self,
        source: Ipv6Addr,
        group: Ipv6Addr,
        iif: u32,
        oifs: &[u32],
    ) -> Result<()> {
        let parent = self.mifs.vif_of(iif).ok_or(Error::NoVif {
            family: Family::V6,
            ifindex: iif,
        })?;
        let mut ifset = sys::if_set { ifs_bits: [0; 8] };
        for &oif in oifs.iter().filter(|&&o| o != iif) {
            let mif = self.mifs.vif_of(oif).ok_or(Error::NoVif {
                family: Family::V6,
                ifindex: oif,
            })?;
            if let Some(word) = ifset.ifs_bits.get_mut(usize::from(mif / 32)) {
                *word |= 1 << (mif % 32);
            }
        }
        let ctl = mf6cctl(source, group, parent, ifset);
        sys::setsockopt(self.fd(), libc::IPPROTO_IPV6, MRT6_ADD_MFC, &ctl)
            .map_err(|e| Error::io(format!("MRT6_ADD_MFC ({source}, {group})"), e))?;
        self.routes.insert((source, group));
        Ok(())
    }

    /// Removes the MFC entry; a missing entry (ENOENT) is not an error.
    pub fn delete_route(&mut self, source: Ipv6Addr, group: Ipv6Addr) -> Result<()> {
        let ctl = mf6cctl(source, group, 0, sys::if_set { ifs_bits: [0; 8] });
        match sys::setsockopt(self.fd(), libc::IPPROTO_IPV6, MRT6_DEL_MFC, &ctl) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(Error::io(format!("MRT6_DEL_MFC ({source}, {group})"), e)),
        }
        self.routes.remove(&(source, group));
        Ok(())
    }

    /// The entry's packet counter (SIOCGETSGCNT_IN6), or `None` when there is no such entry.
    pub fn route_packets(&self, source: Ipv6Addr, group: Ipv6Addr) -> Result<Option<u64>> {
        let mut req = sys::sioc_sg_req6 {
            src: sys::sockaddr_in6(source),
            grp: sys::sockaddr_in6(group),
            pktcnt: 0,
            bytecnt: 0,
            wrong_if: 0,
        };
        match sys::ioctl_inout(self.fd(), sys::SIOCGETSGCNT_IN6, &mut req) {
            // c_ulong is u32 on 32-bit targets.
            #[allow(clippy::useless_conversion)]
            Ok(()) => Ok(Some(u64::from(req.pktcnt))),
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(None),
            Err(e) => Err(Error::io(
                format!("SIOCGETSGCNT_IN6 ({source}, {group})"),
                e,
            )),
        }
    }

    pub fn routes(&self) -> impl Iterator<Item = (Ipv6Addr, Ipv6Addr)> + '_ {
        self.routes.iter().copied()
    }

    /// Joins ff02::2 and ff02::16 on a downstream interface so that MLDv1 Done and MLDv2
    /// reports reach this socket.
    pub fn join_report_groups(&mut self, ifindex: u32) -> Result<()> {
        for group in MLD_REPORT_GROUPS {
            self.report_groups
                .set(ifindex, IpAddr::V6(group), FilterMode::Exclude, &[])?;
        }
        Ok(())
    }

    pub fn leave_report_groups(&mut self, ifindex: u32) {
        self.report_groups.forget_interface(ifindex);
    }

    /// Receives the next MLD message or upcall. Datagrams that lack the ancillary data the
    /// engine needs (interface, destination, hop limit) or are truncated are logged and skipped.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received6> {
        loop {
            let meta = self.socket.recv_v6(buf).await?;
            if let Some(received) = self.decode(meta, buf) {
                return Ok(received);
            }
        }
    }

    /// The next message already queued on the socket, without waiting: `Ok(None)` once the
    /// queue is empty (see [`Mroute4::try_recv`](crate::Mroute4::try_recv)).
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<Received6>> {
        loop {
            let meta = match self.socket.try_recv_v6(buf) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            };
            if let Some(received) = self.decode(meta, buf) {
                return Ok(Some(received));
            }
        }
    }

    /// Classifies one received datagram; `None` for those to skip (logged).
    fn decode(&self, meta: RecvMeta6, buf: &[u8]) -> Option<Received6> {
        if meta.truncated {
            tracing::warn!(
                len = meta.len,
                "IPv6 mroute socket: datagram larger than the buffer, dropped"
            );
            return None;
        }
        let datagram = buf.get(..meta.len)?;
        let message = match decode6(datagram) {
            Datagram6::Upcall(up) => {
                return Some(Received6::Upcall(Upcall {
                    kind: up.kind,
                    iif: self.mifs.ifindex_of(up.vif),
                    source: up.source,
                    group: up.group,
                }));
            }
            Datagram6::Mld(message) => message,
        };
        match (meta.ifindex, meta.source, meta.destination, meta.hop_limit) {
            (Some(ifindex), Some(source), Some(destination), Some(hop_limit)) => {
                Some(Received6::Mld {
                    ifindex,
                    source,
                    destination,
                    hop_limit,
                    router_alert: meta.router_alert,
                    message,
                })
            }
            _ => {
                tracing::debug!(
                    ?meta,
                    "ICMPv6 without interface, addresses or hop limit, dropped"
                );
                None
            }
        }
    }

    /// Deletes every MFC entry and MIF added through this socket and leaves the report groups.
    pub fn flush(&mut self) -> Result<()> {
        let mut first_error = None;
        let routes: Vec<_> = self.routes.iter().copied().collect();
        for (source, group) in routes {
            if let Err(e) = self.delete_route(source, group) {
                first_error.get_or_insert(e);
            }
        }
        let ifindexes: Vec<_> = self.mifs.iter().map(|(_, e)| e.ifindex).collect();
        for ifindex in ifindexes {
            if let Err(e) = self.del_mif(ifindex) {
                first_error.get_or_insert(e);
            }
        }
        self.report_groups.clear();
        first_error.map_or(Ok(()), Err)
    }

    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.socket().as_fd()
    }
}

fn mf6cctl(source: Ipv6Addr, group: Ipv6Addr, parent: u16, ifset: sys::if_set) -> sys::mf6cctl {
    sys::mf6cctl {
        mf6cc_origin: sys::sockaddr_in6(source),
        mf6cc_mcastgrp: sys::sockaddr_in6(group),
        mf6cc_parent: parent,
        mf6cc_ifset: ifset,
    }
}

/// An ICMPv6 filter that passes exactly `types` (Linux: a set bit blocks the type).
pub(crate) fn icmp6_filter_passing(types: &[u8]) -> sys::icmp6_filter {
    let mut filter = sys::icmp6_filter {
        icmp6_filt: [u32::MAX; 8],
    };
    for &t in types {
        if let Some(word) = filter.icmp6_filt.get_mut(usize::from(t >> 5)) {
            *word &= !(1u32 << (t & 31));
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp6_filter_passes_only_mld() {
        let f = icmp6_filter_passing(&MLD_TYPES);
        let blocked = |t: u8| f.icmp6_filt[usize::from(t >> 5)] & (1 << (t & 31)) != 0;
        for t in 0..=255u8 {
            assert_eq!(blocked(t), !MLD_TYPES.contains(&t), "type {t}");
        }
    }
}
