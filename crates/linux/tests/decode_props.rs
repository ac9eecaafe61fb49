//! The decoders take bytes from the kernel; whatever they get, they must not panic, and what
//! they decode must lie inside the buffer.

use mrproxy_linux::packet::{
    Datagram4, Datagram6, decode_upcall6, decode4, decode6, hop_by_hop_has_router_alert,
};
use mrproxy_wire::igmp;
use proptest::prelude::*;

proptest! {
    #[test]
    fn decode4_never_panics_and_bounds_the_payload(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        if let Ok(Datagram4::Igmp { header, .. }) = decode4(&bytes) {
            prop_assert!(header.payload_len + 20 <= bytes.len());
        }
    }

    #[test]
    fn upcall_and_hop_by_hop_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Some(up) = decode_upcall6(&bytes) {
            prop_assert_eq!(bytes[0], 0);
            prop_assert_eq!(&up.source.octets()[..], &bytes[8..24]);
            prop_assert_eq!(decode6(&bytes), Datagram6::Upcall(up));
        }
        let _ = hop_by_hop_has_router_alert(&bytes);
    }

    /// An IPv4 header with valid lengths and the Router Alert option anywhere among NOPs is
    /// recognised, and the IGMP message after it is the one decoded.
    #[test]
    fn router_alert_found_after_nops(nops in 0usize..4, igmp in proptest::collection::vec(any::<u8>(), 8..16)) {
        let options_len = (nops + 4).div_ceil(4) * 4;
        let header_len = 20 + options_len;
        let mut pkt = vec![0u8; header_len];
        pkt[0] = 0x40 | u8::try_from(header_len / 4).unwrap();
        pkt[8] = 1;
        pkt[9] = 2;
        for b in &mut pkt[20..20 + nops] { *b = 1; }
        pkt[20 + nops..24 + nops].copy_from_slice(&[0x94, 4, 0, 0]);
        pkt.extend_from_slice(&igmp);
        let total = u16::try_from(pkt.len()).unwrap();
        pkt[2..4].copy_from_slice(&total.to_be_bytes());
        let Ok(Datagram4::Igmp { header, message }) = decode4(&pkt) else { panic!("decodes") };
        prop_assert!(header.router_alert);
        prop_assert_eq!(header.payload_len, igmp.len());
        prop_assert_eq!(message, igmp::Repr::parse_bytes(&igmp));
    }
}
