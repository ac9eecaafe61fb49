//! Byte vectors next to the message they mean (docs/test-strategy.md §5), both directions, and the
//! malformed inputs each with its error. Goldens from scapy are in `tests/golden_v4.rs`.

use super::*;
use crate::RecordType;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The known vectors of `docs/test-strategy.md` §5 with the message each one encodes.
fn known_vectors() -> Vec<(&'static str, Repr)> {
    vec![
        (
            "1600f8faef010203",
            Repr::ReportV2 {
                group: ip("239.1.2.3"),
            },
        ),
        (
            "1700f7faef010203",
            Repr::LeaveV2 {
                group: ip("239.1.2.3"),
            },
        ),
        (
            "110aeef500000000",
            Repr::QueryV2 {
                max_resp_time: 10,
                group: Ipv4Addr::UNSPECIFIED,
            },
        ),
        (
            "1164ec1e00000000027d0000",
            Repr::QueryV3 {
                max_resp_code: 100,
                group: Ipv4Addr::UNSPECIFIED,
                s_flag: false,
                qrv: 2,
                qqic: 125,
                sources: vec![],
            },
        ),
        (
            "220038f20000000204000000ef01020305000001e8010101c0000202",
            Repr::ReportV3 {
                records: vec![
                    GroupRecord {
                        record_type: RecordType::ChangeToExclude,
                        group: ip("239.1.2.3"),
                        sources: vec![],
                        aux_data: vec![],
                    },
                    GroupRecord {
                        record_type: RecordType::AllowNewSources,
                        group: ip("232.1.1.1"),
                        sources: vec![ip("192.0.2.2")],
                        aux_data: vec![],
                    },
                ],
            },
        ),
    ]
}

#[test]
fn known_vectors_decode() {
    for (bytes, repr) in known_vectors() {
        assert_eq!(Repr::parse_bytes(&hex(bytes)), Ok(repr), "{bytes}");
    }
}

#[test]
fn known_vectors_encode() {
    for (bytes, repr) in known_vectors() {
        assert_eq!(repr.to_bytes(), hex(bytes), "{repr:?}");
    }
}

/// Sets a valid checksum on a hand-made message.
fn with_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    Packet::new_unchecked(&mut bytes[..]).fill_checksum();
    bytes
}

#[test]
fn query_version_follows_length_and_code() {
    // RFC 9776 §7.1: 8 octets and code 0 is a v1 query, whatever the group says.
    let v1 = with_checksum(hex("1100000000000000"));
    assert_eq!(
        Repr::parse_bytes(&v1),
        Ok(Repr::QueryV1 {
            group: Ipv4Addr::UNSPECIFIED
        })
    );
    assert_eq!(
        Repr::QueryV1 {
            group: Ipv4Addr::UNSPECIFIED
        }
        .to_bytes(),
        v1
    );
    // A v3 query with code 0 is still v3.
    let v3 = with_checksum(hex("1100000000000000027d0000"));
    assert!(matches!(
        Repr::parse_bytes(&v3),
        Ok(Repr::QueryV3 {
            max_resp_code: 0,
            ..
        })
    ));
    // 9, 10 and 11 octets MUST be ignored.
    for len in 9..=11 {
        let q = with_checksum(hex("1164000000000000027d0000")[..len].to_vec());
        assert_eq!(
            Repr::parse_bytes(&q),
            Err(Error::BadQueryLength),
            "len {len}"
        );
    }
}

#[test]
fn v3_query_fields_and_reserved_bits() {
    // Reserved bits set (0xf0), S set, QRV 7, two sources, four trailing octets.
    let bytes = with_checksum(hex("11ff0000ef010203ff0a0002c0000201c0000202deadbeef"));
    let repr = Repr::QueryV3 {
        max_resp_code: 0xff,
        group: ip("239.1.2.3"),
        s_flag: true,
        qrv: 7,
        qqic: 10,
        sources: vec![ip("192.0.2.1"), ip("192.0.2.2")],
    };
    assert_eq!(Repr::parse_bytes(&bytes), Ok(repr.clone()));
    // On emit the reserved bits are zero and the trailing octets are gone.
    let emitted = repr.to_bytes();
    assert_eq!(emitted.len(), 20);
    assert_eq!(emitted[8], 0x0f);
    assert_eq!(Repr::parse_bytes(&emitted), Ok(repr));
}

#[test]
fn v1_report_and_unused_fields() {
    // The unused octet of reports is ignored on parse and zero on emit.
    let bytes = with_checksum(hex("12330000ef010203"));
    assert_eq!(
        Repr::parse_bytes(&bytes),
        Ok(Repr::ReportV1 {
            group: ip("239.1.2.3")
        })
    );
    assert_eq!(
        Repr::ReportV1 {
            group: ip("239.1.2.3")
        }
        .to_bytes()[1],
        0
    );
    // Trailing octets after an 8-octet message are ignored but checksummed.
    let long = with_checksum([&bytes[..], &[1, 2, 3]].concat());
    assert_eq!(
        Repr::parse_bytes(&long),
        Ok(Repr::ReportV1 {
            group: ip("239.1.2.3")
        })
    );
}

#[test]
fn every_truncation_is_an_error() {
    for (bytes, _) in known_vectors() {
        let bytes = hex(bytes);
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            let expected = match (len, bytes[0]) {
                (0..=7, _) => Error::Truncated,
                (9..=11, msg_type::QUERY) => Error::BadQueryLength,
                // The cut-off checksum no longer verifies before records are walked.
                _ => Error::BadChecksum,
            };
            assert_eq!(
                Repr::parse_bytes(cut),
                Err(expected),
                "{bytes:02x?} cut at {len}"
            );
            // With the checksum fixed, the bounds checks speak.
            if len > 8 && bytes[0] == msg_type::REPORT_V3 {
                let fixed = with_checksum(cut.to_vec());
                assert_eq!(
                    Repr::parse_bytes(&fixed),
                    Err(Error::LengthOverrun),
                    "cut at {len}"
                );
            }
        }
    }
}

#[test]
fn counts_that_overrun() {
    // A v3 query announcing 3 sources but carrying 2.
    let q = with_checksum(hex("1164000000000000027d0003c0000201c0000202"));
    assert_eq!(Repr::parse_bytes(&q), Err(Error::LengthOverrun));
    // A report announcing 3 records but carrying 2.
    let mut r = hex("220038f20000000204000000ef01020305000001e8010101c0000202");
    r[7] = 3;
    assert_eq!(
        Repr::parse_bytes(&with_checksum(r.clone())),
        Err(Error::LengthOverrun)
    );
    // A record whose source count runs past the end.
    r[7] = 2;
    r[19] = 2;
    assert_eq!(
        Repr::parse_bytes(&with_checksum(r.clone())),
        Err(Error::LengthOverrun)
    );
    // A record whose aux data runs past the end.
    r[19] = 1;
    r[17] = 1;
    assert_eq!(
        Repr::parse_bytes(&with_checksum(r.clone())),
        Err(Error::LengthOverrun)
    );
    // The maximal count on an empty report.
    let empty = with_checksum(hex("220000000000ffff"));
    assert_eq!(Repr::parse_bytes(&empty), Err(Error::LengthOverrun));
}

#[test]
fn aux_data_and_unknown_record_types_are_kept() {
    let repr = Repr::ReportV3 {
        records: vec![GroupRecord {
            record_type: RecordType::Unknown(9),
            group: ip("239.0.0.9"),
            sources: vec![ip("198.51.100.7")],
            aux_data: vec![1, 2, 3, 4, 5, 6, 7, 8],
        }],
    };
    let bytes = repr.to_bytes();
    assert_eq!(&bytes[8..12], [9, 2, 0, 1]);
    assert_eq!(&bytes[20..], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(Repr::parse_bytes(&bytes), Ok(repr));
}

#[test]
fn bad_checksum_and_unknown_type() {
    let mut bytes = hex("1600f8faef010203");
    bytes[3] ^= 0x40;
    assert_eq!(Repr::parse_bytes(&bytes), Err(Error::BadChecksum));
    let mtrace = with_checksum(hex("1f00000000000000"));
    assert_eq!(Repr::parse_bytes(&mtrace), Err(Error::UnknownType(0x1f)));
}

/// RFC 9776 §4.1.2: the checksum covers the message, not whatever follows it in the buffer.
#[test]
fn emit_checksums_only_the_message() {
    let repr = Repr::LeaveV2 {
        group: ip("239.1.2.3"),
    };
    let mut buffer = [0xAAu8; 24];
    repr.emit(&mut Packet::new_unchecked(&mut buffer[..]));
    assert_eq!(&buffer[..8], hex("1700f7faef010203"));
    assert_eq!(&buffer[8..], [0xAA; 16]);
}

#[test]
fn packet_view_accessors() {
    let bytes = hex("1164ec1e00000000027d0000");
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.msg_type(), msg_type::QUERY);
    assert_eq!(packet.max_resp_code(), 100);
    assert_eq!(packet.checksum(), 0xec1e);
    assert_eq!(
        (
            packet.s_flag(),
            packet.qrv(),
            packet.qqic(),
            packet.num_sources()
        ),
        (Some(false), Some(2), Some(125), Some(0))
    );
    assert!(packet.verify_checksum());
    let v2 = hex("110aeef500000000");
    let packet = Packet::new_checked(&v2[..]).unwrap();
    assert_eq!(
        (
            packet.s_flag(),
            packet.qrv(),
            packet.qqic(),
            packet.num_sources()
        ),
        (None, None, None, None)
    );
}

#[test]
fn oversized_lists_are_clamped_not_panicking() {
    let sources = vec![ip("192.0.2.1"); MAX_COUNT + 3];
    let repr = Repr::QueryV3 {
        max_resp_code: 1,
        group: ip("239.1.1.1"),
        s_flag: false,
        qrv: 9,
        qqic: 1,
        sources,
    };
    let bytes = repr.to_bytes();
    assert_eq!(bytes.len(), V3_QUERY_HEADER_LEN + MAX_COUNT * 4);
    match Repr::parse_bytes(&bytes) {
        Ok(Repr::QueryV3 { sources, qrv, .. }) => {
            assert_eq!(sources.len(), MAX_COUNT);
            assert_eq!(qrv, 1, "QRV 9 is masked to 3 bits");
        }
        other => panic!("unexpected {other:?}"),
    }
}
