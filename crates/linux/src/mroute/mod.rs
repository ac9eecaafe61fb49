//! The multicast routing ("mroute") socket of one family: the raw socket that owns the
//! kernel's multicast routing table (VIFs or MIFs, MFC), receives IGMP or MLD and the kernel's
//! upcalls. Written once over [`MrouteFamily`]; `family.rs` names what the two APIs do
//! differently, and `v4.rs` and `v6.rs` hold only that. Kernel facts:
//! docs/kernel-interface.md §1–§4.

pub(crate) mod family;
mod v4;
mod v6;

pub use v4::{IGMP_REPORT_GROUPS, Received4};
pub(crate) use v6::icmp6_filter_passing;
pub use v6::{MLD_REPORT_GROUPS, MLD_TYPES, Received6};

use crate::error::{Error, Result, classify, vif_name};
use crate::io::{AsyncSocket, RecvMsg};
use crate::join_pool::JoinPool;
use crate::packet::{RawUpcall, UpcallKind};
use crate::sys;
use crate::vif_table::{VifEntry, VifTable};
use mrproxy_types::{FilterMode, IfIndex, IpFamily, SourceGroup, VifIndex};
use socket2::{Protocol, Socket, Type};
use std::collections::BTreeSet;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd};

/// The IPv4 multicast routing socket (raw IGMP, `MRT_*`).
pub type Mroute4 = Mroute<Ipv4Addr>;
/// The IPv6 multicast routing socket (raw ICMPv6, `MRT6_*`).
pub type Mroute6 = Mroute<Ipv6Addr>;

/// The mroute socket's receive buffer. The kernel drops upcalls and reports when it is full
/// (docs/kernel-interface.md §2). A burst of reports (a LAN of set-top boxes re-joining after an outage) is
/// queued here while the daemon works through it: each queued report costs about 0.8 KiB of
/// buffer, so 8 MiB (16 MiB as the kernel counts it) holds some 20 000. igmpproxy's 256 KiB
/// held about 600 and lost a third of a 1 000-report burst (tools/bench). The kernel only
/// charges memory for what is queued.
const MROUTE_RCVBUF: usize = 8 * 1024 * 1024;

/// An address family whose multicast routing table mrproxy programs: `Ipv4Addr`
/// (`linux/mroute.h`) or `Ipv6Addr` (`linux/mroute6.h`). `A::Received` is what its socket
/// delivers ([`Received4`], [`Received6`]), so that code over the family can name it.
pub trait MrouteFamily: IpFamily + family::Api {}

impl MrouteFamily for Ipv4Addr {}
impl MrouteFamily for Ipv6Addr {}

/// A kernel upcall with the VIF mapped back to an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upcall<A> {
    pub kind: UpcallKind,
    /// The interface the traffic arrived on; `None` if its VIF is unknown to us.
    pub iif: Option<IfIndex>,
    pub source: A,
    pub group: A,
}

/// What the kernel counted for one forwarding entry since it was installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryCounters {
    pub packets: u64,
    pub bytes: u64,
    /// Packets of the (S,G) that arrived on another interface than the entry's input.
    pub wrong_interface: u64,
}

impl EntryCounters {
    /// What SIOCGETSGCNT / SIOCGETSGCNT_IN6 filled in.
    // c_ulong is u32 on 32-bit targets.
    #[allow(clippy::useless_conversion)]
    fn of<Addr>(req: &sys::sioc_sg_req<Addr>) -> Self {
        EntryCounters {
            packets: u64::from(req.pktcnt),
            bytes: u64::from(req.bytecnt),
            wrong_interface: u64::from(req.wrong_if),
        }
    }
}

impl<A> Upcall<A> {
    /// `raw` with its VIF/MIF mapped back to the interface it stands for.
    fn of(raw: RawUpcall<A>, vifs: &VifTable) -> Upcall<A> {
        Upcall {
            kind: raw.kind,
            iif: vifs.ifindex_of(VifIndex(raw.vif)),
            source: raw.source,
            group: raw.group,
        }
    }
}

/// One family's mroute socket, with what was installed through it (VIFs/MIFs by slot,
/// forwarding entries, the report-group joins) so that `flush` can undo it.
#[derive(Debug)]
pub struct Mroute<A: MrouteFamily> {
    socket: AsyncSocket,
    vifs: VifTable,
    routes: BTreeSet<SourceGroup<A>>,
    report_groups: JoinPool<A>,
}

impl<A: MrouteFamily> Mroute<A> {
    /// Opens the raw socket and makes it the mroute socket of `table` (the main table when
    /// `None`) in the calling thread's network namespace. Must run inside a tokio runtime.
    pub fn open(table: Option<u32>) -> Result<Mroute<A>> {
        let (family, what) = (A::FAMILY, A::OPENING);
        let socket = Socket::new(A::DOMAIN, Type::RAW, Some(Protocol::from(A::PROTOCOL)))
            .map_err(|e| classify(what, e))?;
        if let Some(table) = table {
            // MRT_TABLE must precede MRT_INIT (docs/kernel-interface.md §1).
            sys::setsockopt(socket.as_fd(), A::LEVEL, A::TABLE, &table).map_err(|e| {
                match e.raw_os_error() {
                    Some(libc::ENOPROTOOPT) => Error::NoMultipleTables { family, table },
                    _ => classify(what, e),
                }
            })?;
        }
        sys::setsockopt(socket.as_fd(), A::LEVEL, A::INIT, &(1 as libc::c_int)).map_err(
            |e| match e.raw_os_error() {
                Some(libc::EADDRINUSE) => Error::TableInUse { family },
                Some(libc::ENOPROTOOPT) => Error::NoMulticastRouting { family },
                _ => classify(what, e),
            },
        )?;
        set_receive_buffer(&socket, MROUTE_RCVBUF)
            .map_err(|e| Error::io("sizing the mroute socket buffer", e))?;
        A::configure(&socket)?;
        let socket =
            AsyncSocket::new(socket).map_err(|e| Error::io("registering the mroute socket", e))?;
        Ok(Mroute {
            socket,
            vifs: VifTable::default(),
            routes: BTreeSet::new(),
            report_groups: JoinPool::new(),
        })
    }

    /// Gives `ifindex` a VIF/MIF (by ifindex, so unnumbered interfaces work:
    /// docs/igmpproxy-differences.md D17) and returns its index. `threshold` is the minimum
    /// TTL a packet must exceed to leave through it; 0 is raised to 1 because 0 in the MFC
    /// means "not an output" (Linux's IPv6 MFC has no per-MIF threshold: every output needs
    /// hop limit ≥ 2, and the MIF only records it). Linux ignores `rate_limit`. Adding an
    /// interface that has one is a no-op.
    pub fn add_vif(
        &mut self,
        ifindex: IfIndex,
        threshold: u8,
        rate_limit: u32,
    ) -> Result<VifIndex> {
        if let Some(vif) = self.vifs.vif_of(ifindex) {
            return Ok(vif);
        }
        let vif = self.vifs.free_slot().ok_or(Error::VifsExhausted {
            family: A::FAMILY,
            ifindex,
        })?;
        let threshold = threshold.max(1);
        let ctl = A::add_vif(vif, ifindex, threshold, rate_limit)?;
        let (option, name) = A::ADD_VIF;
        sys::setsockopt(self.fd(), A::LEVEL, option, &ctl).map_err(|e| {
            let slot = vif_name(A::FAMILY).to_lowercase();
            Error::io(
                format!("{name} {slot} {vif} for interface {}", ifindex.0),
                e,
            )
        })?;
        self.vifs.insert(vif, VifEntry { ifindex, threshold });
        Ok(vif)
    }

    /// Removes the interface's VIF/MIF. When the device is already gone the kernel removed it
    /// itself, and the resulting ENODEV/EADDRNOTAVAIL is not an error.
    pub fn del_vif(&mut self, ifindex: IfIndex) -> Result<()> {
        let Some(vif) = self.vifs.vif_of(ifindex) else {
            return Ok(());
        };
        let Some(entry) = self.vifs.entry(vif) else {
            return Ok(());
        };
        let (option, name) = A::DEL_VIF;
        let slot = vif_name(A::FAMILY);
        match sys::setsockopt(self.fd(), A::LEVEL, option, &A::del_vif(vif, entry)) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EADDRNOTAVAIL)) => {
                tracing::debug!(
                    ifindex = ifindex.0,
                    vif = vif.0,
                    "{slot} already removed by the kernel"
                );
            }
            Err(e) => {
                let slot = slot.to_lowercase();
                return Err(Error::io(
                    format!("{name} {slot} {vif} of interface {}", ifindex.0),
                    e,
                ));
            }
        }
        self.vifs.remove(ifindex);
        Ok(())
    }

    pub fn vif_of(&self, ifindex: IfIndex) -> Option<VifIndex> {
        self.vifs.vif_of(ifindex)
    }

    pub fn ifindex_of(&self, vif: VifIndex) -> Option<IfIndex> {
        self.vifs.ifindex_of(vif)
    }

    /// Installs or replaces in place the MFC entry for (source, group): accept on `iif`, copy to
    /// every interface of `oifs` (for IPv4, whose VIF threshold the packet's TTL exceeds).
    /// Empty `oifs` is a valid entry that drops the traffic without further upcalls
    /// (docs/igmpproxy-differences.md D35).
    pub fn set_route(&mut self, sg: SourceGroup<A>, iif: IfIndex, oifs: &[IfIndex]) -> Result<()> {
        let no_vif = |ifindex| Error::NoVif {
            family: A::FAMILY,
            ifindex,
        };
        let parent = self.vifs.vif_of(iif).ok_or(no_vif(iif))?;
        // Copying back onto the input link would loop the traffic: never an output.
        let outputs = oifs
            .iter()
            .filter(|&&o| o != iif)
            .map(|&oif| {
                let vif = self.vifs.vif_of(oif).ok_or(no_vif(oif))?;
                let entry = self.vifs.entry(vif).ok_or(no_vif(oif))?;
                Ok((vif, entry.threshold))
            })
            .collect::<Result<Vec<_>>>()?;
        let (option, name) = A::ADD_MFC;
        sys::setsockopt(self.fd(), A::LEVEL, option, &A::mfc(sg, parent, &outputs))
            .map_err(|e| Error::io(format!("{name} {sg}"), e))?;
        self.routes.insert(sg);
        Ok(())
    }

    /// Removes the MFC entry; a missing entry (ENOENT) is not an error.
    pub fn delete_route(&mut self, sg: SourceGroup<A>) -> Result<()> {
        let (option, name) = A::DEL_MFC;
        match sys::setsockopt(self.fd(), A::LEVEL, option, &A::mfc(sg, VifIndex(0), &[])) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(Error::io(format!("{name} {sg}"), e)),
        }
        self.routes.remove(&sg);
        Ok(())
    }

    /// The entry's packet counter (SIOCGETSGCNT / SIOCGETSGCNT_IN6), or `None` when there is
    /// no such entry.
    pub fn route_packets(&self, sg: SourceGroup<A>) -> Result<Option<u64>> {
        Ok(self.route_counters(sg)?.map(|c| c.packets))
    }

    /// All counters of the entry (SIOCGETSGCNT / SIOCGETSGCNT_IN6), or `None` when there is
    /// no such entry.
    pub fn route_counters(&self, sg: SourceGroup<A>) -> Result<Option<EntryCounters>> {
        let (request, name) = A::GET_SG_COUNT;
        let mut req = sys::sioc_sg_req {
            src: sg.source.kernel_addr(),
            grp: sg.group.kernel_addr(),
            pktcnt: 0,
            bytecnt: 0,
            wrong_if: 0,
        };
        match sys::ioctl_inout(self.fd(), request, &mut req) {
            Ok(()) => Ok(Some(EntryCounters::of(&req))),
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(None),
            Err(e) => Err(Error::io(format!("{name} {sg}"), e)),
        }
    }

    /// The (source, group) entries installed through this socket.
    pub fn routes(&self) -> impl Iterator<Item = SourceGroup<A>> + '_ {
        self.routes.iter().copied()
    }

    /// Joins the report groups on a downstream interface (224.0.0.2 and 224.0.0.22, or ff02::2
    /// and ff02::16) so that leaves and v2/v3 reports reach this socket. The joins are made on
    /// separate sockets so that they do not count against this socket's membership limit
    /// (docs/igmpproxy-differences.md D21).
    pub fn join_report_groups(&mut self, ifindex: IfIndex) -> Result<()> {
        for group in A::REPORT_GROUPS {
            self.report_groups
                .set(ifindex, group, FilterMode::Exclude, &[])?;
        }
        Ok(())
    }

    pub fn leave_report_groups(&mut self, ifindex: IfIndex) {
        self.report_groups.forget_interface(ifindex);
    }

    /// Receives the next IGMP/MLD message or upcall. Datagrams the kernel should never
    /// produce, or that lack the ancillary data the engine needs, are logged and skipped.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<A::Received> {
        loop {
            let msg = self.socket.recv(buf, A::recvmsg).await?;
            if let Some(received) = self.decode(msg, buf) {
                return Ok(received);
            }
        }
    }

    /// The next message already queued on the socket, without waiting: `Ok(None)` once the
    /// queue is empty. Lets the daemon drain a burst of reports in one wake-up (after `recv`
    /// returned) rather than going through its event loop once per packet.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<A::Received>> {
        loop {
            let msg = match self.socket.try_recv(buf, A::recvmsg) {
                Ok(msg) => msg,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            };
            if let Some(received) = self.decode(msg, buf) {
                return Ok(Some(received));
            }
        }
    }

    /// The datagram `msg` describes, classified by the family; `None` for one to skip: one the
    /// buffer cut (logged here), or one the family's decoder refuses (logged there).
    fn decode(&self, msg: RecvMsg<A::Meta>, buf: &[u8]) -> Option<A::Received> {
        if msg.truncated {
            tracing::warn!(
                len = msg.len,
                "{} mroute socket: datagram larger than the buffer, dropped",
                A::FAMILY
            );
            return None;
        }
        A::decode(msg.meta, buf.get(..msg.len)?, &self.vifs)
    }

    /// Deletes every MFC entry and VIF/MIF added through this socket and leaves the report
    /// groups (SIGTERM). Closing the socket would do the same; this reports what failed.
    pub fn flush(&mut self) -> Result<()> {
        let mut first_error = None;
        let routes: Vec<_> = self.routes.iter().copied().collect();
        for sg in routes {
            if let Err(e) = self.delete_route(sg) {
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

    fn fd(&self) -> BorrowedFd<'_> {
        self.socket.socket().as_fd()
    }
}

/// SO_RCVBUFFORCE lifts the net.core.rmem_max cap for privileged callers; without privilege
/// fall back to SO_RCVBUF (capped by the kernel).
fn set_receive_buffer(socket: &Socket, bytes: usize) -> io::Result<()> {
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
