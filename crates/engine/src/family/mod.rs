//! Everything the engine keeps for one address family: the router part of every downstream
//! link, the host-side membership of every upstream and the forwarding entries.
//!
//! The RFC 4605 §4.1 membership database (every group some downstream wants, merged) is not
//! stored a second time: it is computed from the ports whenever a group changes, and what
//! each upstream was asked for is kept in [`Upstream::joined`]. At 10 000 groups a stored copy
//! cost as much memory as the upstream state itself.
//!
//! Work is incremental: inputs mark groups (or everything) dirty, and [`FamilyState::flush`]
//! recomputes only those merges and routes at the end of each engine call, emitting actions
//! only for what changed.

mod attach;
mod forward;
mod retry;
mod upstream;

pub use attach::Desired;

use crate::action::RejectReason;
use crate::afi::Afi;
use crate::joined::JoinedGroups;
use crate::link::LinkNets;
use crate::notice::{Notice, Output};
use crate::retry::Retries;
use crate::routes::RouteTable;
use crate::upcalls::UpcallBudget;
use mrproxy_config::{InterfaceSettings, Role};
use mrproxy_membership::{DeadlineSet, Message, Output as PortOutput, Port, PortEvent, Timestamp};
use mrproxy_types::IfIndex;
use std::collections::{BTreeMap, BTreeSet};

/// A downstream link: we run the router part of IGMP/MLD here.
pub struct Downstream<A: Afi> {
    pub name: String,
    pub settings: InterfaceSettings,
    pub link: LinkNets,
    /// Where our queries come from; `None` = the link has no usable address and cannot query.
    pub address: Option<A>,
    pub port: Port<A>,
}

/// An upstream link: we act as a host here, through the kernel's host part.
pub struct Upstream<A: Afi> {
    pub name: String,
    pub settings: InterfaceSettings,
    pub link: LinkNets,
    /// The membership last requested per group (absent = not a member).
    pub joined: JoinedGroups<A>,
    /// The link's address, source of `rereport` keep-alives (`None`: unnumbered).
    pub address: Option<A>,
}

#[derive(Debug)]
struct Dirty<A: Afi> {
    groups: BTreeSet<A>,
    all_groups: bool,
    all_routes: bool,
}

impl<A: Afi> Default for Dirty<A> {
    fn default() -> Self {
        Dirty {
            groups: BTreeSet::new(),
            all_groups: false,
            all_routes: false,
        }
    }
}

pub struct FamilyState<A: Afi> {
    pub downstreams: BTreeMap<IfIndex, Downstream<A>>,
    pub upstreams: BTreeMap<IfIndex, Upstream<A>>,
    pub routes: RouteTable<A>,
    /// Each input interface's budget of kernel upcalls per second.
    upcalls: UpcallBudget,
    port_deadlines: DeadlineSet<IfIndex>,
    /// Upstreams with `rereport`: when the next keep-alive reports are due.
    rereport_deadlines: DeadlineSet<IfIndex>,
    /// Kernel changes refused and asked for again (docs/kernel-faults.md).
    retries: Retries<A>,
    dirty: Dirty<A>,
}

impl<A: Afi> Default for FamilyState<A> {
    fn default() -> Self {
        FamilyState {
            downstreams: BTreeMap::new(),
            upstreams: BTreeMap::new(),
            routes: RouteTable::default(),
            upcalls: UpcallBudget::default(),
            port_deadlines: DeadlineSet::default(),
            rereport_deadlines: DeadlineSet::default(),
            retries: Retries::default(),
            dirty: Dirty::default(),
        }
    }
}

impl<A: Afi> FamilyState<A> {
    /// How many interfaces have a VIF/MIF in this family.
    pub fn attached(&self) -> usize {
        self.downstreams.len() + self.upstreams.len()
    }

    pub fn role_of(&self, ifindex: IfIndex) -> Option<Role> {
        if self.downstreams.contains_key(&ifindex) {
            Some(Role::Downstream)
        } else if self.upstreams.contains_key(&ifindex) {
            Some(Role::Upstream)
        } else {
            None
        }
    }

    pub fn settings_of(&self, ifindex: IfIndex) -> Option<&InterfaceSettings> {
        match (self.downstreams.get(&ifindex), self.upstreams.get(&ifindex)) {
            (Some(d), _) => Some(&d.settings),
            (None, Some(u)) => Some(&u.settings),
            (None, None) => None,
        }
    }

    pub fn link_of(&self, ifindex: IfIndex) -> Option<&LinkNets> {
        match (self.downstreams.get(&ifindex), self.upstreams.get(&ifindex)) {
            (Some(d), _) => Some(&d.link),
            (None, Some(u)) => Some(&u.link),
            (None, None) => None,
        }
    }

    /// One message (already checked by the input policy) for the router part of a downstream.
    pub fn receive(
        &mut self,
        now: Timestamp,
        ifindex: IfIndex,
        from: A,
        message: Message<A>,
        actions: &mut Output,
    ) {
        let mut out = PortOutput::new();
        if let Some(d) = self.downstreams.get_mut(&ifindex) {
            d.port.receive(now, from, message, &mut out);
        }
        self.absorb(ifindex, out, actions);
    }

    /// Runs every port timer, `rereport` keep-alive and kernel retry that is due.
    pub fn timeout(&mut self, now: Timestamp, actions: &mut Output) {
        for ifindex in self.port_deadlines.due(now) {
            let mut out = PortOutput::new();
            if let Some(d) = self.downstreams.get_mut(&ifindex) {
                d.port.timeout(now, &mut out);
            }
            self.absorb(ifindex, out, actions);
        }
        for ifindex in self.rereport_deadlines.due(now) {
            if let Some(u) = self.upstreams.get(&ifindex) {
                actions.extend(A::rereport_actions(ifindex, u.address, &u.joined));
            }
            self.schedule_rereport(now, ifindex);
        }
        self.retry_due(now, actions);
    }

    pub fn next_deadline(&self) -> Option<Timestamp> {
        [
            self.port_deadlines.earliest(),
            self.rereport_deadlines.earliest(),
            self.routes.next_deadline(),
            self.retries.earliest(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next `rereport` keep-alive of an upstream, one interval from `now` (none when the
    /// upstream is gone or has no `rereport`).
    fn schedule_rereport(&mut self, now: Timestamp, ifindex: IfIndex) {
        let interval = self
            .upstreams
            .get(&ifindex)
            .and_then(|u| u.settings.rereport);
        self.rereport_deadlines
            .set(ifindex, interval.map(|d| now + d));
    }

    /// Turns what a port produced into actions, notices and dirty marks, and re-indexes its
    /// deadline.
    fn absorb(&mut self, ifindex: IfIndex, out: PortOutput<A>, actions: &mut Output) {
        let Some(d) = self.downstreams.get(&ifindex) else {
            return;
        };
        if let Some(source) = d.address {
            for outgoing in &out.send {
                actions.push(A::query_action(ifindex, source, outgoing, d.port.config()));
            }
        }
        self.dirty.groups.extend(out.changed);
        if out.querier_changed {
            // `None` = we are the querier (the contract of Notice::QuerierChanged).
            let querier = if d.port.is_querier() {
                None
            } else {
                d.port.querier_address().map(A::into_ip)
            };
            actions.notice(Notice::QuerierChanged {
                family: A::FAMILY,
                ifindex,
                querier,
            });
            // Only the querier forwards onto a link (RFC 4605 §4.2 ⚑, one forwarder per LAN).
            self.dirty.all_routes = true;
        }
        for event in out.events {
            let (from, reason) = match event {
                PortEvent::LimitHit { limit, host, group } => (
                    host,
                    RejectReason::Limit(format!("{limit:?} limit reached for group {group}")),
                ),
                PortEvent::OlderQuerier { from, heard } => (
                    from,
                    RejectReason::OlderQuerier {
                        from: from.into_ip(),
                        version: A::version_number(heard),
                    },
                ),
                // Deliberate RFC no-ops (e.g. a leave heard by a non-querier) are not worth a log line.
                PortEvent::Ignored { .. } => continue,
            };
            actions.notice(Notice::Rejected {
                ifindex: Some(ifindex),
                from: Some(from.into_ip()),
                reason,
            });
        }
        self.port_deadlines.set(ifindex, d.port.next_deadline());
    }

    /// Recomputes the merges and routes marked dirty, emitting only changes.
    pub fn flush(&mut self, actions: &mut Output) {
        let dirty = std::mem::take(&mut self.dirty);
        let groups: BTreeSet<A> = if dirty.all_groups {
            self.all_groups()
        } else {
            dirty.groups
        };
        for group in &groups {
            self.update_membership(*group, actions);
        }
        let routes = if dirty.all_routes {
            self.routes.keys()
        } else {
            groups
                .iter()
                .flat_map(|g| self.routes.keys_of_group(*g))
                .collect()
        };
        for (group, source) in routes {
            self.refresh_route(group, source, actions);
        }
    }

    /// Every group with any state: downstream ports and upstream joins (a merged state exists
    /// only for a group some downstream port has).
    fn all_groups(&self) -> BTreeSet<A> {
        let mut groups = BTreeSet::new();
        for d in self.downstreams.values() {
            groups.extend(d.port.groups());
        }
        for u in self.upstreams.values() {
            groups.extend(u.joined.groups());
        }
        groups
    }
}
