//! The test datagram payload shared by [`crate::Source`] and [`crate::Receiver`]: a magic, a
//! sequence number and the send time, so a receiver can tell order, loss and freshness
//! (docs/test-strategy.md §6: the kernel's unresolved queue can deliver packets seconds old at a join).

use std::time::Duration;

use nix::time::{ClockId, clock_gettime};

/// First eight bytes of every payload: marks datagrams that came from a netlab [`crate::Source`].
pub const MAGIC: [u8; 8] = *b"MRPLAB01";

/// Length of magic + sequence number + send time; padding may follow.
pub const HEADER_LEN: usize = 24;

/// What a netlab payload carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payload {
    /// 0 for the first datagram of a source, then +1 per datagram.
    pub seq: u64,
    /// Send time, nanoseconds of `CLOCK_MONOTONIC` ([`monotonic_ns`]).
    pub sent_ns: u64,
}

impl Payload {
    /// Serialises the payload, padded with zeros to `total_len` (at least [`HEADER_LEN`]).
    pub fn encode(&self, total_len: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(total_len.max(HEADER_LEN));
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&self.seq.to_be_bytes());
        bytes.extend_from_slice(&self.sent_ns.to_be_bytes());
        bytes.resize(total_len.max(HEADER_LEN), 0);
        bytes
    }

    /// Parses a payload; `None` if the bytes did not come from a netlab source.
    pub fn decode(bytes: &[u8]) -> Option<Payload> {
        let magic = bytes.get(..8)?;
        if magic != MAGIC {
            return None;
        }
        let seq = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        let sent_ns = u64::from_be_bytes(bytes.get(16..24)?.try_into().ok()?);
        Some(Payload { seq, sent_ns })
    }

    /// How long ago it was sent, given a receive time in [`monotonic_ns`].
    pub fn age_at(&self, rx_ns: u64) -> Duration {
        Duration::from_nanos(rx_ns.saturating_sub(self.sent_ns))
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds. All network namespaces share this clock, so times taken
/// in a source namespace and a receiver namespace can be subtracted.
pub fn monotonic_ns() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux; 0 would only make ages look large, never panic.
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| {
            let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
            let nanos = u64::try_from(t.tv_nsec()).unwrap_or(0);
            secs.saturating_mul(1_000_000_000).saturating_add(nanos)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_padding() {
        let p = Payload {
            seq: 7,
            sent_ns: 1_234_567_890,
        };
        let bytes = p.encode(100);
        assert_eq!(bytes.len(), 100);
        assert_eq!(&bytes[..8], b"MRPLAB01");
        assert_eq!(Payload::decode(&bytes), Some(p));
        assert_eq!(p.encode(0).len(), HEADER_LEN);
    }

    #[test]
    fn foreign_or_short_bytes_are_rejected() {
        assert_eq!(Payload::decode(b"hello world, this is not ours"), None);
        assert_eq!(Payload::decode(&MAGIC), None);
        assert_eq!(Payload::decode(&[]), None);
    }

    #[test]
    fn age_is_measured_on_the_monotonic_clock() {
        let before = monotonic_ns();
        let p = Payload {
            seq: 0,
            sent_ns: before,
        };
        assert!(monotonic_ns() >= before);
        assert_eq!(p.age_at(before + 5_000_000), Duration::from_millis(5));
        assert_eq!(p.age_at(before.saturating_sub(1)), Duration::ZERO);
    }
}
