//! Forwarding decisions (RFC 4605 §4.2 "Forwarding Packets" and §4.3 "Supporting Senders" ⚑)
//! and their kernel entries.

use super::FamilyState;
use crate::action::{Action, RejectReason};
use crate::afi::Afi;
use crate::kernel::RouteCounters;
use crate::notice::{Notice, Output};
use crate::retry::RetryKey;
use crate::routes::Route;
use mrproxy_membership::Timestamp;
use mrproxy_types::IfIndex;
use mrproxy_types::SourceGroup;

impl<A: Afi> FamilyState<A> {
    /// A kernel upcall: traffic for (source, group) arrived on `iif` without an entry.
    /// Every accepted upcall gets an entry, also with no outputs (no unresolved queue in the
    /// kernel, no repeated upcalls, no stale packets when a listener comes), within the input
    /// interface's upcall rate and the table's bounds (`routes.rs`).
    pub fn upcall(
        &mut self,
        now: Timestamp,
        iif: IfIndex,
        sg: SourceGroup<A>,
        max_total_routes: usize,
        actions: &mut Output,
    ) {
        let SourceGroup { source, group } = sg;
        if !group.is_multicast_group() || group.is_link_local_group() {
            return;
        }
        let Some(settings) = self.settings_of(iif) else {
            return;
        };
        let (max_routes, upcall_rate) = (settings.max_routes, settings.upcall_rate);
        let reject = |reason| Notice::Rejected {
            ifindex: Some(iif),
            from: Some(source.into_ip()),
            reason,
        };
        if !self.upcalls.take(iif, upcall_rate, now) {
            actions.notice(reject(RejectReason::UpcallRate {
                source: source.into_ip(),
                group: group.into_ip(),
                per_second: upcall_rate,
            }));
            return;
        }
        // A repeated upcall replaces its own entry and needs no room.
        let replacing = self.routes.get(group, source).is_some();
        if !replacing
            && self.routes.count_from(iif) >= max_routes
            && let Some((g, s)) = self.routes.oldest_from(iif)
        {
            self.evict(g, s, actions);
        }
        if !replacing && self.routes.len() >= max_total_routes {
            match self.routes.oldest_idle() {
                Some((g, s)) => self.evict(g, s, actions),
                None => {
                    actions.notice(reject(RejectReason::RouteLimit {
                        source: source.into_ip(),
                        group: group.into_ip(),
                        limit: max_total_routes,
                    }));
                    return;
                }
            }
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
            actions.notice(reject(RejectReason::SourceNotAccepted {
                source: source.into_ip(),
                group: group.into_ip(),
            }));
        }
        actions.push(Action::SetRoute {
            sg: sg.into(),
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

    /// Removes an entry to make room for a new one (a kernel upcall follows if its traffic goes on).
    fn evict(&mut self, group: A, source: A, actions: &mut Output) {
        self.routes.remove(group, source);
        self.retries.withdraw(RetryKey::Route(group, source));
        actions.push(Action::DeleteRoute(SourceGroup { source, group }.into()));
    }

    /// Idle expiry: reads the counter of every entry whose sample is due; an entry whose
    /// counter did not move for a whole interval is removed (the kernel raises a new upcall
    /// when traffic returns).
    pub fn sample_routes(
        &mut self,
        now: Timestamp,
        counters: &dyn RouteCounters,
        actions: &mut Output,
    ) {
        for (group, source) in self.routes.take_due_samples(now) {
            let packets = counters
                .packets(SourceGroup { source, group }.into())
                .unwrap_or(0);
            self.route_sampled(group, source, packets, actions);
        }
    }

    /// One counter reading of a sampled entry.
    fn route_sampled(&mut self, group: A, source: A, packets: u64, actions: &mut Output) {
        if self.routes.record_sample(group, source, packets) {
            self.routes.remove(group, source);
            self.retries.withdraw(RetryKey::Route(group, source));
            actions.push(Action::DeleteRoute(SourceGroup { source, group }.into()));
        }
    }

    /// Re-evaluates one entry after any input changed (membership, querier, interfaces,
    /// configuration: RFC 4605 §4.2 requires the cache to follow every change).
    pub(super) fn refresh_route(&mut self, group: A, source: A, actions: &mut Output) {
        let Some(route) = self.routes.get(group, source) else {
            return;
        };
        let (iif, was_accepted) = (route.iif, route.accepted);
        if self.role_of(iif).is_none() {
            self.routes.remove(group, source);
            self.retries.withdraw(RetryKey::Route(group, source));
            actions.push(Action::DeleteRoute(SourceGroup { source, group }.into()));
            return;
        }
        let accepted = self.source_accepted(iif, source);
        let oifs = if accepted {
            self.oifs_for(iif, group, source)
        } else {
            Vec::new()
        };
        if !accepted && was_accepted {
            actions.notice(Notice::Rejected {
                ifindex: Some(iif),
                from: Some(source.into_ip()),
                reason: RejectReason::SourceNotAccepted {
                    source: source.into_ip(),
                    group: group.into_ip(),
                },
            });
        }
        if self
            .routes
            .set_outputs(group, source, accepted, oifs.clone())
        {
            actions.push(Action::SetRoute {
                sg: SourceGroup { source, group }.into(),
                iif,
                oifs,
            });
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
    /// - every downstream where we are the querier (or that keeps forwarding as a non-querier,
    ///   `forwardnonquerier`), whose filter allows the group and whose
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
                        && (d.port.is_querier() || d.settings.forward_non_querier)
                        && d.settings.allows_group(ip)
                        && d.port.wants(&group, &source)
                })
                .map(|(i, _)| *i),
        );
        oifs.sort_unstable();
        oifs
    }
}
