//! What an upstream was asked for, per group (RFC 4605 §4.1: the state the proxy's host part
//! requests), kept compactly.
//!
//! Nearly every group is an any-source join, EXCLUDE {}: every IGMPv2/MLDv1 host and every
//! IGMPv3/MLDv2 ASM join asks for it. Those entries hold no [`Membership`] of their own (a tree
//! slot of one pointer instead of a 32-byte value) and share one EXCLUDE {}; other states are
//! boxed. Readers see plain [`Membership`] values either way.

use crate::merge::Membership;
use mrproxy_types::FilterMode;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Requested<A: Ord> {
    /// EXCLUDE {}: every source.
    AnySource,
    /// Any other state: INCLUDE with sources, or EXCLUDE of some sources.
    Filtered(Box<Membership<A>>),
}

/// The membership last requested per group on one upstream; a group absent is not joined.
#[derive(Clone, Debug)]
pub struct JoinedGroups<A: Ord> {
    requested: BTreeMap<A, Requested<A>>,
    /// The one EXCLUDE {} that every [`Requested::AnySource`] entry stands for.
    any_source: Membership<A>,
}

impl<A: Ord> Default for JoinedGroups<A> {
    fn default() -> Self {
        JoinedGroups {
            requested: BTreeMap::new(),
            any_source: Membership {
                mode: FilterMode::Exclude,
                sources: BTreeSet::new(),
            },
        }
    }
}

impl<A: Ord + Copy> JoinedGroups<A> {
    /// What was requested for `group`; `None`: not joined.
    pub fn get(&self, group: &A) -> Option<&Membership<A>> {
        self.requested.get(group).map(|r| self.resolve(r))
    }

    /// Records that `membership` was requested for `group`.
    pub fn insert(&mut self, group: A, membership: &Membership<A>) {
        let requested = if *membership == self.any_source {
            Requested::AnySource
        } else {
            Requested::Filtered(Box::new(membership.clone()))
        };
        self.requested.insert(group, requested);
    }

    /// Records that `group` was left.
    pub fn remove(&mut self, group: &A) {
        self.requested.remove(group);
    }

    /// The joined groups, in address order.
    pub fn groups(&self) -> impl Iterator<Item = A> + '_ {
        self.requested.keys().copied()
    }

    /// Every joined group with its membership, in address order.
    pub fn iter(&self) -> impl Iterator<Item = (&A, &Membership<A>)> {
        self.requested
            .iter()
            .map(|(group, r)| (group, self.resolve(r)))
    }

    fn resolve<'a>(&'a self, requested: &'a Requested<A>) -> &'a Membership<A> {
        match requested {
            Requested::AnySource => &self.any_source,
            Requested::Filtered(membership) => membership,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn any_source_and_filtered_states_read_back_as_requested() {
        let (g1, g2) = (Ipv4Addr::new(239, 1, 1, 1), Ipv4Addr::new(232, 1, 1, 1));
        let source = Ipv4Addr::new(198, 51, 100, 7);
        let asm = Membership {
            mode: FilterMode::Exclude,
            sources: BTreeSet::new(),
        };
        let ssm = Membership {
            mode: FilterMode::Include,
            sources: BTreeSet::from([source]),
        };
        let mut joined = JoinedGroups::default();
        joined.insert(g1, &asm);
        joined.insert(g2, &ssm);
        assert!(matches!(
            joined.requested.get(&g1),
            Some(Requested::AnySource)
        ));
        assert_eq!(joined.get(&g1), Some(&asm));
        assert_eq!(joined.get(&g2), Some(&ssm));
        assert_eq!(joined.groups().collect::<Vec<_>>(), vec![g2, g1]);
        assert_eq!(
            joined.iter().collect::<Vec<_>>(),
            vec![(&g2, &ssm), (&g1, &asm)]
        );
        joined.insert(g1, &ssm);
        assert_eq!(joined.get(&g1), Some(&ssm), "a group's state is replaced");
        joined.remove(&g1);
        assert_eq!(joined.get(&g1), None);
        assert_eq!(joined.groups().count(), 1);
    }
}
