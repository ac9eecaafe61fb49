//! The router's state for one group on one link (RFC 9776 §6.2, RFC 9777 §7.2): filter mode,
//! group timer and source records, plus what this implementation keeps beside it (older-host
//! timers, pending specific queries, tracked hosts).
//!
//! Every mutation of the source table goes through a few primitives that note in [`Effects`]
//! whether the forwarding state ([`Group::subscription`]) changed, so the port can report
//! exactly the groups the engine must recompute.

use crate::compat::OlderHosts;
use crate::hosts::HostTable;
use crate::room::Room;
use crate::source_timers::SourceTimers;
use crate::specific::Retransmissions;
use crate::{Address, Subscription, Timestamp};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterMode {
    Include,
    Exclude,
}

/// What one operation on a group did, beyond the state itself.
#[derive(Debug)]
pub(crate) struct Effects<A> {
    /// The forwarding state (`wants` / `subscription`) may differ from before.
    pub(crate) changed: bool,
    /// Sources were not added because the group has `max_sources_per_group` already.
    pub(crate) sources_dropped: bool,
    /// A pass over the full table found no source to give way (`room.rs`).
    pub(crate) room_scan_failed: bool,
    /// RFC table action "Send Q(G)".
    pub(crate) query_group: bool,
    /// RFC table action "Send Q(G,X)".
    pub(crate) query_sources: Vec<A>,
}

impl<A> Default for Effects<A> {
    fn default() -> Self {
        Effects {
            changed: false,
            sources_dropped: false,
            room_scan_failed: false,
            query_group: false,
            query_sources: Vec::new(),
        }
    }
}

/// The filter mode with the group timer, which runs in EXCLUDE mode only (RFC 9776 §6.2.2,
/// RFC 9777 §7.2.2): one field, so that no timer can outlive its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Filter {
    Include,
    Exclude { group_timer: Timestamp },
}

#[derive(Clone, Debug)]
pub(crate) struct Group<A: Address> {
    filter: Filter,
    /// Sources with a running timer: every source in INCLUDE mode, the set X in EXCLUDE mode.
    pub(crate) running: SourceTimers<A>,
    /// The set Y in EXCLUDE mode: sources whose timer is 0, not forwarded (RFC 9776 §6.2.3).
    pub(crate) excluded: BTreeSet<A>,
    pub(crate) older_hosts: OlderHosts,
    pub(crate) retransmissions: Retransmissions<A>,
    pub(crate) hosts: HostTable<A>,
}

impl<A: Address> Group<A> {
    /// A group with no state: INCLUDE({}) (RFC 9776 §6.2.1).
    pub(crate) fn new() -> Self {
        Group {
            filter: Filter::Include,
            running: SourceTimers::default(),
            excluded: BTreeSet::new(),
            older_hosts: OlderHosts::default(),
            retransmissions: Retransmissions::default(),
            hosts: HostTable::default(),
        }
    }

    pub(crate) fn mode(&self) -> FilterMode {
        match self.filter {
            Filter::Include => FilterMode::Include,
            Filter::Exclude { .. } => FilterMode::Exclude,
        }
    }

    /// The group timer; `None` in INCLUDE mode.
    pub(crate) fn group_timer(&self) -> Option<Timestamp> {
        match self.filter {
            Filter::Include => None,
            Filter::Exclude { group_timer } => Some(group_timer),
        }
    }

    /// `GT=T` in the tables' EXCLUDE-mode rows (in INCLUDE mode there is no group timer).
    pub(crate) fn set_group_timer(&mut self, at: Timestamp) {
        if let Filter::Exclude { group_timer } = &mut self.filter {
            *group_timer = at;
        }
    }

    /// The group has membership state (INCLUDE with sources, or EXCLUDE).
    pub(crate) fn is_active(&self) -> bool {
        self.mode() == FilterMode::Exclude || !self.running.is_empty()
    }

    /// Nothing left to remember: no membership and no queries still to send.
    pub(crate) fn is_removable(&self) -> bool {
        !self.is_active() && self.retransmissions.is_idle()
    }

    pub(crate) fn source_count(&self) -> usize {
        self.running.len() + self.excluded.len()
    }

    /// Forwarding suggestion (RFC 9776 §6.3): INCLUDE forwards the listed sources (all have
    /// running timers), EXCLUDE forwards everything but Y.
    pub(crate) fn wants(&self, source: &A) -> bool {
        match self.mode() {
            FilterMode::Include => self.running.contains(source),
            FilterMode::Exclude => !self.excluded.contains(source),
        }
    }

    /// The RFC 4605 merge form: EXCLUDE(X, Y) becomes EXCLUDE(Y).
    pub(crate) fn subscription(&self) -> Option<Subscription<A>> {
        match self.mode() {
            FilterMode::Include if self.running.is_empty() => None,
            FilterMode::Include => Some(Subscription::Include(self.running.keys().collect())),
            FilterMode::Exclude => Some(Subscription::Exclude(self.excluded.clone())),
        }
    }

    /// The earliest of everything this group waits for.
    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        [
            self.group_timer(),
            self.running.earliest(),
            self.older_hosts.deadline(),
            self.retransmissions.deadline(),
            self.hosts.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Sets a source's timer (`(S)=T` in the RFC tables), adding the source if needed. In
    /// EXCLUDE mode a source of Y moves to X and is forwarded again. A new source needs room
    /// in the table (`room.rs`).
    pub(crate) fn set_source_timer(
        &mut self,
        source: A,
        at: Timestamp,
        room: Room,
        fx: &mut Effects<A>,
    ) {
        if self.excluded.remove(&source) {
            fx.changed = true;
        } else if !self.running.contains(&source) {
            if !self.room_for(&source, room, fx) {
                fx.sources_dropped = true;
                return;
            }
            // A new source is forwarded only in INCLUDE mode; in EXCLUDE mode it already was.
            fx.changed |= self.mode() == FilterMode::Include;
        }
        self.running.set(source, at);
    }

    /// Puts a source in Y (`(S)=0` in EXCLUDE mode): no longer forwarded.
    pub(crate) fn exclude_source(&mut self, source: A, max_sources: usize, fx: &mut Effects<A>) {
        if self.running.remove(&source).is_some() {
            self.excluded.insert(source);
            fx.changed = true;
        } else if !self.excluded.contains(&source) {
            if self.source_count() >= max_sources {
                fx.sources_dropped = true;
                return;
            }
            self.excluded.insert(source);
            fx.changed = true;
        }
    }

    /// `Delete(S)` in the RFC tables.
    pub(crate) fn delete_source(&mut self, source: &A, fx: &mut Effects<A>) {
        if self.running.remove(source).is_some() {
            // Deleting from X in EXCLUDE mode keeps the source forwarded.
            fx.changed |= self.mode() == FilterMode::Include;
        } else if self.excluded.remove(source) {
            fx.changed = true;
        }
    }

    /// INCLUDE → EXCLUDE; the running sources become X.
    pub(crate) fn switch_to_exclude(&mut self, group_timer: Timestamp, fx: &mut Effects<A>) {
        if self.filter == Filter::Include {
            fx.changed = true;
        }
        self.filter = Filter::Exclude { group_timer };
    }

    /// EXCLUDE → INCLUDE (RFC 9776 §6.5): the sources whose timers run are kept, Y is deleted.
    pub(crate) fn switch_to_include(&mut self, fx: &mut Effects<A>) {
        if self.mode() == FilterMode::Exclude {
            self.filter = Filter::Include;
            self.excluded.clear();
            fx.changed = true;
        }
    }

    /// Group and source timers due at or before `at` (RFC 9776 §6.3, §6.5; RFC 9777 §7.3, §7.5).
    /// Source timers go first so that the filter-mode switch sees only sources still running.
    pub(crate) fn expire_timers(&mut self, at: Timestamp, fx: &mut Effects<A>) {
        self.older_hosts.expire(at);
        for source in self.running.take_due(at) {
            match self.mode() {
                // §6.3: in INCLUDE mode an expired source is deleted.
                FilterMode::Include => fx.changed = true,
                // §6.3: in EXCLUDE mode it moves to Y and is no longer forwarded.
                FilterMode::Exclude => {
                    self.excluded.insert(source);
                    fx.changed = true;
                }
            }
        }
        if self.group_timer().is_some_and(|gt| gt <= at) {
            // §6.5: group timer expiry in EXCLUDE mode switches to INCLUDE with the running
            // sources; with none left the group has no state (the port deletes it).
            self.switch_to_include(fx);
        }
    }

    /// Lowers the group timer to `to` if it is later (RFC 9776 §6.6.1, §6.6.3.1).
    pub(crate) fn lower_group_timer(&mut self, to: Timestamp) {
        if self.group_timer().is_some_and(|gt| gt > to) {
            self.set_group_timer(to);
        }
    }

    /// Lowers the running timers of `sources` that are later than `to` (RFC 9776 §6.6.1,
    /// §6.6.3.2). Sources of Y (timer 0) and unknown sources are left alone.
    pub(crate) fn lower_source_timers<'a>(
        &mut self,
        sources: impl IntoIterator<Item = &'a A>,
        to: Timestamp,
    ) {
        for source in sources {
            if self.running.get(source).is_some_and(|at| at > to) {
                self.running.set(*source, to);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Group;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// A group exists once per (link, group), tens of thousands of times on a busy router: its
    /// usual state (one host, no source, no older host, no query owed) stays in one allocation
    /// of this size (`benches/memory.rs` in mrproxy-engine measures the whole).
    #[test]
    fn group_state_stays_small() {
        assert!(size_of::<Group<Ipv4Addr>>() <= 136);
        assert!(size_of::<Group<Ipv6Addr>>() <= 144);
    }
}
