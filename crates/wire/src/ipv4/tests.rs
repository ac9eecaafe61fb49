use super::*;

/// IGMPv2 report for 239.1.2.3 from 192.0.2.2, as scapy 2.8 builds it (id 1, TTL 1,
/// TOS 0xC0, Router Alert).
static REPORT_DATAGRAM: [u8; 32] = [
    0x46, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02, 0x71, 0x10, 0xc0, 0x00, 0x02,
    0x02, //
    0xef, 0x01, 0x02, 0x03, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03,
];

fn report_repr() -> Repr {
    Repr {
        ident: 1,
        ..Repr::igmp(Ipv4Addr::new(192, 0, 2, 2), Ipv4Addr::new(239, 1, 2, 3), 8)
    }
}

#[test]
fn parses_igmp_datagram() {
    let (repr, payload) = Repr::parse_with_payload(&REPORT_DATAGRAM).unwrap();
    assert_eq!(repr, report_repr());
    assert_eq!(payload, &REPORT_DATAGRAM[24..]);
}

#[test]
fn emits_igmp_datagram() {
    assert_eq!(
        report_repr().datagram(&REPORT_DATAGRAM[24..]),
        REPORT_DATAGRAM
    );
}

#[test]
fn link_padding_after_total_length_is_ignored() {
    let mut padded = REPORT_DATAGRAM.to_vec();
    padded.extend_from_slice(&[0; 14]);
    let (repr, payload) = Repr::parse_with_payload(&padded).unwrap();
    assert_eq!(repr, report_repr());
    assert_eq!(payload.len(), 8);
}

/// Replaces the options of the report datagram (keeping 4 option octets) and refreshes the
/// checksum.
fn with_options(options: [u8; 4]) -> Vec<u8> {
    let mut bytes = REPORT_DATAGRAM.to_vec();
    bytes[20..24].copy_from_slice(&options);
    Packet::new_unchecked(&mut bytes[..]).fill_checksum();
    bytes
}

#[test]
fn options_are_walked() {
    let parse = |o| Repr::parse_bytes(&with_options(o)).map(|r| r.router_alert);
    assert_eq!(parse([1, 1, 1, 0]), Ok(false), "NOPs then EOL");
    assert_eq!(
        parse([0, 0x94, 0x04, 0]),
        Ok(false),
        "nothing counts after EOL"
    );
    assert_eq!(
        parse([0x94, 0x04, 0x00, 0x01]),
        Ok(false),
        "reserved RA value"
    );
    assert_eq!(
        parse([0x07, 0x03, 0x00, 0x01]),
        Ok(false),
        "unknown option skipped by length"
    );
    assert_eq!(parse([0x07, 0x05, 0, 0]), Err(Error::Malformed), "overrun");
    assert_eq!(
        parse([0x07, 0x01, 0, 0]),
        Err(Error::Malformed),
        "length below 2"
    );
    assert_eq!(
        parse([1, 1, 1, 0x07]),
        Err(Error::Malformed),
        "length octet missing"
    );
    assert_eq!(
        parse([0x94, 0x03, 0x00, 0x01]),
        Err(Error::Malformed),
        "RA of length 3"
    );
}

#[test]
fn header_errors() {
    let mut bytes = REPORT_DATAGRAM;
    bytes[10] ^= 1;
    assert_eq!(Repr::parse_bytes(&bytes), Err(Error::BadChecksum));

    for len in 0..24 {
        assert_eq!(
            Repr::parse_bytes(&REPORT_DATAGRAM[..len]),
            Err(Error::Truncated),
            "len {len}"
        );
    }
    for len in 24..32 {
        assert_eq!(
            Repr::parse_bytes(&REPORT_DATAGRAM[..len]),
            Err(Error::LengthOverrun),
            "len {len}"
        );
    }

    let mut bytes = REPORT_DATAGRAM;
    bytes[0] = 0x66;
    assert_eq!(
        Repr::parse_bytes(&bytes),
        Err(Error::Malformed),
        "version 6"
    );
    bytes[0] = 0x44;
    assert_eq!(Repr::parse_bytes(&bytes), Err(Error::Malformed), "IHL 4");

    let mut bytes = REPORT_DATAGRAM;
    bytes[2..4].copy_from_slice(&20u16.to_be_bytes());
    Packet::new_unchecked(&mut bytes[..]).fill_checksum();
    assert_eq!(
        Repr::parse_bytes(&bytes),
        Err(Error::Malformed),
        "total length inside header"
    );

    let mut bytes = REPORT_DATAGRAM;
    bytes[6] = 0x20;
    Packet::new_unchecked(&mut bytes[..]).fill_checksum();
    assert_eq!(
        Repr::parse_bytes(&bytes),
        Err(Error::Malformed),
        "first fragment"
    );
}

#[test]
fn header_without_router_alert() {
    let repr = Repr {
        router_alert: false,
        payload_len: 3,
        ..report_repr()
    };
    let bytes = repr.datagram(&[1, 2, 3]);
    assert_eq!(bytes[0], 0x45);
    assert_eq!(bytes.len(), 23);
    assert_eq!(
        Repr::parse_with_payload(&bytes),
        Ok((repr, &[1u8, 2, 3][..]))
    );
}

// ---- Datagrams as a Linux raw socket delivers them (`Repr::parse_unverified`) ----

/// IPv4 header with Router Alert (TOS 0xC0, TTL 1, 192.0.2.2 -> 224.0.0.22) and a zero
/// checksum, then an 8-byte IGMPv2 report for 239.1.2.3.
const RECEIVED_WITH_RA: [u8; 32] = [
    0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x00, 0x00, 192, 0, 2, 2, 224, 0,
    0, 22, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03,
];

/// The header and payload of a received datagram, and where the payload starts.
fn received(bytes: &[u8]) -> Result<(Repr, &[u8], usize)> {
    let (repr, payload) = Repr::parse_unverified_with_payload(bytes)?;
    let start = payload.as_ptr() as usize - bytes.as_ptr() as usize;
    Ok((repr, payload, start))
}

#[test]
fn received_header_is_not_checksummed_again() {
    assert_eq!(
        Repr::parse_bytes(&RECEIVED_WITH_RA),
        Err(Error::BadChecksum)
    );
    let (repr, payload, start) = received(&RECEIVED_WITH_RA).unwrap();
    assert_eq!(repr.src, Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(repr.dst, Ipv4Addr::new(224, 0, 0, 22));
    assert_eq!((repr.ttl, repr.tos, repr.router_alert), (1, 0xc0, true));
    assert_eq!((start, payload), (24, &RECEIVED_WITH_RA[24..32]));
}

#[test]
fn received_without_options_has_no_router_alert() {
    let mut pkt = [0u8; 28];
    pkt[0] = 0x45;
    pkt[2..4].copy_from_slice(&28u16.to_be_bytes());
    pkt[8] = 1;
    pkt[9] = 2;
    let (repr, payload, start) = received(&pkt).unwrap();
    assert!(!repr.router_alert);
    assert_eq!((start, payload.len()), (20, 8));
}

#[test]
fn received_payload_is_bounded_by_total_length_not_by_trailing_bytes() {
    let mut pkt = RECEIVED_WITH_RA.to_vec();
    pkt.extend_from_slice(&[0xaa; 8]);
    let (_, payload, start) = received(&pkt).unwrap();
    assert_eq!((start, payload), (24, &RECEIVED_WITH_RA[24..32]));
}

#[test]
fn received_inconsistent_lengths_are_errors() {
    assert_eq!(received(&RECEIVED_WITH_RA[..5]), Err(Error::Truncated));
    let mut short_total = RECEIVED_WITH_RA;
    short_total[3] = 0x10; // total 16 < header 24
    assert_eq!(received(&short_total), Err(Error::Malformed));
    let mut long_total = RECEIVED_WITH_RA;
    long_total[3] = 0x40; // total 64 > 32 bytes read
    assert_eq!(received(&long_total), Err(Error::LengthOverrun));
    let mut v6 = RECEIVED_WITH_RA;
    v6[0] = 0x66;
    assert_eq!(received(&v6), Err(Error::Malformed));
}

/// A received header with these options (padded with End of Option List to whole words).
fn received_router_alert(options: &[u8]) -> Result<bool> {
    let options_len = options.len().div_ceil(4) * 4;
    let header_len = MIN_HEADER_LEN + options_len;
    let mut pkt = vec![0u8; header_len + 8];
    pkt[0] = 0x40 | u8::try_from(header_len / 4).unwrap();
    let total = u16::try_from(pkt.len()).unwrap();
    pkt[2..4].copy_from_slice(&total.to_be_bytes());
    pkt[8] = 1;
    pkt[9] = 2;
    pkt[MIN_HEADER_LEN..MIN_HEADER_LEN + options.len()].copy_from_slice(options);
    received(&pkt).map(|(repr, _, _)| repr.router_alert)
}

#[test]
fn received_malformed_options_do_not_panic_or_match() {
    // Option length 0 and a length running past the header: the kernel drops such
    // datagrams itself; the decoder refuses them rather than guess.
    assert_eq!(
        received_router_alert(&[0x07, 0x00, 0x94, 0x04]),
        Err(Error::Malformed)
    );
    assert_eq!(
        received_router_alert(&[0x07, 0x09, 0x00, 0x00]),
        Err(Error::Malformed)
    );
    assert_eq!(received_router_alert(&[0x01]), Ok(false));
    assert_eq!(
        received_router_alert(&[0x01, 0x94, 0x04, 0x00, 0x00]),
        Ok(true)
    );
    assert_eq!(
        received_router_alert(&[0x00, 0x94, 0x04, 0x00, 0x00]),
        Ok(false)
    );
}
