//! What the IPv4 mroute socket runs on every datagram it reads: `mrproxy_linux::packet::decode4`
//! (an `igmpmsg` upcall, or the IPv4 header then the IGMP message). Any bytes, and the same
//! bytes with the IGMP checksum made valid so that the message decoder gets past it. Whatever
//! decodes must lie inside the datagram and re-encode to the same message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mrproxy_linux::packet::{Datagram4, decode4};
use mrproxy_wire::{checksum, igmp, ipv4};

fn check(data: &[u8]) {
    match decode4(data) {
        Ok(Datagram4::Igmp { header, message }) => {
            assert!(ipv4::MIN_HEADER_LEN + header.payload_len <= data.len());
            if let Ok(message) = message {
                assert_eq!(igmp::Repr::parse_bytes(&message.to_bytes()), Ok(message));
            }
        }
        // An upcall is recognised by im_mbz = 0 over the protocol byte.
        Ok(Datagram4::Upcall(_)) => assert_eq!(data[9], 0),
        Err(_) => {}
    }
}

/// The datagram with a valid IGMP checksum, when its IPv4 lengths leave room for one.
fn with_igmp_checksum(data: &[u8]) -> Option<Vec<u8>> {
    let header_len = usize::from(*data.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*data.get(2)?, *data.get(3)?]));
    let end = total.min(data.len());
    if header_len + 4 > end {
        return None;
    }
    let mut fixed = data.to_vec();
    fixed[header_len + 2..header_len + 4].fill(0);
    let ck = checksum::finish(checksum::data(&fixed[header_len..end]));
    fixed[header_len + 2..header_len + 4].copy_from_slice(&ck.to_be_bytes());
    Some(fixed)
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(fixed) = with_igmp_checksum(data) {
        check(&fixed);
    }
});
