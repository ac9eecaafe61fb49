//! Refused kernel changes waiting to be asked for again, with capped exponential backoff
//! (docs/kernel-faults.md). The table only keeps the timing and the last error; what is asked
//! for on a retry is the engine's current intent, never the refused action.

use crate::kernel::KernelError;
use mrproxy_membership::{DeadlineSet, Timestamp};
use mrproxy_types::IfIndex;
use std::collections::BTreeMap;
use std::time::Duration;

/// The delay after the first refusal: within a second, so that a transient refusal (an uplink
/// flapping) costs a viewer less than a second.
pub const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest delay between two attempts: a limit that only an operator can raise costs one
/// system call per object every 30 s.
pub const MAX_RETRY: Duration = Duration::from_secs(30);

/// The delay after `refusals` refusals in a row: 500 ms, 1 s, 2 s, … capped at [`MAX_RETRY`].
pub fn backoff(refusals: u32) -> Duration {
    let doublings = refusals.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY)
}

/// What is retried, in one family (`A`: its address type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetryKey<A> {
    Attach(IfIndex),
    Membership(IfIndex, A),
    /// (group, source), the route table's order.
    Route(A, A),
}

impl<A> RetryKey<A> {
    /// The interface the object belongs to (routes: none of their own).
    pub fn ifindex(&self) -> Option<IfIndex> {
        match self {
            RetryKey::Attach(i) | RetryKey::Membership(i, _) => Some(*i),
            RetryKey::Route(..) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The latest refusal.
    pub error: KernelError,
    /// Refusals in a row so far.
    pub attempts: u32,
    pub next_at: Timestamp,
}

#[derive(Debug)]
pub struct Retries<A: Ord + Copy> {
    pending: BTreeMap<RetryKey<A>, Pending>,
    deadlines: DeadlineSet<RetryKey<A>>,
}

impl<A: Ord + Copy> Default for Retries<A> {
    fn default() -> Self {
        Retries {
            pending: BTreeMap::new(),
            deadlines: DeadlineSet::default(),
        }
    }
}

impl<A: Ord + Copy> Retries<A> {
    /// Records a refusal at `now` and schedules the next attempt; returns the refusals in a
    /// row and the delay. A refusal of a newer action for the same object continues the
    /// same backoff (a churning object is not retried faster).
    pub fn refused(&mut self, now: Timestamp, key: RetryKey<A>, error: KernelError) -> &Pending {
        let attempts = self.pending.get(&key).map_or(0, |p| p.attempts) + 1;
        let next_at = now + backoff(attempts);
        self.deadlines.set(key, Some(next_at));
        self.pending.insert(
            key,
            Pending {
                error,
                attempts,
                next_at,
            },
        );
        &self.pending[&key]
    }

    /// The kernel took the object's current state: forget it; returns what was pending.
    pub fn confirmed(&mut self, key: RetryKey<A>) -> Option<Pending> {
        self.deadlines.set(key, None);
        self.pending.remove(&key)
    }

    /// The intent is gone (group left, entry removed, interface gone): nothing to retry.
    pub fn withdraw(&mut self, key: RetryKey<A>) {
        self.confirmed(key);
    }

    /// Every entry of an interface that stops being used (its attachment and memberships).
    pub fn withdraw_interface(&mut self, ifindex: IfIndex) {
        let keys: Vec<_> = self
            .pending
            .keys()
            .filter(|k| k.ifindex() == Some(ifindex))
            .copied()
            .collect();
        for key in keys {
            self.withdraw(key);
        }
    }

    pub fn attempts(&self, key: &RetryKey<A>) -> u32 {
        self.pending.get(key).map_or(0, |p| p.attempts)
    }

    pub fn contains(&self, key: &RetryKey<A>) -> bool {
        self.pending.contains_key(key)
    }

    /// Keys whose attempt is due at `now`.
    pub fn due(&self, now: Timestamp) -> Vec<RetryKey<A>> {
        self.deadlines.due(now)
    }

    /// An attempt was made at `now`: until the kernel answers, the next one is one more delay
    /// of the current length away (the answer replaces it: a refusal reschedules, a
    /// confirmation clears).
    pub fn attempted(&mut self, now: Timestamp, key: RetryKey<A>) {
        if let Some(p) = self.pending.get_mut(&key) {
            p.next_at = now + backoff(p.attempts);
            self.deadlines.set(key, Some(p.next_at));
        }
    }

    pub fn earliest(&self) -> Option<Timestamp> {
        self.deadlines.earliest()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&RetryKey<A>, &Pending)> {
        self.pending.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelErrorKind;

    fn enobufs() -> KernelError {
        KernelError {
            errno: 105,
            name: "ENOBUFS".into(),
            kind: KernelErrorKind::PerSocketLimit,
            message: "no buffer space".into(),
        }
    }

    #[test]
    fn backoff_doubles_from_half_a_second_and_caps_at_thirty() {
        let ms: Vec<u128> = (1..=9).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(
            ms,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(backoff(u32::MAX), MAX_RETRY);
    }

    #[test]
    fn refusals_schedule_confirmations_and_withdrawals_clear() {
        let mut r: Retries<u32> = Retries::default();
        let key = RetryKey::Membership(IfIndex(1), 7);
        assert_eq!(r.refused(Timestamp(1000), key, enobufs()).attempts, 1);
        assert_eq!(r.earliest(), Some(Timestamp(1500)));
        assert!(r.due(Timestamp(1499)).is_empty());
        assert_eq!(r.due(Timestamp(1500)), vec![key]);
        r.attempted(Timestamp(1500), key);
        assert_eq!(r.earliest(), Some(Timestamp(2000)), "unanswered: again");
        let p = r.refused(Timestamp(1500), key, enobufs());
        assert_eq!((p.attempts, p.next_at), (2, Timestamp(2500)));
        assert_eq!(r.confirmed(key).map(|p| p.attempts), Some(2));
        assert_eq!(r.earliest(), None);
        r.refused(Timestamp(0), key, enobufs());
        r.refused(Timestamp(0), RetryKey::Attach(IfIndex(1)), enobufs());
        r.refused(Timestamp(0), RetryKey::Membership(IfIndex(2), 7), enobufs());
        r.withdraw_interface(IfIndex(1));
        assert_eq!(
            r.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            vec![RetryKey::Membership(IfIndex(2), 7)]
        );
    }
}
