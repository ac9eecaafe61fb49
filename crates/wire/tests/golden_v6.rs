//! Golden vectors built by scapy 2.8 (scripts/gen-wire-vectors.py), checked both ways: each
//! vector decodes to the message named here, and that message encodes to the same octets.
//! Every name in a file must have an expectation here and the other way round, so a vector
//! cannot be silently skipped.
//! This file: MLD messages and whole IPv6 packets with Hop-by-Hop Router Alert.

mod common;

use common::*;
use mrproxy_wire::{Error, RecordType, ipv6, mld};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

const MLD_SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

fn mld_record(t: u8, group: &str, sources: &[&str], aux_data: &[u8]) -> mld::AddressRecord {
    mld::AddressRecord {
        record_type: RecordType::from(t),
        group: v6(group),
        sources: sources.iter().map(|s| v6(s)).collect(),
        aux_data: aux_data.to_vec(),
    }
}

/// Name → (destination the checksum was computed for, expected decoding).
fn mld_table() -> BTreeMap<&'static str, (Ipv6Addr, Result<mld::Repr, Error>)> {
    use mld::Repr::*;
    let any = Ipv6Addr::UNSPECIFIED;
    let (g, ssm) = (v6("ff3e::1:2"), v6("ff3e::8000:1"));
    let (nodes, routers, v2_routers) = (mld::ALL_NODES, mld::ALL_ROUTERS, mld::ALL_MLDV2_ROUTERS);
    BTreeMap::from([
        (
            "v1_general_query",
            (
                nodes,
                Ok(QueryV1 {
                    max_resp_delay: 10_000,
                    group: any,
                }),
            ),
        ),
        (
            "v1_group_query",
            (
                g,
                Ok(QueryV1 {
                    max_resp_delay: 1000,
                    group: g,
                }),
            ),
        ),
        ("v1_report", (g, Ok(ReportV1 { group: g }))),
        ("v1_done", (routers, Ok(DoneV1 { group: g }))),
        (
            "v2_general_query",
            (
                nodes,
                Ok(QueryV2 {
                    max_resp_code: 10_000,
                    group: any,
                    s_flag: false,
                    qrv: 2,
                    qqic: 125,
                    sources: vec![],
                }),
            ),
        ),
        (
            "v2_group_query",
            (
                g,
                Ok(QueryV2 {
                    max_resp_code: 0x8123,
                    group: g,
                    s_flag: true,
                    qrv: 7,
                    qqic: 0x8a,
                    sources: vec![],
                }),
            ),
        ),
        (
            "v2_group_source_query",
            (
                ssm,
                Ok(QueryV2 {
                    max_resp_code: 1000,
                    group: ssm,
                    s_flag: false,
                    qrv: 2,
                    qqic: 125,
                    sources: vec![v6("2001:db8::1"), v6("2001:db8::2")],
                }),
            ),
        ),
        (
            "v2_report_empty",
            (v2_routers, Ok(ReportV2 { records: vec![] })),
        ),
        (
            "v2_report_all_types",
            (
                v2_routers,
                Ok(ReportV2 {
                    records: vec![
                        mld_record(1, "ff3e::8000:1", &["2001:db8::1"], &[]),
                        mld_record(2, "ff3e::1:2", &[], &[]),
                        mld_record(3, "ff3e::1:2", &["2001:db8::1", "2001:db8::2"], &[]),
                        mld_record(4, "ff3e::1:2", &[], &[]),
                        mld_record(5, "ff3e::8000:1", &["2001:db8::5"], &[]),
                        mld_record(6, "ff3e::8000:1", &["2001:db8::6"], &[]),
                    ],
                }),
            ),
        ),
        (
            "v2_report_aux_data",
            (
                v2_routers,
                Ok(ReportV2 {
                    records: vec![mld_record(1, "ff3e::8000:1", &["2001:db8::1"], b"12345678")],
                }),
            ),
        ),
        ("bad_checksum", (g, Err(Error::BadChecksum))),
        ("bad_unknown_type", (g, Err(Error::UnknownType(135)))),
        ("bad_query_26_octets", (g, Err(Error::BadQueryLength))),
        (
            "bad_query_source_overrun",
            (nodes, Err(Error::LengthOverrun)),
        ),
        (
            "bad_report_record_overrun",
            (v2_routers, Err(Error::LengthOverrun)),
        ),
        (
            "bad_report_aux_overrun",
            (v2_routers, Err(Error::LengthOverrun)),
        ),
        ("bad_truncated_report", (g, Err(Error::Truncated))),
    ])
}

#[test]
fn mld_vectors_both_ways() {
    let file = vectors(MLD_VECTORS);
    let table = mld_table();
    same_names(&file, &table);
    for (name, bytes) in &file {
        let (dst, expected) = &table[name.as_str()];
        assert_eq!(
            &mld::Repr::parse_bytes(bytes, &MLD_SRC, dst),
            expected,
            "decode {name}"
        );
        if let Ok(repr) = expected {
            assert_eq!(&repr.to_bytes(&MLD_SRC, dst), bytes, "encode {name}");
        }
    }
}

fn ipv6_table() -> BTreeMap<&'static str, Result<(ipv6::Repr, mld::Repr), Error>> {
    let g = v6("ff3e::1:2");
    BTreeMap::from([
        (
            "v2_report",
            Ok((
                ipv6::Repr::mld(MLD_SRC, mld::ALL_MLDV2_ROUTERS, 28),
                mld::Repr::ReportV2 {
                    records: vec![mld_record(4, "ff3e::1:2", &[], &[])],
                },
            )),
        ),
        (
            "v2_general_query",
            Ok((
                ipv6::Repr::mld(MLD_SRC, mld::ALL_NODES, 28),
                mld::Repr::QueryV2 {
                    max_resp_code: 10_000,
                    group: Ipv6Addr::UNSPECIFIED,
                    s_flag: false,
                    qrv: 2,
                    qqic: 125,
                    sources: vec![],
                },
            )),
        ),
        (
            "v1_done",
            Ok((
                ipv6::Repr::mld(MLD_SRC, mld::ALL_ROUTERS, 24),
                mld::Repr::DoneV1 { group: g },
            )),
        ),
        (
            "v1_report_without_hbh",
            Ok((
                ipv6::Repr {
                    router_alert: None,
                    ..ipv6::Repr::mld(MLD_SRC, g, 24)
                },
                mld::Repr::ReportV1 { group: g },
            )),
        ),
        ("bad_payload_length", Err(Error::LengthOverrun)),
    ])
}

#[test]
fn ipv6_packets_both_ways() {
    let file = vectors(IPV6_VECTORS);
    let table = ipv6_table();
    same_names(&file, &table);
    for (name, bytes) in &file {
        let expected = &table[name.as_str()];
        let decoded = ipv6::Repr::parse_with_payload(bytes)
            .and_then(|(ip, payload)| Ok((ip, mld::Repr::parse_bytes(payload, &ip.src, &ip.dst)?)));
        assert_eq!(&decoded, expected, "decode {name}");
        if let Ok((ip, msg)) = expected {
            assert_eq!(
                &ip.packet(&msg.to_bytes(&ip.src, &ip.dst)),
                bytes,
                "encode {name}"
            );
        }
    }
}
