//! Explicit host tracking for one group (protocol.md §4.9, in the spirit of
//! draft-ietf-pim-explicit-tracking): what each reporting host wants, rebuilt from its own
//! records, so that a leave can be acted on at once when nobody else wants the traffic.
//!
//! IGMPv3/MLDv2 hosts never suppress reports, so for them this is exact. IGMPv1/v2 and MLDv1
//! hosts are entered as EXCLUDE({}) (any source), but a silent second viewer is invisible:
//! the port never fast-leaves a group in an older compatibility mode. Reports from the
//! unspecified address form one anonymous host that only ever widens its interest and so
//! blocks fast leave until it expires; the interest of hosts that cannot be tracked one by one
//! (beyond `max_hosts`, or with more than `max_sources_per_host` sources) is folded into it.
//!
//! A group nearly always has one host, held inline without an allocation, and rarely more than
//! a few, kept in a vector sorted by address (scans are bounded by a small constant). Beyond that
//! the hosts move to an index where every operation is O(log n) in the number of hosts
//! (`host_forms.rs`, `host_index.rs`).

use crate::few::Few;
use crate::host_filter::HostFilter;
use crate::host_forms::Hosts;
use crate::{Address, RecordKind, Timestamp};
use std::collections::BTreeSet;

/// How a host's membership of the group changed (for the per-host group count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostChange {
    Joined,
    Left,
    Unchanged,
}

/// The outcome of one record for the host table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Applied {
    pub(crate) change: HostChange,
    /// The host's interest went to the anonymous host: it would have held more than
    /// `per_host` sources.
    pub(crate) folded: bool,
}

/// Bounds on one host's filter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HostLimits {
    /// More sources than this in one host's filter: the host is folded into the anonymous host.
    pub(crate) per_host: usize,
    /// No filter (the anonymous host's included) holds more sources than a group may.
    pub(crate) per_group: usize,
}

/// The tracked hosts of one group.
#[derive(Clone, Debug)]
pub(crate) struct HostTable<A: Address> {
    pub(crate) hosts: Hosts<A>,
}

impl<A: Address> Default for HostTable<A> {
    fn default() -> Self {
        HostTable {
            hosts: Hosts::Small(Few::default()),
        }
    }
}

impl<A: Address> HostTable<A> {
    /// Would this record make `host` a new member of the group?
    pub(crate) fn would_join(&self, host: &A, kind: RecordKind, sources: &BTreeSet<A>) -> bool {
        !self.contains(host) && HostFilter::after_record(None, kind, sources).is_some()
    }

    /// Applies one record from `host`; a host that still wants the group is kept until
    /// `expires` (a Group Membership Interval without reports). A host whose filter would
    /// exceed `limits.per_host` sources loses its own entry and its interest goes to the
    /// anonymous host.
    pub(crate) fn apply(
        &mut self,
        host: A,
        kind: RecordKind,
        sources: &BTreeSet<A>,
        expires: Timestamp,
        limits: HostLimits,
    ) -> Applied {
        let unchanged = Applied {
            change: HostChange::Unchanged,
            folded: false,
        };
        let current = self.take(&host);
        if host.is_unspecified() {
            // Anonymous reports come from any number of hosts: never narrow what they asked for.
            let old = current.as_ref().map(|(filter, _)| filter.clone());
            match HostFilter::after_record(old, kind, sources) {
                Some(fresh) => {
                    self.store(host, current);
                    self.widen_anonymous(fresh, expires, limits.per_group);
                }
                // Nothing asked for: keep the old interest, without refreshing it.
                None => self.store(host, current),
            }
            return unchanged;
        }
        let had = current.is_some();
        let gone = if had {
            HostChange::Left
        } else {
            HostChange::Unchanged
        };
        match HostFilter::after_record(current.map(|(filter, _)| filter), kind, sources) {
            None => {
                self.store(host, None);
                Applied {
                    change: gone,
                    folded: false,
                }
            }
            Some(filter) if filter.sources().len() > limits.per_host => {
                self.store(host, None);
                self.widen_anonymous(filter, expires, limits.per_group);
                Applied {
                    change: gone,
                    folded: true,
                }
            }
            Some(mut filter) => {
                filter.truncate(limits.per_group);
                self.store(host, Some((filter, expires)));
                Applied {
                    change: if had {
                        HostChange::Unchanged
                    } else {
                        HostChange::Joined
                    },
                    folded: false,
                }
            }
        }
    }

    /// Adds `filter` to the anonymous host's interest (the union: it only ever widens), kept
    /// at least until `expires`.
    pub(crate) fn widen_anonymous(
        &mut self,
        filter: HostFilter<A>,
        expires: Timestamp,
        cap: usize,
    ) {
        let (mut merged, until) = match self.take(&A::UNSPECIFIED) {
            Some((old, at)) => (old.union(filter), at.max(expires)),
            None => (filter, expires),
        };
        merged.truncate(cap);
        self.store(A::UNSPECIFIED, Some((merged, until)));
    }

    /// An IGMPv1/v2 or MLDv1 report: the host wants every source.
    pub(crate) fn join_any_source(
        &mut self,
        host: A,
        expires: Timestamp,
        limits: HostLimits,
    ) -> Applied {
        self.apply(
            host,
            RecordKind::IsExclude,
            &BTreeSet::new(),
            expires,
            limits,
        )
    }

    /// An IGMPv2 leave or MLDv1 done. The anonymous host cannot leave explicitly.
    pub(crate) fn leave(&mut self, host: A) -> HostChange {
        if host.is_unspecified() || self.take(&host).is_none() {
            return HostChange::Unchanged;
        }
        self.store(host, None);
        HostChange::Left
    }
}

#[cfg(test)]
#[path = "hosts_tests.rs"]
mod tests;
