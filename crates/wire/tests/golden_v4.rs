//! Golden vectors built by scapy 2.8 (scripts/gen-wire-vectors.py), checked both ways: each
//! vector decodes to the message named here, and that message encodes to the same octets.
//! Every name in a file must have an expectation here and the other way round, so a vector
//! cannot be silently skipped.
//! This file: IGMP messages, whole IPv4 datagrams, and scapy's float-code encoder.

mod common;

use common::*;
use mrproxy_wire::{Error, RecordType, code, igmp, ipv4};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn igmp_record(t: u8, group: &str, sources: &[&str], aux_data: &[u8]) -> igmp::GroupRecord {
    igmp::GroupRecord {
        record_type: RecordType::from(t),
        group: v4(group),
        sources: sources.iter().map(|s| v4(s)).collect(),
        aux_data: aux_data.to_vec(),
    }
}

fn igmp_table() -> BTreeMap<&'static str, Result<igmp::Repr, Error>> {
    use igmp::Repr::*;
    let any = Ipv4Addr::UNSPECIFIED;
    let g = v4("239.1.2.3");
    BTreeMap::from([
        ("v1_query", Ok(QueryV1 { group: any })),
        ("v1_report", Ok(ReportV1 { group: g })),
        (
            "v2_general_query",
            Ok(QueryV2 {
                max_resp_time: 100,
                group: any,
            }),
        ),
        (
            "v2_group_query",
            Ok(QueryV2 {
                max_resp_time: 10,
                group: g,
            }),
        ),
        ("v2_report", Ok(ReportV2 { group: g })),
        ("v2_leave", Ok(LeaveV2 { group: g })),
        (
            "v3_general_query",
            Ok(QueryV3 {
                max_resp_code: 100,
                group: any,
                s_flag: false,
                qrv: 2,
                qqic: 125,
                sources: vec![],
            }),
        ),
        (
            "v3_group_query",
            Ok(QueryV3 {
                max_resp_code: 0xaf,
                group: g,
                s_flag: true,
                qrv: 7,
                qqic: 200,
                sources: vec![],
            }),
        ),
        (
            "v3_group_source_query",
            Ok(QueryV3 {
                max_resp_code: 10,
                group: v4("232.1.1.1"),
                s_flag: false,
                qrv: 2,
                qqic: 125,
                sources: vec![v4("198.51.100.1"), v4("198.51.100.2"), v4("203.0.113.9")],
            }),
        ),
        ("v3_report_empty", Ok(ReportV3 { records: vec![] })),
        (
            "v3_report_all_types",
            Ok(ReportV3 {
                records: vec![
                    igmp_record(1, "232.1.1.1", &["198.51.100.1"], &[]),
                    igmp_record(2, "239.1.1.2", &[], &[]),
                    igmp_record(3, "239.1.1.3", &["198.51.100.1", "198.51.100.2"], &[]),
                    igmp_record(4, "239.1.1.4", &[], &[]),
                    igmp_record(5, "232.1.1.5", &["203.0.113.5"], &[]),
                    igmp_record(6, "232.1.1.6", &["203.0.113.6"], &[]),
                ],
            }),
        ),
        (
            "v3_report_aux_data",
            Ok(ReportV3 {
                records: vec![igmp_record(1, "239.1.1.1", &["198.51.100.1"], b"abcd")],
            }),
        ),
        ("bad_checksum", Err(Error::BadChecksum)),
        ("bad_unknown_type", Err(Error::UnknownType(0x1e))),
        ("bad_query_10_octets", Err(Error::BadQueryLength)),
        ("bad_query_source_overrun", Err(Error::LengthOverrun)),
        ("bad_report_record_overrun", Err(Error::LengthOverrun)),
        ("bad_report_source_overrun", Err(Error::LengthOverrun)),
        ("bad_truncated", Err(Error::Truncated)),
    ])
}

#[test]
fn igmp_vectors_both_ways() {
    let file = vectors(IGMP_VECTORS);
    let table = igmp_table();
    same_names(&file, &table);
    for (name, bytes) in &file {
        let expected = &table[name.as_str()];
        assert_eq!(&igmp::Repr::parse_bytes(bytes), expected, "decode {name}");
        if let Ok(repr) = expected {
            assert_eq!(&repr.to_bytes(), bytes, "encode {name}");
        }
    }
}

fn ipv4_table() -> BTreeMap<&'static str, Result<(ipv4::Repr, igmp::Repr), Error>> {
    let ip = |src: &str, dst: &str, payload_len| ipv4::Repr {
        ident: 1,
        ..ipv4::Repr::igmp(v4(src), v4(dst), payload_len)
    };
    let g = v4("239.1.2.3");
    BTreeMap::from([
        (
            "v2_report",
            Ok((
                ip("192.0.2.2", "239.1.2.3", 8),
                igmp::Repr::ReportV2 { group: g },
            )),
        ),
        (
            "v2_leave",
            Ok((
                ip("192.0.2.2", "224.0.0.2", 8),
                igmp::Repr::LeaveV2 { group: g },
            )),
        ),
        (
            "v3_report_from_unspecified",
            Ok((
                ip("0.0.0.0", "224.0.0.22", 16),
                igmp::Repr::ReportV3 {
                    records: vec![igmp_record(4, "239.1.2.3", &[], &[])],
                },
            )),
        ),
        (
            "v3_general_query",
            Ok((
                ipv4::Repr {
                    ident: 0x1234,
                    dont_fragment: true,
                    ..ip("192.0.2.1", "224.0.0.1", 12)
                },
                igmp::Repr::QueryV3 {
                    max_resp_code: 100,
                    group: Ipv4Addr::UNSPECIFIED,
                    s_flag: false,
                    qrv: 2,
                    qqic: 125,
                    sources: vec![],
                },
            )),
        ),
        (
            "v1_query_without_ra",
            Ok((
                ipv4::Repr {
                    tos: 0,
                    router_alert: false,
                    ..ip("192.0.2.1", "224.0.0.1", 8)
                },
                igmp::Repr::QueryV1 {
                    group: Ipv4Addr::UNSPECIFIED,
                },
            )),
        ),
        ("bad_header_checksum", Err(Error::BadChecksum)),
        ("bad_total_length", Err(Error::LengthOverrun)),
    ])
}

#[test]
fn ipv4_datagrams_both_ways() {
    let file = vectors(IPV4_VECTORS);
    let table = ipv4_table();
    same_names(&file, &table);
    for (name, bytes) in &file {
        let expected = &table[name.as_str()];
        let decoded = ipv4::Repr::parse_with_payload(bytes)
            .and_then(|(ip, payload)| Ok((ip, igmp::Repr::parse_bytes(payload)?)));
        assert_eq!(&decoded, expected, "decode {name}");
        if let Ok((ip, msg)) = expected {
            assert_eq!(&ip.datagram(&msg.to_bytes()), bytes, "encode {name}");
        }
    }
}

/// scapy's own IGMPv3 Max Resp Code encoder agrees with ours (both round down).
#[test]
fn max_resp_codes_match_scapy() {
    let file = vectors(CODE_VECTORS);
    assert!(file.len() > 40);
    for (name, bytes) in file {
        let value: u32 = name
            .strip_prefix("mrc_")
            .and_then(|v| v.parse().ok())
            .expect("mrc_<value>");
        assert_eq!(bytes.len(), 1, "{name}");
        assert_eq!(code::encode_8bit(value), bytes[0], "{name}");
    }
}
