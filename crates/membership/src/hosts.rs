//! Explicit host tracking for one group (docs/protocol-rules.md §4.9, in the spirit of
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
use crate::{Address, Limit, RecordKind, Timestamp};
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
    /// The host's interest went to the anonymous host, and which limit made it so: its filter
    /// would have held more than `per_host` sources ([`Limit::SourcesPerHost`]), or grown the
    /// link's host state past its budget ([`Limit::HostEntries`]).
    pub(crate) folded: Option<Limit>,
    /// The host's entries for the link's host-state budget ([`entries_of`]) before and after.
    pub(crate) entries: (usize, usize),
}

/// Bounds on one host's filter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HostLimits {
    /// More sources than this in one host's filter: the host is folded into the anonymous host.
    pub(crate) per_host: usize,
    /// No filter (the anonymous host's included) holds more sources than a group may.
    pub(crate) per_group: usize,
    /// How many more entries the link's host-state budget allows (see [`entries_of`]).
    pub(crate) room: usize,
}

/// What one tracked host's membership of a group costs the link's host-state budget: the
/// membership itself and each source of its filter.
pub(crate) fn entries_of<A: Address>(filter: &HostFilter<A>) -> usize {
    1 + filter.sources().len()
}

/// The tracked hosts of one group.
#[derive(Clone, Debug)]
///
/// The port sums [`entries_of`] over every group's tracked hosts from the `entries` of each
/// [`Applied`] and what [`HostTable::expire`] and [`HostTable::drain`] free (the anonymous host
/// is not counted: there is one per group, bounded like the group's own source table). The sum
/// is not stored here, which would lengthen every group by a word.
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
    /// exceed `limits.per_host` sources, or grow by more than `limits.room` entries, loses its
    /// own entry and its interest goes to the anonymous host.
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
            folded: None,
            entries: (0, 0),
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
        let held = current.as_ref().map_or(0, |(filter, _)| entries_of(filter));
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
                    folded: None,
                    entries: (held, 0),
                }
            }
            Some(mut filter) => {
                let too_many = filter.sources().len() > limits.per_host;
                filter.truncate(limits.per_group);
                let over = if too_many {
                    Some(Limit::SourcesPerHost)
                } else if entries_of(&filter) > held.saturating_add(limits.room) {
                    Some(Limit::HostEntries)
                } else {
                    None
                };
                if over.is_some() {
                    self.store(host, None);
                    self.widen_anonymous(filter, expires, limits.per_group);
                    return Applied {
                        change: gone,
                        folded: over,
                        entries: (held, 0),
                    };
                }
                let now_held = entries_of(&filter);
                self.store(host, Some((filter, expires)));
                Applied {
                    change: if had {
                        HostChange::Unchanged
                    } else {
                        HostChange::Joined
                    },
                    folded: None,
                    entries: (held, now_held),
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
    pub(crate) fn leave(&mut self, host: A) -> Applied {
        let taken = match host.is_unspecified() {
            true => None,
            false => self.take(&host),
        };
        let Some((filter, _)) = taken else {
            return Applied {
                change: HostChange::Unchanged,
                folded: None,
                entries: (0, 0),
            };
        };
        self.store(host, None);
        Applied {
            change: HostChange::Left,
            folded: None,
            entries: (entries_of(&filter), 0),
        }
    }
}

#[cfg(test)]
#[path = "hosts_tests.rs"]
mod tests;
