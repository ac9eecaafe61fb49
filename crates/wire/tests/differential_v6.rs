//! Differential tests against etherparse 0.21 and smoltcp 0.14 on golden, generated and
//! mutated packets: whatever those crates accept must agree with ours. Where ours is
//! deliberately stricter (IPv4/IPv6 options, fragments) the only errors allowed are the ones
//! naming that strictness.
//! This file: MLDv2 (smoltcp), ICMPv6 checksums (etherparse), IPv6 headers and Hop-by-Hop
//! Router Alert (both).

mod common;

use common::*;
use etherparse::{Icmpv6Slice, Ipv6Slice};
use mrproxy_wire::{Error, RecordType, ipv6, mld};
use proptest::collection::vec;
use proptest::prelude::*;
use smoltcp::wire::{
    Icmpv6Packet, Ipv6ExtHeader, Ipv6HopByHopHeader, Ipv6HopByHopRepr, Ipv6OptionRepr, Ipv6Packet,
    Ipv6Repr, MldAddressRecord, MldRepr,
};
use std::net::Ipv6Addr;

const LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

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

#[test]
fn golden_vectors_and_truncations_agree() {
    for bytes in all_golden_bytes() {
        for len in 0..=bytes.len() {
            check_mld(&bytes[..len], &LINK_LOCAL, &mld::ALL_MLDV2_ROUTERS);
            check_ipv6(&bytes[..len]);
        }
    }
    // The MLD messages inside the whole-packet goldens, with their own addresses.
    for (_, bytes) in vectors(IPV6_VECTORS) {
        if let Ok((ip, payload)) = ipv6::Repr::parse_with_payload(&bytes) {
            check_mld(payload, &ip.src, &ip.dst);
        }
    }
}

/// A first octet that is often a known MLD type or the start of an IPv6 header.
fn first_octet() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(130u8),
        Just(131),
        Just(132),
        Just(143),
        Just(0x60),
        any::<u8>()
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

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
    fn generated_ipv6_headers_agree(repr in ipv6_repr(), edits in edits(2)) {
        let packet = repr.packet(&vec![0xa5; repr.payload_len.min(64)]);
        check_ipv6(&packet);
        // Edits land in the fixed and Hop-by-Hop headers.
        let in_header: Vec<(usize, u8)> = edits.iter().map(|&(at, v)| (at % 48, v)).collect();
        let len = packet.len();
        check_ipv6(&mutate(packet, &in_header, len));
    }

    #[test]
    fn random_bytes_agree(bytes in vec(any::<u8>(), 0..100), first in first_octet()) {
        let mut bytes = bytes;
        bytes.insert(0, first);
        check_mld(&bytes, &LINK_LOCAL, &mld::ALL_MLDV2_ROUTERS);
        check_ipv6(&bytes);
    }
}
