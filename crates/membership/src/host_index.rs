//! The indexed form of a group's tracked hosts, used once a group has more than a few: every
//! operation a report or a timer needs costs O(log n) in the number of hosts (or O(1)), so
//! that thousands of hosts in one group (spoofed link-local sources, a large LAN) do not make
//! each report scan them all.
//!
//! Beside the hosts themselves it keeps an index of their expiries (the earliest is the group's
//! host deadline), and per source the number of INCLUDE-mode hosts naming it and of
//! EXCLUDE-mode hosts excluding it, with the number of EXCLUDE-mode hosts: a source is wanted
//! by some host when an INCLUDE-mode host names it or when not every EXCLUDE-mode host
//! excludes it.
//!
//! A host's entry is kept small, since a report's cost at a million hosts is the memory it
//! touches: EXCLUDE({}), the usual any-source join, is stored as no filter at all, any other
//! filter in a box of its own (24 bytes per IPv4 entry instead of 48).

use crate::host_filter::HostFilter;
use crate::{Address, Timestamp};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Clone, Debug)]
pub(crate) struct HostIndex<A: Address> {
    hosts: HashMap<A, (Stored<A>, Timestamp)>,
    expiry: BTreeSet<(Timestamp, A)>,
    counts: Counts<A>,
}

/// A host's filter in the index: `None` is EXCLUDE({}). Every stored filter is counted in
/// [`Counts`].
type Stored<A> = Option<Box<HostFilter<A>>>;

fn stored<A: Address>(filter: HostFilter<A>) -> Stored<A> {
    match filter {
        HostFilter::Exclude(sources) if sources.is_empty() => None,
        other => Some(Box::new(other)),
    }
}

fn unstored<A: Address>(stored: Stored<A>) -> HostFilter<A> {
    stored.map_or_else(|| HostFilter::Exclude(BTreeSet::new()), |filter| *filter)
}

/// What the hosts' filters add up to, per source.
#[derive(Clone, Debug)]
struct Counts<A> {
    /// Source → number of INCLUDE-mode hosts naming it (entries are never 0).
    included: BTreeMap<A, usize>,
    /// Source → number of EXCLUDE-mode hosts excluding it (entries are never 0).
    excluded: BTreeMap<A, usize>,
    exclude_hosts: usize,
}

impl<A: Address> Default for HostIndex<A> {
    fn default() -> Self {
        HostIndex {
            hosts: HashMap::new(),
            expiry: BTreeSet::new(),
            counts: Counts {
                included: BTreeMap::new(),
                excluded: BTreeMap::new(),
                exclude_hosts: 0,
            },
        }
    }
}

fn count_up<A: Ord + Copy>(counts: &mut BTreeMap<A, usize>, source: A) {
    *counts.entry(source).or_insert(0) += 1;
}

fn count_down<A: Ord>(counts: &mut BTreeMap<A, usize>, source: &A) {
    if let Some(count) = counts.get_mut(source) {
        *count -= 1;
        if *count == 0 {
            counts.remove(source);
        }
    }
}

impl<A: Address> Counts<A> {
    fn add_stored(&mut self, stored: &Stored<A>) {
        match stored {
            None => self.exclude_hosts += 1,
            Some(filter) => self.add(filter),
        }
    }

    fn remove_stored(&mut self, stored: &Stored<A>) {
        match stored {
            None => self.exclude_hosts -= 1,
            Some(filter) => self.remove(filter),
        }
    }

    fn add(&mut self, filter: &HostFilter<A>) {
        match filter {
            HostFilter::Include(sources) => {
                for source in sources {
                    count_up(&mut self.included, *source);
                }
            }
            HostFilter::Exclude(sources) => {
                self.exclude_hosts += 1;
                for source in sources {
                    count_up(&mut self.excluded, *source);
                }
            }
        }
    }

    fn remove(&mut self, filter: &HostFilter<A>) {
        match filter {
            HostFilter::Include(sources) => {
                for source in sources {
                    count_down(&mut self.included, source);
                }
            }
            HostFilter::Exclude(sources) => {
                self.exclude_hosts -= 1;
                for source in sources {
                    count_down(&mut self.excluded, source);
                }
            }
        }
    }
}

impl<A: Address> HostIndex<A> {
    pub(crate) fn len(&self) -> usize {
        self.hosts.len()
    }

    pub(crate) fn contains(&self, host: &A) -> bool {
        self.hosts.contains_key(host)
    }

    /// Does `host` name `source` in INCLUDE mode?
    pub(crate) fn includes(&self, host: &A, source: &A) -> bool {
        self.hosts
            .get(host)
            .and_then(|(stored, _)| stored.as_deref())
            .is_some_and(|filter| filter.includes(source))
    }

    /// Sets `host`'s filter and expiry, adding the host or replacing its entry in place (a box
    /// it already has is reused).
    pub(crate) fn put(&mut self, host: A, filter: HostFilter<A>, expires: Timestamp) {
        match self.hosts.entry(host) {
            Entry::Occupied(mut entry) => {
                let (slot, old_expires) = entry.get_mut();
                self.counts.remove_stored(slot);
                match (slot.as_deref_mut(), stored(filter)) {
                    (Some(boxed), Some(new)) => *boxed = *new,
                    (_, new) => *slot = new,
                }
                self.counts.add_stored(slot);
                if *old_expires != expires {
                    self.expiry.remove(&(*old_expires, host));
                    self.expiry.insert((expires, host));
                    *old_expires = expires;
                }
            }
            Entry::Vacant(entry) => {
                let slot = stored(filter);
                self.counts.add_stored(&slot);
                entry.insert((slot, expires));
                self.expiry.insert((expires, host));
            }
        }
    }

    /// Moves `host`'s filter out for [`Self::put`] to set again without moving the entry (nor
    /// freeing its box); returns the filter and the expiry. The entry is left with what it
    /// still counts: EXCLUDE({}), or an empty INCLUDE in its box.
    pub(crate) fn take_filter(&mut self, host: &A) -> Option<(HostFilter<A>, Timestamp)> {
        let (slot, expires) = self.hosts.get_mut(host)?;
        let filter = match slot.as_deref_mut() {
            None => HostFilter::Exclude(BTreeSet::new()),
            Some(boxed) => {
                self.counts.remove(boxed);
                std::mem::replace(boxed, HostFilter::nothing())
            }
        };
        Some((filter, *expires))
    }

    /// Removes `host`; returns its filter and expiry.
    pub(crate) fn take(&mut self, host: &A) -> Option<(HostFilter<A>, Timestamp)> {
        let (slot, expires) = self.hosts.remove(host)?;
        self.expiry.remove(&(expires, *host));
        self.counts.remove_stored(&slot);
        Some((unstored(slot), expires))
    }

    pub(crate) fn wants_source(&self, source: &A) -> bool {
        self.counts.included.contains_key(source)
            || self.counts.excluded.get(source).copied().unwrap_or(0) < self.counts.exclude_hosts
    }

    pub(crate) fn any_exclude(&self) -> bool {
        self.counts.exclude_hosts > 0
    }

    /// How many hosts name `source` in INCLUDE mode.
    pub(crate) fn including(&self, source: &A) -> usize {
        self.counts.included.get(source).copied().unwrap_or(0)
    }

    /// Every source named by an INCLUDE-mode host, in order.
    pub(crate) fn included_sources(&self) -> impl Iterator<Item = &A> + '_ {
        self.counts.included.keys()
    }

    /// How many distinct sources INCLUDE-mode hosts name.
    pub(crate) fn included_count(&self) -> usize {
        self.counts.included.len()
    }

    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        self.expiry.first().map(|(at, _)| *at)
    }

    /// Forgets the hosts whose expiry is at or before `at`; returns them (earliest first),
    /// showing each with its filter to `seen` first.
    pub(crate) fn expire(
        &mut self,
        at: Timestamp,
        mut seen: impl FnMut(&A, &HostFilter<A>),
    ) -> Vec<A> {
        let mut gone = Vec::new();
        while let Some(&(expires, host)) = self.expiry.first() {
            if expires > at {
                break;
            }
            if let Some((filter, _)) = self.take(&host) {
                seen(&host, &filter);
            }
            gone.push(host);
        }
        gone
    }

    /// Every host with its filter and expiry, in address order.
    pub(crate) fn into_sorted(self) -> Vec<(A, HostFilter<A>, Timestamp)> {
        let mut all: Vec<_> = self
            .hosts
            .into_iter()
            .map(|(host, (slot, expires))| (host, unstored(slot), expires))
            .collect();
        all.sort_unstable_by_key(|(host, _, _)| *host);
        all
    }

    /// The hosts in address order.
    pub(crate) fn sorted_hosts(&self) -> Vec<A> {
        let mut all: Vec<A> = self.hosts.keys().copied().collect();
        all.sort_unstable();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn a(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, last)
    }
    fn set(items: &[u8]) -> BTreeSet<Ipv4Addr> {
        items.iter().map(|&i| a(i)).collect()
    }

    #[test]
    fn counts_follow_every_host_change() {
        let mut index = HostIndex::default();
        index.put(a(10), HostFilter::Include(set(&[1, 2])), Timestamp(30));
        index.put(a(11), HostFilter::Include(set(&[2])), Timestamp(20));
        index.put(a(12), HostFilter::Exclude(set(&[3, 4])), Timestamp(40));
        assert!(index.wants_source(&a(1)) && index.wants_source(&a(5)));
        assert!(
            !index.wants_source(&a(3)),
            "excluded by the only EXCLUDE host"
        );
        assert_eq!(index.including(&a(2)), 2);
        assert_eq!(index.included_count(), 2);
        index.put(a(13), HostFilter::Exclude(set(&[4])), Timestamp(50));
        assert!(index.wants_source(&a(3)), "the second EXCLUDE host wants 3");
        assert!(!index.wants_source(&a(4)));
        // Replacing a host's filter moves its counts.
        index.put(a(12), HostFilter::Include(set(&[3])), Timestamp(60));
        assert!(!index.wants_source(&a(4)) && index.any_exclude());
        assert_eq!(index.deadline(), Some(Timestamp(20)));
        assert_eq!(index.expire(Timestamp(30), |_, _| {}), vec![a(11), a(10)]);
        assert_eq!((index.including(&a(1)), index.including(&a(2))), (0, 0));
        assert_eq!(index.expire(Timestamp(50), |_, _| {}), vec![a(13)]);
        assert!(!index.any_exclude() && !index.wants_source(&a(5)));
        assert_eq!(index.sorted_hosts(), vec![a(12)]);
        // A filter moved out and put back keeps one entry and one expiry.
        let (filter, _) = index.take_filter(&a(12)).expect("tracked");
        assert_eq!(index.including(&a(3)), 0);
        index.put(a(12), filter, Timestamp(70));
        assert_eq!((index.len(), index.expiry.len()), (1, 1));
        assert_eq!(
            (index.including(&a(3)), index.deadline()),
            (1, Some(Timestamp(70)))
        );
        assert!(index.take(&a(12)).is_some());
        assert!(index.counts.included.is_empty() && index.counts.excluded.is_empty());
        assert_eq!((index.len(), index.deadline()), (0, None));
    }
}
