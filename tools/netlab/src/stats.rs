//! What a [`crate::Receiver`] records, and the summary tests assert on (docs/test-strategy.md §7:
//! join → first packet, largest gap while joined, packet age, TTL seen).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::payload::Payload;

/// One received datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// When the receive thread got it.
    pub rx: Instant,
    /// The same moment on `CLOCK_MONOTONIC` (comparable with [`Payload::sent_ns`]).
    pub rx_ns: u64,
    /// Sender address and port.
    pub from: Option<SocketAddr>,
    /// TTL (IPv4) or hop limit (IPv6) as received: the source's value minus one per router.
    pub ttl: Option<u8>,
    /// Datagram length.
    pub len: usize,
    /// The netlab payload, `None` for datagrams from other senders.
    pub payload: Option<Payload>,
}

impl Datagram {
    /// The source's sequence number, if it came from a netlab source.
    pub fn seq(&self) -> Option<u64> {
        self.payload.map(|p| p.seq)
    }

    /// Time from send to receive, if it came from a netlab source.
    pub fn age(&self) -> Option<Duration> {
        self.payload.map(|p| p.age_at(self.rx_ns))
    }
}

/// Summary of a series of datagrams.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Number of datagrams.
    pub count: usize,
    /// Arrival of the first one.
    pub first_rx: Option<Instant>,
    /// Arrival of the last one.
    pub last_rx: Option<Instant>,
    /// Largest interval between two consecutive arrivals (a remaining member must never be
    /// cut off, docs/igmpproxy-differences.md D4). `None` with fewer than two datagrams.
    pub max_gap: Option<Duration>,
    /// Sequence numbers in arrival order (netlab payloads only).
    pub seqs: Vec<u64>,
    /// Oldest datagram on arrival: large values mean stale packets were released from the
    /// kernel's unresolved queue.
    pub max_age: Option<Duration>,
    /// Distinct TTL / hop-limit values seen.
    pub ttls: BTreeSet<u8>,
    /// Datagrams without a netlab payload.
    pub foreign: usize,
}

impl ReceiverStats {
    /// Summarises `datagrams` (in arrival order).
    pub fn from_datagrams(datagrams: &[Datagram]) -> ReceiverStats {
        let max_gap = datagrams
            .windows(2)
            .map(|w| w[1].rx.saturating_duration_since(w[0].rx))
            .max();
        ReceiverStats {
            count: datagrams.len(),
            first_rx: datagrams.first().map(|d| d.rx),
            last_rx: datagrams.last().map(|d| d.rx),
            max_gap,
            seqs: datagrams.iter().filter_map(Datagram::seq).collect(),
            max_age: datagrams.iter().filter_map(Datagram::age).max(),
            ttls: datagrams.iter().filter_map(|d| d.ttl).collect(),
            foreign: datagrams.iter().filter(|d| d.payload.is_none()).count(),
        }
    }

    /// Whether sequence numbers strictly increase (no reordering, no duplicates).
    pub fn is_increasing(&self) -> bool {
        self.seqs.windows(2).all(|w| w[0] < w[1])
    }

    /// Sequence numbers received more than once.
    pub fn duplicates(&self) -> usize {
        let distinct: BTreeSet<u64> = self.seqs.iter().copied().collect();
        self.seqs.len() - distinct.len()
    }

    /// Sequence numbers missing between the lowest and the highest received.
    pub fn missing(&self) -> Vec<u64> {
        let seen: BTreeSet<u64> = self.seqs.iter().copied().collect();
        match (seen.first(), seen.last()) {
            (Some(&lo), Some(&hi)) => (lo..=hi).filter(|s| !seen.contains(s)).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(base: Instant, at_ms: u64, seq: Option<u64>, sent_ms: u64) -> Datagram {
        Datagram {
            rx: base + Duration::from_millis(at_ms),
            rx_ns: at_ms * 1_000_000,
            from: None,
            ttl: Some(7),
            len: 64,
            payload: seq.map(|seq| Payload {
                seq,
                sent_ns: sent_ms * 1_000_000,
            }),
        }
    }

    #[test]
    fn summary_of_a_series_with_a_gap_a_loss_and_a_stale_packet() {
        let t0 = Instant::now();
        let series = [
            datagram(t0, 100, Some(0), 0), // stale: queued 100 ms
            datagram(t0, 110, Some(1), 109),
            datagram(t0, 400, Some(3), 399), // 290 ms gap, seq 2 lost
            datagram(t0, 410, None, 0),
        ];
        let stats = ReceiverStats::from_datagrams(&series);
        assert_eq!(stats.count, 4);
        assert_eq!(stats.first_rx, Some(t0 + Duration::from_millis(100)));
        assert_eq!(stats.last_rx, Some(t0 + Duration::from_millis(410)));
        assert_eq!(stats.max_gap, Some(Duration::from_millis(290)));
        assert_eq!(stats.seqs, [0, 1, 3]);
        assert_eq!(stats.max_age, Some(Duration::from_millis(100)));
        assert_eq!(stats.ttls.iter().copied().collect::<Vec<_>>(), [7]);
        assert_eq!(stats.foreign, 1);
        assert!(stats.is_increasing());
        assert_eq!(stats.missing(), [2]);
        assert_eq!(stats.duplicates(), 0);
    }

    #[test]
    fn reordering_and_duplicates_are_visible() {
        let t0 = Instant::now();
        let series = [
            datagram(t0, 0, Some(2), 0),
            datagram(t0, 1, Some(1), 0),
            datagram(t0, 2, Some(2), 0),
        ];
        let stats = ReceiverStats::from_datagrams(&series);
        assert!(!stats.is_increasing());
        assert_eq!(stats.duplicates(), 1);
        assert_eq!(ReceiverStats::from_datagrams(&[]).max_gap, None);
    }
}
