//! MLD decoder: the first 32 octets are the IPv6 source and destination, the rest the ICMPv6
//! message, decoded with and without checksum verification. Whatever parses must re-encode to
//! the same message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrproxy_wire::mld;
use std::net::Ipv6Addr;

fuzz_target!(|data: &[u8]| {
    if data.len() < 32 {
        return;
    }
    let (addrs, message) = data.split_at(32);
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&addrs[..16]);
    let src = Ipv6Addr::from(octets);
    octets.copy_from_slice(&addrs[16..]);
    let dst = Ipv6Addr::from(octets);

    let verified = mld::Repr::parse_bytes(message, &src, &dst);
    if let Ok(packet) = mld::Packet::new_checked(message) {
        let unverified = mld::Repr::parse_unverified(&packet);
        // Verification only ever adds BadChecksum.
        if let Ok(repr) = &verified {
            assert_eq!(unverified.as_ref(), Ok(repr));
        }
        if let Ok(repr) = unverified {
            let emitted = repr.to_bytes(&src, &dst);
            assert_eq!(emitted.len(), repr.buffer_len());
            assert_eq!(mld::Repr::parse_bytes(&emitted, &src, &dst), Ok(repr));
        }
    } else {
        assert!(verified.is_err());
    }
});
