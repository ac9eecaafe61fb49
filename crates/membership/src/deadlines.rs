//! A keyed set of deadlines: the earliest one in O(log n), any one moved or removed in O(log n).
//!
//! Used at three levels: the port indexes each group by its next deadline, a group indexes its
//! running source timers and its tracked hosts' expiry. Nothing ever scans all timers.

use crate::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
pub(crate) struct DeadlineSet<K: Ord + Copy> {
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
    /// Sets (or moves) the deadline of `key`. Returns the previous one.
    pub(crate) fn set(&mut self, key: K, at: Timestamp) -> Option<Timestamp> {
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

    pub(crate) fn remove(&mut self, key: &K) -> Option<Timestamp> {
        let old = self.by_key.remove(key)?;
        self.by_time.remove(&(old, *key));
        Some(old)
    }

    pub(crate) fn get(&self, key: &K) -> Option<Timestamp> {
        self.by_key.get(key).copied()
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.by_key.contains_key(key)
    }

    /// The earliest deadline and its key.
    pub(crate) fn first(&self) -> Option<(Timestamp, K)> {
        self.by_time.first().copied()
    }

    /// Removes and returns the earliest entry if it is due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, K)> {
        let (at, key) = self.first()?;
        if at > now {
            return None;
        }
        self.by_time.remove(&(at, key));
        self.by_key.remove(&key);
        Some((at, key))
    }

    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, Timestamp)> + '_ {
        self.by_key.iter().map(|(k, t)| (*k, *t))
    }

    /// Keys in key order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.by_key.keys().copied()
    }

    pub(crate) fn clear(&mut self) {
        self.by_key.clear();
        self.by_time.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_moves() {
        let mut set = DeadlineSet::default();
        set.set(1u8, Timestamp(30));
        set.set(2u8, Timestamp(10));
        set.set(3u8, Timestamp(20));
        assert_eq!(set.first(), Some((Timestamp(10), 2)));
        set.set(2, Timestamp(40));
        assert_eq!(set.first(), Some((Timestamp(20), 3)));
        assert_eq!(set.pop_due(Timestamp(19)), None);
        assert_eq!(set.pop_due(Timestamp(25)), Some((Timestamp(20), 3)));
        assert_eq!(set.remove(&1), Some(Timestamp(30)));
        assert_eq!(set.len(), 1);
        assert_eq!(set.first(), Some((Timestamp(40), 2)));
        assert_eq!(set.get(&2), Some(Timestamp(40)));
        assert!(!set.contains(&3));
    }

    #[test]
    fn equal_deadlines_are_kept_apart_by_key() {
        let mut set = DeadlineSet::default();
        set.set(5u8, Timestamp(7));
        set.set(4u8, Timestamp(7));
        assert_eq!(set.pop_due(Timestamp(7)), Some((Timestamp(7), 4)));
        assert_eq!(set.pop_due(Timestamp(7)), Some((Timestamp(7), 5)));
        assert!(set.is_empty());
    }
}
