//! IGMP decoder: any bytes, as received and with the checksum made valid (so that the fuzzer
//! reaches the length and record checks). Whatever parses must re-encode to the same message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrproxy_wire::{checksum, igmp};

fn round_trip(bytes: &[u8]) {
    if let Ok(repr) = igmp::Repr::parse_bytes(bytes) {
        let emitted = repr.to_bytes();
        assert_eq!(emitted.len(), repr.buffer_len());
        assert_eq!(igmp::Repr::parse_bytes(&emitted), Ok(repr));
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip(data);
    if data.len() >= 4 {
        let mut fixed = data.to_vec();
        fixed[2..4].fill(0);
        let ck = checksum::finish(checksum::data(&fixed));
        fixed[2..4].copy_from_slice(&ck.to_be_bytes());
        round_trip(&fixed);
    }
});
