//! Explicit host tracking and safe fast leave (docs/protocol-rules.md §4.9; igmpproxy defects D6, D7).

mod common;
use common::*;
use mrproxy_membership::{Message, Mode, PortConfig, RecordKind::*, Subscription};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

fn fast_lab() -> Lab {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.fast_leave = true;
    Lab::new(config)
}

fn hosts(lab: &Lab) -> Vec<A> {
    lab.group_state(group(1))
        .map(|g| g.hosts)
        .unwrap_or_default()
}

#[test]
fn one_of_two_v3_hosts_leaves_nothing_stops() {
    let mut lab = fast_lab();
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    assert_eq!(hosts(&lab), vec![host(1), host(2)]);
    let out = lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    assert!(out.changed.is_empty(), "host 2 still wants it (D6)");
    assert_eq!(
        out.send,
        vec![v3_specific(group(1), false, &[])],
        "the RFC query still goes out"
    );
    assert_eq!(hosts(&lab), vec![host(2)]);
    // Host 2 answers the query.
    lab.advance(ms(200));
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    for _ in 0..5 {
        assert!(lab.advance(secs(1)).changed.is_empty());
    }
    assert_eq!(
        lab.port.subscription(&group(1)),
        Some(Subscription::Exclude(BTreeSet::new()))
    );
}

#[test]
fn last_v3_host_leaves_forwarding_stops_at_once_queries_still_sent() {
    let mut lab = fast_lab();
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    lab.advance(ms(100));
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]); // answers the query
    let out = lab.report(host(2), vec![record(ToInclude, group(1), &[])]);
    assert_eq!(out.changed, vec![group(1)], "stopped at once");
    assert_eq!(lab.port.subscription(&group(1)), None);
    assert!(!lab.port.wants(&group(1), &source(1)));
    assert_eq!(out.send, vec![v3_specific(group(1), false, &[])]);
    let out = lab.advance(secs(1));
    assert_eq!(
        out.send,
        vec![v3_specific(group(1), false, &[])],
        "second query for untracked listeners"
    );
    assert!(out.changed.is_empty());
    assert!(lab.advance(secs(1)).is_empty());
    assert!(lab.port.groups().is_empty());
}

#[test]
fn an_untracked_listener_can_rejoin_during_the_queries() {
    let mut lab = fast_lab();
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    lab.advance(ms(300));
    let out = lab.report(host(3), vec![record(IsExclude, group(1), &[])]);
    assert_eq!(out.changed, vec![group(1)]);
    let out = lab.advance(ms(700));
    assert_eq!(
        out.send,
        vec![v3_specific(group(1), true, &[])],
        "S set: the group timer is back up"
    );
    lab.advance(secs(10));
    assert!(lab.port.wants(&group(1), &source(1)));
}

#[test]
fn v2_group_falls_back_to_last_member_queries() {
    let mut lab = fast_lab();
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    let out = lab.receive(host(1), Message::Leave { group: group(1) });
    assert!(
        out.changed.is_empty(),
        "IGMPv2 hosts suppress reports: tracking is not exact"
    );
    assert_eq!(out.send.len(), 1);
    assert!(lab.advance(ms(1999)).changed.is_empty());
    assert_eq!(lab.advance(ms(1)).changed, vec![group(1)]);
}

#[test]
fn v3_leave_in_a_group_with_a_v2_host_falls_back_too() {
    let mut lab = fast_lab();
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    lab.receive(host(1), Message::Leave { group: group(1) });
    let out = lab.report(host(2), vec![record(ToInclude, group(1), &[])]);
    assert!(
        out.changed.is_empty(),
        "compatibility mode v2: no fast leave"
    );
    assert!(lab.port.wants(&group(1), &source(1)));
}

#[test]
fn anonymous_reports_block_fast_leave_until_they_expire() {
    let mut lab = fast_lab();
    lab.report(
        Ipv4Addr::UNSPECIFIED,
        vec![record(IsExclude, group(1), &[])],
    );
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    assert_eq!(hosts(&lab), vec![Ipv4Addr::UNSPECIFIED, host(1)]);
    let out = lab.report(
        Ipv4Addr::UNSPECIFIED,
        vec![record(ToInclude, group(1), &[])],
    );
    assert!(out.changed.is_empty());
    assert_eq!(
        hosts(&lab),
        vec![Ipv4Addr::UNSPECIFIED, host(1)],
        "anonymous cannot leave explicitly"
    );
    lab.advance(ms(100));
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    let out = lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    assert!(
        out.changed.is_empty(),
        "the anonymous host may still want it"
    );
    // Without any answer the RFC countdown ends the group at LMQT.
    assert_eq!(lab.advance(secs(2)).changed, vec![group(1)]);
}

#[test]
fn ssm_channels_are_tracked_per_host() {
    let mut lab = fast_lab();
    let g = group(1);
    lab.report(host(1), vec![record(IsInclude, g, &[1])]);
    lab.report(host(2), vec![record(IsInclude, g, &[1, 2])]);
    let out = lab.report(host(2), vec![record(Block, g, &[1, 2])]);
    // Source 2: nobody else wants it, cut now. Source 1: host 1 still wants it.
    assert_eq!(out.changed, vec![g]);
    assert!(lab.port.wants(&g, &source(1)));
    assert!(!lab.port.wants(&g, &source(2)));
    // §6.6.3.2 queries still go out for both: source 1 (timer now LMQT) with S clear, and
    // source 2 (deleted) with S clear.
    assert_eq!(out.send, vec![v3_specific(g, false, &[1, 2])]);
    assert_eq!(hosts(&lab), vec![host(1)]);
    let out = lab.report(host(1), vec![record(Block, g, &[1])]);
    assert_eq!(out.changed, vec![g]);
    assert_eq!(lab.port.subscription(&g), None);
    assert_eq!(out.send, vec![v3_specific(g, false, &[1, 2])]);
    assert!(hosts(&lab).is_empty());
}

#[test]
fn fast_leave_of_excluded_sources_in_exclude_mode() {
    let mut lab = fast_lab();
    let g = group(1);
    lab.report(host(1), vec![record(IsExclude, g, &[])]);
    lab.report(
        host(2),
        vec![record(IsExclude, g, &[9]), record(Allow, g, &[9])],
    );
    // Host 1 now excludes source 1: host 2 (EXCLUDE{}) still wants it.
    let out = lab.report(host(1), vec![record(ToExclude, g, &[1])]);
    assert!(out.changed.is_empty());
    assert!(lab.port.wants(&g, &source(1)));
    // Host 2 excludes it too: nobody wants source 1 any more.
    let out = lab.report(host(2), vec![record(Block, g, &[1])]);
    assert_eq!(out.changed, vec![g]);
    assert!(!lab.port.wants(&g, &source(1)));
    assert!(lab.port.wants(&g, &source(2)));
}

#[test]
fn fast_leave_off_is_strictly_rfc() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsInclude, group(1), &[1])]);
    let out = lab.report(host(1), vec![record(Block, group(1), &[1])]);
    assert!(out.changed.is_empty());
    assert!(lab.port.wants(&group(1), &source(1)));
    assert!(lab.advance(ms(1999)).changed.is_empty());
    assert_eq!(lab.advance(ms(1)).changed, vec![group(1)]);
}

#[test]
fn tracked_hosts_expire_after_gmi_without_reports() {
    let mut lab = fast_lab();
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    lab.advance(secs(100));
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    lab.advance(secs(160));
    assert_eq!(hosts(&lab), vec![host(2)], "host 1 silent for GMI");
    // Host 2 leaves: host 1 is no longer tracked, so the leave is fast.
    let out = lab.report(host(2), vec![record(ToInclude, group(1), &[])]);
    assert_eq!(out.changed, vec![group(1)]);
}

#[test]
fn non_querier_never_fast_leaves() {
    let mut lab = fast_lab();
    lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    let out = lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    assert!(out.changed.is_empty() && out.send.is_empty());
    assert!(lab.port.wants(&group(1), &source(1)));
}
