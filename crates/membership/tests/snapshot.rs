//! The status snapshot: complete, sorted, serialisable.

mod common;
use common::*;
use mrproxy_membership::{Message, Mode, RecordKind::*};
use std::net::Ipv4Addr;

#[test]
fn snapshot_is_sorted_and_complete() {
    let mut lab = Lab::v3();
    lab.report(host(3), vec![record(IsInclude, group(2), &[3, 1])]);
    lab.receive(host(2), Message::ReportV2 { group: group(1) });
    lab.report(host(1), vec![record(IsExclude, group(1), &[2])]);
    lab.report(Ipv4Addr::UNSPECIFIED, vec![record(Allow, group(2), &[2])]);
    lab.advance(secs(5));
    let snapshot = lab.port.snapshot(lab.now);
    assert!(snapshot.querier);
    assert_eq!(snapshot.querier_address, Some(ME));
    assert_eq!(snapshot.version, Mode::V3);
    assert_eq!(snapshot.counters.reports_received, 4);
    assert_eq!(snapshot.counters.queries_sent, 1);
    let [g1, g2] = snapshot.groups.as_slice() else {
        panic!("two groups: {snapshot:?}")
    };
    assert_eq!(g1.group, group(1));
    assert_eq!(g1.filter_mode, "exclude");
    assert_eq!(g1.compat, Mode::V2);
    assert_eq!(g1.group_timer_ms, Some(255_000));
    // The v2 report made EXCLUDE({}, {}); IS_EX({2}) then puts 2 in X with GMI (§6.4.1:
    // (A-X-Y)=GMI): only the excluding host said it does not want 2, the v2 host wants all.
    assert_eq!(g1.sources, vec![(source(2), 255_000)]);
    assert_eq!(g1.hosts, vec![host(1), host(2)]);
    assert_eq!(g2.group, group(2));
    assert_eq!(g2.filter_mode, "include");
    assert_eq!(g2.group_timer_ms, None);
    assert_eq!(
        g2.sources,
        vec![
            (source(1), 255_000),
            (source(2), 255_000),
            (source(3), 255_000)
        ]
    );
    assert_eq!(g2.hosts, vec![Ipv4Addr::UNSPECIFIED, host(3)]);

    let json = serde_json::to_value(&snapshot).unwrap_or_default();
    assert_eq!(json["groups"][0]["group"], "239.1.1.1");
    assert_eq!(
        json["groups"][1]["sources"][0],
        serde_json::json!(["198.51.100.1", 255_000])
    );
    assert_eq!(json["counters"]["reports_received"], 4);
}

#[test]
fn subscription_and_groups_agree_with_the_snapshot() {
    let mut lab = Lab::v3();
    lab.report(
        host(1),
        vec![
            record(IsInclude, group(3), &[1]),
            record(IsExclude, group(1), &[4]),
        ],
    );
    assert_eq!(lab.port.groups(), vec![group(1), group(3)]);
    let snapshot = lab.port.snapshot(lab.now);
    let listed: Vec<A> = snapshot.groups.iter().map(|g| g.group).collect();
    assert_eq!(listed, lab.port.groups());
    assert!(lab.port.subscription(&group(2)).is_none());
    assert!(!lab.port.wants(&group(2), &source(1)));
    assert!(lab.port.wants(&group(1), &source(1)) && !lab.port.wants(&group(1), &source(4)));
}
