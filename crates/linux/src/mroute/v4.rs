//! What the IPv4 mroute API does its own way: a raw IGMP socket with IP_PKTINFO, `vifctl`
//! with a TTL threshold per VIF, `mfcctl` with a TTL array, and IGMP or `igmpmsg` upcalls in
//! one stream (docs/kernel-interface.md §2, §4).

use super::Upcall;
use super::family::Api;
use crate::error::{Error, Result};
use crate::io::{RecvMeta4, RecvMsg};
use crate::packet::{Datagram4, decode4};
use crate::sys::{self, MRT_ADD_MFC, MRT_ADD_VIF, MRT_DEL_MFC, MRT_DEL_VIF, MRT_INIT, MRT_TABLE};
use crate::vif_table::{VifEntry, VifTable};
use mrproxy_types::{IfIndex, MAX_VIFS, SourceGroup, VifIndex};
use mrproxy_wire::{igmp, ipv4};
use socket2::Socket;
use std::io;
use std::net::Ipv4Addr;

/// IGMPv2 leaves go to all-routers, IGMPv3 reports to 224.0.0.22 (RFC 9776 §4.2.14); the
/// kernel delivers them only while the groups are joined on the interface (docs/kernel-interface.md §4).
pub const IGMP_REPORT_GROUPS: [Ipv4Addr; 2] =
    [Ipv4Addr::new(224, 0, 0, 2), Ipv4Addr::new(224, 0, 0, 22)];

/// One thing read from the IPv4 mroute socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received4 {
    /// An IGMP message with its IPv4 header; the message, or why it does not decode.
    Igmp {
        ifindex: IfIndex,
        header: ipv4::Repr,
        message: Result<igmp::Repr, mrproxy_wire::Error>,
    },
    Upcall(Upcall<Ipv4Addr>),
}

impl Api for Ipv4Addr {
    const OPENING: &'static str = "opening the IPv4 multicast routing socket";
    const LEVEL: libc::c_int = libc::IPPROTO_IP;
    const DOMAIN: socket2::Domain = socket2::Domain::IPV4;
    const PROTOCOL: libc::c_int = libc::IPPROTO_IGMP;
    const TABLE: libc::c_int = MRT_TABLE;
    const INIT: libc::c_int = MRT_INIT;
    const ADD_VIF: (libc::c_int, &'static str) = (MRT_ADD_VIF, "MRT_ADD_VIF");
    const DEL_VIF: (libc::c_int, &'static str) = (MRT_DEL_VIF, "MRT_DEL_VIF");
    const ADD_MFC: (libc::c_int, &'static str) = (MRT_ADD_MFC, "MRT_ADD_MFC");
    const DEL_MFC: (libc::c_int, &'static str) = (MRT_DEL_MFC, "MRT_DEL_MFC");
    const GET_SG_COUNT: (libc::c_ulong, &'static str) = (sys::SIOCGETSGCNT, "SIOCGETSGCNT");
    const REPORT_GROUPS: [Ipv4Addr; 2] = IGMP_REPORT_GROUPS;

    type AddVif = sys::vifctl;
    type DelVif = sys::vifctl;
    type Mfc = sys::mfcctl;
    type KernelAddr = libc::in_addr;
    type Meta = RecvMeta4;
    type Received = Received4;

    fn configure(socket: &Socket) -> Result<()> {
        nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::Ipv4PacketInfo, &true)
            .map_err(|e| Error::io("enabling IP_PKTINFO", e.into()))
    }

    fn add_vif(
        vif: VifIndex,
        ifindex: IfIndex,
        threshold: u8,
        rate_limit: u32,
    ) -> Result<sys::vifctl> {
        let ifindex = libc::c_int::try_from(ifindex.0)
            .map_err(|_| Error::io("MRT_ADD_VIF", io::Error::from_raw_os_error(libc::ENODEV)))?;
        Ok(vifctl(vif, ifindex, threshold, rate_limit))
    }

    fn del_vif(vif: VifIndex, entry: VifEntry) -> sys::vifctl {
        let ifindex = libc::c_int::try_from(entry.ifindex.0).unwrap_or(0);
        vifctl(vif, ifindex, entry.threshold, 0)
    }

    fn mfc(sg: SourceGroup<Ipv4Addr>, parent: VifIndex, outputs: &[(VifIndex, u8)]) -> sys::mfcctl {
        let mut ttls = [0u8; MAX_VIFS];
        for &(vif, threshold) in outputs {
            if let Some(ttl) = ttls.get_mut(usize::from(vif.0)) {
                *ttl = threshold;
            }
        }
        sys::mfcctl {
            mfcc_origin: sg.source.kernel_addr(),
            mfcc_mcastgrp: sg.group.kernel_addr(),
            mfcc_parent: parent.0,
            mfcc_ttls: ttls,
            mfcc_pkt_cnt: 0,
            mfcc_byte_cnt: 0,
            mfcc_wrong_if: 0,
            mfcc_expire: 0,
        }
    }

    fn kernel_addr(self) -> libc::in_addr {
        sys::in_addr(self)
    }

    fn recvmsg(socket: &Socket, buf: &mut [u8]) -> io::Result<RecvMsg<RecvMeta4>> {
        crate::io::recvmsg_v4(socket, buf)
    }

    fn decode(meta: RecvMeta4, datagram: &[u8], vifs: &VifTable) -> Option<Received4> {
        match decode4(datagram) {
            Ok(Datagram4::Upcall(up)) => Some(Received4::Upcall(Upcall::of(up, vifs))),
            Ok(Datagram4::Igmp { header, message }) => match meta.ifindex {
                Some(ifindex) => Some(Received4::Igmp {
                    ifindex: IfIndex(ifindex),
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
}

/// A VIF identified by ifindex (`VIFF_USE_IFINDEX`), so unnumbered interfaces work.
fn vifctl(vif: VifIndex, ifindex: libc::c_int, threshold: u8, rate_limit: u32) -> sys::vifctl {
    sys::vifctl {
        vifc_vifi: vif.0,
        vifc_flags: sys::VIFF_USE_IFINDEX,
        vifc_threshold: threshold,
        vifc_rate_limit: rate_limit,
        lcl: sys::vifc_lcl {
            vifc_lcl_ifindex: ifindex,
        },
        vifc_rmt_addr: sys::in_addr(Ipv4Addr::UNSPECIFIED),
    }
}
