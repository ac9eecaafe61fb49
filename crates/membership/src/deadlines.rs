//! A keyed set of deadlines: the earliest one in O(log n), any one set, moved or removed in
//! O(log n).
//!
//! The port indexes each group by its next deadline here, so that nothing ever scans all of a
//! link's groups. Inside a group, the few source timers are kept in a sorted vector
//! (`source_timers.rs`), the hosts in a small vector or, when there are many, an index of
//! their expiries (`hosts.rs`, `host_index.rs`). The engine keeps its per-link, re-report,
//! route-sample and kernel-retry deadlines in the same structure.

use crate::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
pub struct DeadlineSet<K: Ord + Copy> {
    by_key: BTreeMap<K, Timestamp>,
    by_time: BTreeSet<(Timestamp, K)>,
}

impl<K: Ord + Copy> Default for DeadlineSet<K> {
    fn default() -> Self {
        DeadlineSet {
            by_key: BTreeMap::new(),
            by_time: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Copy> DeadlineSet<K> {
    /// Sets or moves the deadline of `key`, or with `None` clears it. Returns the previous one.
    pub fn set(&mut self, key: K, deadline: Option<Timestamp>) -> Option<Timestamp> {
        let Some(at) = deadline else {
            return self.remove(&key);
        };
        let previous = self.by_key.insert(key, at);
        if let Some(old) = previous {
            if old == at {
                return previous;
            }
            self.by_time.remove(&(old, key));
        }
        self.by_time.insert((at, key));
        previous
    }

    pub fn remove(&mut self, key: &K) -> Option<Timestamp> {
        let old = self.by_key.remove(key)?;
        self.by_time.remove(&(old, *key));
        Some(old)
    }

    /// The earliest deadline and its key.
    pub fn first(&self) -> Option<(Timestamp, K)> {
        self.by_time.first().copied()
    }

    /// The earliest deadline.
    pub fn earliest(&self) -> Option<Timestamp> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// The keys due at or before `now`, earliest first. Their deadlines stay set.
    pub fn due(&self, now: Timestamp) -> Vec<K> {
        self.by_time
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, key)| *key)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_moves() {
        let mut set = DeadlineSet::default();
        set.set(1u8, Some(Timestamp(30)));
        set.set(2u8, Some(Timestamp(10)));
        set.set(3u8, Some(Timestamp(20)));
        assert_eq!(set.first(), Some((Timestamp(10), 2)));
        assert_eq!(set.set(2, Some(Timestamp(40))), Some(Timestamp(10)));
        assert_eq!(set.first(), Some((Timestamp(20), 3)));
        assert_eq!(set.remove(&3), Some(Timestamp(20)));
        assert_eq!(set.remove(&1), Some(Timestamp(30)));
        assert_eq!(set.first(), Some((Timestamp(40), 2)));
        assert_eq!(set.remove(&2), Some(Timestamp(40)));
        assert_eq!(set.remove(&2), None);
        assert_eq!(set.first(), None);
    }

    #[test]
    fn equal_deadlines_are_kept_apart_by_key() {
        let mut set = DeadlineSet::default();
        set.set(5u8, Some(Timestamp(7)));
        set.set(4u8, Some(Timestamp(7)));
        assert_eq!(set.first(), Some((Timestamp(7), 4)));
        set.remove(&4);
        assert_eq!(set.first(), Some((Timestamp(7), 5)));
    }

    #[test]
    fn earliest_and_due_follow_updates() {
        let mut index = DeadlineSet::default();
        index.set(1u32, Some(Timestamp(500)));
        index.set(2u32, Some(Timestamp(100)));
        index.set(3u32, Some(Timestamp(100)));
        assert_eq!(index.earliest(), Some(Timestamp(100)));
        index.set(2, Some(Timestamp(900)));
        assert_eq!(index.due(Timestamp(500)), vec![3, 1]);
        index.set(3, None);
        assert_eq!(index.due(Timestamp(500)), vec![1]);
        index.set(1, None);
        index.set(2, None);
        assert_eq!(index.earliest(), None);
    }
}
