//! How many kernel upcalls (new (S,G) traffic without a forwarding entry) each input interface
//! may cause per second: a token bucket per interface, refilled with the engine's clock.
//!
//! A host on a downstream that sends to thousands of (S,G) would otherwise make the daemon
//! install an entry per datagram. The bucket holds one second's worth of upcalls, so a short
//! burst (a set-top box starting several channels) passes whole.

use mrproxy_membership::Timestamp;
use mrproxy_types::IfIndex;
use std::collections::BTreeMap;

/// Tokens are counted in thousandths, so that a rate of N per second refills N thousandths per
/// millisecond with integer arithmetic.
const MILLI: u64 = 1000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    milli_tokens: u64,
    refilled: Timestamp,
}

/// One token bucket per input interface.
#[derive(Debug, Default)]
pub struct UpcallBudget {
    buckets: BTreeMap<IfIndex, Bucket>,
}

impl UpcallBudget {
    /// Takes one upcall from `iif`'s budget of `per_second`; false when it is used up.
    pub fn take(&mut self, iif: IfIndex, per_second: u32, now: Timestamp) -> bool {
        let capacity = u64::from(per_second).saturating_mul(MILLI);
        let bucket = self.buckets.entry(iif).or_insert(Bucket {
            milli_tokens: capacity,
            refilled: now,
        });
        let elapsed = now.saturating_since(bucket.refilled).as_millis();
        let elapsed = u64::try_from(elapsed).unwrap_or(u64::MAX);
        bucket.milli_tokens = bucket
            .milli_tokens
            .saturating_add(elapsed.saturating_mul(u64::from(per_second)))
            .min(capacity);
        bucket.refilled = now;
        if bucket.milli_tokens >= MILLI {
            bucket.milli_tokens -= MILLI;
            true
        } else {
            false
        }
    }

    /// The interface is gone: its bucket too.
    pub fn forget(&mut self, iif: IfIndex) {
        self.buckets.remove(&iif);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_of_upcalls_then_the_rate() {
        let mut budget = UpcallBudget::default();
        let iif = IfIndex(3);
        let start = Timestamp(10_000);
        assert!((0..5).all(|_| budget.take(iif, 5, start)));
        assert!(
            !budget.take(iif, 5, start),
            "the burst is one second's worth"
        );
        // Another interface has its own budget.
        assert!(budget.take(IfIndex(4), 5, start));
        // 5 per second: one more every 200 ms.
        assert!(!budget.take(iif, 5, Timestamp(10_199)));
        assert!(budget.take(iif, 5, Timestamp(10_200)));
        assert!(!budget.take(iif, 5, Timestamp(10_200)));
        // A long pause refills to the burst size, not beyond.
        let later = Timestamp(100_000);
        assert_eq!((0..10).filter(|_| budget.take(iif, 5, later)).count(), 5);
        budget.forget(iif);
        assert!(budget.buckets.len() == 1);
    }
}
