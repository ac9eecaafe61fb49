//! Helpers shared by the integration tests: hex, the golden vector files, and proptest
//! strategies for every Repr.
#![allow(dead_code)] // each test binary uses a different part

use mrproxy_wire::{RecordType, igmp, ipv4, ipv6, mld};
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex string {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The lines `name hex` of a vector file written by scripts/gen-wire-vectors.py.
pub fn vectors(text: &str) -> Vec<(String, Vec<u8>)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, bytes) = l
                .split_once(' ')
                .unwrap_or_else(|| panic!("bad vector line {l:?}"));
            (name.to_string(), hex(bytes.trim()))
        })
        .collect()
}

pub const IGMP_VECTORS: &str = include_str!("../vectors/igmp.txt");
pub const MLD_VECTORS: &str = include_str!("../vectors/mld.txt");
pub const IPV4_VECTORS: &str = include_str!("../vectors/ipv4.txt");
pub const IPV6_VECTORS: &str = include_str!("../vectors/ipv6.txt");
pub const CODE_VECTORS: &str = include_str!("../vectors/codes.txt");

/// Every vector of every file, for differential and robustness tests.
pub fn all_golden_bytes() -> Vec<Vec<u8>> {
    [IGMP_VECTORS, MLD_VECTORS, IPV4_VECTORS, IPV6_VECTORS]
        .iter()
        .flat_map(|t| vectors(t))
        .map(|(_, b)| b)
        .collect()
}

// ---- strategies (bounded sizes) ----

pub fn v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

pub fn v6() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

pub fn record_type() -> impl Strategy<Value = RecordType> {
    any::<u8>().prop_map(RecordType::from)
}

/// Auxiliary data: whole 32-bit words, as the length field counts them.
fn aux_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![3 => Just(vec![]), 1 => vec(any::<[u8; 4]>(), 0..4).prop_map(|w| w.concat())]
}

pub fn group_record() -> impl Strategy<Value = igmp::GroupRecord> {
    (record_type(), v4(), vec(v4(), 0..8), aux_data()).prop_map(
        |(record_type, group, sources, aux_data)| igmp::GroupRecord {
            record_type,
            group,
            sources,
            aux_data,
        },
    )
}

pub fn igmp_repr() -> impl Strategy<Value = igmp::Repr> {
    prop_oneof![
        v4().prop_map(|group| igmp::Repr::QueryV1 { group }),
        // Max Resp Code 0 on 8 octets means v1 (RFC 9776 §7.1), so v2 queries start at 1.
        (1..=u8::MAX, v4()).prop_map(|(max_resp_time, group)| igmp::Repr::QueryV2 {
            max_resp_time,
            group
        }),
        (
            any::<u8>(),
            v4(),
            any::<bool>(),
            0..=7u8,
            any::<u8>(),
            vec(v4(), 0..16)
        )
            .prop_map(|(max_resp_code, group, s_flag, qrv, qqic, sources)| {
                igmp::Repr::QueryV3 {
                    max_resp_code,
                    group,
                    s_flag,
                    qrv,
                    qqic,
                    sources,
                }
            }),
        v4().prop_map(|group| igmp::Repr::ReportV1 { group }),
        v4().prop_map(|group| igmp::Repr::ReportV2 { group }),
        v4().prop_map(|group| igmp::Repr::LeaveV2 { group }),
        vec(group_record(), 0..6).prop_map(|records| igmp::Repr::ReportV3 { records }),
    ]
}

pub fn address_record() -> impl Strategy<Value = mld::AddressRecord> {
    (record_type(), v6(), vec(v6(), 0..6), aux_data()).prop_map(
        |(record_type, group, sources, aux_data)| mld::AddressRecord {
            record_type,
            group,
            sources,
            aux_data,
        },
    )
}

pub fn mld_repr() -> impl Strategy<Value = mld::Repr> {
    prop_oneof![
        (any::<u16>(), v6()).prop_map(|(max_resp_delay, group)| mld::Repr::QueryV1 {
            max_resp_delay,
            group
        }),
        (
            any::<u16>(),
            v6(),
            any::<bool>(),
            0..=7u8,
            any::<u8>(),
            vec(v6(), 0..8)
        )
            .prop_map(|(max_resp_code, group, s_flag, qrv, qqic, sources)| {
                mld::Repr::QueryV2 {
                    max_resp_code,
                    group,
                    s_flag,
                    qrv,
                    qqic,
                    sources,
                }
            }),
        v6().prop_map(|group| mld::Repr::ReportV1 { group }),
        v6().prop_map(|group| mld::Repr::DoneV1 { group }),
        vec(address_record(), 0..5).prop_map(|records| mld::Repr::ReportV2 { records }),
    ]
}

pub fn ipv4_repr() -> impl Strategy<Value = ipv4::Repr> {
    (
        v4(),
        v4(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<bool>(),
        any::<bool>(),
        0..2000usize,
    )
        .prop_map(
            |(src, dst, protocol, ttl, tos, ident, dont_fragment, router_alert, payload_len)| {
                ipv4::Repr {
                    src,
                    dst,
                    protocol,
                    ttl,
                    tos,
                    ident,
                    dont_fragment,
                    router_alert,
                    payload_len,
                }
            },
        )
}

pub fn ipv6_repr() -> impl Strategy<Value = ipv6::Repr> {
    // Next header 0 (Hop-by-Hop) is never an upper layer: RFC 8200 §4.1, and parse rejects it.
    (
        v6(),
        v6(),
        1..=u8::MAX,
        any::<u8>(),
        proptest::option::of(any::<u16>()),
        0..2000usize,
    )
        .prop_map(
            |(src, dst, next_header, hop_limit, router_alert, payload_len)| ipv6::Repr {
                src,
                dst,
                next_header,
                hop_limit,
                router_alert,
                payload_len,
            },
        )
}

/// Up to `max` single-octet edits (position taken modulo the length, value).
pub fn edits(max: usize) -> impl Strategy<Value = Vec<(usize, u8)>> {
    vec((any::<usize>(), any::<u8>()), 0..=max)
}

/// Applies `edits` to `bytes`, then cuts them to `cut` modulo (length + 1).
pub fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    if !bytes.is_empty() {
        for &(at, value) in edits {
            let len = bytes.len();
            bytes[at % len] = value;
        }
    }
    bytes.truncate(cut % (bytes.len() + 1));
    bytes
}

/// Checks that the names of a vector file and of a table are the same set.
pub fn same_names<T>(file: &[(String, Vec<u8>)], table: &BTreeMap<&str, T>) {
    let in_file: Vec<&str> = file.iter().map(|(n, _)| n.as_str()).collect();
    let in_table: Vec<&str> = table.keys().copied().collect();
    let mut sorted = in_file.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, in_table, "vector file and expectation table differ");
}
