//! One tracked host's filter for a group (RFC 9776 §3.2 socket-state form), rebuilt from its
//! own records.

use crate::{Address, RecordKind};
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostFilter<A> {
    Include(BTreeSet<A>),
    Exclude(BTreeSet<A>),
}

impl<A: Address> HostFilter<A> {
    /// INCLUDE({}): wants nothing; holds a place without an allocation.
    pub(crate) fn nothing() -> Self {
        HostFilter::Include(BTreeSet::new())
    }

    pub(crate) fn wants_source(&self, source: &A) -> bool {
        match self {
            HostFilter::Include(sources) => sources.contains(source),
            HostFilter::Exclude(sources) => !sources.contains(source),
        }
    }

    /// Does the filter name `source` in INCLUDE mode?
    pub(crate) fn includes(&self, source: &A) -> bool {
        matches!(self, HostFilter::Include(sources) if sources.contains(source))
    }

    pub(crate) fn is_exclude(&self) -> bool {
        matches!(self, HostFilter::Exclude(_))
    }

    /// The listed sources (included or excluded).
    pub(crate) fn sources(&self) -> &BTreeSet<A> {
        match self {
            HostFilter::Include(set) | HostFilter::Exclude(set) => set,
        }
    }

    /// The host's filter after one of its records (`current` = its filter before; `None` = it
    /// wanted nothing). `None` as result: the host no longer wants the group.
    ///
    /// A MODE_IS_INCLUDE record only adds to what the host wants, like ALLOW: it is also the
    /// answer to a group-and-source-specific query, IS_IN(queried sources the host wants),
    /// which says nothing about the sources not queried (RFC 9776 §5.2, RFC 9777 §6.2), even
    /// for a host in EXCLUDE mode. Taking it as the whole state would narrow the host's
    /// filter and let a fast leave cut what it still receives. MODE_IS_EXCLUDE answers only
    /// general and group-specific queries, and is the whole state.
    pub(crate) fn after_record(
        current: Option<HostFilter<A>>,
        kind: RecordKind,
        sources: &BTreeSet<A>,
    ) -> Option<Self> {
        let include = |set: BTreeSet<A>| (!set.is_empty()).then_some(HostFilter::Include(set));
        match (kind, current) {
            (RecordKind::ToInclude, _) => include(sources.clone()),
            (RecordKind::IsExclude | RecordKind::ToExclude, _) => {
                Some(HostFilter::Exclude(sources.clone()))
            }
            (RecordKind::Allow | RecordKind::IsInclude, None) => include(sources.clone()),
            (RecordKind::Allow | RecordKind::IsInclude, Some(HostFilter::Include(mut set))) => {
                set.extend(sources.iter().copied());
                include(set)
            }
            (RecordKind::Allow | RecordKind::IsInclude, Some(HostFilter::Exclude(mut set))) => {
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
    pub(crate) fn union(self, other: HostFilter<A>) -> HostFilter<A> {
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

    /// Keeps memory bounded: a filter never holds more sources than a group may.
    pub(crate) fn truncate(&mut self, cap: usize) {
        let set = match self {
            HostFilter::Include(set) | HostFilter::Exclude(set) => set,
        };
        while set.len() > cap {
            set.pop_last();
        }
    }
}
