use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// MLDv2 report for ff3e::1 (TO_EX {2001:db8::1}) from fe80::1 to ff02::16 with hop limit 1
/// and Hop-by-Hop Router Alert 0, as scapy 2.8 builds it.
const REPORT_PACKET: [&str; 5] = [
    "6000000000340001fe800000000000000000000000000001ff020000000000000000000000000016",
    "3a00050200000100",
    "8f0042020000000104000001",
    "ff3e0000000000000000000000000001",
    "20010db8000000000000000000000001",
];

fn report_packet() -> Vec<u8> {
    hex(&REPORT_PACKET.concat())
}

fn report_repr() -> Repr {
    Repr::mld("fe80::1".parse().unwrap(), "ff02::16".parse().unwrap(), 44)
}

#[test]
fn parses_mld_packet() {
    let bytes = report_packet();
    let (repr, payload) = Repr::parse_with_payload(&bytes).unwrap();
    assert_eq!(repr, report_repr());
    assert_eq!(payload, &bytes[48..]);
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        packet.upper_layer(),
        Ok(UpperLayer {
            next_header: NEXT_HEADER_ICMPV6,
            offset: 48,
            router_alert: Some(0)
        })
    );
}

#[test]
fn emits_mld_packet() {
    let bytes = report_packet();
    assert_eq!(report_repr().packet(&bytes[48..]), bytes);
}

#[test]
fn packet_without_hop_by_hop() {
    let repr = Repr {
        router_alert: None,
        payload_len: 5,
        ..report_repr()
    };
    let bytes = repr.packet(&[9; 5]);
    assert_eq!(bytes[6], NEXT_HEADER_ICMPV6);
    assert_eq!(bytes.len(), 45);
    assert_eq!(Repr::parse_with_payload(&bytes), Ok((repr, &[9u8; 5][..])));
}

#[test]
fn hop_by_hop_layout() {
    let with_ra = HopByHopRepr {
        next_header: 58,
        router_alert: Some(0),
    };
    assert_eq!(with_ra.to_bytes(), [0x3a, 0, 5, 2, 0, 0, 1, 0]);
    let without = HopByHopRepr {
        next_header: 58,
        router_alert: None,
    };
    assert_eq!(without.to_bytes(), [0x3a, 0, 1, 4, 0, 0, 0, 0]);
    for repr in [with_ra, without] {
        assert_eq!(HopByHopRepr::parse_bytes(&repr.to_bytes()), Ok(repr));
    }
}

#[test]
fn hop_by_hop_options_are_walked() {
    let parse = |options: &[u8]| {
        // Options fill the rest of a whole number of 8-octet units.
        let units = u8::try_from((2 + options.len()) / 8 - 1).unwrap();
        let mut bytes = vec![58, units];
        bytes.extend_from_slice(options);
        HopByHopRepr::parse_bytes(&bytes).map(|r| r.router_alert)
    };
    assert_eq!(parse(&[0, 0, 0, 0, 0, 0]), Ok(None), "Pad1 only");
    assert_eq!(
        parse(&[0, 0, 5, 2, 0x12, 0x34]),
        Ok(Some(0x1234)),
        "Pad1 then RA"
    );
    assert_eq!(
        parse(&[5, 2, 0, 1, 5, 2, 0, 2, 1, 4, 0, 0, 0, 0]),
        Ok(Some(1)),
        "first RA counts"
    );
    assert_eq!(
        parse(&[0x1e, 2, 0, 0, 5, 2]),
        Err(Error::Malformed),
        "RA cut by the header end"
    );
    assert_eq!(
        parse(&[0x1e, 2, 0, 0, 1, 0]),
        Ok(None),
        "skippable unknown option"
    );
    assert_eq!(
        parse(&[0x5e, 2, 0, 0, 1, 0]),
        Err(Error::UnrecognizedOption(0x5e)),
        "action 01"
    );
    assert_eq!(
        parse(&[0xc2, 4, 0, 0, 0, 0]),
        Err(Error::UnrecognizedOption(0xc2)),
        "jumbo"
    );
    assert_eq!(
        parse(&[5, 3, 0, 0, 0, 1]),
        Err(Error::Malformed),
        "RA of length 3"
    );
    assert_eq!(
        parse(&[1, 5, 0, 0, 0, 0]),
        Err(Error::Malformed),
        "PadN overrun"
    );
    assert_eq!(
        parse(&[0, 0, 0, 0, 0, 1]),
        Err(Error::Malformed),
        "length octet missing"
    );
}

#[test]
fn hop_by_hop_length_is_bounded() {
    assert_eq!(HopByHopRepr::parse_bytes(&[58]), Err(Error::Truncated));
    assert_eq!(
        HopByHopRepr::parse_bytes(&[58, 1, 5, 2, 0, 0, 1, 0]),
        Err(Error::LengthOverrun)
    );
    // Inside a packet, the header must also fit Payload Length.
    let mut bytes = report_packet();
    bytes[4..6].copy_from_slice(&6u16.to_be_bytes());
    bytes.truncate(46);
    assert_eq!(Repr::parse_bytes(&bytes), Err(Error::LengthOverrun));
}

/// The header alone, as Linux delivers it in `IPV6_HOPOPTS` ancillary data.
#[test]
fn hop_by_hop_as_ancillary_data() {
    let ra = |bytes: &[u8]| HopByHopRepr::parse_bytes(bytes).map(|r| r.router_alert);
    // next header 58, length 0 (8 octets), RA value 0, PadN of 2.
    assert_eq!(ra(&[58, 0, 5, 2, 0, 0, 1, 0]), Ok(Some(0)));
    // Pad1 before the option.
    assert_eq!(ra(&[58, 0, 0, 5, 2, 0, 0, 0]), Ok(Some(0)));
    // Only padding.
    assert_eq!(ra(&[58, 0, 1, 4, 0, 0, 0, 0]), Ok(None));
    // An option running past the header, and a truncated header.
    assert_eq!(ra(&[58, 0, 7, 9, 0, 0, 0, 0]), Err(Error::Malformed));
    assert_eq!(ra(&[58]), Err(Error::Truncated));
    // RA beyond the declared length is ignored.
    assert_eq!(ra(&[58, 0, 1, 4, 0, 0, 0, 0, 5, 2, 0, 0]), Ok(None));
}

/// RFC 8200 §4.1: Hop-by-Hop only right after the fixed header; a second one is dropped.
#[test]
fn hop_by_hop_after_hop_by_hop_is_malformed() {
    let mut bytes = report_packet();
    bytes[40] = NEXT_HEADER_HOP_BY_HOP;
    assert_eq!(Repr::parse_bytes(&bytes), Err(Error::Malformed));
}

#[test]
fn header_errors() {
    let bytes = report_packet();
    for len in 0..40 {
        assert_eq!(
            Repr::parse_bytes(&bytes[..len]),
            Err(Error::Truncated),
            "len {len}"
        );
    }
    for len in 40..bytes.len() {
        assert_eq!(
            Repr::parse_bytes(&bytes[..len]),
            Err(Error::LengthOverrun),
            "len {len}"
        );
    }
    let mut v4 = bytes.clone();
    v4[0] = 0x40;
    assert_eq!(Repr::parse_bytes(&v4), Err(Error::Malformed));
    // Link padding after Payload Length is ignored.
    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0; 8]);
    assert_eq!(
        Repr::parse_with_payload(&padded),
        Ok((report_repr(), &bytes[48..]))
    );
}
