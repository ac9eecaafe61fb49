//! Limits of the link's tables (docs/protocol-rules.md §4.10): groups, and sources per group.
//! The per-host limits are in `host_limits.rs`, non-querier behaviour in `non_querier.rs`.

mod common;
use common::*;
use mrproxy_membership::{Limit, Message, PortEvent, RecordKind::*};

#[test]
fn group_beyond_max_groups_is_dropped() {
    let mut lab = limited(2, 100, 100);
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    lab.receive(host(2), Message::ReportV2 { group: group(2) });
    let out = lab.receive(host(3), Message::ReportV2 { group: group(3) });
    assert_eq!(
        out.events,
        vec![PortEvent::LimitHit {
            limit: Limit::Groups,
            host: host(3),
            group: group(3)
        }]
    );
    assert!(out.changed.is_empty());
    assert_eq!(lab.port.groups(), vec![group(1), group(2)]);
    assert_eq!(lab.port.counters().limit_drops, 1);
    // Existing groups are still refreshed, and room appears when one goes.
    assert!(
        lab.receive(host(3), Message::ReportV2 { group: group(1) })
            .events
            .is_empty()
    );
    lab.receive(host(2), Message::Leave { group: group(2) });
    lab.advance(secs(2));
    let out = lab.receive(host(3), Message::ReportV2 { group: group(3) });
    assert_eq!(out.changed, vec![group(3)]);
}

#[test]
fn sources_beyond_the_limit_are_dropped() {
    let mut lab = limited(10, 3, 100);
    let out = lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2, 3, 4, 5])]);
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(
        out.events,
        vec![PortEvent::LimitHit {
            limit: Limit::SourcesPerGroup,
            host: host(1),
            group: group(1)
        }]
    );
    assert_eq!(lab.port.counters().limit_drops, 1);
    let state = lab.group_state(group(1)).expect("group");
    assert_eq!(state.sources.len(), 3);
    assert!(lab.port.wants(&group(1), &source(1)) && !lab.port.wants(&group(1), &source(5)));
    // Excluded sources count too.
    let out = lab.report(host(1), vec![record(IsExclude, group(2), &[1, 2, 3, 4])]);
    assert_eq!(out.events.len(), 1);
    assert_eq!(lab.group_state(group(2)).map(|g| g.sources.len()), Some(3));
}
