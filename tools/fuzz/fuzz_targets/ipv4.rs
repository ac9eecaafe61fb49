//! IPv4 header decoder (options, Router Alert, lengths, checksum), then the IGMP decoder on
//! its payload. Whatever parses must re-encode to the same header and payload.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrproxy_wire::{igmp, ipv4};

fn round_trip(bytes: &[u8]) {
    if let Ok((repr, payload)) = ipv4::Repr::parse_with_payload(bytes) {
        let datagram = repr.datagram(payload);
        assert_eq!(datagram.len(), repr.buffer_len() + payload.len());
        assert_eq!(ipv4::Repr::parse_with_payload(&datagram), Ok((repr, payload)));
        let _ = igmp::Repr::parse_bytes(payload);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip(data);
    // The same bytes with a valid header checksum, so that the option walker is reached.
    if data.len() >= ipv4::MIN_HEADER_LEN {
        let mut fixed = data.to_vec();
        ipv4::Packet::new_unchecked(&mut fixed[..]).fill_checksum();
        round_trip(&fixed);
    }
});
