//! IPv6 header and Hop-by-Hop decoder, then the MLD decoder on the upper-layer message; also
//! the Hop-by-Hop header alone (as Linux passes it in IPV6_HOPOPTS ancillary data). Whatever
//! parses must re-encode to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrproxy_wire::ipv6::{self, HopByHopRepr};
use mrproxy_wire::mld;

fuzz_target!(|data: &[u8]| {
    if let Ok((repr, payload)) = ipv6::Repr::parse_with_payload(data) {
        let packet = repr.packet(payload);
        assert_eq!(packet.len(), repr.buffer_len() + payload.len());
        assert_eq!(ipv6::Repr::parse_with_payload(&packet), Ok((repr, payload)));
        let _ = mld::Repr::parse_bytes(payload, &repr.src, &repr.dst);
    }
    if let Ok(hbh) = HopByHopRepr::parse_bytes(data) {
        assert_eq!(HopByHopRepr::parse_bytes(&hbh.to_bytes()), Ok(hbh));
    }
});
