//! [`Port`]: the router part of one link. This file holds the state, the public entry points
//! and the timer loop; report processing is in `reports.rs`, the RFC tables in `tables.rs`.

use crate::deadlines::DeadlineSet;
use crate::group::{Effects, Group};
use crate::querier::{Querier, QuerierStep};
use crate::specific::{general_query, round_queries};
use crate::timing::Timing;
use crate::{
    Address, Counters, Limit, Message, Mode, Outgoing, Output, PortConfig, PortEvent, PortSnapshot,
    Query, Subscription, Timestamp,
};
use std::collections::{BTreeMap, HashMap};

/// The router part of IGMP or MLD on one link. See the crate documentation for the contract.
#[derive(Clone, Debug)]
pub struct Port<A: Address> {
    pub(crate) config: PortConfig,
    pub(crate) querier: Querier<A>,
    /// Every group with state or with specific queries still to send, in address order. Boxed:
    /// a tree node then holds eleven pointers rather than eleven groups, most of it unused.
    pub(crate) groups: BTreeMap<A, Box<Group<A>>>,
    /// Each group's next deadline, so that timers cost O(log n) (never a scan of all groups).
    pub(crate) schedule: DeadlineSet<A>,
    /// How many groups each tracked host is a member of (for `max_groups_per_host`); its keys
    /// are the hosts tracked one by one (for `max_hosts`). The anonymous host is not in it.
    pub(crate) host_groups: HashMap<A, usize>,
    /// The groups' host-state entries summed (`max_host_entries`).
    pub(crate) host_entries: usize,
    pub(crate) counters: Counters,
}

impl<A: Address> Port<A> {
    pub fn new(config: PortConfig, now: Timestamp) -> Self {
        // Nothing runs before an address is known (set_address starts the querier).
        let _ = now;
        Port {
            config,
            querier: Querier::new(),
            groups: BTreeMap::new(),
            schedule: DeadlineSet::default(),
            host_groups: HashMap::new(),
            host_entries: 0,
            counters: Counters::default(),
        }
    }

    /// Our address on the link (IPv4 primary address; IPv6 link-local). `None`: we cannot query.
    /// Getting an address starts the querier role with the startup queries (RFC 9776 §6.6.2: a
    /// router starts as querier), unless a lower-addressed querier is already known.
    pub fn set_address(&mut self, address: Option<A>, now: Timestamp, out: &mut Output<A>) {
        self.timeout(now, out);
        let step = self.querier.set_address(address, now, &self.config);
        self.apply_querier_step(step, out);
    }

    /// Replace the configuration (reload), keeping the group state.
    ///
    /// New intervals take effect from the next timer set on; timers already running keep their
    /// deadlines. A version change applies at once to the next message and query. A change to
    /// [`QuerierPolicy::Always`](crate::QuerierPolicy::Always) takes the querier role at once.
    pub fn set_config(&mut self, config: PortConfig, now: Timestamp, out: &mut Output<A>) {
        self.timeout(now, out);
        self.config = config;
        let step = self.querier.claim(now, &self.config);
        self.apply_querier_step(step, out);
    }

    pub fn config(&self) -> &PortConfig {
        &self.config
    }

    /// One message from `from` (a host, or 0.0.0.0 / :: for anonymous reports).
    pub fn receive(&mut self, now: Timestamp, from: A, message: Message<A>, out: &mut Output<A>) {
        // Timers due before this message must act first, whenever the caller last woke us.
        self.timeout(now, out);
        match message {
            Message::Query(query) => self.receive_query(now, from, query, out),
            // A report from our own address is a receiver on the router itself (a udpxy joined
            // on this LAN): it is a host of this link like any other (docs/igmpproxy-differences.md D34).
            Message::ReportV1 { group } => {
                self.counters.reports_received += 1;
                self.older_report(now, from, group, Mode::V1, out);
            }
            Message::ReportV2 { group } => {
                self.counters.reports_received += 1;
                self.older_report(now, from, group, Mode::V2, out);
            }
            Message::Leave { group } => {
                self.counters.leaves_received += 1;
                self.leave(now, from, group, out);
            }
            Message::ReportV3 { records } => {
                self.counters.reports_received += 1;
                let max = self.config.max_records;
                let first_ignored = records.get(max).map(|record| record.group);
                let mut room_scan = true;
                for record in records.into_iter().take(max) {
                    // In order: a group named twice in one report is processed twice.
                    self.record(now, from, record, &mut room_scan, out);
                }
                if let Some(group) = first_ignored {
                    self.limit_hit(Limit::Records, from, group, out);
                }
            }
        }
    }

    /// Send a general query now if we are the querier (used for the optional "query downstream when
    /// an upstream general query arrives"); the regular schedule is not disturbed.
    pub fn query_now(&mut self, now: Timestamp, out: &mut Output<A>) {
        self.timeout(now, out);
        if self.querier.is_querier() {
            self.send(general_query(&self.timing()), out);
        }
    }

    /// Handle every timer due at or before `now`, in deadline order: each is processed at its
    /// own time, so expiries of one group keep their order even when `now` is far ahead.
    pub fn timeout(&mut self, now: Timestamp, out: &mut Output<A>) {
        loop {
            let querier_due = self.querier.deadline().filter(|at| *at <= now);
            let group_due = self.schedule.first().filter(|(at, _)| *at <= now);
            match (querier_due, group_due) {
                (None, None) => return,
                (Some(at), Some((group_at, _))) if at <= group_at => {
                    self.querier_timer(at, now, out)
                }
                (Some(at), None) => self.querier_timer(at, now, out),
                (_, Some((at, group))) => self.group_timer(group, at, out),
            }
        }
    }

    pub fn next_deadline(&self) -> Option<Timestamp> {
        let group = self.schedule.first().map(|(at, _)| at);
        match (self.querier.deadline(), group) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True when we are the elected querier (and have an address).
    pub fn is_querier(&self) -> bool {
        self.querier.is_querier()
    }

    /// The elected querier's address (ours when we are the querier).
    pub fn querier_address(&self) -> Option<A> {
        self.querier.querier_address()
    }

    /// Forwarding suggestion for (source, group) (RFC 9776 §6.3).
    pub fn wants(&self, group: &A, source: &A) -> bool {
        self.groups.get(group).is_some_and(|g| g.wants(source))
    }

    /// The group's state for the RFC 4605 merge; `None` when the group has no state here.
    pub fn subscription(&self, group: &A) -> Option<Subscription<A>> {
        self.groups.get(group).and_then(|g| g.subscription())
    }

    /// Every group with state on this link.
    pub fn groups(&self) -> Vec<A> {
        self.groups
            .iter()
            .filter(|(_, g)| g.is_active())
            .map(|(a, _)| *a)
            .collect()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn snapshot(&self, now: Timestamp) -> PortSnapshot<A> {
        crate::snapshot::port_snapshot(self, now)
    }

    /// The timer values in force (configured, or adopted from the elected querier).
    pub(crate) fn timing(&self) -> Timing {
        Timing::new(&self.config, self.querier.adopted())
    }

    pub(crate) fn send(&mut self, outgoing: Outgoing<A>, out: &mut Output<A>) {
        self.counters.queries_sent += 1;
        out.send.push(outgoing);
    }

    fn apply_querier_step(&mut self, step: QuerierStep, out: &mut Output<A>) {
        if step.changed {
            out.querier_changed = true;
        }
        if step.send_general_query {
            self.send(general_query(&self.timing()), out);
        }
    }

    fn querier_timer(&mut self, at: Timestamp, now: Timestamp, out: &mut Output<A>) {
        let step = self.querier.fire(at, now, &self.config);
        self.apply_querier_step(step, out);
    }

    /// A query from another router: election (RFC 9776 §6.6.2), the older-querier warning
    /// (§7.3.1), and timer updates for specific queries with S clear (§6.6.1).
    fn receive_query(&mut self, now: Timestamp, from: A, query: Query<A>, out: &mut Output<A>) {
        self.counters.queries_received += 1;
        if Some(from) == self.querier.address() {
            return; // our own query, looped back
        }
        if query.version < self.config.version {
            out.events.push(PortEvent::OlderQuerier {
                from,
                heard: query.version,
            });
        }
        let step = self.querier.on_query(from, &query, now, &self.config);
        self.apply_querier_step(step, out);
        let Some(group_address) = query.group else {
            return;
        };
        if query.suppress {
            return; // §6.6.1: S set means "do not update timers"
        }
        let Some(group) = self.groups.get_mut(&group_address) else {
            return;
        };
        // The querier's LMQT: its Max Resp (its LMQI) times its QRV, or our LMQC when it gives
        // none (RFC 2236 §3: "Last Member Query Count × Max Response Time").
        let count = if query.qrv != 0 {
            query.qrv
        } else {
            self.config.last_member_query_count.max(1)
        };
        let lowered = now + query.max_response.saturating_mul(u32::from(count));
        if query.sources.is_empty() {
            group.lower_group_timer(lowered);
        } else {
            group.lower_source_timers(&query.sources, lowered);
        }
        self.reschedule(group_address);
    }

    /// Everything of one group due at `at`.
    fn group_timer(&mut self, address: A, at: Timestamp, out: &mut Output<A>) {
        let timing = self.timing();
        let is_querier = self.querier.is_querier();
        let Some(group) = self.groups.get_mut(&address) else {
            self.schedule.remove(&address);
            return;
        };
        let mut fx = Effects::default();
        let (gone, freed) = group.hosts.expire(at);
        for host in gone {
            release_host(&mut self.host_groups, host);
        }
        self.host_entries -= freed;
        group.expire_timers(at, &mut fx);
        let mut queries = Vec::new();
        if group
            .retransmissions
            .deadline()
            .is_some_and(|due| due <= at)
        {
            if is_querier {
                let round = group
                    .retransmissions
                    .take_round(at, timing.last_member_query_interval);
                queries = round_queries(address, group, &round, at, &timing);
            } else {
                // Only the querier sends specific queries (RFC 9776 §6.6.3).
                group.retransmissions.clear();
            }
        }
        for query in queries {
            self.send(query, out);
        }
        self.finish_group(address, fx, A::UNSPECIFIED, out);
    }

    /// Reports what an operation did to a group, deletes the group when nothing is left, and
    /// re-indexes its deadline.
    pub(crate) fn finish_group(
        &mut self,
        address: A,
        fx: Effects<A>,
        host: A,
        out: &mut Output<A>,
    ) {
        if fx.changed {
            out.changed.push(address);
        }
        if fx.sources_dropped {
            self.limit_hit(Limit::SourcesPerGroup, host, address, out);
        }
        if self.groups.get(&address).is_some_and(|g| g.is_removable())
            && let Some(mut group) = self.groups.remove(&address)
        {
            let (gone, freed) = group.hosts.drain();
            self.host_entries -= freed;
            for host in gone {
                release_host(&mut self.host_groups, host);
            }
        }
        self.reschedule(address);
    }

    pub(crate) fn reschedule(&mut self, address: A) {
        let deadline = self.groups.get(&address).and_then(|g| g.deadline());
        self.schedule.set(address, deadline);
    }

    pub(crate) fn limit_hit(&mut self, limit: Limit, host: A, group: A, out: &mut Output<A>) {
        self.counters.limit_drops += 1;
        out.events.push(PortEvent::LimitHit { limit, host, group });
    }
}

/// One fewer group for `host`; forgets hosts in no group.
pub(crate) fn release_host<A: Address>(host_groups: &mut HashMap<A, usize>, host: A) {
    if let Some(count) = host_groups.get_mut(&host) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            host_groups.remove(&host);
        }
    }
}
