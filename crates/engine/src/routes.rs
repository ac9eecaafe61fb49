//! The (S,G) forwarding entries the engine has installed in the kernel, and their idle expiry.
//!
//! Entries are created on kernel upcalls and kept until their packet counter stops moving for a
//! whole [`ROUTE_SAMPLE_INTERVAL`]; when traffic returns the kernel raises a new upcall. An entry
//! with no outputs is kept too: it stops repeated upcalls and stale queued packets (igmpproxy's
//! D35).

use crate::event::IfIndex;
use crate::timers::DeadlineIndex;
use mrproxy_membership::{Address, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
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

/// Routes keyed by (group, source), so that one group's routes are one range.
#[derive(Debug)]
pub struct RouteTable<A: Address> {
    routes: BTreeMap<(A, A), Route>,
    samples: DeadlineIndex<(A, A)>,
}

impl<A: Address> Default for RouteTable<A> {
    fn default() -> Self {
        RouteTable {
            routes: BTreeMap::new(),
            samples: DeadlineIndex::default(),
        }
    }
}

impl<A: Address> RouteTable<A> {
    pub fn get(&self, group: A, source: A) -> Option<&Route> {
        self.routes.get(&(group, source))
    }

    pub fn get_mut(&mut self, group: A, source: A) -> Option<&mut Route> {
        self.routes.get_mut(&(group, source))
    }

    /// Install or replace; the first sample is one interval from now.
    pub fn insert(&mut self, now: Timestamp, group: A, source: A, route: Route) {
        self.routes.insert((group, source), route);
        self.samples
            .set((group, source), Some(now + ROUTE_SAMPLE_INTERVAL));
    }

    pub fn remove(&mut self, group: A, source: A) -> Option<Route> {
        self.samples.set((group, source), None);
        self.routes.remove(&(group, source))
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
        self.routes.iter()
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
            Some(route) if route.last_packets == packets => true,
            Some(route) => {
                route.last_packets = packets;
                false
            }
            None => false,
        }
    }

    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.samples.earliest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn route(iif: u32) -> Route {
        Route {
            iif: IfIndex(iif),
            oifs: vec![],
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
        table.insert(Timestamp(0), g1, a("192.0.2.9"), route(1));
        table.insert(Timestamp(0), g1, a("192.0.2.1"), route(1));
        table.insert(Timestamp(10), g2, a("192.0.2.1"), route(1));
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
}
