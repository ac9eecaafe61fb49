//! Differential tests against etherparse 0.21 (IGMPv1/v2/v3, IPv4, IPv6 extension walking,
//! ICMPv6 checksums) and smoltcp 0.14 (IGMPv1/v2, MLDv2, IPv4, IPv6 Hop-by-Hop options).
//! On golden, generated and mutated packets: whatever those crates accept must agree with
//! ours. Where ours is deliberately stricter (IPv4/IPv6 options, fragments) the only errors
//! allowed are the ones naming that strictness.

mod common;

use common::*;
use etherparse::{Icmpv6Slice, IgmpSlice, IpNumber, Ipv4Slice, Ipv6Slice};
use mrproxy_wire::{Error, RecordType, checksum, code, igmp, ipv4, ipv6, mld};
use proptest::collection::vec;
use proptest::prelude::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv6Packet, IgmpPacket, IgmpRepr, Ipv4Packet, Ipv4Repr, Ipv6ExtHeader, Ipv6HopByHopHeader,
    Ipv6HopByHopRepr, Ipv6OptionRepr, Ipv6Packet, Ipv6Repr, MldAddressRecord, MldRepr,
};
use std::net::{Ipv4Addr, Ipv6Addr};

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

// ---------------------------------------------------------------- MLD

/// smoltcp's reading of an MLDv2 query or report, in our terms (it has no MLDv1).
fn mld_by_smoltcp(
    bytes: &[u8],
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Option<Result<mld::Repr, Error>> {
    let packet = Icmpv6Packet::new_checked(bytes).ok()?;
    if !packet.verify_checksum(src, dst) {
        return None;
    }
    let v6 = |b: &[u8]| Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap());
    Some(match MldRepr::parse(&packet).ok()? {
        MldRepr::Query {
            max_resp_code,
            mcast_addr,
            s_flag,
            qrv,
            qqic,
            num_srcs,
            data,
        } => match data.get(..usize::from(num_srcs) * 16) {
            None => Err(Error::LengthOverrun),
            Some(list) => Ok(mld::Repr::QueryV2 {
                max_resp_code,
                group: mcast_addr,
                s_flag,
                qrv,
                qqic,
                sources: list.chunks_exact(16).map(v6).collect(),
            }),
        },
        MldRepr::Report {
            nr_mcast_addr_rcrds,
            data,
        } => {
            let mut records = Vec::new();
            let mut rest = data;
            for _ in 0..nr_mcast_addr_rcrds {
                let Ok(record) = MldAddressRecord::new_checked(rest) else {
                    return Some(Err(Error::LengthOverrun));
                };
                let nsrc = usize::from(record.num_srcs()) * 16;
                let aux = usize::from(record.aux_data_len()) * 4;
                let Some(body) = record.payload().get(..nsrc + aux) else {
                    return Some(Err(Error::LengthOverrun));
                };
                records.push(mld::AddressRecord {
                    record_type: RecordType::from(u8::from(record.record_type())),
                    group: record.mcast_addr(),
                    sources: body[..nsrc].chunks_exact(16).map(v6).collect(),
                    aux_data: body[nsrc..].to_vec(),
                });
                rest = &rest[20 + nsrc + aux..];
            }
            Ok(mld::Repr::ReportV2 { records })
        }
        _ => return None,
    })
}

fn check_mld(bytes: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) {
    let ours = mld::Repr::parse_bytes(bytes, src, dst);
    if let Some(theirs) = mld_by_smoltcp(bytes, src, dst) {
        assert_eq!(ours, theirs, "smoltcp disagrees on {bytes:02x?}");
    }
    // etherparse has no MLD messages but checks ICMPv6 checksums.
    if let Ok(slice) = Icmpv6Slice::from_slice(bytes) {
        let theirs = slice.is_checksum_valid(src.octets(), dst.octets());
        assert_eq!(
            mld::Packet::new_unchecked(bytes).verify_checksum(src, dst),
            theirs,
            "{bytes:02x?}"
        );
        if !theirs {
            assert!(matches!(
                ours,
                Err(Error::BadChecksum
                    | Error::BadQueryLength
                    | Error::Truncated
                    | Error::LengthOverrun)
            ));
        }
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

// ---------------------------------------------------------------- IPv6

/// Extension headers etherparse walks past and we (handling only Hop-by-Hop) do not.
const EXTENSION_HEADERS: [u8; 5] = [0, 43, 44, 51, 60];

fn check_ipv6(bytes: &[u8]) {
    let ours = ipv6::Repr::parse_with_payload(bytes);
    // etherparse reads Payload Length 0 as "jumbogram, take the buffer"; we do not.
    let jumbo = bytes.len() > 40 && bytes[4..6] == [0, 0];
    let etherparse = Ipv6Slice::from_slice(bytes);
    match &ours {
        Ok((repr, payload)) if !jumbo && !EXTENSION_HEADERS.contains(&repr.next_header) => {
            let e = etherparse
                .as_ref()
                .expect("etherparse rejects what we accept");
            let h = e.header();
            assert_eq!(
                (h.source_addr(), h.destination_addr(), h.hop_limit()),
                (repr.src, repr.dst, repr.hop_limit)
            );
            assert_eq!(e.payload().ip_number.0, repr.next_header);
            assert_eq!(&e.payload().payload, payload);
        }
        Err(err) if etherparse.is_ok() && !jumbo => {
            // etherparse does not look inside options; we do (RFC 8200 §4.2).
            assert!(
                matches!(err, Error::Malformed | Error::UnrecognizedOption(_)),
                "etherparse accepts {bytes:02x?}: {err:?}"
            );
        }
        _ => {}
    }

    // smoltcp: fixed header, then the Router Alert among the Hop-by-Hop options.
    let Ok(packet) = Ipv6Packet::new_checked(bytes) else {
        assert!(ours.is_err());
        return;
    };
    let Ok(fixed) = Ipv6Repr::parse(&packet) else {
        return;
    };
    let Ok((repr, _)) = ours else { return };
    assert_eq!(
        (fixed.src_addr, fixed.dst_addr, fixed.hop_limit),
        (repr.src, repr.dst, repr.hop_limit)
    );
    if u8::from(packet.next_header()) != ipv6::NEXT_HEADER_HOP_BY_HOP {
        assert_eq!(repr.router_alert, None);
        return;
    }
    let ext = Ipv6ExtHeader::new_checked(packet.payload()).expect("we parsed this header");
    assert_eq!(u8::from(ext.next_header()), repr.next_header);
    let Ok(header) = Ipv6HopByHopHeader::new_checked(ext.payload()) else {
        return;
    };
    let Ok(Ipv6HopByHopRepr { options }) = Ipv6HopByHopRepr::parse(&header) else {
        return;
    };
    let first_ra = options.iter().find_map(|o| match o {
        Ipv6OptionRepr::RouterAlert(ra) => Some(u16::from(*ra)),
        _ => None,
    });
    match first_ra {
        Some(ra) => assert_eq!(repr.router_alert, Some(ra), "{bytes:02x?}"),
        // smoltcp keeps at most a few options; a Router Alert after them is unseen.
        None if options.len() < options.capacity() => {
            assert_eq!(repr.router_alert, None, "{bytes:02x?}")
        }
        None => {}
    }
}

// ---------------------------------------------------------------- drivers

fn check_everything(bytes: &[u8]) {
    check_igmp(bytes);
    check_mld(
        bytes,
        &Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        &mld::ALL_MLDV2_ROUTERS,
    );
    check_ipv4(bytes);
    check_ipv6(bytes);
}

#[test]
fn golden_vectors_and_truncations_agree() {
    for bytes in all_golden_bytes() {
        for len in 0..=bytes.len() {
            check_everything(&bytes[..len]);
        }
    }
    // The IP payloads of the whole-packet goldens, with the addresses they were built for.
    for (_, bytes) in vectors(IPV4_VECTORS) {
        if let Ok((_, payload)) = ipv4::Repr::parse_with_payload(&bytes) {
            check_igmp(payload);
        }
    }
    for (_, bytes) in vectors(IPV6_VECTORS) {
        if let Ok((ip, payload)) = ipv6::Repr::parse_with_payload(&bytes) {
            check_mld(payload, &ip.src, &ip.dst);
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

/// A first octet that is often a known IGMP/MLD type or IP version.
fn first_octet() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(0x11u8),
        Just(0x22),
        Just(143),
        Just(0x46),
        Just(0x60),
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
    fn generated_mld_agrees(
        repr in mld_repr(),
        (src, dst) in (v6(), v6()),
        edits in edits(2),
        cut in any::<usize>(),
    ) {
        let bytes = repr.to_bytes(&src, &dst);
        check_mld(&bytes, &src, &dst);
        let mut mutated = mutate(bytes, &edits, cut);
        // Re-checksum over the pseudo-header so that structure checks are reached.
        if mutated.len() >= 4 {
            mld::Packet::new_unchecked(&mut mutated[..]).fill_checksum(&src, &dst);
        }
        check_mld(&mutated, &src, &dst);
    }

    #[test]
    fn generated_ip_headers_agree(v4 in ipv4_repr(), v6 in ipv6_repr(), edits in edits(2)) {
        // Edits land in the headers, where the option and extension walkers are.
        let in_header: Vec<(usize, u8)> = edits.iter().map(|&(at, v)| (at % 48, v)).collect();
        let payload = vec![0x5a; v4.payload_len.min(64)];
        let datagram = v4.datagram(&payload);
        check_ipv4(&datagram);
        let len = datagram.len();
        let mut mutated = mutate(datagram, &in_header, len);
        if edits.len() % 2 == 0 {
            // Half the time keep the header checksum valid to reach the option walker.
            ipv4::Packet::new_unchecked(&mut mutated[..]).fill_checksum();
        }
        check_ipv4(&mutated);

        let packet = v6.packet(&vec![0xa5; v6.payload_len.min(64)]);
        check_ipv6(&packet);
        let len = packet.len();
        check_ipv6(&mutate(packet, &in_header, len));
    }

    #[test]
    fn random_bytes_agree(bytes in vec(any::<u8>(), 0..100), first in first_octet()) {
        let mut bytes = bytes;
        bytes.insert(0, first);
        check_everything(&bytes);
        check_igmp(&fix_igmp_checksum(bytes));
    }
}
