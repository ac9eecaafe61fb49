//! The Internet checksum (RFC 1071): the 16-bit ones' complement of the ones' complement sum
//! of the data taken as big-endian 16-bit words.
//!
//! The functions here return the *folded sum*, not its complement, so that partial sums can be
//! added with [`combine`] (RFC 1071 §2(B), incremental update). A message whose checksum field
//! holds `!sum` verifies when the sum over the whole message (checksum included) is `0xFFFF`.

use std::net::Ipv6Addr;

/// Folds the carries of a wide accumulator back into 16 bits (end-around carry, RFC 1071 §2(A)).
fn fold(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    // The loop leaves at most 0xFFFF, so the conversion cannot fail.
    u16::try_from(sum).unwrap_or(u16::MAX)
}

/// Ones' complement sum of `bytes` as big-endian 16-bit words, folded to 16 bits.
/// An odd trailing byte is summed as if padded with a zero byte (RFC 1071 §4.1).
///
/// Four octets are added at a time into a `u64`: since 2^16 ≡ 1 (mod 2^16 − 1), a 32-bit
/// big-endian word sums to the same folded value as its two 16-bit halves. The accumulator
/// cannot overflow for any buffer below 16 GiB.
pub fn data(bytes: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut words = bytes.chunks_exact(4);
    for word in &mut words {
        sum += u64::from(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
    }
    let mut rest = words.remainder().chunks_exact(2);
    for half in &mut rest {
        sum += u64::from(u16::from_be_bytes([half[0], half[1]]));
    }
    if let [last] = rest.remainder() {
        sum += u64::from(*last) << 8;
    }
    fold(sum)
}

/// Adds folded partial sums (for example a pseudo-header sum and a data sum).
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// Sum of the IPv6 pseudo-header for an upper-layer checksum (RFC 8200 §8.1; used by ICMPv6,
/// RFC 4443 §2.3): source, destination, upper-layer packet length (32 bits), three zero octets
/// and the next-header value.
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    combine(&[
        data(&src.octets()),
        data(&dst.octets()),
        data(&length.to_be_bytes()),
        u16::from(next_header),
    ])
}

/// The value to store in a checksum field: the complement of the folded sum of everything the
/// checksum covers, computed with the field itself set to zero.
pub fn finish(sum: u16) -> u16 {
    !sum
}

/// Whether a message whose checksum covers `sum` (checksum field included) verifies.
pub fn verifies(sum: u16) -> bool {
    sum == 0xFFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    #[test]
    fn rfc1071_example() {
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(data(&[0xab]), 0xab00);
        assert_eq!(data(&[]), 0);
    }

    #[test]
    fn carries_wrap_around() {
        assert_eq!(data(&[0xff, 0xff, 0x00, 0x01]), 0x0001);
        assert_eq!(data(&[0xff; 64]), 0xffff);
    }

    #[test]
    fn split_sums_combine_to_the_whole() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(999).collect();
        // Splitting at an even offset keeps word alignment, so partial sums add up.
        for cut in (0..bytes.len()).step_by(2) {
            let (head, tail) = bytes.split_at(cut);
            assert_eq!(
                combine(&[data(head), data(tail)]),
                data(&bytes),
                "cut at {cut}"
            );
        }
    }

    /// Reference: the plain RFC 1071 algorithm over 16-bit words.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u32::from(b));
            sum += hi | lo;
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn matches_the_word_by_word_algorithm() {
        let mut seed = 0x1234_5678u32;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 24) as u8
                })
                .collect();
            assert_eq!(data(&bytes), reference(&bytes), "len {len}");
        }
    }

    #[test]
    fn pseudo_header_matches_its_serialisation() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "ff02::16".parse().unwrap();
        let mut serialised = Vec::new();
        serialised.extend_from_slice(&src.octets());
        serialised.extend_from_slice(&dst.octets());
        serialised.extend_from_slice(&28u32.to_be_bytes());
        serialised.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(pseudo_header_v6(&src, &dst, 58, 28), data(&serialised));
    }

    #[test]
    fn finished_checksum_verifies() {
        // IGMPv2 report for 239.1.2.3 with its checksum field zeroed.
        let mut msg = [0x16, 0x00, 0x00, 0x00, 0xef, 0x01, 0x02, 0x03];
        let ck = finish(data(&msg));
        assert_eq!(ck, 0xf8fa);
        msg[2..4].copy_from_slice(&ck.to_be_bytes());
        assert!(verifies(data(&msg)));
    }
}
