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
