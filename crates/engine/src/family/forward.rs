//! Forwarding decisions (RFC 4605 §4.2 "Forwarding Packets" and §4.3 "Supporting Senders" ⚑)
//! and their kernel entries.

use super::FamilyState;
use crate::action::{Action, RejectReason};
use crate::afi::Afi;
use crate::event::IfIndex;
use crate::routes::Route;
use mrproxy_membership::Timestamp;

impl<A: Afi> FamilyState<A> {
    /// A kernel upcall: traffic for (source, group) arrived on `iif` without an entry.
    /// Every accepted upcall gets an entry, also with no outputs (igmpproxy's D35: no unresolved
    /// queue, no repeated upcalls, no stale packets when a listener comes).
    pub fn upcall(
        &mut self,
        now: Timestamp,
        iif: IfIndex,
        source: A,
        group: A,
        actions: &mut Vec<Action>,
    ) {
        if !group.is_multicast_group() || group.is_link_local_group() || self.role_of(iif).is_none()
        {
            return;
        }
        let accepted = self.source_accepted(iif, source);
        let oifs = if accepted {
            self.oifs_for(iif, group, source)
        } else {
            Vec::new()
        };
        // Log a rejected source once per (S,G) entry, not on every repeated upcall.
        let already_rejected = self
            .routes
            .get(group, source)
            .is_some_and(|r| !r.accepted && r.iif == iif);
        if !accepted && !already_rejected {
            actions.push(Action::Rejected {
                ifindex: Some(iif),
                from: Some(source.into_ip()),
                reason: RejectReason::SourceNotAccepted {
                    source: source.into_ip(),
                    group: group.into_ip(),
                },
            });
        }
        actions.push(Action::SetRoute {
            source: source.into_ip(),
            group: group.into_ip(),
            iif,
            oifs: oifs.clone(),
        });
        self.routes.insert(
            now,
            group,
            source,
            Route {
                iif,
                oifs,
                accepted,
                last_packets: 0,
            },
        );
    }

    /// The answer to a SampleRoute: an entry whose counter did not move for a whole interval is
    /// removed (the kernel raises a new upcall when traffic returns).
    pub fn route_counters(&mut self, source: A, group: A, packets: u64, actions: &mut Vec<Action>) {
        if self.routes.record_sample(group, source, packets) {
            self.routes.remove(group, source);
            actions.push(Action::DeleteRoute {
                source: source.into_ip(),
                group: group.into_ip(),
            });
        }
    }

    /// Re-evaluates one entry after any input changed (membership, querier, interfaces,
    /// configuration: RFC 4605 §4.2 requires the cache to follow every change).
    pub(super) fn refresh_route(&mut self, group: A, source: A, actions: &mut Vec<Action>) {
        let Some(route) = self.routes.get(group, source) else {
            return;
        };
        let iif = route.iif;
        if self.role_of(iif).is_none() {
            self.routes.remove(group, source);
            actions.push(Action::DeleteRoute {
                source: source.into_ip(),
                group: group.into_ip(),
            });
            return;
        }
        let accepted = self.source_accepted(iif, source);
        let oifs = if accepted {
            self.oifs_for(iif, group, source)
        } else {
            Vec::new()
        };
        let Some(route) = self.routes.get_mut(group, source) else {
            return;
        };
        if !accepted && route.accepted {
            actions.push(Action::Rejected {
                ifindex: Some(iif),
                from: Some(source.into_ip()),
                reason: RejectReason::SourceNotAccepted {
                    source: source.into_ip(),
                    group: group.into_ip(),
                },
            });
        }
        route.accepted = accepted;
        if route.oifs != oifs {
            actions.push(Action::SetRoute {
                source: source.into_ip(),
                group: group.into_ip(),
                iif,
                oifs: oifs.clone(),
            });
            route.oifs = oifs;
        }
    }

    /// Sources arriving on an upstream must be on that link or inside one of its altnets;
    /// senders on downstream links are always served (RFC 4605 §4.3 ⚑).
    fn source_accepted(&self, iif: IfIndex, source: A) -> bool {
        match self.upstreams.get(&iif) {
            Some(upstream) => source.upstream_source_accepted(&upstream.link),
            None => true,
        }
    }

    /// The outputs for (source, group) arriving on `iif`, sorted, never `iif` itself:
    /// - every downstream where we are the querier, whose filter allows the group and whose
    ///   router part wants (source, group) (RFC 9776 §6.3);
    /// - for traffic from a downstream sender also every upstream whose filter allows the group.
    pub(super) fn oifs_for(&self, iif: IfIndex, group: A, source: A) -> Vec<IfIndex> {
        let ip = group.into_ip();
        let mut oifs = Vec::new();
        if self.downstreams.contains_key(&iif) {
            oifs.extend(
                self.upstreams
                    .iter()
                    .filter(|(i, u)| **i != iif && u.settings.allows_group(ip))
                    .map(|(i, _)| *i),
            );
        }
        oifs.extend(
            self.downstreams
                .iter()
                .filter(|(i, d)| {
                    **i != iif
                        && d.port.is_querier()
                        && d.settings.allows_group(ip)
                        && d.port.wants(&group, &source)
                })
                .map(|(i, _)| *i),
        );
        oifs.sort_unstable();
        oifs
    }
}
