//! What the IPv6 mroute API does its own way: a raw ICMPv6 socket filtered to MLD with the
//! IPv6 ancillary data, `mif6ctl` naming the interface in a u16, `mf6cctl` with an output
//! bitmap and no thresholds, and `mrt6msg` upcalls (docs/kernel-interface.md §3, §4).

use super::Upcall;
use super::family::Api;
use crate::error::{Error, Result};
use crate::io::{RecvMeta6, RecvMsg};
use crate::packet::{Datagram6, decode6};
use crate::sys::{
    self, MRT6_ADD_MFC, MRT6_ADD_MIF, MRT6_DEL_MFC, MRT6_DEL_MIF, MRT6_INIT, MRT6_TABLE,
};
use crate::vif_table::{VifEntry, VifTable};
use mrproxy_types::{IfIndex, SourceGroup, VifIndex};
use mrproxy_wire::mld;
use socket2::Socket;
use std::io;
use std::net::Ipv6Addr;
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
        ifindex: IfIndex,
        source: Ipv6Addr,
        destination: Ipv6Addr,
        hop_limit: u8,
        /// A Hop-by-Hop Router Alert option came with the message.
        router_alert: bool,
        message: Result<mld::Repr, mrproxy_wire::Error>,
    },
    Upcall(Upcall<Ipv6Addr>),
}

impl Api for Ipv6Addr {
    const OPENING: &'static str = "opening the IPv6 multicast routing socket";
    const LEVEL: libc::c_int = libc::IPPROTO_IPV6;
    const DOMAIN: socket2::Domain = socket2::Domain::IPV6;
    const PROTOCOL: libc::c_int = libc::IPPROTO_ICMPV6;
    const TABLE: libc::c_int = MRT6_TABLE;
    const INIT: libc::c_int = MRT6_INIT;
    const ADD_VIF: (libc::c_int, &'static str) = (MRT6_ADD_MIF, "MRT6_ADD_MIF");
    const DEL_VIF: (libc::c_int, &'static str) = (MRT6_DEL_MIF, "MRT6_DEL_MIF");
    const ADD_MFC: (libc::c_int, &'static str) = (MRT6_ADD_MFC, "MRT6_ADD_MFC");
    const DEL_MFC: (libc::c_int, &'static str) = (MRT6_DEL_MFC, "MRT6_DEL_MFC");
    const GET_SG_COUNT: (libc::c_ulong, &'static str) = (sys::SIOCGETSGCNT_IN6, "SIOCGETSGCNT_IN6");
    const REPORT_GROUPS: [Ipv6Addr; 2] = MLD_REPORT_GROUPS;

    type AddVif = sys::mif6ctl;
    /// MRT6_DEL_MIF takes the bare MIF index (a `mifi_t`).
    type DelVif = u16;
    type Mfc = sys::mf6cctl;
    type KernelAddr = libc::sockaddr_in6;
    type Meta = RecvMeta6;
    type Received = Received6;

    fn configure(socket: &Socket) -> Result<()> {
        let fd = socket.as_fd();
        // Only MLD is of interest; upcalls are queued to the socket directly and bypass this.
        sys::setsockopt(
            fd,
            libc::IPPROTO_ICMPV6,
            sys::ICMP6_FILTER,
            &icmp6_filter_passing(&MLD_TYPES),
        )
        .map_err(|e| Error::io("setting ICMP6_FILTER", e))?;
        use nix::sys::socket::{setsockopt, sockopt};
        setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(|e| Error::io("enabling IPV6_RECVPKTINFO", e.into()))?;
        setsockopt(socket, sockopt::Ipv6RecvHopLimit, &true)
            .map_err(|e| Error::io("enabling IPV6_RECVHOPLIMIT", e.into()))?;
        sys::setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVHOPOPTS,
            &(1 as libc::c_int),
        )
        .map_err(|e| Error::io("enabling IPV6_RECVHOPOPTS", e))
    }

    fn add_vif(
        vif: VifIndex,
        ifindex: IfIndex,
        threshold: u8,
        rate_limit: u32,
    ) -> Result<sys::mif6ctl> {
        let pifi = u16::try_from(ifindex.0).map_err(|_| Error::IfIndexTooLarge { ifindex })?;
        Ok(sys::mif6ctl {
            mif6c_mifi: vif.0,
            mif6c_flags: 0,
            vifc_threshold: threshold,
            mif6c_pifi: pifi,
            vifc_rate_limit: rate_limit,
        })
    }

    fn del_vif(vif: VifIndex, _entry: VifEntry) -> u16 {
        vif.0
    }

    fn mfc(
        sg: SourceGroup<Ipv6Addr>,
        parent: VifIndex,
        outputs: &[(VifIndex, u8)],
    ) -> sys::mf6cctl {
        let mut ifset = sys::if_set { ifs_bits: [0; 8] };
        for &(mif, _) in outputs {
            if let Some(word) = ifset.ifs_bits.get_mut(usize::from(mif.0 / 32)) {
                *word |= 1 << (mif.0 % 32);
            }
        }
        sys::mf6cctl {
            mf6cc_origin: sg.source.kernel_addr(),
            mf6cc_mcastgrp: sg.group.kernel_addr(),
            mf6cc_parent: parent.0,
            mf6cc_ifset: ifset,
        }
    }

    fn kernel_addr(self) -> libc::sockaddr_in6 {
        sys::sockaddr_in6(self)
    }

    fn recvmsg(socket: &Socket, buf: &mut [u8]) -> io::Result<RecvMsg<RecvMeta6>> {
        crate::io::recvmsg_v6(socket, buf)
    }

    fn decode(meta: RecvMeta6, datagram: &[u8], vifs: &VifTable) -> Option<Received6> {
        let message = match decode6(datagram) {
            Datagram6::Upcall(up) => {
                return Some(Received6::Upcall(Upcall::of(up, vifs)));
            }
            Datagram6::Mld(message) => message,
        };
        match (meta.ifindex, meta.source, meta.destination, meta.hop_limit) {
            (Some(ifindex), Some(source), Some(destination), Some(hop_limit)) => {
                Some(Received6::Mld {
                    ifindex: IfIndex(ifindex),
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
