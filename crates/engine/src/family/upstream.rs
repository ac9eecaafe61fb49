//! The host side: what each upstream interface requests (RFC 4605 §4.1 ⚑ with RFC 9776 §3.2),
//! and the optional downstream refresh on upstream queries.

use super::FamilyState;
use crate::action::Action;
use crate::afi::Afi;
use crate::merge::{Membership, merge};
use crate::notice::Output;
use crate::retry::RetryKey;
use mrproxy_membership::{Output as PortOutput, Timestamp};
use mrproxy_types::{FilterMode, SourceFilter};

impl<A: Afi> FamilyState<A> {
    /// Recomputes one group's merged membership and brings every upstream in line with it.
    /// Each upstream is judged on its own filter (igmpproxy's D9/D10: one upstream's miss never
    /// affects another, and leaves reach every upstream that joined).
    pub(super) fn update_membership(&mut self, group: A, actions: &mut Output) {
        let ip = group.into_ip();
        // Each downstream's filter applies before the merge (docs/protocol-rules.md §5).
        let merged = merge(
            self.downstreams
                .values()
                .filter(|d| d.settings.allows_group(ip))
                .filter_map(|d| d.port.subscription(&group)),
        );
        for (ifindex, upstream) in self.upstreams.iter_mut() {
            let desired = merged
                .as_ref()
                .filter(|_| upstream.settings.allows_group(ip));
            if upstream.joined.get(&group) == desired {
                continue;
            }
            let (mode, sources) = match desired {
                Some(Membership { mode, sources }) => (*mode, sources.iter().copied().collect()),
                // INCLUDE {} = leave.
                None => (FilterMode::Include, Vec::new()),
            };
            actions.push(Action::SetUpstreamMembership {
                ifindex: *ifindex,
                filter: SourceFilter {
                    group,
                    mode,
                    sources,
                }
                .into(),
            });
            match desired {
                Some(m) => upstream.joined.insert(group, m),
                None => {
                    upstream.joined.remove(&group);
                    // Left: a refused join of it is not retried.
                    self.retries.withdraw(RetryKey::Membership(*ifindex, group));
                }
            }
        }
    }

    /// A general query arrived on an upstream: downstreams with `queryonupstreamquery` query
    /// their links now, so that the state the kernel reports upstream is fresh (pali/igmpproxy#48).
    pub fn upstream_general_query(&mut self, now: Timestamp, actions: &mut Output) {
        let wanted: Vec<_> = self
            .downstreams
            .iter()
            .filter(|(_, d)| d.settings.query_on_upstream_query)
            .map(|(i, _)| *i)
            .collect();
        for ifindex in wanted {
            let mut out = PortOutput::new();
            if let Some(d) = self.downstreams.get_mut(&ifindex) {
                d.port.query_now(now, &mut out);
            }
            self.absorb(ifindex, out, actions);
        }
    }
}
