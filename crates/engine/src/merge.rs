//! The RFC 4605 §4.1 membership database: the downstream subscriptions of one group merged into
//! the one state the proxy requests upstream, with the interface-state rules of RFC 9776 §3.2.

use mrproxy_membership::{Address, Subscription};
use mrproxy_types::FilterMode;
use serde::Serialize;
use std::collections::BTreeSet;

/// One group's merged (or upstream) state. `Include` with no sources never appears: that is
/// "no membership", represented by the absence of a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Membership<A: Ord> {
    pub mode: FilterMode,
    pub sources: BTreeSet<A>,
}

/// RFC 9776 §3.2 (RFC 3376 §3.2): if any subscription is EXCLUDE, the result is EXCLUDE with
/// the intersection of the EXCLUDE lists minus the union of the INCLUDE lists; otherwise INCLUDE
/// with the union of the INCLUDE lists; nothing at all (or only empty INCLUDEs) is no membership.
pub fn merge<A: Address>(
    subscriptions: impl IntoIterator<Item = Subscription<A>>,
) -> Option<Membership<A>> {
    let mut included: BTreeSet<A> = BTreeSet::new();
    let mut excluded: Option<BTreeSet<A>> = None;
    for subscription in subscriptions {
        match subscription {
            Subscription::Include(sources) => included.extend(sources),
            Subscription::Exclude(sources) => {
                excluded = Some(match excluded {
                    None => sources,
                    Some(common) => common.intersection(&sources).copied().collect(),
                });
            }
        }
    }
    match excluded {
        Some(common) => {
            let sources = common.difference(&included).copied().collect();
            Some(Membership {
                mode: FilterMode::Exclude,
                sources,
            })
        }
        None if included.is_empty() => None,
        None => Some(Membership {
            mode: FilterMode::Include,
            sources: included,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    /// Sources are 192.0.2.n; tests name them by n.
    fn src(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, n)
    }
    fn set(v: &[u8]) -> BTreeSet<Ipv4Addr> {
        v.iter().map(|n| src(*n)).collect()
    }
    fn inc(v: &[u8]) -> Subscription<Ipv4Addr> {
        Subscription::Include(set(v))
    }
    fn exc(v: &[u8]) -> Subscription<Ipv4Addr> {
        Subscription::Exclude(set(v))
    }
    fn m(mode: FilterMode, v: &[u8]) -> Option<Membership<Ipv4Addr>> {
        Some(Membership {
            mode,
            sources: set(v),
        })
    }

    #[test]
    fn worked_examples() {
        use FilterMode::{Exclude, Include};
        assert_eq!(merge(Vec::<Subscription<Ipv4Addr>>::new()), None);
        assert_eq!(merge([inc(&[])]), None);
        assert_eq!(merge([inc(&[1, 2]), inc(&[2, 3])]), m(Include, &[1, 2, 3]));
        // An ASM listener anywhere makes the merged state ASM.
        assert_eq!(merge([inc(&[1]), exc(&[])]), m(Exclude, &[]));
        assert_eq!(
            merge([exc(&[1, 2, 3]), exc(&[2, 3, 4])]),
            m(Exclude, &[2, 3])
        );
        // A source one LAN excludes but another LAN includes is wanted.
        assert_eq!(merge([exc(&[1, 2]), inc(&[2])]), m(Exclude, &[1]));
        assert_eq!(
            merge([exc(&[1, 2]), inc(&[2]), exc(&[1, 2, 5])]),
            m(Exclude, &[1])
        );
    }

    fn subscription() -> impl Strategy<Value = Subscription<Ipv4Addr>> {
        (
            any::<bool>(),
            proptest::collection::btree_set((0u8..8).prop_map(src), 0..5),
        )
            .prop_map(|(ex, s)| {
                if ex {
                    Subscription::Exclude(s)
                } else {
                    Subscription::Include(s)
                }
            })
    }

    fn wants(sub: &Subscription<Ipv4Addr>, s: Ipv4Addr) -> bool {
        match sub {
            Subscription::Include(set) => set.contains(&s),
            Subscription::Exclude(set) => !set.contains(&s),
        }
    }

    proptest! {
        /// The merged state wants exactly the sources some downstream wants (RFC 9776 §3.2 is
        /// the per-source union of the interface states).
        #[test]
        fn merged_state_wants_the_union(subs in proptest::collection::vec(subscription(), 0..5)) {
            let merged = merge(subs.clone());
            for s in (0u8..8).map(src) {
                let any = subs.iter().any(|sub| wants(sub, s));
                let got = match &merged {
                    None => false,
                    Some(Membership { mode: FilterMode::Include, sources }) => sources.contains(&s),
                    Some(Membership { mode: FilterMode::Exclude, sources }) => !sources.contains(&s),
                };
                prop_assert_eq!(got, any, "source {}", s);
            }
        }
    }
}
