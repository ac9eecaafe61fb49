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
//! a few, kept in a vector sorted by address (scans are bounded by [`SMALL`]). Beyond that the
//! hosts move to a [`HostIndex`], where every operation is O(log n) in the number of hosts.

use crate::few::Few;
use crate::host_filter::HostFilter;
use crate::host_index::HostIndex;
use crate::{Address, RecordKind, Timestamp};
use std::collections::BTreeSet;

/// Most hosts a group keeps in its small form; one more moves them to the index.
const SMALL: usize = 8;
/// An index left with this many hosts or fewer goes back to the small form (not at `SMALL`, so
/// that a group hovering around it does not convert back and forth).
const BACK_TO_SMALL: usize = SMALL / 2;

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

/// One tracked host of the small form: what it wants, and until when it is remembered without
/// a report.
#[derive(Clone, Debug)]
struct TrackedHost<A> {
    address: A,
    filter: HostFilter<A>,
    expires: Timestamp,
}

#[derive(Clone, Debug)]
enum Hosts<A: Address> {
    /// At most `SMALL` hosts, sorted by address.
    Small(Few<TrackedHost<A>>),
    Indexed(Box<HostIndex<A>>),
}

/// The tracked hosts of one group.
#[derive(Clone, Debug)]
pub(crate) struct HostTable<A: Address> {
    hosts: Hosts<A>,
}

impl<A: Address> Default for HostTable<A> {
    fn default() -> Self {
        HostTable {
            hosts: Hosts::Small(Few::default()),
        }
    }
}

fn position<A: Address>(few: &Few<TrackedHost<A>>, host: &A) -> Result<usize, usize> {
    few.as_slice()
        .binary_search_by(|tracked| tracked.address.cmp(host))
}

impl<A: Address> HostTable<A> {
    fn filter(&self, host: &A) -> Option<&HostFilter<A>> {
        match &self.hosts {
            Hosts::Small(few) => {
                let index = position(few, host).ok()?;
                few.as_slice().get(index).map(|tracked| &tracked.filter)
            }
            Hosts::Indexed(index) => index.get(host).map(|(filter, _)| filter),
        }
    }

    pub(crate) fn contains(&self, host: &A) -> bool {
        self.filter(host).is_some()
    }

    /// Would this record make `host` a new member of the group?
    pub(crate) fn would_join(&self, host: &A, kind: RecordKind, sources: &BTreeSet<A>) -> bool {
        !self.contains(host) && HostFilter::after_record(None, kind, sources).is_some()
    }

    /// Moves `host`'s entry out: in the small form its place stays, holding an empty filter,
    /// until [`Self::store`] (no shifting, no reallocation for a refresh).
    fn take(&mut self, host: &A) -> Option<(HostFilter<A>, Timestamp)> {
        match &mut self.hosts {
            Hosts::Small(few) => {
                let index = position(few, host).ok()?;
                let tracked = few.as_mut_slice().get_mut(index)?;
                let filter = std::mem::replace(&mut tracked.filter, HostFilter::nothing());
                Some((filter, tracked.expires))
            }
            Hosts::Indexed(index) => index.take(host),
        }
    }

    /// Writes `host`'s entry back (`None`: removes it).
    fn store(&mut self, host: A, entry: Option<(HostFilter<A>, Timestamp)>) {
        match &mut self.hosts {
            Hosts::Small(few) => match (position(few, &host), entry) {
                (Ok(index), Some((filter, expires))) => {
                    if let Some(tracked) = few.as_mut_slice().get_mut(index) {
                        tracked.filter = filter;
                        tracked.expires = expires;
                    }
                }
                (Ok(index), None) => {
                    few.remove(index);
                }
                (Err(index), Some((filter, expires))) => {
                    if few.as_slice().len() < SMALL {
                        let tracked = TrackedHost {
                            address: host,
                            filter,
                            expires,
                        };
                        few.insert(index, tracked);
                    } else {
                        let mut index = HostIndex::default();
                        for tracked in std::mem::take(few).into_vec() {
                            index.put(tracked.address, tracked.filter, tracked.expires);
                        }
                        index.put(host, filter, expires);
                        self.hosts = Hosts::Indexed(Box::new(index));
                    }
                }
                (Err(_), None) => {}
            },
            Hosts::Indexed(index) => {
                if let Some((filter, expires)) = entry {
                    index.put(host, filter, expires);
                } else {
                    index.take(&host);
                    self.settle();
                }
            }
        }
    }

    /// An index left with few hosts goes back to the small form.
    fn settle(&mut self) {
        let Hosts::Indexed(index) = &mut self.hosts else {
            return;
        };
        if index.len() > BACK_TO_SMALL {
            return;
        }
        let hosts = std::mem::take(index.as_mut()).into_sorted();
        let tracked = hosts
            .into_iter()
            .map(|(address, filter, expires)| TrackedHost {
                address,
                filter,
                expires,
            })
            .collect();
        self.hosts = Hosts::Small(Few::from_vec(tracked));
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

    /// Does any tracked host want traffic from `source`?
    pub(crate) fn wants_source(&self, source: &A) -> bool {
        match &self.hosts {
            Hosts::Small(few) => few.as_slice().iter().any(|t| t.filter.wants_source(source)),
            Hosts::Indexed(index) => index.wants_source(source),
        }
    }

    /// Does any tracked host want the group in EXCLUDE mode (sources nobody listed)?
    pub(crate) fn any_exclude(&self) -> bool {
        match &self.hosts {
            Hosts::Small(few) => few.as_slice().iter().any(|t| t.filter.is_exclude()),
            Hosts::Indexed(index) => index.any_exclude(),
        }
    }

    /// Does a tracked host other than the anonymous one name `source` in INCLUDE mode?
    pub(crate) fn named_by_a_host(&self, source: &A) -> bool {
        match &self.hosts {
            Hosts::Small(few) => few
                .as_slice()
                .iter()
                .any(|t| !t.address.is_unspecified() && t.filter.includes(source)),
            Hosts::Indexed(index) => {
                let anonymous = index
                    .get(&A::UNSPECIFIED)
                    .is_some_and(|(filter, _)| filter.includes(source));
                index.including(source) > usize::from(anonymous)
            }
        }
    }

    /// Is every source a tracked host names in INCLUDE mode among the `count` sources for which
    /// `held` is true? Costs O(count) lookups at most, whatever the number of hosts.
    pub(crate) fn named_sources_within(&self, count: usize, held: impl Fn(&A) -> bool) -> bool {
        match &self.hosts {
            Hosts::Small(few) => few.as_slice().iter().all(|t| match &t.filter {
                HostFilter::Include(sources) => sources.iter().all(&held),
                HostFilter::Exclude(_) => true,
            }),
            Hosts::Indexed(index) => {
                index.included_count() <= count && index.included_sources().all(held)
            }
        }
    }

    /// The earliest expiry of a tracked host.
    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        match &self.hosts {
            Hosts::Small(few) => few.as_slice().iter().map(|t| t.expires).min(),
            Hosts::Indexed(index) => index.deadline(),
        }
    }

    /// Forgets hosts silent since their expiry; returns them.
    pub(crate) fn expire(&mut self, at: Timestamp) -> Vec<A> {
        match &mut self.hosts {
            Hosts::Small(few) => {
                let mut gone = Vec::new();
                few.retain(|tracked| {
                    let silent = tracked.expires <= at;
                    if silent {
                        gone.push(tracked.address);
                    }
                    !silent
                });
                gone
            }
            Hosts::Indexed(index) => {
                let gone = index.expire(at);
                self.settle();
                gone
            }
        }
    }

    /// Hosts in address order.
    pub(crate) fn hosts(&self) -> Vec<A> {
        match &self.hosts {
            Hosts::Small(few) => few.as_slice().iter().map(|t| t.address).collect(),
            Hosts::Indexed(index) => index.sorted_hosts(),
        }
    }

    /// Forgets every host (the group is deleted); returns them.
    pub(crate) fn drain(&mut self) -> Vec<A> {
        let gone = self.hosts();
        *self = HostTable::default();
        gone
    }
}

#[cfg(test)]
#[path = "hosts_tests.rs"]
mod tests;
