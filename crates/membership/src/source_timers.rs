//! The running source timers of one group (RFC 9776 §6.2.3, RFC 9777 §7.2.3): in a vector
//! sorted by source. A group has no source (any-source joins) or a few (SSM), so this is both
//! smaller and faster than a pair of trees: membership tests are binary searches, and the
//! earliest timer is found by a scan of the group's sources (at most `max_sources_per_group`),
//! never of the link's groups.

use crate::Timestamp;
use crate::few::reserve_one;

#[derive(Clone, Debug)]
pub(crate) struct SourceTimers<K> {
    /// Sorted by key, keys unique.
    entries: Vec<(K, Timestamp)>,
}

impl<K> Default for SourceTimers<K> {
    fn default() -> Self {
        SourceTimers {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord + Copy> SourceTimers<K> {
    fn position(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    /// Sets (or moves) the timer of `key`. Returns the previous deadline.
    pub(crate) fn set(&mut self, key: K, at: Timestamp) -> Option<Timestamp> {
        match self.position(&key) {
            Ok(index) => self
                .entries
                .get_mut(index)
                .map(|(_, old)| std::mem::replace(old, at)),
            Err(index) => {
                reserve_one(&mut self.entries);
                self.entries.insert(index, (key, at));
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<Timestamp> {
        let index = self.position(key).ok()?;
        Some(self.entries.remove(index).1)
    }

    pub(crate) fn get(&self, key: &K) -> Option<Timestamp> {
        let index = self.position(key).ok()?;
        self.entries.get(index).map(|(_, at)| *at)
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.position(key).is_ok()
    }

    /// The earliest deadline.
    pub(crate) fn earliest(&self) -> Option<Timestamp> {
        self.entries.iter().map(|(_, at)| *at).min()
    }

    /// Removes every entry due at or before `now`; returns their keys in key order.
    pub(crate) fn take_due(&mut self, now: Timestamp) -> Vec<K> {
        let mut due = Vec::new();
        self.entries.retain(|(key, at)| {
            let expired = *at <= now;
            if expired {
                due.push(*key);
            }
            !expired
        });
        due
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, Timestamp)> + '_ {
        self.entries.iter().copied()
    }

    /// Keys in key order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.entries.iter().map(|(key, _)| *key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_by_key_with_earliest_and_due() {
        let mut timers = SourceTimers::default();
        assert_eq!(timers.set(3u8, Timestamp(30)), None);
        assert_eq!(timers.set(1u8, Timestamp(10)), None);
        assert_eq!(timers.set(2u8, Timestamp(20)), None);
        assert_eq!(timers.keys().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(timers.earliest(), Some(Timestamp(10)));
        assert_eq!(timers.set(1, Timestamp(40)), Some(Timestamp(10)));
        assert_eq!(timers.earliest(), Some(Timestamp(20)));
        assert_eq!(timers.get(&1), Some(Timestamp(40)));
        assert_eq!(timers.take_due(Timestamp(30)), vec![2, 3]);
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.remove(&1), Some(Timestamp(40)));
        assert_eq!(timers.remove(&1), None);
        assert!(timers.is_empty() && !timers.contains(&1));
        assert_eq!(timers.earliest(), None);
    }
}
