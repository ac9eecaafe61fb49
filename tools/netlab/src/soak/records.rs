//! The records simulated hosts send: on a state change (RFC 9776 §5.1) and in answer to a query
//! (§5.2). The messages themselves are built and parsed by [`crate::igmp`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use super::model::Want;
use crate::igmp::{ALLOW, BLOCK, IS_EX, IS_IN, Query, Record, TO_EX, TO_IN};

/// The records of a state change of `group` (RFC 9776 §5.1); `None` is INCLUDE {} (not a
/// member), [`Want::AnySource`] EXCLUDE {}.
pub fn state_change(group: Ipv4Addr, old: Option<&Want>, new: Option<&Want>) -> Vec<Record> {
    let empty = BTreeSet::new();
    let include = |w: Option<&Want>| -> Option<BTreeSet<Ipv4Addr>> {
        match w {
            None => Some(empty.clone()),
            Some(Want::Include(s)) => Some(s.clone()),
            Some(Want::AnySource) => None,
        }
    };
    let record = |kind, sources: Vec<Ipv4Addr>| Record {
        kind,
        group,
        sources,
    };
    match (include(old), include(new)) {
        (Some(a), Some(b)) => {
            let mut out = Vec::new();
            let allow: Vec<_> = b.difference(&a).copied().collect();
            let block: Vec<_> = a.difference(&b).copied().collect();
            if !allow.is_empty() {
                out.push(record(ALLOW, allow));
            }
            if !block.is_empty() {
                out.push(record(BLOCK, block));
            }
            out
        }
        (Some(_), None) => vec![record(TO_EX, Vec::new())],
        (None, Some(b)) => vec![record(TO_IN, b.into_iter().collect())],
        (None, None) => Vec::new(),
    }
}

/// The current-state records answering `query` (RFC 9776 §5.2).
pub fn current_state(groups: &BTreeMap<Ipv4Addr, Want>, query: &Query) -> Vec<Record> {
    let state = |group: Ipv4Addr, want: &Want| match want {
        Want::AnySource => Record {
            kind: IS_EX,
            group,
            sources: Vec::new(),
        },
        Want::Include(s) => Record {
            kind: IS_IN,
            group,
            sources: s.iter().copied().collect(),
        },
    };
    match query {
        Query::General => groups.iter().map(|(g, w)| state(*g, w)).collect(),
        Query::Group(g) => groups.get(g).map(|w| state(*g, w)).into_iter().collect(),
        Query::GroupSources(g, asked) => {
            let Some(want) = groups.get(g) else {
                return Vec::new();
            };
            let sources: Vec<Ipv4Addr> = asked.iter().copied().filter(|s| want.wants(*s)).collect();
            if sources.is_empty() {
                Vec::new()
            } else {
                vec![Record {
                    kind: IS_IN,
                    group: *g,
                    sources,
                }]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn state_changes_follow_the_rfc_table() {
        let g = a("239.1.0.3");
        let (s1, s2) = (a("198.51.100.2"), a("198.51.100.3"));
        let inc = |s: &[Ipv4Addr]| Want::Include(s.iter().copied().collect());
        let kinds = |r: Vec<Record>| {
            r.into_iter()
                .map(|r| (r.kind, r.sources))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(state_change(g, None, Some(&Want::AnySource))),
            vec![(TO_EX, vec![])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&Want::AnySource), None)),
            vec![(TO_IN, vec![])]
        );
        assert_eq!(
            kinds(state_change(g, None, Some(&inc(&[s1])))),
            vec![(ALLOW, vec![s1])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&inc(&[s1])), Some(&inc(&[s2])))),
            vec![(ALLOW, vec![s2]), (BLOCK, vec![s1])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&inc(&[s1, s2])), None)),
            vec![(BLOCK, vec![s1, s2])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&Want::AnySource), Some(&inc(&[s2])))),
            vec![(TO_IN, vec![s2])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&inc(&[s2])), Some(&Want::AnySource))),
            vec![(TO_EX, vec![])]
        );
    }

    #[test]
    fn answers_to_group_and_source_queries() {
        let g = a("239.1.0.3");
        let (s1, s2, s3) = (a("198.51.100.2"), a("198.51.100.3"), a("198.51.100.4"));
        let mut groups = BTreeMap::new();
        groups.insert(g, Want::Include([s1, s2].into()));
        let q = Query::GroupSources(g, vec![s2, s3]);
        assert_eq!(current_state(&groups, &q)[0].sources, vec![s2]);
        assert!(current_state(&groups, &Query::GroupSources(g, vec![s3])).is_empty());
        groups.insert(g, Want::AnySource);
        assert_eq!(current_state(&groups, &q)[0].sources, vec![s2, s3]);
        assert_eq!(current_state(&groups, &Query::General)[0].kind, IS_EX);
        assert!(current_state(&groups, &Query::Group(a("239.1.0.4"))).is_empty());
    }
}
