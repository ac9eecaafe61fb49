//! Explicit host tracking for one group (protocol.md §4.9, in the spirit of
//! draft-ietf-pim-explicit-tracking): what each reporting host wants, rebuilt from its own
//! records, so that a leave can be acted on at once when nobody else wants the traffic.
//!
//! IGMPv3/MLDv2 hosts never suppress reports, so for them this is exact. IGMPv1/v2 and MLDv1
//! hosts are entered as EXCLUDE({}) (any source), but a silent second viewer is invisible:
//! the port never fast-leaves a group in an older compatibility mode. Reports from the
//! unspecified address form one anonymous host that only ever widens its interest and so
//! blocks fast leave until it expires.

use crate::few::Few;
use crate::{Address, RecordKind, Timestamp};
use std::collections::BTreeSet;

/// One host's filter for the group (RFC 9776 §3.2 socket-state form).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostFilter<A> {
    Include(BTreeSet<A>),
    Exclude(BTreeSet<A>),
}

impl<A: Address> HostFilter<A> {
    fn wants_source(&self, source: &A) -> bool {
        match self {
            HostFilter::Include(sources) => sources.contains(source),
            HostFilter::Exclude(sources) => !sources.contains(source),
        }
    }

    /// The host's filter after one of its records (`current` = its filter before; `None` = it
    /// wanted nothing). `None` as result: the host no longer wants the group.
    fn after_record(
        current: Option<HostFilter<A>>,
        kind: RecordKind,
        sources: &BTreeSet<A>,
    ) -> Option<Self> {
        let include = |set: BTreeSet<A>| (!set.is_empty()).then_some(HostFilter::Include(set));
        match (kind, current) {
            (RecordKind::IsInclude | RecordKind::ToInclude, _) => include(sources.clone()),
            (RecordKind::IsExclude | RecordKind::ToExclude, _) => {
                Some(HostFilter::Exclude(sources.clone()))
            }
            (RecordKind::Allow, None) => include(sources.clone()),
            (RecordKind::Allow, Some(HostFilter::Include(mut set))) => {
                set.extend(sources.iter().copied());
                include(set)
            }
            (RecordKind::Allow, Some(HostFilter::Exclude(mut set))) => {
                set.retain(|s| !sources.contains(s));
                Some(HostFilter::Exclude(set))
            }
            (RecordKind::Block, None) => None,
            (RecordKind::Block, Some(HostFilter::Include(mut set))) => {
                set.retain(|s| !sources.contains(s));
                include(set)
            }
            (RecordKind::Block, Some(HostFilter::Exclude(mut set))) => {
                set.extend(sources.iter().copied());
                Some(HostFilter::Exclude(set))
            }
        }
    }

    /// The union of two filters: everything either wants (RFC 9776 §3.2 merge rules).
    fn union(self, other: HostFilter<A>) -> HostFilter<A> {
        match (self, other) {
            (HostFilter::Include(mut a), HostFilter::Include(b)) => {
                a.extend(b);
                HostFilter::Include(a)
            }
            (HostFilter::Include(inc), HostFilter::Exclude(mut exc))
            | (HostFilter::Exclude(mut exc), HostFilter::Include(inc)) => {
                exc.retain(|s| !inc.contains(s));
                HostFilter::Exclude(exc)
            }
            (HostFilter::Exclude(mut a), HostFilter::Exclude(b)) => {
                a.retain(|s| b.contains(s));
                HostFilter::Exclude(a)
            }
        }
    }

    /// Keeps memory bounded: a host never holds more sources than a group may.
    fn truncate(&mut self, cap: usize) {
        let set = match self {
            HostFilter::Include(set) | HostFilter::Exclude(set) => set,
        };
        while set.len() > cap {
            set.pop_last();
        }
    }
}

/// How a host's membership of the group changed (for the per-host group count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostChange {
    Joined,
    Left,
    Unchanged,
}

/// One tracked host: what it wants, and until when it is remembered without a report.
#[derive(Clone, Debug)]
struct TrackedHost<A> {
    address: A,
    filter: HostFilter<A>,
    expires: Timestamp,
}

/// The tracked hosts of one group, sorted by address. A group nearly always has one host, held
/// inline without an allocation (a map would allocate a whole node for it), and rarely more
/// than a few: lookups are binary searches, and the earliest expiry is found by a scan of the
/// group's hosts, never of the link's.
#[derive(Clone, Debug)]
pub(crate) struct HostTable<A: Address> {
    hosts: Few<TrackedHost<A>>,
}

impl<A: Address> Default for HostTable<A> {
    fn default() -> Self {
        HostTable {
            hosts: Few::default(),
        }
    }
}

impl<A: Address> HostTable<A> {
    /// `Ok(index)` of `host`, or `Err(index)` where it would be inserted.
    fn position(&self, host: &A) -> Result<usize, usize> {
        self.hosts
            .as_slice()
            .binary_search_by(|tracked| tracked.address.cmp(host))
    }

    pub(crate) fn contains(&self, host: &A) -> bool {
        self.position(host).is_ok()
    }

    /// Would this record make `host` a new member of the group?
    pub(crate) fn would_join(&self, host: &A, kind: RecordKind, sources: &BTreeSet<A>) -> bool {
        !self.contains(host) && HostFilter::after_record(None, kind, sources).is_some()
    }

    /// Applies one record from `host`; a host that still wants the group is kept until
    /// `expires` (a Group Membership Interval without reports).
    pub(crate) fn apply(
        &mut self,
        host: A,
        kind: RecordKind,
        sources: &BTreeSet<A>,
        expires: Timestamp,
        cap: usize,
    ) -> HostChange {
        let position = self.position(&host);
        // The host's filter is moved out while the record is applied (an empty INCLUDE, which
        // allocates nothing, holds its place) and written back or removed below.
        let current = position
            .ok()
            .and_then(|index| self.hosts.as_mut_slice().get_mut(index))
            .map(|tracked| {
                std::mem::replace(&mut tracked.filter, HostFilter::Include(BTreeSet::new()))
            });
        let next = if host.is_unspecified() {
            // Anonymous reports come from any number of hosts: never narrow what they asked for.
            let fresh = HostFilter::after_record(current.clone(), kind, sources);
            match (current, fresh) {
                (Some(old), Some(new)) => Some(old.union(new)),
                (Some(old), None) => {
                    // Nothing asked for: keep the old interest, without refreshing it.
                    if let Some(tracked) = position
                        .ok()
                        .and_then(|index| self.hosts.as_mut_slice().get_mut(index))
                    {
                        tracked.filter = old;
                    }
                    return HostChange::Unchanged;
                }
                (None, fresh) => fresh,
            }
        } else {
            HostFilter::after_record(current, kind, sources)
        };
        match (position, next) {
            (Ok(index), Some(mut filter)) => {
                filter.truncate(cap);
                if let Some(tracked) = self.hosts.as_mut_slice().get_mut(index) {
                    tracked.filter = filter;
                    tracked.expires = expires;
                }
                HostChange::Unchanged
            }
            (Err(index), Some(mut filter)) => {
                filter.truncate(cap);
                let tracked = TrackedHost {
                    address: host,
                    filter,
                    expires,
                };
                self.hosts.insert(index, tracked);
                HostChange::Joined
            }
            (Ok(index), None) => {
                self.hosts.remove(index);
                HostChange::Left
            }
            (Err(_), None) => HostChange::Unchanged,
        }
    }

    /// An IGMPv1/v2 or MLDv1 report: the host wants every source.
    pub(crate) fn join_any_source(&mut self, host: A, expires: Timestamp) -> HostChange {
        self.apply(host, RecordKind::IsExclude, &BTreeSet::new(), expires, 0)
    }

    /// An IGMPv2 leave or MLDv1 done. The anonymous host cannot leave explicitly.
    pub(crate) fn leave(&mut self, host: A) -> HostChange {
        if host.is_unspecified() {
            return HostChange::Unchanged;
        }
        match self.position(&host) {
            Ok(index) => {
                self.hosts.remove(index);
                HostChange::Left
            }
            Err(_) => HostChange::Unchanged,
        }
    }

    /// Does any tracked host want traffic from `source`?
    pub(crate) fn wants_source(&self, source: &A) -> bool {
        self.hosts
            .as_slice()
            .iter()
            .any(|tracked| tracked.filter.wants_source(source))
    }

    /// Does any tracked host want the group in EXCLUDE mode (sources nobody listed)?
    pub(crate) fn any_exclude(&self) -> bool {
        self.hosts
            .as_slice()
            .iter()
            .any(|tracked| matches!(tracked.filter, HostFilter::Exclude(_)))
    }

    /// The earliest expiry of a tracked host.
    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        self.hosts
            .as_slice()
            .iter()
            .map(|tracked| tracked.expires)
            .min()
    }

    /// Forgets hosts silent since their expiry; returns them.
    pub(crate) fn expire(&mut self, at: Timestamp) -> Vec<A> {
        let mut gone = Vec::new();
        self.hosts.retain(|tracked| {
            let silent = tracked.expires <= at;
            if silent {
                gone.push(tracked.address);
            }
            !silent
        });
        gone
    }

    /// Hosts in address order.
    pub(crate) fn hosts(&self) -> impl Iterator<Item = A> + '_ {
        self.hosts.as_slice().iter().map(|tracked| tracked.address)
    }

    /// Forgets every host (the group is deleted); returns them.
    pub(crate) fn drain(&mut self) -> Vec<A> {
        let gone = self.hosts().collect();
        self.hosts = Few::default();
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn a(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, last)
    }
    fn set(items: &[u8]) -> BTreeSet<Ipv4Addr> {
        items.iter().map(|&i| a(i)).collect()
    }

    #[test]
    fn v3_host_filter_rebuilt_from_records() {
        let mut table = HostTable::default();
        let h = a(10);
        assert_eq!(
            table.apply(h, RecordKind::Allow, &set(&[1]), Timestamp(9), 10),
            HostChange::Joined
        );
        assert!(table.wants_source(&a(1)));
        assert!(!table.any_exclude());
        assert_eq!(
            table.apply(h, RecordKind::ToExclude, &set(&[2]), Timestamp(9), 10),
            HostChange::Unchanged
        );
        assert!(table.any_exclude());
        assert!(table.wants_source(&a(1)) && !table.wants_source(&a(2)));
        assert_eq!(
            table.apply(h, RecordKind::Block, &set(&[1]), Timestamp(9), 10),
            HostChange::Unchanged
        );
        assert!(!table.wants_source(&a(1)));
        assert_eq!(
            table.apply(h, RecordKind::ToInclude, &set(&[]), Timestamp(9), 10),
            HostChange::Left
        );
        assert!(!table.contains(&h));
        assert_eq!(table.deadline(), None);
    }

    #[test]
    fn anonymous_host_never_narrows() {
        let mut table = HostTable::default();
        let anon = Ipv4Addr::UNSPECIFIED;
        table.apply(anon, RecordKind::IsInclude, &set(&[1]), Timestamp(5), 10);
        table.apply(anon, RecordKind::Block, &set(&[1]), Timestamp(6), 10);
        assert!(table.wants_source(&a(1)));
        assert_eq!(table.leave(anon), HostChange::Unchanged);
        assert_eq!(table.deadline(), Some(Timestamp(5)));
        table.apply(anon, RecordKind::IsExclude, &set(&[1, 2]), Timestamp(7), 10);
        // INCLUDE{1} ∪ EXCLUDE{1,2} = EXCLUDE{2}
        assert!(
            table.wants_source(&a(1)) && !table.wants_source(&a(2)) && table.wants_source(&a(3))
        );
        assert_eq!(table.expire(Timestamp(7)), vec![anon]);
    }

    #[test]
    fn cap_bounds_host_sources() {
        let mut table = HostTable::default();
        table.apply(
            a(10),
            RecordKind::IsInclude,
            &set(&[1, 2, 3]),
            Timestamp(1),
            2,
        );
        assert!(
            table.wants_source(&a(1)) && table.wants_source(&a(2)) && !table.wants_source(&a(3))
        );
    }
}
