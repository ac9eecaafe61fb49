//! Limits (docs/protocol-rules.md §4.10) and non-querier behaviour (RFC 9776 §6.6.1, RFC 2236 §3).

mod common;
use common::*;
use mrproxy_membership::{Limit, Message, Mode, PortConfig, PortEvent, RecordKind::*};

fn limited(groups: usize, sources: usize, per_host: usize) -> Lab {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.max_groups = groups;
    config.max_sources_per_group = sources;
    config.max_groups_per_host = per_host;
    Lab::new(config)
}

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

#[test]
fn host_beyond_max_groups_per_host_is_dropped() {
    let mut lab = limited(10, 10, 2);
    lab.report(
        host(1),
        vec![
            record(IsExclude, group(1), &[]),
            record(IsExclude, group(2), &[]),
        ],
    );
    let out = lab.report(host(1), vec![record(IsExclude, group(3), &[])]);
    assert_eq!(
        out.events,
        vec![PortEvent::LimitHit {
            limit: Limit::GroupsPerHost,
            host: host(1),
            group: group(3)
        }]
    );
    assert_eq!(lab.port.groups(), vec![group(1), group(2)]);
    // Another host may still join it, and host 1 may refresh its groups.
    assert!(
        lab.report(host(2), vec![record(IsExclude, group(3), &[])])
            .events
            .is_empty()
    );
    assert!(
        lab.report(host(1), vec![record(IsExclude, group(1), &[])])
            .events
            .is_empty()
    );
    // After a leave, host 1 has room again.
    lab.report(host(1), vec![record(ToInclude, group(2), &[])]);
    assert!(
        lab.report(host(1), vec![record(IsExclude, group(3), &[])])
            .events
            .is_empty()
    );
    assert_eq!(
        lab.group_state(group(3)).map(|g| g.hosts),
        Some(vec![host(1), host(2)])
    );
}

#[test]
fn host_counts_follow_expiry_and_group_deletion() {
    let mut lab = limited(10, 10, 1);
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    lab.advance(secs(260)); // host entry and group both expire
    assert!(lab.port.groups().is_empty());
    let out = lab.report(host(1), vec![record(IsExclude, group(2), &[])]);
    assert!(
        out.events.is_empty(),
        "the expired membership no longer counts"
    );
}

#[test]
fn non_querier_ignores_leaves_but_keeps_state_from_reports() {
    let mut lab = Lab::v3();
    lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
    let out = lab.receive(host(1), Message::ReportV2 { group: group(1) });
    assert_eq!(out.changed, vec![group(1)]);
    let out = lab.receive(host(1), Message::Leave { group: group(1) });
    assert!(out.send.is_empty() && out.changed.is_empty());
    assert!(matches!(out.events.as_slice(), [PortEvent::Ignored { .. }]));
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(260_000)
    );
    // A v3 TO_IN({}) is processed, but its Q(G) belongs to the querier: no query, no lowering.
    lab.report(host(2), vec![record(IsExclude, group(2), &[])]);
    let out = lab.report(host(2), vec![record(ToInclude, group(2), &[])]);
    assert!(out.send.is_empty());
    assert_eq!(
        lab.group_state(group(2)).and_then(|g| g.group_timer_ms),
        Some(260_000)
    );
}

#[test]
fn non_querier_lowers_timers_on_the_queriers_specific_queries() {
    let mut lab = Lab::v3();
    lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
    lab.report(
        host(1),
        vec![
            record(IsExclude, group(1), &[]),
            record(Allow, group(1), &[1, 2]),
        ],
    );
    // S set: no timer update (§6.6.1).
    lab.receive(
        LOWER,
        heard_query(Mode::V3, Some(group(1)), secs(1), true, &[]),
    );
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(260_000)
    );
    // Q(G) with S clear: group timer lowered to LMQC × Max Resp = 2 × 1 s.
    lab.receive(
        LOWER,
        heard_query(Mode::V3, Some(group(1)), secs(1), false, &[]),
    );
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(2_000)
    );
    // Q(G,S): only the named sources.
    lab.receive(
        LOWER,
        heard_query(Mode::V3, Some(group(1)), ms(500), false, &[1]),
    );
    assert_eq!(lab.source_timer(group(1), source(1)), Some(1_000));
    assert_eq!(lab.source_timer(group(1), source(2)), Some(260_000));
    // Never raised by a query.
    lab.receive(
        LOWER,
        heard_query(Mode::V3, Some(group(1)), secs(10), false, &[]),
    );
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(2_000)
    );
    let out = lab.advance(secs(1));
    assert_eq!(out.changed, vec![group(1)], "source 1 ran out: moved to Y");
    assert!(!lab.port.wants(&group(1), &source(1)));
    let out = lab.advance(secs(1));
    assert_eq!(
        out.changed,
        vec![group(1)],
        "group timer ran out: INCLUDE({{2}})"
    );
    assert!(out.send.is_empty());
    assert_eq!(
        lab.group_state(group(1)).map(|g| g.filter_mode),
        Some("include")
    );
}

#[test]
fn non_querier_v2_group_specific_query_lowers_the_group_timer() {
    let mut lab = Lab::new(PortConfig::rfc_defaults(Mode::V2));
    lab.receive(LOWER, heard_query(Mode::V2, None, secs(10), false, &[]));
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    // RFC 2236 §3: group timer = LMQC × Max Response Time if lower.
    lab.receive(
        LOWER,
        heard_query(Mode::V2, Some(group(1)), ms(800), false, &[]),
    );
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(1_600)
    );
    assert!(lab.advance(ms(1_599)).changed.is_empty());
    assert_eq!(lab.advance(ms(1)).changed, vec![group(1)]);
}

#[test]
fn losing_the_querier_role_stops_pending_specific_queries() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    let out = lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    assert_eq!(out.send.len(), 1);
    lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
    assert!(
        lab.advance(secs(1)).send.is_empty(),
        "only the querier sends specific queries"
    );
}

/// D34: a receiver on the router itself (udpxy joined on this LAN) reports from our address;
/// it is a member of the link like any host, so the group is proxied for it.
#[test]
fn own_reports_are_a_local_receiver() {
    let mut lab = Lab::v3();
    let out = lab.receive(ME, Message::ReportV2 { group: group(1) });
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(lab.port.groups().len(), 1);
    assert_eq!(lab.port.querier_address(), Some(ME), "still the querier");
}
