//! Older-version group members and links (RFC 9776 §7.3.1, §7.3.2; RFC 9777 §8.3.2).

mod common;
use common::*;
use mrproxy_membership::{Message, Mode, PortConfig, PortEvent, RecordKind::*, Subscription};
use std::collections::BTreeSet;

fn compat(lab: &Lab) -> Option<Mode> {
    lab.group_state(group(1)).map(|g| g.compat)
}

#[test]
fn v2_host_present_until_older_host_present_interval() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    assert_eq!(compat(&lab), Some(Mode::V3));
    lab.receive(host(2), Message::ReportV2 { group: group(1) });
    assert_eq!(compat(&lab), Some(Mode::V2));
    // The v3 host keeps reporting; the v2 host goes silent.
    for _ in 0..2 {
        lab.advance(secs(125));
        lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
        assert_eq!(compat(&lab), Some(Mode::V2));
    }
    lab.advance(secs(9)); // 259 s after the v2 report
    assert_eq!(compat(&lab), Some(Mode::V2));
    let out = lab.advance(secs(1));
    assert!(
        out.changed.is_empty(),
        "a compatibility change alone changes no forwarding"
    );
    assert_eq!(
        compat(&lab),
        Some(Mode::V3),
        "back to v3 after the Older Host Present Interval"
    );
}

#[test]
fn v1_host_present_wins_over_v2() {
    let mut lab = Lab::v3();
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    lab.advance(secs(60));
    lab.receive(host(2), Message::ReportV1 { group: group(1) });
    assert_eq!(compat(&lab), Some(Mode::V1));
    lab.advance(secs(200)); // v2 timer expired, v1 runs until 320 s
    lab.receive(host(3), Message::ReportV2 { group: group(1) });
    assert_eq!(compat(&lab), Some(Mode::V1));
    lab.advance(secs(60));
    assert_eq!(compat(&lab), Some(Mode::V2));
}

#[test]
fn v1_mode_ignores_leaves() {
    let mut lab = Lab::v3();
    lab.receive(host(1), Message::ReportV1 { group: group(1) });
    let out = lab.receive(host(1), Message::Leave { group: group(1) });
    assert!(out.send.is_empty() && out.changed.is_empty());
    assert!(matches!(out.events.as_slice(), [PortEvent::Ignored { .. }]));
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(260_000)
    );
}

#[test]
fn v2_mode_ignores_block_and_exclude_lists() {
    let mut lab = Lab::v3();
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    let out = lab.report(host(2), vec![record(Block, group(1), &[1])]);
    assert!(out.send.is_empty() && out.changed.is_empty());
    assert!(matches!(out.events.as_slice(), [PortEvent::Ignored { .. }]));
    assert!(
        lab.group_state(group(1))
            .is_some_and(|g| g.sources.is_empty())
    );

    let out = lab.report(host(2), vec![record(ToExclude, group(1), &[1, 2])]);
    assert!(
        out.changed.is_empty(),
        "TO_EX({{1,2}}) is TO_EX({{}}): nothing excluded"
    );
    assert_eq!(
        lab.port.subscription(&group(1)),
        Some(Subscription::Exclude(BTreeSet::new()))
    );
    assert!(lab.port.wants(&group(1), &source(1)));
}

#[test]
fn v2_leave_on_a_v3_link_uses_group_specific_queries() {
    let mut lab = Lab::v3();
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    let out = lab.receive(host(1), Message::Leave { group: group(1) });
    // Queries go out in the link's version (IGMPv3); v2 hosts understand them.
    assert_eq!(out.send, vec![v3_specific(group(1), false, &[])]);
    lab.advance(secs(2));
    assert!(lab.port.groups().is_empty());
}

#[test]
fn v2_link_sends_v2_queries_and_treats_v3_reports_in_v2_mode() {
    let mut lab = Lab::new(PortConfig::rfc_defaults(Mode::V2));
    assert_eq!(lab.advance(ms(31_250)).send, vec![general(Mode::V2)]);
    lab.report(host(1), vec![record(IsExclude, group(1), &[5])]);
    assert_eq!(compat(&lab), Some(Mode::V2), "capped by the link's version");
    let out = lab.report(host(1), vec![record(Block, group(1), &[5])]);
    assert!(
        out.send.is_empty(),
        "BLOCK ignored, and v2 has no source-specific queries"
    );
    let out = lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    assert_eq!(out.send, vec![v2_specific(group(1))]);
}

#[test]
fn v2_link_never_sends_source_queries() {
    let mut lab = Lab::new(PortConfig::rfc_defaults(Mode::V2));
    lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2])]);
    let out = lab.report(host(1), vec![record(ToInclude, group(1), &[2])]);
    assert!(out.send.is_empty());
    // Without a Q(G,S) the source is not lowered: it times out after GMI.
    assert_eq!(lab.source_timer(group(1), source(1)), Some(260_000));
}

#[test]
fn v1_link_sends_only_general_queries_and_state_times_out() {
    let mut lab = Lab::new(PortConfig::rfc_defaults(Mode::V1));
    assert_eq!(lab.advance(ms(31_250)).send, vec![general(Mode::V1)]);
    lab.receive(host(1), Message::ReportV1 { group: group(1) });
    let out = lab.receive(host(1), Message::Leave { group: group(1) });
    assert!(out.send.is_empty() && out.changed.is_empty());
    let out = lab.report(host(2), vec![record(ToInclude, group(2), &[1])]);
    assert!(out.send.is_empty());
    let out = lab.advance(ms(260_000 - 1));
    assert!(out.changed.is_empty());
    let out = lab.advance(ms(1));
    assert_eq!(out.changed, vec![group(1), group(2)]);
    assert!(out.send.iter().all(|q| q.query.group.is_none()));
}

#[test]
fn mldv1_report_and_done() {
    use mrproxy_membership::{Output, Port, Timestamp};
    use std::net::Ipv6Addr;
    let addr = |s: &str| s.parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::UNSPECIFIED);
    let (ours, listener, g) = (addr("fe80::1"), addr("fe80::99"), addr("ff3e::1:2"));
    let mut port: Port<Ipv6Addr> = Port::new(PortConfig::rfc_defaults(Mode::V3), Timestamp::ZERO);
    let mut out = Output::new();
    port.set_address(Some(ours), Timestamp::ZERO, &mut out);
    let mut out = Output::new();
    port.receive(
        Timestamp::ZERO,
        listener,
        Message::ReportV2 { group: g },
        &mut out,
    );
    assert_eq!(out.changed, vec![g]);
    assert_eq!(port.snapshot(Timestamp::ZERO).groups[0].compat, Mode::V2);
    let mut out = Output::new();
    port.receive(
        Timestamp::ZERO,
        listener,
        Message::Leave { group: g },
        &mut out,
    );
    assert_eq!(out.send.len(), 1);
    assert_eq!(out.send[0].destination, g);
    assert_eq!(out.send[0].query.group, Some(g));
    let mut out = Output::new();
    port.timeout(Timestamp::from_millis(2_000), &mut out);
    assert_eq!(out.changed, vec![g]);
    assert!(port.groups().is_empty());
}
