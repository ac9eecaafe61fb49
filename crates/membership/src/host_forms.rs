//! The two forms of a group's tracked hosts: up to [`SMALL`] held inline or in a vector sorted by
//! address (a bounded scan answers every question), more in a [`HostIndex`] (O(log n) per
//! operation). Everything here depends on the form; `hosts.rs` builds the tracking rules on it.

use crate::few::Few;
use crate::host_filter::HostFilter;
use crate::host_index::HostIndex;
use crate::hosts::{HostTable, entries_of};
use crate::{Address, Timestamp};

/// Most hosts a group keeps in its small form; one more moves them to the index.
pub(crate) const SMALL: usize = 8;
/// An index left with this many hosts or fewer goes back to the small form (not at `SMALL`, so
/// that a group hovering around it does not convert back and forth).
pub(crate) const BACK_TO_SMALL: usize = SMALL / 2;

/// One tracked host of the small form: what it wants, and until when it is remembered without
/// a report.
#[derive(Clone, Debug)]
pub(crate) struct TrackedHost<A> {
    address: A,
    filter: HostFilter<A>,
    expires: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) enum Hosts<A: Address> {
    /// At most `SMALL` hosts, sorted by address.
    Small(Few<TrackedHost<A>>),
    Indexed(Box<HostIndex<A>>),
}

fn position<A: Address>(few: &Few<TrackedHost<A>>, host: &A) -> Result<usize, usize> {
    few.as_slice()
        .binary_search_by(|tracked| tracked.address.cmp(host))
}

impl<A: Address> HostTable<A> {
    pub(crate) fn contains(&self, host: &A) -> bool {
        match &self.hosts {
            Hosts::Small(few) => position(few, host).is_ok(),
            Hosts::Indexed(index) => index.contains(host),
        }
    }

    /// Moves `host`'s filter out: its entry stays, holding an empty filter, until
    /// [`Self::store`] (a refresh neither shifts the vector nor moves the index's entry).
    pub(crate) fn take(&mut self, host: &A) -> Option<(HostFilter<A>, Timestamp)> {
        match &mut self.hosts {
            Hosts::Small(few) => {
                let index = position(few, host).ok()?;
                let tracked = few.as_mut_slice().get_mut(index)?;
                let filter = std::mem::replace(&mut tracked.filter, HostFilter::nothing());
                Some((filter, tracked.expires))
            }
            Hosts::Indexed(index) => index.take_filter(host),
        }
    }

    /// Writes `host`'s entry back (`None`: removes it).
    pub(crate) fn store(&mut self, host: A, entry: Option<(HostFilter<A>, Timestamp)>) {
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
                let anonymous = index.includes(&A::UNSPECIFIED, source);
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

    /// Forgets hosts silent since their expiry; returns them and the entries they held.
    pub(crate) fn expire(&mut self, at: Timestamp) -> (Vec<A>, usize) {
        let mut freed = 0;
        let mut count = |address: &A, filter: &HostFilter<A>| {
            if !address.is_unspecified() {
                freed += entries_of(filter);
            }
        };
        let gone = match &mut self.hosts {
            Hosts::Small(few) => {
                let mut gone = Vec::new();
                few.retain(|tracked| {
                    let silent = tracked.expires <= at;
                    if silent {
                        count(&tracked.address, &tracked.filter);
                        gone.push(tracked.address);
                    }
                    !silent
                });
                gone
            }
            Hosts::Indexed(index) => {
                let gone = index.expire(at, count);
                self.settle();
                gone
            }
        };
        (gone, freed)
    }

    /// Hosts in address order.
    pub(crate) fn hosts(&self) -> Vec<A> {
        match &self.hosts {
            Hosts::Small(few) => few.as_slice().iter().map(|t| t.address).collect(),
            Hosts::Indexed(index) => index.sorted_hosts(),
        }
    }

    /// Forgets every host (the group is deleted); returns them and the entries they held.
    pub(crate) fn drain(&mut self) -> (Vec<A>, usize) {
        let all: Vec<(A, HostFilter<A>)> = match std::mem::take(self).hosts {
            Hosts::Small(few) => few
                .into_vec()
                .into_iter()
                .map(|tracked| (tracked.address, tracked.filter))
                .collect(),
            Hosts::Indexed(index) => index
                .into_sorted()
                .into_iter()
                .map(|(address, filter, _)| (address, filter))
                .collect(),
        };
        let freed = all
            .iter()
            .filter(|(address, _)| !address.is_unspecified())
            .map(|(_, filter)| entries_of(filter))
            .sum();
        (all.into_iter().map(|(address, _)| address).collect(), freed)
    }
}
