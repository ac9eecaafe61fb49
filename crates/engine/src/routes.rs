//! The (S,G) forwarding entries the engine has installed in the kernel, their idle expiry, and
//! the indexes that keep the table bounded.
//!
//! Entries are created on kernel upcalls and kept until their packet counter stops moving for a
//! whole [`ROUTE_SAMPLE_INTERVAL`]; when traffic returns the kernel raises a new upcall. An entry
//! with no outputs is kept too: it stops repeated upcalls and stale queued packets: the kernel
//! queues traffic of an unresolved (S,G) until an entry exists (docs/hostile-lans.md).
//!
//! Any host on a downstream can send to as many (S,G) as it likes, and each one raises an
//! upcall, so the table has bounds (`maxroutes` per input interface, `maxtotalroutes` per
//! family). At a bound, the oldest entry is replaced; entries without outputs go first,
//! because they only hold back upcalls. Every index here is ordered, so finding that entry costs
//! O(log n).

use mrproxy_membership::{Address, DeadlineSet, Timestamp};
use mrproxy_types::IfIndex;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How often a route's packet counter is sampled; no packets in one interval = idle.
pub const ROUTE_SAMPLE_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    pub iif: IfIndex,
    /// Sorted; never contains `iif`.
    pub oifs: Vec<IfIndex>,
    /// False for a source the upstream's networks and altnets do not cover (installed with no
    /// outputs).
    pub accepted: bool,
    /// The packet counter at the last sample (0 when installed).
    pub last_packets: u64,
}

/// Installation order: a counter, so that entries installed in the same millisecond still have
/// an order.
type Age = u64;

/// Routes keyed by (group, source), so that one group's routes are one range.
#[derive(Debug)]
pub struct RouteTable<A: Address> {
    routes: BTreeMap<(A, A), (Age, Route)>,
    samples: DeadlineSet<(A, A)>,
    /// Every entry by input interface, oldest first.
    by_input: BTreeSet<(IfIndex, Age, A, A)>,
    per_input: BTreeMap<IfIndex, usize>,
    /// Entries without outputs, by input interface and oldest first, and oldest first overall.
    idle_by_input: BTreeSet<(IfIndex, Age, A, A)>,
    idle: BTreeSet<(Age, A, A)>,
    next_age: Age,
}

impl<A: Address> Default for RouteTable<A> {
    fn default() -> Self {
        RouteTable {
            routes: BTreeMap::new(),
            samples: DeadlineSet::default(),
            by_input: BTreeSet::new(),
            per_input: BTreeMap::new(),
            idle_by_input: BTreeSet::new(),
            idle: BTreeSet::new(),
            next_age: 0,
        }
    }
}

impl<A: Address> RouteTable<A> {
    pub fn get(&self, group: A, source: A) -> Option<&Route> {
        self.routes.get(&(group, source)).map(|(_, route)| route)
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// How many entries take their traffic from `iif`.
    pub fn count_from(&self, iif: IfIndex) -> usize {
        self.per_input.get(&iif).copied().unwrap_or(0)
    }

    /// Install or replace; the first sample is one interval from now.
    pub fn insert(&mut self, now: Timestamp, group: A, source: A, route: Route) {
        self.remove(group, source);
        let age = self.next_age;
        self.next_age += 1;
        self.index(age, group, source, &route);
        self.routes.insert((group, source), (age, route));
        self.samples
            .set((group, source), Some(now + ROUTE_SAMPLE_INTERVAL));
    }

    pub fn remove(&mut self, group: A, source: A) -> Option<Route> {
        let (age, route) = self.routes.remove(&(group, source))?;
        self.samples.set((group, source), None);
        self.unindex(age, group, source, &route);
        Some(route)
    }

    /// Updates an entry's outputs and acceptance; true when the outputs changed.
    pub fn set_outputs(&mut self, group: A, source: A, accepted: bool, oifs: Vec<IfIndex>) -> bool {
        let Some((age, route)) = self.routes.get_mut(&(group, source)) else {
            return false;
        };
        route.accepted = accepted;
        if route.oifs == oifs {
            return false;
        }
        let (age, iif) = (*age, route.iif);
        match (route.oifs.is_empty(), oifs.is_empty()) {
            (true, false) => {
                self.idle_by_input.remove(&(iif, age, group, source));
                self.idle.remove(&(age, group, source));
            }
            (false, true) => {
                self.idle_by_input.insert((iif, age, group, source));
                self.idle.insert((age, group, source));
            }
            _ => {}
        }
        route.oifs = oifs;
        true
    }

    /// The entry to replace when `iif` has used all its entries: its oldest one without outputs,
    /// else its oldest one (traffic from the same interface competes only with itself).
    pub fn oldest_from(&self, iif: IfIndex) -> Option<(A, A)> {
        let first = |set: &BTreeSet<(IfIndex, Age, A, A)>| {
            set.range((iif, 0, A::UNSPECIFIED, A::UNSPECIFIED)..)
                .next()
                .filter(|(i, ..)| *i == iif)
                .map(|&(_, _, g, s)| (g, s))
        };
        first(&self.idle_by_input).or_else(|| first(&self.by_input))
    }

    /// The entry to replace when the whole family is full: the oldest one without outputs
    /// anywhere. Entries that forward are never taken for another interface's traffic.
    pub fn oldest_idle(&self) -> Option<(A, A)> {
        self.idle.first().map(|&(_, g, s)| (g, s))
    }

    /// The (group, source) keys of one group, in source order.
    pub fn keys_of_group(&self, group: A) -> Vec<(A, A)> {
        self.routes
            .range((group, A::UNSPECIFIED)..)
            .take_while(|((g, _), _)| *g == group)
            .map(|(k, _)| *k)
            .collect()
    }

    pub fn keys(&self) -> Vec<(A, A)> {
        self.routes.keys().copied().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&(A, A), &Route)> {
        self.routes.iter().map(|(key, (_, route))| (key, route))
    }

    /// Routes whose sample is due; each is rescheduled one interval later.
    pub fn take_due_samples(&mut self, now: Timestamp) -> Vec<(A, A)> {
        let due = self.samples.due(now);
        for key in &due {
            self.samples.set(*key, Some(now + ROUTE_SAMPLE_INTERVAL));
        }
        due
    }

    /// A counter reading for a sampled route. Returns true when the route was idle for the
    /// whole interval (the counter did not move); a counter that went backwards (the kernel
    /// re-created the entry) counts as activity.
    pub fn record_sample(&mut self, group: A, source: A, packets: u64) -> bool {
        match self.routes.get_mut(&(group, source)) {
            Some((_, route)) if route.last_packets == packets => true,
            Some((_, route)) => {
                route.last_packets = packets;
                false
            }
            None => false,
        }
    }

    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.samples.earliest()
    }

    fn index(&mut self, age: Age, group: A, source: A, route: &Route) {
        self.by_input.insert((route.iif, age, group, source));
        *self.per_input.entry(route.iif).or_insert(0) += 1;
        if route.oifs.is_empty() {
            self.idle_by_input.insert((route.iif, age, group, source));
            self.idle.insert((age, group, source));
        }
    }

    fn unindex(&mut self, age: Age, group: A, source: A, route: &Route) {
        self.by_input.remove(&(route.iif, age, group, source));
        if let Some(count) = self.per_input.get_mut(&route.iif) {
            *count -= 1;
            if *count == 0 {
                self.per_input.remove(&route.iif);
            }
        }
        self.idle_by_input.remove(&(route.iif, age, group, source));
        self.idle.remove(&(age, group, source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn route(iif: u32, oifs: &[u32]) -> Route {
        Route {
            iif: IfIndex(iif),
            oifs: oifs.iter().map(|&i| IfIndex(i)).collect(),
            accepted: true,
            last_packets: 0,
        }
    }
    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn group_ranges_and_samples() {
        let mut table = RouteTable::default();
        let (g1, g2) = (a("239.1.1.1"), a("239.1.1.2"));
        table.insert(Timestamp(0), g1, a("192.0.2.9"), route(1, &[]));
        table.insert(Timestamp(0), g1, a("192.0.2.1"), route(1, &[]));
        table.insert(Timestamp(10), g2, a("192.0.2.1"), route(1, &[]));
        assert_eq!(
            table.keys_of_group(g1),
            vec![(g1, a("192.0.2.1")), (g1, a("192.0.2.9"))]
        );
        assert_eq!(table.next_deadline(), Some(Timestamp(60_000)));
        assert_eq!(table.take_due_samples(Timestamp(60_000)).len(), 2);
        assert_eq!(table.next_deadline(), Some(Timestamp(60_010)));
        // No packets since installation: idle.
        assert!(table.record_sample(g1, a("192.0.2.1"), 0));
        assert!(!table.record_sample(g1, a("192.0.2.9"), 7));
        assert!(table.record_sample(g1, a("192.0.2.9"), 7));
        assert!(
            !table.record_sample(g2, a("203.0.113.1"), 7),
            "unknown routes are never idle"
        );
        table.remove(g2, a("192.0.2.1"));
        assert_eq!(table.keys().len(), 2);
        assert_eq!(table.next_deadline(), Some(Timestamp(120_000)));
    }

    #[test]
    fn replacement_candidates_prefer_idle_entries_of_the_same_input() {
        let mut table = RouteTable::default();
        let g = a("239.1.1.1");
        let (s1, s2, s3, s4) = (
            a("192.0.2.1"),
            a("192.0.2.2"),
            a("192.0.2.3"),
            a("192.0.2.4"),
        );
        table.insert(Timestamp(0), g, s1, route(1, &[2]));
        table.insert(Timestamp(0), g, s2, route(1, &[]));
        table.insert(Timestamp(0), g, s3, route(3, &[]));
        table.insert(Timestamp(0), g, s4, route(1, &[]));
        assert_eq!(table.count_from(IfIndex(1)), 3);
        assert_eq!(table.count_from(IfIndex(3)), 1);
        assert_eq!(table.oldest_from(IfIndex(1)), Some((g, s2)));
        assert_eq!(table.oldest_idle(), Some((g, s2)));
        // s2 starts forwarding: the next idle entry of input 1 is s4; overall s3 is older.
        assert!(table.set_outputs(g, s2, true, vec![IfIndex(2)]));
        assert!(!table.set_outputs(g, s2, true, vec![IfIndex(2)]));
        assert_eq!(table.oldest_from(IfIndex(1)), Some((g, s4)));
        assert_eq!(table.oldest_idle(), Some((g, s3)));
        // Without idle entries, the oldest entry of that input.
        table.remove(g, s4);
        assert_eq!(table.oldest_from(IfIndex(1)), Some((g, s1)));
        assert_eq!(table.oldest_from(IfIndex(9)), None);
        // Going idle again puts it back in the idle indexes at its installation age.
        assert!(table.set_outputs(g, s1, true, Vec::new()));
        assert_eq!(table.oldest_idle(), Some((g, s1)));
        table.remove(g, s1);
        table.remove(g, s2);
        table.remove(g, s3);
        assert_eq!(table.len(), 0);
        assert_eq!(table.count_from(IfIndex(1)), 0);
        assert_eq!(table.oldest_idle(), None);
        assert!(table.per_input.is_empty() && table.by_input.is_empty());
    }
}
