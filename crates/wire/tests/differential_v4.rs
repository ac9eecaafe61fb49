//! Differential tests against etherparse 0.21 and smoltcp 0.14 on golden, generated and
//! mutated packets: whatever those crates accept must agree with ours. Where ours is
//! deliberately stricter (IPv4/IPv6 options, fragments) the only errors allowed are the ones
//! naming that strictness.
//! This file: IGMPv1/v2/v3 (etherparse; smoltcp for v1/v2), IPv4 headers (both), and the
//! float-code encoder (smoltcp).

mod common;

use common::*;
use etherparse::{IgmpSlice, IpNumber, Ipv4Slice};
use mrproxy_wire::{Error, RecordType, checksum, code, igmp, ipv4};
use proptest::collection::vec;
use proptest::prelude::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{IgmpPacket, IgmpRepr, Ipv4Packet, Ipv4Repr};
use std::net::Ipv4Addr;

// ---------------------------------------------------------------- IGMP

/// etherparse's reading of an IGMP message, in our terms.
fn igmp_by_etherparse(bytes: &[u8]) -> Option<Result<igmp::Repr, Error>> {
    let slice = IgmpSlice::from_slice(bytes).ok()?;
    if !slice.is_checksum_valid() {
        return Some(Err(Error::BadChecksum));
    }
    let v4 = |octets: [u8; 4]| Ipv4Addr::from(octets);
    Some(Ok(match slice {
        IgmpSlice::MembershipQuery(q) => {
            let group = v4(q.group_address().octets);
            match q.max_response_time() {
                0 => igmp::Repr::QueryV1 { group },
                max_resp_time => igmp::Repr::QueryV2 {
                    max_resp_time,
                    group,
                },
            }
        }
        IgmpSlice::MembershipQueryWithSources(q) => igmp::Repr::QueryV3 {
            max_resp_code: q.max_response_code().0,
            group: v4(q.group_address().octets),
            s_flag: q.s_flag(),
            qrv: q.qrv().value(),
            qqic: q.qqic(),
            sources: q.source_addresses().map(v4).collect(),
        },
        IgmpSlice::MembershipReportV1(r) => igmp::Repr::ReportV1 {
            group: v4(r.group_address().octets),
        },
        IgmpSlice::MembershipReportV2(r) => igmp::Repr::ReportV2 {
            group: v4(r.group_address().octets),
        },
        IgmpSlice::LeaveGroup(r) => igmp::Repr::LeaveV2 {
            group: v4(r.group_address().octets),
        },
        IgmpSlice::MembershipReportV3(r) => {
            let mut records = Vec::new();
            for record in r.group_records() {
                let Ok(record) = record else {
                    return Some(Err(Error::LengthOverrun));
                };
                records.push(igmp::GroupRecord {
                    record_type: RecordType::from(record.record_type().0),
                    group: v4(record.multicast_address()),
                    sources: record.source_addresses().map(v4).collect(),
                    aux_data: record.aux_data().to_vec(),
                });
            }
            igmp::Repr::ReportV3 { records }
        }
        IgmpSlice::Unknown(u) => return Some(Err(Error::UnknownType(u.type_u8()))),
    }))
}

fn check_igmp(bytes: &[u8]) {
    let ours = igmp::Repr::parse_bytes(bytes);
    match igmp_by_etherparse(bytes) {
        Some(theirs) => assert_eq!(ours, theirs, "etherparse disagrees on {bytes:02x?}"),
        // etherparse rejects by length only: short messages, 9–11 octet queries, and v3
        // queries whose sources do not fit.
        None => assert!(
            matches!(
                ours,
                Err(Error::Truncated | Error::BadQueryLength | Error::LengthOverrun)
            ),
            "etherparse rejects {bytes:02x?}, we say {ours:?}"
        ),
    }

    // smoltcp knows only v1/v2 and decides the query version by code alone, so it is a
    // valid oracle for 8-octet queries and for v1/v2 reports and leaves of any length.
    let Ok(packet) = IgmpPacket::new_checked(bytes) else {
        return;
    };
    let Ok(theirs) = IgmpRepr::parse(&packet) else {
        return;
    };
    if !packet.verify_checksum() || (bytes[0] == igmp::msg_type::QUERY && bytes.len() != 8) {
        return;
    }
    match (theirs, ours) {
        (
            IgmpRepr::MembershipQuery {
                max_resp_time,
                group_addr,
                ..
            },
            Ok(igmp::Repr::QueryV1 { group }),
        ) => {
            assert_eq!(group_addr, group);
            assert_eq!(max_resp_time.total_millis(), 0);
        }
        (
            IgmpRepr::MembershipQuery {
                max_resp_time,
                group_addr,
                ..
            },
            Ok(igmp::Repr::QueryV2 {
                max_resp_time: code,
                group,
            }),
        ) => {
            assert_eq!(group_addr, group);
            // smoltcp decodes the code as an IGMPv3 float: a check of our decoder.
            assert_eq!(
                u128::from(max_resp_time.total_millis()),
                code::igmp_max_resp(code).as_millis()
            );
        }
        (
            IgmpRepr::MembershipReport {
                group_addr,
                version: smoltcp::wire::IgmpVersion::Version1,
            },
            Ok(igmp::Repr::ReportV1 { group }),
        )
        | (
            IgmpRepr::MembershipReport {
                group_addr,
                version: smoltcp::wire::IgmpVersion::Version2,
            },
            Ok(igmp::Repr::ReportV2 { group }),
        )
        | (IgmpRepr::LeaveGroup { group_addr }, Ok(igmp::Repr::LeaveV2 { group })) => {
            assert_eq!(group_addr, group)
        }
        (theirs, ours) => panic!("smoltcp says {theirs:?}, we say {ours:?} for {bytes:02x?}"),
    }
}

// ---------------------------------------------------------------- IPv4

fn check_ipv4(bytes: &[u8]) {
    let ours = ipv4::Repr::parse_with_payload(bytes);
    let etherparse = Ipv4Slice::from_slice(bytes);
    let smoltcp = Ipv4Packet::new_checked(bytes)
        .and_then(|p| Ipv4Repr::parse(&p, &ChecksumCapabilities::default()));
    match ours {
        Ok((repr, payload)) => {
            if repr.protocol != IpNumber::AUTHENTICATION_HEADER.0 {
                let e = etherparse.expect("etherparse rejects what we accept");
                let h = e.header();
                assert_eq!(
                    (h.source_addr(), h.destination_addr()),
                    (repr.src, repr.dst)
                );
                assert_eq!(
                    (h.ttl(), h.protocol().0, h.identification()),
                    (repr.ttl, repr.protocol, repr.ident)
                );
                assert_eq!((h.dcp().value() << 2) | h.ecn().value(), repr.tos);
                assert_eq!(h.dont_fragment(), repr.dont_fragment);
                assert_eq!(e.payload().payload, payload);
            }
            let s = smoltcp.expect("smoltcp rejects what we accept");
            assert_eq!(
                (s.src_addr, s.dst_addr, s.hop_limit),
                (repr.src, repr.dst, repr.ttl)
            );
            assert_eq!(
                (u8::from(s.next_header), s.payload_len),
                (repr.protocol, repr.payload_len)
            );
        }
        Err(err) => {
            // smoltcp verifies the checksum too: our only stricter checks are options and
            // fragments. etherparse verifies no checksum.
            if smoltcp.is_ok() {
                assert_eq!(err, Error::Malformed, "smoltcp accepts {bytes:02x?}");
            }
            if etherparse.is_ok() {
                assert!(
                    matches!(err, Error::Malformed | Error::BadChecksum),
                    "etherparse accepts {bytes:02x?}: {err:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- drivers

#[test]
fn golden_vectors_and_truncations_agree() {
    for bytes in all_golden_bytes() {
        for len in 0..=bytes.len() {
            check_igmp(&bytes[..len]);
            check_ipv4(&bytes[..len]);
        }
    }
    // The IGMP messages inside the whole-datagram goldens.
    for (_, bytes) in vectors(IPV4_VECTORS) {
        if let Ok((_, payload)) = ipv4::Repr::parse_with_payload(&bytes) {
            check_igmp(payload);
        }
    }
}

/// Our encoder against smoltcp's for every Max Resp Time up to past the largest code.
#[test]
fn max_resp_code_encoder_matches_smoltcp() {
    for decisecs in 0..=32_000u64 {
        let theirs = IgmpRepr::MembershipQuery {
            max_resp_time: smoltcp::time::Duration::from_millis(decisecs * 100),
            group_addr: Ipv4Addr::UNSPECIFIED,
            version: smoltcp::wire::IgmpVersion::Version2,
        };
        let mut buf = [0u8; 8];
        theirs.emit(&mut IgmpPacket::new_unchecked(&mut buf));
        let ours = code::igmp_max_resp_code(std::time::Duration::from_millis(decisecs * 100));
        assert_eq!(ours, buf[1], "{decisecs} deciseconds");
    }
}

/// Refreshes the IGMP checksum (octets 2..4 over the whole buffer) so that structure checks
/// are reached.
fn fix_igmp_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() >= 4 {
        bytes[2..4].fill(0);
        let ck = checksum::finish(checksum::data(&bytes));
        bytes[2..4].copy_from_slice(&ck.to_be_bytes());
    }
    bytes
}

/// A first octet that is often a known IGMP type or the start of an IPv4 header.
fn first_octet() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(0x11u8),
        Just(0x12),
        Just(0x16),
        Just(0x17),
        Just(0x22),
        Just(0x45),
        Just(0x46),
        any::<u8>()
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn generated_igmp_agrees(repr in igmp_repr(), edits in edits(2), cut in any::<usize>()) {
        let bytes = repr.to_bytes();
        check_igmp(&bytes);
        check_igmp(&fix_igmp_checksum(mutate(bytes, &edits, cut)));
    }

    #[test]
    fn generated_ipv4_headers_agree(repr in ipv4_repr(), edits in edits(2)) {
        let datagram = repr.datagram(&vec![0x5a; repr.payload_len.min(64)]);
        check_ipv4(&datagram);
        // Edits land in the header, where the option walker is.
        let in_header: Vec<(usize, u8)> = edits.iter().map(|&(at, v)| (at % 24, v)).collect();
        let len = datagram.len();
        let mut mutated = mutate(datagram, &in_header, len);
        if edits.len() % 2 == 0 {
            // Half the time keep the header checksum valid to reach the option walker.
            ipv4::Packet::new_unchecked(&mut mutated[..]).fill_checksum();
        }
        check_ipv4(&mutated);
    }

    #[test]
    fn random_bytes_agree(bytes in vec(any::<u8>(), 0..100), first in first_octet()) {
        let mut bytes = bytes;
        bytes.insert(0, first);
        check_igmp(&bytes);
        check_ipv4(&bytes);
        check_igmp(&fix_igmp_checksum(bytes));
    }
}
