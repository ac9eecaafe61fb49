//! Property tests: parse(emit(x)) == x for every Repr, and no parser panics on any input.

mod common;

use common::*;
use mrproxy_wire::ipv6::HopByHopRepr;
use mrproxy_wire::{checksum, code, igmp, ipv4, ipv6, mld};
use proptest::collection::vec;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn igmp_round_trips(repr in igmp_repr()) {
        let bytes = repr.to_bytes();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(igmp::Repr::parse_bytes(&bytes), Ok(repr));
    }

    #[test]
    fn mld_round_trips(repr in mld_repr(), src in v6(), dst in v6()) {
        let bytes = repr.to_bytes(&src, &dst);
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(mld::Repr::parse_bytes(&bytes, &src, &dst), Ok(repr));
    }

    #[test]
    fn ipv4_round_trips(repr in ipv4_repr()) {
        let payload: Vec<u8> = (0..repr.payload_len).map(|i| i as u8).collect();
        let bytes = repr.datagram(&payload);
        prop_assert_eq!(bytes.len(), repr.buffer_len() + payload.len());
        prop_assert_eq!(ipv4::Repr::parse_with_payload(&bytes), Ok((repr, &payload[..])));
        // The header alone announces a payload that is not there.
        if repr.payload_len > 0 {
            let header_only = ipv4::Repr::parse_bytes(&repr.to_bytes());
            prop_assert_eq!(header_only, Err(mrproxy_wire::Error::LengthOverrun));
        }
    }

    #[test]
    fn ipv6_round_trips(repr in ipv6_repr()) {
        let payload: Vec<u8> = (0..repr.payload_len).map(|i| i as u8).collect();
        let bytes = repr.packet(&payload);
        prop_assert_eq!(bytes.len(), repr.buffer_len() + payload.len());
        prop_assert_eq!(ipv6::Repr::parse_with_payload(&bytes), Ok((repr, &payload[..])));
    }

    #[test]
    fn hop_by_hop_round_trips(next_header: u8, router_alert: Option<u16>) {
        let repr = HopByHopRepr { next_header, router_alert };
        prop_assert_eq!(HopByHopRepr::parse_bytes(&repr.to_bytes()), Ok(repr));
    }

    /// A whole IGMP datagram and a whole MLD packet, as the daemon would send them.
    #[test]
    fn stacked_messages_round_trip(
        (msg, src, dst) in (igmp_repr(), v4(), v4()),
        (m6, s6, d6) in (mld_repr(), v6(), v6()),
    ) {
        let ip = ipv4::Repr::igmp(src, dst, msg.buffer_len());
        let bytes = ip.datagram(&msg.to_bytes());
        let (ip_back, payload) = ipv4::Repr::parse_with_payload(&bytes).unwrap();
        prop_assert_eq!(ip_back, ip);
        prop_assert_eq!(igmp::Repr::parse_bytes(payload), Ok(msg));

        let ip6 = ipv6::Repr::mld(s6, d6, m6.buffer_len());
        let bytes = ip6.packet(&m6.to_bytes(&s6, &d6));
        let (ip6_back, payload) = ipv6::Repr::parse_with_payload(&bytes).unwrap();
        prop_assert_eq!(ip6_back, ip6);
        prop_assert_eq!(mld::Repr::parse_bytes(payload, &s6, &d6), Ok(m6));
    }

    #[test]
    fn codes_round_down(value in any::<u32>()) {
        let c8 = code::encode_8bit(value);
        prop_assert!(code::decode_8bit(c8) <= value);
        prop_assert!(c8 == u8::MAX || code::decode_8bit(c8 + 1) > value);
        let c16 = code::encode_16bit(value);
        prop_assert!(code::decode_16bit(c16) <= value);
        prop_assert!(c16 == u16::MAX || code::decode_16bit(c16 + 1) > value);
    }

    #[test]
    fn checksum_sums_split_at_even_offsets(bytes in vec(any::<u8>(), 0..300), cut in 0usize..150) {
        let cut = (cut * 2).min(bytes.len() & !1);
        let (a, b) = bytes.split_at(cut);
        let combined = checksum::combine(&[checksum::data(a), checksum::data(b)]);
        prop_assert_eq!(combined, checksum::data(&bytes));
    }
}

/// Every parser on the same bytes; none may panic. When one accepts, its re-encoding must
/// parse back to the same value.
fn parse_everything(bytes: &[u8]) {
    if let Ok(repr) = igmp::Repr::parse_bytes(bytes) {
        assert_eq!(igmp::Repr::parse_bytes(&repr.to_bytes()), Ok(repr));
    }
    let (src, dst) = (mld::ALL_NODES, mld::ALL_ROUTERS);
    if let Ok(repr) = mld::Repr::parse_bytes(bytes, &src, &dst) {
        assert_eq!(
            mld::Repr::parse_bytes(&repr.to_bytes(&src, &dst), &src, &dst),
            Ok(repr)
        );
    }
    if let Ok(packet) = mld::Packet::new_checked(bytes) {
        let _ = mld::Repr::parse_unverified(&packet);
    }
    if let Ok((repr, payload)) = ipv4::Repr::parse_with_payload(bytes) {
        assert_eq!(
            ipv4::Repr::parse_with_payload(&repr.datagram(payload)),
            Ok((repr, payload))
        );
    }
    // As received from the kernel: verification only ever adds BadChecksum, and the payload
    // lies inside the buffer, after at least the fixed header.
    let unverified = ipv4::Repr::parse_unverified_with_payload(bytes);
    if let Ok(verified) = ipv4::Repr::parse_with_payload(bytes) {
        assert_eq!(unverified, Ok(verified));
    }
    if let Ok((repr, payload)) = unverified {
        assert_eq!(payload.len(), repr.payload_len);
        assert!(payload.len() + ipv4::MIN_HEADER_LEN <= bytes.len());
    }
    if let Ok((repr, payload)) = ipv6::Repr::parse_with_payload(bytes) {
        assert_eq!(
            ipv6::Repr::parse_with_payload(&repr.packet(payload)),
            Ok((repr, payload))
        );
    }
    if let Ok(repr) = HopByHopRepr::parse_bytes(bytes) {
        assert_eq!(HopByHopRepr::parse_bytes(&repr.to_bytes()), Ok(repr));
    }
}

/// Arbitrary octets, with a fair chance of a known type and a valid checksum so that parsing
/// gets past the first checks.
fn plausible_bytes() -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![
        Just(0x11u8),
        Just(0x12),
        Just(0x16),
        Just(0x17),
        Just(0x22),
        Just(130),
        Just(131),
        Just(132),
        Just(143),
        Just(0x45),
        Just(0x46),
        Just(0x60),
        any::<u8>()
    ];
    (first, vec(any::<u8>(), 0..120), any::<bool>()).prop_map(|(first, rest, fix_igmp_checksum)| {
        let mut bytes = vec![first];
        bytes.extend(rest);
        if fix_igmp_checksum && bytes.len() >= 4 {
            bytes[2] = 0;
            bytes[3] = 0;
            let ck = checksum::finish(checksum::data(&bytes));
            bytes[2..4].copy_from_slice(&ck.to_be_bytes());
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(bytes in plausible_bytes()) {
        parse_everything(&bytes);
    }

    /// Valid messages with some octets changed or cut: the inputs most likely to reach deep
    /// into the record walkers.
    #[test]
    fn mutated_messages_never_panic(
        (repr, m6) in (igmp_repr(), mld_repr()),
        edits in edits(3),
        cut in any::<usize>(),
    ) {
        for bytes in [repr.to_bytes(), m6.to_bytes(&mld::ALL_NODES, &mld::ALL_ROUTERS)] {
            let mut bytes = mutate(bytes, &edits, cut);
            // The IGMP checksum is refreshed so that the structure checks are reached.
            if bytes.len() >= 4 {
                bytes[2..4].fill(0);
                let ck = checksum::finish(checksum::data(&bytes));
                bytes[2..4].copy_from_slice(&ck.to_be_bytes());
            }
            parse_everything(&bytes);
        }
    }
}

#[test]
fn golden_vectors_and_their_truncations_never_panic() {
    for bytes in all_golden_bytes() {
        for len in 0..=bytes.len() {
            parse_everything(&bytes[..len]);
        }
    }
}
