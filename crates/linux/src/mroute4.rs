//! The IPv4 multicast routing socket: the raw IGMP socket that owns the kernel's IPv4
//! multicast routing table (VIFs, MFC), receives IGMP and the kernel's upcalls.
//! Kernel facts: docs/kernel-interface.md §1, §2, §4.

use crate::error::{Error, Family, Result, classify};
use crate::io::{AsyncSocket, RecvMeta4};
use crate::join_pool::JoinPool;
use crate::membership::FilterMode;
use crate::packet::{Datagram4, UpcallKind, decode4};
use crate::sys::{
    self, MAXVIFS, MRT_ADD_MFC, MRT_ADD_VIF, MRT_DEL_MFC, MRT_DEL_VIF, MRT_INIT, MRT_TABLE,
};
use crate::vif_table::{VifEntry, VifTable};
use mrproxy_wire::{igmp, ipv4};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;

/// The mroute socket's receive buffer. The kernel drops upcalls and reports when it is full
/// (docs/kernel-interface.md §2). A burst of reports (a LAN of set-top boxes re-joining after an outage) is
/// queued here while the daemon works through it: each queued report costs about 0.8 KiB of
/// buffer, so 8 MiB (16 MiB as the kernel counts it) holds some 20 000. igmpproxy's 256 KiB
/// held about 600 and lost a third of a 1 000-report burst (crates/bench). The kernel only
/// charges memory for what is queued.
pub(crate) const MROUTE_RCVBUF: usize = 8 * 1024 * 1024;

/// IGMPv2 leaves go to all-routers, IGMPv3 reports to 224.0.0.22 (RFC 9776 §4.2.14); the
/// kernel delivers them only while the groups are joined on the interface (docs/kernel-interface.md §4).
pub const IGMP_REPORT_GROUPS: [Ipv4Addr; 2] =
    [Ipv4Addr::new(224, 0, 0, 2), Ipv4Addr::new(224, 0, 0, 22)];

/// A kernel upcall with the VIF mapped back to an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upcall<A> {
    pub kind: UpcallKind,
    /// The interface the traffic arrived on; `None` if its VIF is unknown to us.
    pub iif: Option<u32>,
    pub source: A,
    pub group: A,
}

/// One thing read from the IPv4 mroute socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received4 {
    /// An IGMP message with its IPv4 header; the message, or why it does not decode.
    Igmp {
        ifindex: u32,
        header: ipv4::Repr,
        message: Result<igmp::Repr, mrproxy_wire::Error>,
    },
    Upcall(Upcall<Ipv4Addr>),
}

#[derive(Debug)]
pub struct Mroute4 {
    socket: AsyncSocket,
    vifs: VifTable,
    routes: BTreeSet<(Ipv4Addr, Ipv4Addr)>,
    report_groups: JoinPool,
}

impl Mroute4 {
    /// Opens the raw IGMP socket and makes it the mroute socket of `table` (the main table when
    /// `None`) in the calling thread's network namespace. Must run inside a tokio runtime.
    pub fn open(table: Option<u32>) -> Result<Mroute4> {
        const WHAT: &str = "opening the IPv4 multicast routing socket";
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(libc::IPPROTO_IGMP)),
        )
        .map_err(|e| classify(WHAT, e))?;
        if let Some(table) = table {
            // MRT_TABLE must precede MRT_INIT (docs/kernel-interface.md §1).
            sys::setsockopt(socket.as_fd(), libc::IPPROTO_IP, MRT_TABLE, &table).map_err(|e| {
                match e.raw_os_error() {
                    Some(libc::ENOPROTOOPT) => Error::NoMultipleTables {
                        family: Family::V4,
                        table,
                    },
                    _ => classify(WHAT, e),
                }
            })?;
        }
        sys::setsockopt(
            socket.as_fd(),
            libc::IPPROTO_IP,
            MRT_INIT,
            &(1 as libc::c_int),
        )
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EADDRINUSE) => Error::TableInUse { family: Family::V4 },
            Some(libc::ENOPROTOOPT) => Error::NoMulticastRouting { family: Family::V4 },
            _ => classify(WHAT, e),
        })?;
        set_receive_buffer(&socket, MROUTE_RCVBUF)
            .map_err(|e| Error::io("sizing the mroute socket buffer", e))?;
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::Ipv4PacketInfo, &true)
            .map_err(|e| Error::io("enabling IP_PKTINFO", e.into()))?;
        let socket =
            AsyncSocket::new(socket).map_err(|e| Error::io("registering the mroute socket", e))?;
        Ok(Mroute4 {
            socket,
            vifs: VifTable::default(),
            routes: BTreeSet::new(),
            report_groups: JoinPool::new(Family::V4),
        })
    }

    /// Gives `ifindex` a VIF (by ifindex, so unnumbered interfaces work: docs/igmpproxy-differences.md D17) and
    /// returns its index. `threshold` is the minimum TTL a packet must exceed to leave through
    /// it; 0 is raised to 1 because 0 in the MFC means "not an output". Linux ignores
    /// `rate_limit`. Adding an interface that has a VIF is a no-op.
    pub fn add_vif(&mut self, ifindex: u32, threshold: u8, rate_limit: u32) -> Result<u16> {
        if let Some(vif) = self.vifs.vif_of(ifindex) {
            return Ok(vif);
        }
        let vif = self.vifs.free_slot().ok_or(Error::VifsExhausted {
            family: Family::V4,
            ifindex,
        })?;
        let threshold = threshold.max(1);
        let ctl = sys::vifctl {
            vifc_vifi: vif,
            vifc_flags: sys::VIFF_USE_IFINDEX,
            vifc_threshold: threshold,
            vifc_rate_limit: rate_limit,
            lcl: sys::vifc_lcl {
                vifc_lcl_ifindex: libc::c_int::try_from(ifindex).map_err(|_| {
                    Error::io("MRT_ADD_VIF", io::Error::from_raw_os_error(libc::ENODEV))
                })?,
            },
            vifc_rmt_addr: sys::in_addr(Ipv4Addr::UNSPECIFIED),
        };
        sys::setsockopt(self.fd(), libc::IPPROTO_IP, MRT_ADD_VIF, &ctl)
            .map_err(|e| Error::io(format!("MRT_ADD_VIF vif {vif} for interface {ifindex}"), e))?;
        self.vifs.insert(vif, VifEntry { ifindex, threshold });
        Ok(vif)
    }

    /// Removes the interface's VIF. When the device is already gone the kernel removed the VIF
    /// itself, and the resulting ENODEV/EADDRNOTAVAIL is not an error.
    pub fn del_vif(&mut self, ifindex: u32) -> Result<()> {
        let Some(vif) = self.vifs.vif_of(ifindex) else {
            return Ok(());
        };
        let Some(entry) = self.vifs.entry(vif) else {
            return Ok(());
        };
        let ctl = sys::vifctl {
            vifc_vifi: vif,
            vifc_flags: sys::VIFF_USE_IFINDEX,
            vifc_threshold: entry.threshold,
            vifc_rate_limit: 0,
            lcl: sys::vifc_lcl {
                vifc_lcl_ifindex: libc::c_int::try_from(ifindex).unwrap_or(0),
            },
            vifc_rmt_addr: sys::in_addr(Ipv4Addr::UNSPECIFIED),
        };
        match sys::setsockopt(self.fd(), libc::IPPROTO_IP, MRT_DEL_VIF, &ctl) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EADDRNOTAVAIL)) => {
                tracing::debug!(ifindex, vif, "VIF already removed by the kernel");
            }
            Err(e) => {
                return Err(Error::io(
                    format!("MRT_DEL_VIF vif {vif} of interface {ifindex}"),
                    e,
                ));
            }
        }
        self.vifs.remove(ifindex);
        Ok(())
    }

    pub fn vif_of(&self, ifindex: u32) -> Option<u16> {
        self.vifs.vif_of(ifindex)
    }

    pub fn ifindex_of(&self, vif: u16) -> Option<u32> {
        self.vifs.ifindex_of(vif)
    }

    /// Installs or replaces in place the MFC entry for (source, group): accept on `iif`, copy to
    /// every interface of `oifs` whose VIF threshold the packet's TTL exceeds. Empty `oifs` is a
    /// valid entry that drops the traffic without further upcalls (docs/igmpproxy-differences.md D35).
    pub fn set_route(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: u32,
        oifs: &[u32],
    ) -> Result<()> {
        let parent = self.vifs.vif_of(iif).ok_or(Error::NoVif {
            family: Family::V4,
            ifindex: iif,
        })?;
        let mut ttls = [0u8; MAXVIFS];
        // Copying back onto the input link would loop the traffic: never an output.
        for &oif in oifs.iter().filter(|&&o| o != iif) {
            let vif = self.vifs.vif_of(oif).ok_or(Error::NoVif {
                family: Family::V4,
                ifindex: oif,
            })?;
            let entry = self.vifs.entry(vif).ok_or(Error::NoVif {
                family: Family::V4,
                ifindex: oif,
            })?;
            if let Some(ttl) = ttls.get_mut(usize::from(vif)) {
                *ttl = entry.threshold;
            }
        }
        let ctl = mfcctl(source, group, parent, ttls);
        sys::setsockopt(self.fd(), libc::IPPROTO_IP, MRT_ADD_MFC, &ctl)
            .map_err(|e| Error::io(format!("MRT_ADD_MFC ({source}, {group})"), e))?;
        self.routes.insert((source, group));
        Ok(())
    }

    /// Removes the MFC entry; a missing entry (ENOENT) is not an error.
    pub fn delete_route(&mut self, source: Ipv4Addr, group: Ipv4Addr) -> Result<()> {
        let ctl = mfcctl(source, group, 0, [0; MAXVIFS]);
        match sys::setsockopt(self.fd(), libc::IPPROTO_IP, MRT_DEL_MFC, &ctl) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(Error::io(format!("MRT_DEL_MFC ({source}, {group})"), e)),
        }
        self.routes.remove(&(source, group));
        Ok(())
    }

    /// The entry's packet counter (SIOCGETSGCNT), or `None` when there is no such entry.
    pub fn route_packets(&self, source: Ipv4Addr, group: Ipv4Addr) -> Result<Option<u64>> {
        let mut req = sys::sioc_sg_req {
            src: sys::in_addr(source),
            grp: sys::in_addr(group),
            pktcnt: 0,
            bytecnt: 0,
            wrong_if: 0,
        };
        match sys::ioctl_inout(self.fd(), sys::SIOCGETSGCNT, &mut req) {
            // c_ulong is u32 on 32-bit targets.
            #[allow(clippy::useless_conversion)]
            Ok(()) => Ok(Some(u64::from(req.pktcnt))),
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(None),
            Err(e) => Err(Error::io(format!("SIOCGETSGCNT ({source}, {group})"), e)),
        }
    }

    /// The (source, group) entries installed through this socket.
    pub fn routes(&self) -> impl Iterator<Item = (Ipv4Addr, Ipv4Addr)> + '_ {
        self.routes.iter().copied()
    }

    /// Joins 224.0.0.2 and 224.0.0.22 on a downstream interface so that IGMPv2 leaves and
    /// IGMPv3 reports reach this socket. The joins are made on separate sockets so that they do
    /// not count against this socket's membership limit (docs/igmpproxy-differences.md D21).
    pub fn join_report_groups(&mut self, ifindex: u32) -> Result<()> {
        for group in IGMP_REPORT_GROUPS {
            self.report_groups
                .set(ifindex, IpAddr::V4(group), FilterMode::Exclude, &[])?;
        }
        Ok(())
    }

    pub fn leave_report_groups(&mut self, ifindex: u32) {
        self.report_groups.forget_interface(ifindex);
    }

    /// Receives the next IGMP message or upcall. Datagrams the kernel should never produce
    /// (truncated, undecodable, IGMP without IP_PKTINFO) are logged and skipped.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received4> {
        loop {
            let meta = self.socket.recv_v4(buf).await?;
            if let Some(received) = self.decode(meta, buf) {
                return Ok(received);
            }
        }
    }

    /// The next message already queued on the socket, without waiting: `Ok(None)` once the
    /// queue is empty. Lets the daemon drain a burst of reports in one wake-up (after `recv`
    /// returned) rather than going through its event loop once per packet.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<Received4>> {
        loop {
            let meta = match self.socket.try_recv_v4(buf) {
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
    fn decode(&self, meta: RecvMeta4, buf: &[u8]) -> Option<Received4> {
        if meta.truncated {
            tracing::warn!(
                len = meta.len,
                "IPv4 mroute socket: datagram larger than the buffer, dropped"
            );
            return None;
        }
        let datagram = buf.get(..meta.len)?;
        match decode4(datagram) {
            Ok(Datagram4::Upcall(up)) => Some(Received4::Upcall(Upcall {
                kind: up.kind,
                iif: self.vifs.ifindex_of(up.vif),
                source: up.source,
                group: up.group,
            })),
            Ok(Datagram4::Igmp { header, message }) => match meta.ifindex {
                Some(ifindex) => Some(Received4::Igmp {
                    ifindex,
                    header,
                    message,
                }),
                None => {
                    tracing::debug!(source = %header.src, "IGMP without IP_PKTINFO, dropped");
                    None
                }
            },
            Err(e) => {
                tracing::debug!(error = %e, "undecodable datagram on the IPv4 mroute socket");
                None
            }
        }
    }

    /// Deletes every MFC entry and VIF added through this socket and leaves the report groups
    /// (SIGTERM). Closing the socket would do the same; this reports what failed.
    pub fn flush(&mut self) -> Result<()> {
        let mut first_error = None;
        let routes: Vec<_> = self.routes.iter().copied().collect();
        for (source, group) in routes {
            if let Err(e) = self.delete_route(source, group) {
                first_error.get_or_insert(e);
            }
        }
        let ifindexes: Vec<_> = self.vifs.iter().map(|(_, e)| e.ifindex).collect();
        for ifindex in ifindexes {
            self.report_groups.forget_interface(ifindex);
            if let Err(e) = self.del_vif(ifindex) {
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

fn mfcctl(source: Ipv4Addr, group: Ipv4Addr, parent: u16, ttls: [u8; MAXVIFS]) -> sys::mfcctl {
    sys::mfcctl {
        mfcc_origin: sys::in_addr(source),
        mfcc_mcastgrp: sys::in_addr(group),
        mfcc_parent: parent,
        mfcc_ttls: ttls,
        mfcc_pkt_cnt: 0,
        mfcc_byte_cnt: 0,
        mfcc_wrong_if: 0,
        mfcc_expire: 0,
    }
}

/// SO_RCVBUFFORCE lifts the net.core.rmem_max cap for privileged callers; without privilege
/// fall back to SO_RCVBUF (capped by the kernel).
pub(crate) fn set_receive_buffer(socket: &Socket, bytes: usize) -> io::Result<()> {
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    match sys::setsockopt(
        socket.as_fd(),
        libc::SOL_SOCKET,
        libc::SO_RCVBUFFORCE,
        &size,
    ) {
        Ok(()) => Ok(()),
        Err(_) => socket.set_recv_buffer_size(bytes),
    }
}
