//! An index of deadlines by key: O(log n) to set, clear and find the earliest one.

use mrproxy_membership::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug)]
pub struct DeadlineIndex<K: Ord + Copy> {
    by_time: BTreeSet<(Timestamp, K)>,
    by_key: BTreeMap<K, Timestamp>,
}

impl<K: Ord + Copy> Default for DeadlineIndex<K> {
    fn default() -> Self {
        DeadlineIndex {
            by_time: BTreeSet::new(),
            by_key: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Copy> DeadlineIndex<K> {
    /// Set (or with `None`, clear) the deadline of `key`.
    pub fn set(&mut self, key: K, deadline: Option<Timestamp>) {
        if let Some(old) = self.by_key.remove(&key) {
            self.by_time.remove(&(old, key));
        }
        if let Some(at) = deadline {
            self.by_key.insert(key, at);
            self.by_time.insert((at, key));
        }
    }

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
    fn earliest_and_due_follow_updates() {
        let mut index = DeadlineIndex::default();
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
