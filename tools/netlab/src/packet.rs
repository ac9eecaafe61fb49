//! Just enough IP to classify captures and to craft injected IGMP/MLD messages.
//!
//! The parser here is an independent decoder used as a test oracle; the product decodes with
//! mrproxy-wire. It is written apart from `crates/wire` on purpose, so that a mistake in
//! the product's decoder is not repeated by the tests that check it.
//!
//! Parsing never panics: captured bytes may be truncated or malformed on purpose (a test
//! injects bad lengths). Crafting leaves the IGMP/ICMPv6 message exactly as the caller gave
//! it, so bad checksums survive; [`fix_igmp_checksum`] and [`fix_icmpv6_checksum`] fill a
//! correct one when wanted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of IGMP.
pub const PROTO_IGMP: u8 = 2;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IPv6 next-header value of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_DEST_OPTS: u8 = 60;
const IPV4_OPT_ROUTER_ALERT: u8 = 0x94;
const IPV6_OPT_ROUTER_ALERT: u8 = 5;

/// The fields of an IPv4 or IPv6 header that tests look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpView<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// Upper-layer protocol: for IPv6 the one after the extension headers.
    pub protocol: u8,
    /// Whether a Router Alert option is present (IPv4 option, or IPv6 hop-by-hop option).
    pub router_alert: bool,
    /// The upper-layer bytes (IGMP message, ICMPv6 message, UDP datagram), bounded by the
    /// header's length field when it is consistent, else everything after the header.
    pub payload: &'a [u8],
}

/// Parses an IPv4 or IPv6 packet (no link header). `None` if it is neither or too short.
pub fn parse_ip(bytes: &[u8]) -> Option<IpView<'_>> {
    match bytes.first()? >> 4 {
        4 => parse_ipv4(bytes),
        6 => parse_ipv6(bytes),
        _ => None,
    }
}

fn parse_ipv4(bytes: &[u8]) -> Option<IpView<'_>> {
    let header_len = usize::from(bytes.first()? & 0x0f) * 4;
    let header = bytes.get(..header_len)?;
    if header_len < 20 {
        return None;
    }
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let end = if (header_len..=bytes.len()).contains(&total_len) {
        total_len
    } else {
        bytes.len()
    };
    Some(IpView {
        src: IpAddr::from(<[u8; 4]>::try_from(&header[12..16]).ok()?),
        dst: IpAddr::from(<[u8; 4]>::try_from(&header[16..20]).ok()?),
        ttl: header[8],
        protocol: header[9],
        router_alert: ipv4_has_router_alert(&header[20..]),
        payload: bytes.get(header_len..end)?,
    })
}

/// Walks IPv4 options (type, length, value), tolerating garbage by stopping.
fn ipv4_has_router_alert(mut options: &[u8]) -> bool {
    while let Some(&kind) = options.first() {
        match kind {
            0 => return false,
            1 => options = &options[1..],
            IPV4_OPT_ROUTER_ALERT => return true,
            _ => {
                let len = usize::from(options.get(1).copied().unwrap_or(0));
                if len < 2 {
                    return false;
                }
                options = options.get(len..).unwrap_or(&[]);
            }
        }
    }
    false
}

fn parse_ipv6(bytes: &[u8]) -> Option<IpView<'_>> {
    let header = bytes.get(..40)?;
    let payload_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let end = if 40 + payload_len <= bytes.len() {
        40 + payload_len
    } else {
        bytes.len()
    };
    let mut next = header[6];
    let mut offset = 40;
    let mut router_alert = false;
    // Skip extension headers to reach the upper layer (MLD sits behind hop-by-hop).
    loop {
        match next {
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTS => {
                let ext = bytes.get(offset..offset + 2)?;
                let len = (usize::from(ext[1]) + 1) * 8;
                let body = bytes.get(offset..offset + len)?;
                if next == IPV6_HOP_BY_HOP {
                    router_alert = ipv6_has_router_alert(body.get(2..).unwrap_or(&[]));
                }
                next = ext[0];
                offset += len;
            }
            IPV6_FRAGMENT => {
                next = *bytes.get(offset)?;
                offset += 8;
            }
            _ => break,
        }
    }
    Some(IpView {
        src: IpAddr::from(<[u8; 16]>::try_from(&header[8..24]).ok()?),
        dst: IpAddr::from(<[u8; 16]>::try_from(&header[24..40]).ok()?),
        ttl: header[7],
        protocol: next,
        router_alert,
        payload: bytes.get(offset..end.max(offset))?,
    })
}

/// Walks hop-by-hop options (Pad1 is a lone zero byte; others are type, length, value).
fn ipv6_has_router_alert(mut options: &[u8]) -> bool {
    while let Some(&kind) = options.first() {
        if kind == IPV6_OPT_ROUTER_ALERT {
            return true;
        }
        let skip = if kind == 0 {
            1
        } else {
            2 + usize::from(options.get(1).copied().unwrap_or(0))
        };
        options = options.get(skip..).unwrap_or(&[]);
    }
    false
}

/// The Ethernet address an IPv4 multicast group maps to: 01:00:5e + the low 23 bits
/// (RFC 1112 §6.4).
pub fn ipv4_multicast_mac(group: Ipv4Addr) -> [u8; 6] {
    let o = group.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// The Ethernet address an IPv6 multicast group maps to: 33:33 + the low 32 bits (RFC 2464 §7).
pub fn ipv6_multicast_mac(group: Ipv6Addr) -> [u8; 6] {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// The destination MAC for an injected packet: the multicast mapping, or broadcast for
/// unicast destinations (the receiving IP layer still accepts it if the address is local).
pub fn destination_mac(dst: IpAddr) -> [u8; 6] {
    match dst {
        IpAddr::V4(a) if a.is_multicast() => ipv4_multicast_mac(a),
        IpAddr::V6(a) if a.is_multicast() => ipv6_multicast_mac(a),
        _ => [0xff; 6],
    }
}

/// The Internet checksum (RFC 1071) of `data`, ready to store big-endian.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum_words(data, 0))
}

fn sum_words(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for word in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([word[0], word[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    u16::try_from(sum).unwrap_or(u16::MAX)
}

/// Stores the correct checksum in an IGMP message (bytes 2..4). No-op on a message shorter
/// than 4 bytes.
pub fn fix_igmp_checksum(igmp: &mut [u8]) {
    if igmp.len() < 4 {
        return;
    }
    igmp[2..4].fill(0);
    let sum = internet_checksum(igmp);
    igmp[2..4].copy_from_slice(&sum.to_be_bytes());
}

/// Stores the correct ICMPv6 checksum (RFC 4443 §2.3, over the RFC 8200 §8.1 pseudo-header)
/// in a message sent from `src` to `dst`. No-op on a message shorter than 4 bytes.
pub fn fix_icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &mut [u8]) {
    if icmp.len() < 4 {
        return;
    }
    icmp[2..4].fill(0);
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&u32::try_from(icmp.len()).unwrap_or(u32::MAX).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, PROTO_ICMPV6]);
    let sum = !fold(sum_words(icmp, sum_words(&pseudo, 0)));
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
}

/// An IPv4 packet carrying `igmp` as a host sends it (RFC 9776 §4: TTL 1, Router Alert;
/// TOS 0xC0 as Linux sends it). The IGMP bytes are copied unchanged.
pub fn igmp_packet(src: Ipv4Addr, dst: Ipv4Addr, igmp: &[u8]) -> Vec<u8> {
    ipv4_packet(src, dst, PROTO_IGMP, 1, true, igmp)
}

/// An IPv4 packet with a correct header checksum; `router_alert` adds the 4-byte option.
/// A payload too long for IPv4 gets a total length of 65535 (a malformed packet, by request).
pub fn ipv4_packet(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ttl: u8,
    router_alert: bool,
    payload: &[u8],
) -> Vec<u8> {
    let header_len: usize = if router_alert { 24 } else { 20 };
    let total = u16::try_from(header_len + payload.len()).unwrap_or(u16::MAX);
    let version_ihl = 0x40 | u8::try_from(header_len / 4).unwrap_or(5);
    let mut packet = vec![version_ihl, 0xc0];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0x40, 0]); // id 0, don't fragment
    packet.extend_from_slice(&[ttl, protocol, 0, 0]);
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    if router_alert {
        packet.extend_from_slice(&[IPV4_OPT_ROUTER_ALERT, 4, 0, 0]);
    }
    let sum = internet_checksum(&packet);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// An IPv6 packet carrying the ICMPv6 message `icmp` as an MLD host sends it (RFC 9777 §5:
/// hop limit 1, hop-by-hop header with Router Alert). The ICMPv6 bytes are copied unchanged.
pub fn mld_packet(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> Vec<u8> {
    // Hop-by-hop: next header, length 0 (8 bytes), Router Alert (MLD = 0), PadN of 2 bytes.
    let hop_by_hop = [PROTO_ICMPV6, 0, IPV6_OPT_ROUTER_ALERT, 2, 0, 0, 1, 0];
    let payload_len = u16::try_from(hop_by_hop.len() + icmp.len()).unwrap_or(u16::MAX);
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&payload_len.to_be_bytes());
    packet.extend_from_slice(&[IPV6_HOP_BY_HOP, 1]);
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    packet.extend_from_slice(&hop_by_hop);
    packet.extend_from_slice(icmp);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IGMPv2 report for 239.1.2.3 (docs/test-strategy.md §5 known vector).
    const V2_REPORT: [u8; 8] = [0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03];

    #[test]
    fn igmp_checksum_matches_the_known_vector() {
        let mut msg = V2_REPORT;
        msg[2..4].fill(0xaa);
        fix_igmp_checksum(&mut msg);
        assert_eq!(msg, V2_REPORT);
        assert_eq!(internet_checksum(&V2_REPORT), 0);
    }

    #[test]
    fn crafted_igmp_packet_parses_back() {
        let src = Ipv4Addr::new(192, 0, 2, 2);
        let group = Ipv4Addr::new(239, 1, 2, 3);
        let packet = igmp_packet(src, group, &V2_REPORT);
        assert_eq!(packet.len(), 32);
        assert_eq!(internet_checksum(&packet[..24]), 0, "header checksum");
        let ip = parse_ip(&packet).expect("parses");
        assert_eq!((ip.src, ip.dst), (IpAddr::V4(src), IpAddr::V4(group)));
        assert_eq!(
            (ip.ttl, ip.protocol, ip.router_alert),
            (1, PROTO_IGMP, true)
        );
        assert_eq!(ip.payload, V2_REPORT);
    }

    #[test]
    fn crafted_mld_packet_parses_back_with_a_valid_checksum() {
        let src: Ipv6Addr = "fe80::2".parse().unwrap();
        let dst: Ipv6Addr = "ff0e::1:2".parse().unwrap();
        // MLDv1 report: type 131, code 0, checksum, max delay, reserved, address.
        let mut icmp = vec![131, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&dst.octets());
        fix_icmpv6_checksum(src, dst, &mut icmp);
        let packet = mld_packet(src, dst, &icmp);
        let ip = parse_ip(&packet).expect("parses");
        assert_eq!(
            (ip.protocol, ip.ttl, ip.router_alert),
            (PROTO_ICMPV6, 1, true)
        );
        assert_eq!(ip.payload, icmp.as_slice());
        // Verifying: the sum over pseudo-header and message with its checksum is 0xffff.
        let mut check = icmp.clone();
        fix_icmpv6_checksum(src, dst, &mut check);
        assert_eq!(check, icmp);
        assert_ne!(&icmp[2..4], &[0, 0]);
    }

    #[test]
    fn multicast_macs() {
        assert_eq!(
            ipv4_multicast_mac(Ipv4Addr::new(239, 129, 2, 3)),
            [1, 0, 0x5e, 1, 2, 3]
        );
        assert_eq!(
            destination_mac("ff02::16".parse().unwrap()),
            [0x33, 0x33, 0, 0, 0, 0x16]
        );
        assert_eq!(destination_mac("192.0.2.1".parse().unwrap()), [0xff; 6]);
    }

    #[test]
    fn malformed_packets_do_not_panic() {
        assert_eq!(parse_ip(&[]), None);
        assert_eq!(parse_ip(&[0x45, 0, 0]), None);
        assert_eq!(parse_ip(&[0x41; 30]), None, "IHL below 5");
        // Total length larger than the buffer: payload is what is there.
        let mut packet = igmp_packet(
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(224, 0, 0, 22),
            &[0x22],
        );
        packet[2..4].copy_from_slice(&500u16.to_be_bytes());
        assert_eq!(parse_ip(&packet).map(|ip| ip.payload.len()), Some(1));
        // IPv6 extension header running past the end.
        let mut v6 = mld_packet(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, &[]);
        v6[41] = 200;
        assert_eq!(parse_ip(&v6), None);
        for len in 0..v6.len() {
            let _ = parse_ip(&v6[..len]);
        }
    }
}
