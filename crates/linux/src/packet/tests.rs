use super::*;

/// IPv4 header with Router Alert (TOS 0xC0, TTL 1, 192.0.2.2 -> 224.0.0.22) and a zero header
/// checksum, then an 8-byte IGMPv2 report for 239.1.2.3.
const REPORT_WITH_RA: [u8; 32] = [
    0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x00, 0x00, 192, 0, 2, 2, 224, 0,
    0, 22, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03,
];

const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);

#[test]
fn igmp_with_router_alert() {
    let Ok(Datagram4::Igmp { header, message }) = decode4(&REPORT_WITH_RA) else {
        panic!()
    };
    assert_eq!(header.src, Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(header.dst, Ipv4Addr::new(224, 0, 0, 22));
    assert_eq!(
        (header.ttl, header.tos, header.router_alert),
        (1, 0xc0, true)
    );
    assert_eq!(header.payload_len, 8);
    assert_eq!(message, Ok(igmp::Repr::ReportV2 { group: GROUP }));
}

#[test]
fn an_igmp_message_that_does_not_decode_keeps_its_header() {
    let mut bad_checksum = REPORT_WITH_RA;
    bad_checksum[27] ^= 1;
    let Ok(Datagram4::Igmp { header, message }) = decode4(&bad_checksum) else {
        panic!()
    };
    assert_eq!(header.src, Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(message, Err(Error::BadChecksum));
}

#[test]
fn a_datagram_without_a_usable_header_is_an_error() {
    assert_eq!(decode4(&REPORT_WITH_RA[..5]), Err(Error::Truncated));
    let mut long_total = REPORT_WITH_RA;
    long_total[3] = 0x40; // total 64 > 32 bytes read
    assert_eq!(decode4(&long_total), Err(Error::LengthOverrun));
    let mut v6 = REPORT_WITH_RA;
    v6[0] = 0x66;
    assert_eq!(decode4(&v6), Err(Error::Malformed));
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
        group: GROUP,
    };
    assert_eq!(decode4(&buf), Ok(Datagram4::Upcall(up)));
    buf[8] = 9;
    let Ok(Datagram4::Upcall(other)) = decode4(&buf) else {
        panic!()
    };
    assert_eq!(other.kind, UpcallKind::Other(9));
    assert_eq!(decode4(&buf[..15]), Err(Error::Truncated));
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
    assert_eq!(decode6(&buf), Datagram6::Upcall(up));
    assert_eq!(decode_upcall6(&buf[..39]), None);
    buf[0] = 143; // an MLDv2 report
    assert_eq!(decode_upcall6(&buf), None);
    assert!(matches!(decode6(&buf), Datagram6::Mld(_)));
}

#[test]
fn mld_message_is_decoded_without_its_checksum() {
    // An MLDv1 Done for ff3e::1 with a zero checksum: the kernel verified the real one.
    let mut buf = [0u8; 24];
    buf[0] = 132;
    buf[8..24].copy_from_slice(&"ff3e::1".parse::<Ipv6Addr>().unwrap().octets());
    let group = "ff3e::1".parse().unwrap();
    assert_eq!(
        decode6(&buf),
        Datagram6::Mld(Ok(mld::Repr::DoneV1 { group }))
    );
    assert_eq!(decode6(&buf[..20]), Datagram6::Mld(Err(Error::Truncated)));
}

#[test]
fn hop_by_hop_router_alert() {
    // next header 58, length 0 (8 octets), RA value 0, PadN of 2.
    assert!(hop_by_hop_has_router_alert(&[58, 0, 5, 2, 0, 0, 1, 0]));
    // Pad1 before the option; another value than MLD's 0.
    assert!(hop_by_hop_has_router_alert(&[58, 0, 0, 5, 2, 0, 0, 0]));
    assert!(hop_by_hop_has_router_alert(&[58, 0, 5, 2, 0, 1, 1, 0]));
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
