//! Pure decoding of what the kernel hands to an mroute socket: the IPv4 header in front of a
//! received IGMP message, the `igmpmsg` / `mrt6msg` upcalls, and the IPv6 Hop-by-Hop header
//! delivered as ancillary data. No I/O here, so every function can be tested and fuzzed.

use crate::sys::upcall_field as f;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// What a received IPv4 header says about an IGMP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Header {
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    pub ttl: u8,
    pub tos: u8,
    /// The IP Router Alert option (RFC 2113) is present; RFC 9776 §9.1 lets a router require it.
    pub router_alert: bool,
}

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
    /// An IGMP message: its header and where the IGMP bytes are in the buffer.
    Igmp {
        header: Ipv4Header,
        payload: Range<usize>,
    },
    Upcall(RawUpcall<Ipv4Addr>),
}

/// Why a datagram could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("datagram of {0} bytes is shorter than its header")]
    Truncated(usize),
    #[error("not an IPv4 header (version {0})")]
    NotIpv4(u8),
    #[error(
        "IPv4 header length {header} or total length {total} inconsistent with {len} bytes read"
    )]
    BadLength {
        header: usize,
        total: usize,
        len: usize,
    },
}

const IPV4_MIN_HEADER: usize = 20;
const IPV4_PROTO: usize = 9;
const IPOPT_END: u8 = 0;
const IPOPT_NOP: u8 = 1;
const IPOPT_RA: u8 = 148;
const IPV6_OPT_PAD1: u8 = 0;
const IPV6_OPT_ROUTER_ALERT: u8 = 5;

/// Classifies a datagram from the IPv4 mroute socket. An upcall overlays the IPv4 header and is
/// recognised by `im_mbz` = 0 where the protocol byte (IGMP = 2) would be (docs/kernel-interface.md §2).
pub fn decode4(buf: &[u8]) -> Result<Datagram4, DecodeError> {
    let proto = *buf
        .get(IPV4_PROTO)
        .ok_or(DecodeError::Truncated(buf.len()))?;
    if proto == 0 {
        return decode_upcall4(buf).map(Datagram4::Upcall);
    }
    let (header, payload) = decode_ipv4_header(buf)?;
    Ok(Datagram4::Igmp { header, payload })
}

fn decode_upcall4(buf: &[u8]) -> Result<RawUpcall<Ipv4Addr>, DecodeError> {
    let msg = buf
        .get(..f::IGMPMSG_LEN)
        .ok_or(DecodeError::Truncated(buf.len()))?;
    debug_assert_eq!(msg[f::IM_MBZ], 0);
    Ok(RawUpcall {
        kind: UpcallKind::from_code(msg[f::IM_MSGTYPE]),
        vif: u16::from(msg[f::IM_VIF]) | (u16::from(msg[f::IM_VIF_HI]) << 8),
        source: ipv4_at(msg, f::IM_SRC),
        group: ipv4_at(msg, f::IM_DST),
    })
}

/// Decodes an IPv4 header and returns it with the payload range (bounded by both the total
/// length field and the bytes read).
pub fn decode_ipv4_header(buf: &[u8]) -> Result<(Ipv4Header, Range<usize>), DecodeError> {
    let fixed = buf
        .get(..IPV4_MIN_HEADER)
        .ok_or(DecodeError::Truncated(buf.len()))?;
    let version = fixed[0] >> 4;
    if version != 4 {
        return Err(DecodeError::NotIpv4(version));
    }
    let header_len = usize::from(fixed[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    if header_len < IPV4_MIN_HEADER || header_len > total_len || total_len > buf.len() {
        return Err(DecodeError::BadLength {
            header: header_len,
            total: total_len,
            len: buf.len(),
        });
    }
    let options = buf.get(IPV4_MIN_HEADER..header_len).unwrap_or_default();
    let header = Ipv4Header {
        source: ipv4_at(fixed, 12..16),
        destination: ipv4_at(fixed, 16..20),
        ttl: fixed[8],
        tos: fixed[1],
        router_alert: has_ipv4_router_alert(options),
    };
    Ok((header, header_len..total_len))
}

/// Walks IPv4 options (RFC 791 §3.1) looking for Router Alert (RFC 2113: type 148, length 4).
fn has_ipv4_router_alert(mut options: &[u8]) -> bool {
    while let Some(&kind) = options.first() {
        match kind {
            IPOPT_END => return false,
            IPOPT_NOP => options = &options[1..],
            _ => {
                let Some(&len) = options.get(1) else {
                    return false;
                };
                let len = usize::from(len);
                if len < 2 || len > options.len() {
                    return false;
                }
                if kind == IPOPT_RA && len == 4 {
                    return true;
                }
                options = &options[len..];
            }
        }
    }
    false
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

/// True when an IPv6 Hop-by-Hop Options header (as delivered by IPV6_RECVHOPOPTS: next header,
/// length in 8-octet units beyond the first, options) carries Router Alert (RFC 2711: type 5,
/// length 2). MLD messages must carry it (RFC 9777 §5).
pub fn hop_by_hop_has_router_alert(header: &[u8]) -> bool {
    let Some(&units) = header.get(1) else {
        return false;
    };
    let end = (usize::from(units) + 1) * 8;
    let mut options = header.get(2..end.min(header.len())).unwrap_or_default();
    while let Some(&kind) = options.first() {
        if kind == IPV6_OPT_PAD1 {
            options = &options[1..];
            continue;
        }
        let Some(&len) = options.get(1) else {
            return false;
        };
        let len = usize::from(len) + 2;
        if len > options.len() {
            return false;
        }
        if kind == IPV6_OPT_ROUTER_ALERT && len == 4 {
            return true;
        }
        options = &options[len..];
    }
    false
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
mod tests {
    use super::*;

    /// IPv4 header with Router Alert (TOS 0xC0, TTL 1, 192.0.2.2 -> 224.0.0.22), then an
    /// 8-byte IGMPv2 report for 239.1.2.3.
    const REPORT_WITH_RA: [u8; 32] = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x00, 0x00, 192, 0, 2, 2, 224,
        0, 0, 22, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03,
    ];

    #[test]
    fn igmp_with_router_alert() {
        let Ok(Datagram4::Igmp { header, payload }) = decode4(&REPORT_WITH_RA) else {
            panic!()
        };
        assert_eq!(header.source, Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(header.destination, Ipv4Addr::new(224, 0, 0, 22));
        assert_eq!(
            (header.ttl, header.tos, header.router_alert),
            (1, 0xc0, true)
        );
        assert_eq!(payload, 24..32);
    }

    #[test]
    fn igmp_without_options_has_no_router_alert() {
        let mut pkt = [0u8; 28];
        pkt[0] = 0x45;
        pkt[2..4].copy_from_slice(&28u16.to_be_bytes());
        pkt[8] = 1;
        pkt[9] = 2;
        let Ok(Datagram4::Igmp { header, payload }) = decode4(&pkt) else {
            panic!()
        };
        assert!(!header.router_alert);
        assert_eq!(payload, 20..28);
    }

    #[test]
    fn payload_is_bounded_by_total_length_not_by_trailing_bytes() {
        let mut pkt = REPORT_WITH_RA.to_vec();
        pkt.extend_from_slice(&[0xaa; 8]);
        let Ok(Datagram4::Igmp { payload, .. }) = decode4(&pkt) else {
            panic!()
        };
        assert_eq!(payload, 24..32);
    }

    #[test]
    fn inconsistent_lengths_are_errors() {
        assert_eq!(
            decode4(&REPORT_WITH_RA[..5]),
            Err(DecodeError::Truncated(5))
        );
        let mut short_total = REPORT_WITH_RA;
        short_total[3] = 0x10; // total 16 < header 24
        assert!(matches!(
            decode4(&short_total),
            Err(DecodeError::BadLength { .. })
        ));
        let mut long_total = REPORT_WITH_RA;
        long_total[3] = 0x40; // total 64 > 32 bytes read
        assert!(matches!(
            decode4(&long_total),
            Err(DecodeError::BadLength { .. })
        ));
        let mut v6 = REPORT_WITH_RA;
        v6[0] = 0x66;
        assert_eq!(decode4(&v6), Err(DecodeError::NotIpv4(6)));
    }

    #[test]
    fn malformed_options_do_not_panic_or_match() {
        // Option length 0 and a length running past the header.
        assert!(!has_ipv4_router_alert(&[0x07, 0x00, 0x94, 0x04]));
        assert!(!has_ipv4_router_alert(&[0x07, 0x09, 0x00, 0x00]));
        assert!(!has_ipv4_router_alert(&[0x01]));
        assert!(has_ipv4_router_alert(&[0x01, 0x94, 0x04, 0x00, 0x00]));
        assert!(!has_ipv4_router_alert(&[0x00, 0x94, 0x04, 0x00, 0x00]));
    }

    #[test]
    fn nocache_upcall() {
        // As observed: igmpmsg type 1, vif 0x0102 split over bytes 10/11, 192.0.2.2 -> 239.1.2.3.
        let mut buf = [0u8; 28];
        buf[8] = 1;
        buf[10] = 0x02;
        buf[11] = 0x01;
        buf[12..16].copy_from_slice(&[192, 0, 2, 2]);
        buf[16..20].copy_from_slice(&[239, 1, 2, 3]);
        let up = RawUpcall {
            kind: UpcallKind::NoCache,
            vif: 0x0102,
            source: Ipv4Addr::new(192, 0, 2, 2),
            group: Ipv4Addr::new(239, 1, 2, 3),
        };
        assert_eq!(decode4(&buf), Ok(Datagram4::Upcall(up)));
        buf[8] = 9;
        let Ok(Datagram4::Upcall(other)) = decode4(&buf) else {
            panic!()
        };
        assert_eq!(other.kind, UpcallKind::Other(9));
        assert_eq!(decode4(&buf[..15]), Err(DecodeError::Truncated(15)));
    }

    #[test]
    fn mrt6msg_upcall_and_icmpv6_message() {
        let mut buf = [0u8; 40];
        buf[1] = 1;
        buf[2..4].copy_from_slice(&3u16.to_ne_bytes());
        buf[8..24].copy_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        buf[24..40].copy_from_slice(&"ff3e::1".parse::<Ipv6Addr>().unwrap().octets());
        let up = decode_upcall6(&buf).unwrap();
        assert_eq!(up.kind, UpcallKind::NoCache);
        assert_eq!(up.vif, 3);
        assert_eq!(up.source, "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(up.group, "ff3e::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(decode_upcall6(&buf[..39]), None);
        buf[0] = 143; // an MLDv2 report
        assert_eq!(decode_upcall6(&buf), None);
    }

    #[test]
    fn hop_by_hop_router_alert() {
        // next header 58, length 0 (8 octets), RA value 0, PadN of 2.
        assert!(hop_by_hop_has_router_alert(&[58, 0, 5, 2, 0, 0, 1, 0]));
        // Pad1 before the option.
        assert!(hop_by_hop_has_router_alert(&[58, 0, 0, 5, 2, 0, 0, 0]));
        // Only padding.
        assert!(!hop_by_hop_has_router_alert(&[58, 0, 1, 4, 0, 0, 0, 0]));
        // An option running past the header, and a truncated header.
        assert!(!hop_by_hop_has_router_alert(&[58, 0, 7, 9, 0, 0, 0, 0]));
        assert!(!hop_by_hop_has_router_alert(&[58]));
        // RA beyond the declared length is ignored.
        assert!(!hop_by_hop_has_router_alert(&[
            58, 0, 1, 4, 0, 0, 0, 0, 5, 2, 0, 0
        ]));
    }
}
