//! Decoding of what the kernel hands to an mroute socket. What is Linux's own lives here: the
//! `igmpmsg` / `mrt6msg` upcall layouts and telling an upcall from an IGMP or MLD message
//! (docs/kernel-interface.md §2, §3). The IPv4 header, the Hop-by-Hop header and the IGMP / MLD
//! messages are decoded by `mrproxy-wire`. No I/O here: these are the functions the mroute
//! sockets call on every datagram, and the ones the fuzz targets (`fuzz/fuzz_targets/`) run.

use crate::sys::upcall_field as f;
use mrproxy_wire::ipv6::HopByHopRepr;
use mrproxy_wire::{Error, igmp, ipv4, mld};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// Which kernel upcall this is (`IGMPMSG_*` / `MRT6MSG_*`; the numbers are the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpcallKind {
    /// Traffic for an (S,G) without a forwarding entry.
    NoCache,
    /// Traffic arrived on another VIF than the entry's input (only with MRT_ASSERT on).
    WrongVif,
    /// A whole packet for a PIM register VIF.
    WholePkt,
    Other(u8),
}

impl UpcallKind {
    fn from_code(code: u8) -> UpcallKind {
        match code {
            crate::sys::IGMPMSG_NOCACHE => UpcallKind::NoCache,
            crate::sys::IGMPMSG_WRONGVIF => UpcallKind::WrongVif,
            crate::sys::IGMPMSG_WHOLEPKT => UpcallKind::WholePkt,
            other => UpcallKind::Other(other),
        }
    }
}

/// An upcall as read from the socket: the VIF/MIF index is still the kernel's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawUpcall<A> {
    pub kind: UpcallKind,
    pub vif: u16,
    pub source: A,
    pub group: A,
}

/// One datagram read from the IPv4 mroute socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datagram4 {
    /// An IGMP message: its IPv4 header, and the message or why it does not decode.
    Igmp {
        header: ipv4::Repr,
        message: Result<igmp::Repr, Error>,
    },
    Upcall(RawUpcall<Ipv4Addr>),
}

/// One datagram read from the IPv6 mroute socket (the kernel strips the IPv6 header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datagram6 {
    /// An MLD message, or why it does not decode.
    Mld(Result<mld::Repr, Error>),
    Upcall(RawUpcall<Ipv6Addr>),
}

/// Classifies and decodes a datagram from the IPv4 mroute socket. An upcall overlays the IPv4
/// header and is recognised by `im_mbz` = 0 where the protocol byte (IGMP = 2) would be
/// (docs/kernel-interface.md §2). Otherwise the IPv4 header is decoded as the kernel delivers
/// it ([`ipv4::Repr::parse_unverified`]) and the IGMP message in its payload, checksum
/// included ([`igmp::Repr::parse_bytes`]). The error is for a datagram without a usable IPv4
/// header; an IGMP message that does not decode is [`Datagram4::Igmp`] with its error.
pub fn decode4(buf: &[u8]) -> Result<Datagram4, Error> {
    let mbz = *buf.get(f::IM_MBZ).ok_or(Error::Truncated)?;
    if mbz == 0 {
        return decode_upcall4(buf).map(Datagram4::Upcall);
    }
    let (header, payload) = ipv4::Repr::parse_unverified_with_payload(buf)?;
    Ok(Datagram4::Igmp {
        header,
        message: igmp::Repr::parse_bytes(payload),
    })
}

fn decode_upcall4(buf: &[u8]) -> Result<RawUpcall<Ipv4Addr>, Error> {
    let msg = buf.get(..f::IGMPMSG_LEN).ok_or(Error::Truncated)?;
    debug_assert_eq!(msg[f::IM_MBZ], 0);
    Ok(RawUpcall {
        kind: UpcallKind::from_code(msg[f::IM_MSGTYPE]),
        vif: u16::from(msg[f::IM_VIF]) | (u16::from(msg[f::IM_VIF_HI]) << 8),
        source: ipv4_at(msg, f::IM_SRC),
        group: ipv4_at(msg, f::IM_DST),
    })
}

/// Classifies and decodes a datagram from the IPv6 mroute socket: an `mrt6msg` upcall, or an
/// MLD message whose checksum the kernel verified ([`mld::Repr::parse_unverified`]).
pub fn decode6(buf: &[u8]) -> Datagram6 {
    match decode_upcall6(buf) {
        Some(up) => Datagram6::Upcall(up),
        None => Datagram6::Mld(
            mld::Packet::new_checked(buf).and_then(|p| mld::Repr::parse_unverified(&p)),
        ),
    }
}

/// Decodes an `mrt6msg` upcall; `None` when the datagram is an ordinary ICMPv6 message
/// (byte 0 is its type, never 0) or too short to be an upcall.
pub fn decode_upcall6(buf: &[u8]) -> Option<RawUpcall<Ipv6Addr>> {
    let msg = buf.get(..f::MRT6MSG_LEN)?;
    if msg[f::IM6_MBZ] != 0 {
        return None;
    }
    let mif = msg.get(f::IM6_MIF)?;
    Some(RawUpcall {
        kind: UpcallKind::from_code(msg[f::IM6_MSGTYPE]),
        // im6_mif is a native-endian u16 written by the kernel.
        vif: u16::from_ne_bytes([mif[0], mif[1]]),
        source: ipv6_at(msg, f::IM6_SRC),
        group: ipv6_at(msg, f::IM6_DST),
    })
}

/// True when an IPv6 Hop-by-Hop Options header, as delivered by IPV6_RECVHOPOPTS, carries a
/// Router Alert option (RFC 2711) of any value; MLD messages must carry it (RFC 9777 §5). A
/// header that does not decode has none (the kernel drops malformed ones before delivery).
pub fn hop_by_hop_has_router_alert(header: &[u8]) -> bool {
    HopByHopRepr::parse_bytes(header).is_ok_and(|h| h.router_alert.is_some())
}

fn ipv4_at(buf: &[u8], at: Range<usize>) -> Ipv4Addr {
    let mut octets = [0u8; 4];
    if let Some(bytes) = buf.get(at) {
        octets.copy_from_slice(bytes);
    }
    Ipv4Addr::from(octets)
}

fn ipv6_at(buf: &[u8], at: Range<usize>) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    if let Some(bytes) = buf.get(at) {
        octets.copy_from_slice(bytes);
    }
    Ipv6Addr::from(octets)
}

#[cfg(test)]
mod tests;
