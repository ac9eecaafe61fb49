//! Non-querier behaviour (RFC 9776 §6.6.1, RFC 2236 §3): leaves are the querier's business,
//! specific queries of the querier lower our timers, and a port that loses the querier role
//! drops the specific queries it still owed.

mod common;
use common::*;
use mrproxy_membership::{Message, Mode, PortConfig, PortEvent, RecordKind::*};

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
