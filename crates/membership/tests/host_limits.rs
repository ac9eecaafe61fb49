//! Limits that keep one host from starving another (docs/hostile-lans.md): tracked hosts, sources
//! per host, groups per host, records per report. Past `max_hosts` or `max_sources_per_host` a
//! report still counts for forwarding and its interest goes to the anonymous host; past
//! `max_groups_per_host` or `max_records` the excess is dropped.

mod common;
use common::*;
use mrproxy_membership::{
    Limit, Message, Mode, PortConfig, PortEvent, Record, RecordKind::*, Subscription,
};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

fn lab_with(change: impl FnOnce(&mut PortConfig)) -> Lab {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.fast_leave = true;
    change(&mut config);
    Lab::new(config)
}

fn hit(limit: Limit, host: A, group: A) -> PortEvent<A> {
    PortEvent::LimitHit { limit, host, group }
}

fn hosts_of(lab: &Lab, g: A) -> Vec<A> {
    lab.group_state(g).map(|s| s.hosts).unwrap_or_default()
}

/// Group number `n` of many (239.2.0.0 + n).
fn many(n: u32) -> A {
    Ipv4Addr::from(0xEF02_0000 + n)
}

#[test]
fn the_host_past_max_hosts_is_still_forwarded_and_keeps_fast_leave_from_cutting_it() {
    let mut lab = lab_with(|c| c.max_hosts = 2);
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    let out = lab.report(host(2), vec![record(IsExclude, group(2), &[])]);
    assert!(out.events.is_empty(), "at the bound: tracked");
    assert_eq!(hosts_of(&lab, group(2)), vec![host(2)]);

    // Host 3 is one too many: its report still counts, its interest goes to the anonymous host.
    let out = lab.report(host(3), vec![record(IsExclude, group(3), &[])]);
    assert_eq!(out.events, vec![hit(Limit::Hosts, host(3), group(3))]);
    assert_eq!(out.changed, vec![group(3)]);
    assert!(lab.port.wants(&group(3), &source(1)));
    assert_eq!(hosts_of(&lab, group(3)), vec![Ipv4Addr::UNSPECIFIED]);

    // Host 3 also watches group 1, with tracked host 1.
    let out = lab.report(host(3), vec![record(IsExclude, group(1), &[])]);
    assert_eq!(out.events, vec![hit(Limit::Hosts, host(3), group(1))]);
    assert_eq!(
        hosts_of(&lab, group(1)),
        vec![Ipv4Addr::UNSPECIFIED, host(1)]
    );
    // Host 1 leaves: no fast cut, since an untracked listener may still be there.
    let out = lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    assert!(out.changed.is_empty());
    assert_eq!(out.send, vec![v3_specific(group(1), false, &[])]);
    assert!(lab.port.wants(&group(1), &source(1)));
    // Host 3 answers the query like any listener, and keeps the stream.
    lab.advance(ms(500));
    lab.report(host(3), vec![record(IsExclude, group(1), &[])]);
    assert!(lab.advance(secs(3)).changed.is_empty());
    assert_eq!(
        lab.port.subscription(&group(1)),
        Some(Subscription::Exclude(BTreeSet::new()))
    );

    // Once host 1 is no longer tracked anywhere there is room: host 3 is tracked again.
    let out = lab.report(host(3), vec![record(IsExclude, group(4), &[])]);
    assert!(out.events.is_empty());
    assert_eq!(hosts_of(&lab, group(4)), vec![host(3)]);
}

#[test]
fn a_leave_from_an_untracked_host_raises_no_event_and_cuts_nothing() {
    let mut lab = lab_with(|c| c.max_hosts = 1);
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    let out = lab.receive(host(2), Message::Leave { group: group(1) });
    assert!(out.events.is_empty() && out.changed.is_empty());
    assert!(lab.port.wants(&group(1), &source(1)));
}

#[test]
fn the_host_over_max_sources_per_host_is_folded_and_nobody_loses_a_source() {
    let mut lab = lab_with(|c| {
        c.max_sources_per_host = 2;
        c.max_groups_per_host = 1;
    });
    let out = lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2])]);
    assert!(out.events.is_empty(), "at the bound: tracked");
    lab.report(host(2), vec![record(IsInclude, group(1), &[3])]);
    assert_eq!(hosts_of(&lab, group(1)), vec![host(1), host(2)]);

    let out = lab.report(host(1), vec![record(Allow, group(1), &[4])]);
    assert_eq!(
        out.events,
        vec![hit(Limit::SourcesPerHost, host(1), group(1))]
    );
    assert_eq!(out.changed, vec![group(1)], "source 4 is forwarded");
    assert_eq!(
        hosts_of(&lab, group(1)),
        vec![Ipv4Addr::UNSPECIFIED, host(2)]
    );
    for s in 1..=4 {
        assert!(lab.port.wants(&group(1), &source(s)));
    }
    // Host 1's own entry is gone, and with it its group count: it may join another group.
    let out = lab.report(host(1), vec![record(IsExclude, group(2), &[])]);
    assert!(out.events.is_empty());

    // Host 1 blocking its sources narrows nothing (the anonymous host only widens) ...
    let out = lab.report(host(1), vec![record(Block, group(1), &[1, 2, 4])]);
    assert!(out.changed.is_empty());
    assert!(lab.port.wants(&group(1), &source(1)));
    // ... while host 2, tracked, still fast-leaves its own source.
    let out = lab.report(host(2), vec![record(ToInclude, group(1), &[])]);
    assert_eq!(out.changed, vec![group(1)]);
    assert!(!lab.port.wants(&group(1), &source(3)));
    assert!(lab.port.wants(&group(1), &source(1)));
}

#[test]
fn a_record_with_too_many_sources_from_a_new_host_is_carried_by_the_anonymous_host() {
    let mut lab = lab_with(|c| c.max_sources_per_host = 2);
    let out = lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2, 3])]);
    assert_eq!(
        out.events,
        vec![hit(Limit::SourcesPerHost, host(1), group(1))]
    );
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(hosts_of(&lab, group(1)), vec![Ipv4Addr::UNSPECIFIED]);
    assert!((1..=3).all(|s| lab.port.wants(&group(1), &source(s))));
}

#[test]
fn five_thousand_groups_from_one_host_get_max_groups_per_host_and_others_still_join() {
    let mut lab = Lab::v3();
    let mut refused = 0;
    for chunk in (0..5_000).collect::<Vec<u32>>().chunks(250) {
        let records = chunk
            .iter()
            .map(|&n| Record {
                kind: IsExclude,
                group: many(n),
                sources: vec![],
            })
            .collect();
        let out = lab.report(host(1), records);
        for event in &out.events {
            assert!(matches!(
                event,
                PortEvent::LimitHit {
                    limit: Limit::GroupsPerHost,
                    ..
                }
            ));
            refused += 1;
        }
    }
    assert_eq!(lab.port.groups().len(), 256);
    assert_eq!(refused, 5_000 - 256);
    // Another host's join is still accepted, and so is a report for a group host 1 already has.
    let out = lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    assert!(out.events.is_empty());
    assert_eq!(out.changed, vec![group(1)]);
    assert!(
        lab.report(host(1), vec![record(IsExclude, many(0), &[])])
            .events
            .is_empty()
    );
}

#[test]
fn the_anonymous_host_is_bounded_by_max_groups_not_max_groups_per_host() {
    let mut lab = lab_with(|c| {
        c.max_groups_per_host = 2;
        c.max_groups = 5;
    });
    let anonymous = Ipv4Addr::UNSPECIFIED;
    for n in 0..5 {
        let out = lab.report(anonymous, vec![record(IsExclude, many(n), &[])]);
        assert!(out.events.is_empty(), "group {n}");
    }
    let out = lab.report(anonymous, vec![record(IsExclude, many(5), &[])]);
    assert_eq!(out.events, vec![hit(Limit::Groups, anonymous, many(5))]);
    assert_eq!(lab.port.groups().len(), 5);
}

#[test]
fn records_past_max_records_are_ignored_with_one_event() {
    let mut lab = lab_with(|c| c.max_records = 3);
    let records = |from: u32, to: u32| {
        (from..to)
            .map(|n| Record {
                kind: IsExclude,
                group: many(n),
                sources: vec![],
            })
            .collect::<Vec<_>>()
    };
    let out = lab.report(host(1), records(0, 3));
    assert!(out.events.is_empty(), "at the bound");
    assert_eq!(out.changed.len(), 3);
    let out = lab.report(host(2), records(10, 15));
    assert_eq!(out.events, vec![hit(Limit::Records, host(2), many(13))]);
    assert_eq!(out.changed, vec![many(10), many(11), many(12)]);
    assert_eq!(lab.port.groups().len(), 6);
    // Another host is unaffected.
    let out = lab.report(host(3), records(20, 21));
    assert!(out.events.is_empty());
    assert_eq!(out.changed, vec![many(20)]);
}

/// The per-host limits multiply (hosts × groups per host × sources per host); the link's
/// host-state budget bounds their product. Each tracked (host, group) membership costs 1 plus
/// its sources; past the budget a membership that would grow the total goes to the anonymous
/// host (still forwarded, no fast leave), and entries freed by a leave or an expiry are
/// available again.
#[test]
fn the_links_host_state_budget_bounds_the_product_of_the_per_host_limits() {
    let mut lab = lab_with(|c| c.max_host_entries = 7);
    // Host 1: group 1 with sources {1, 2} (3 entries), group 2 with none (1 entry).
    lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2])]);
    let out = lab.report(host(1), vec![record(IsExclude, group(2), &[])]);
    assert!(out.events.is_empty());
    // Host 2: group 1 with {1, 2} fits exactly (3 more: 7).
    let out = lab.report(host(2), vec![record(IsInclude, group(1), &[1, 2])]);
    assert!(out.events.is_empty(), "at the budget: tracked");
    assert_eq!(hosts_of(&lab, group(1)), vec![host(1), host(2)]);

    // Host 3's first membership does not fit: forwarded through the anonymous host.
    let out = lab.report(host(3), vec![record(IsExclude, group(3), &[])]);
    assert_eq!(out.events, vec![hit(Limit::HostEntries, host(3), group(3))]);
    assert!(lab.port.wants(&group(3), &source(9)));
    assert_eq!(hosts_of(&lab, group(3)), vec![Ipv4Addr::UNSPECIFIED]);
    // Nor does host 1 adding a source to what it holds; its interest in group 1 stays
    // forwarded (now through the anonymous host), host 2 keeps its own entry.
    let out = lab.report(host(1), vec![record(Allow, group(1), &[3])]);
    assert_eq!(out.events, vec![hit(Limit::HostEntries, host(1), group(1))]);
    assert!((1..=3).all(|s| lab.port.wants(&group(1), &source(s))));
    assert_eq!(
        hosts_of(&lab, group(1)),
        vec![Ipv4Addr::UNSPECIFIED, host(2)]
    );
    // That freed host 1's 3 entries of group 1 (4 in use): host 3 now fits in group 4.
    let out = lab.report(host(3), vec![record(IsInclude, group(4), &[5, 6])]);
    assert!(out.events.is_empty());
    assert_eq!(hosts_of(&lab, group(4)), vec![host(3)]);
    // Host 2 leaves group 1; its 3 entries are free again.
    lab.report(host(2), vec![record(ToInclude, group(1), &[])]);
    let out = lab.report(host(4), vec![record(IsInclude, group(5), &[7, 8])]);
    assert!(out.events.is_empty());
    assert_eq!(hosts_of(&lab, group(5)), vec![host(4)]);
}

/// Expiry frees a host's entries too: after a Group Membership Interval without reports the
/// budget is whole again.
#[test]
fn expired_hosts_give_their_host_state_back() {
    let mut lab = lab_with(|c| c.max_host_entries = 2);
    lab.report(host(1), vec![record(IsInclude, group(1), &[1])]);
    let out = lab.report(host(2), vec![record(IsExclude, group(2), &[])]);
    assert_eq!(out.events, vec![hit(Limit::HostEntries, host(2), group(2))]);
    lab.advance(lab.port.config().group_membership_interval());
    assert!(lab.group_state(group(1)).is_none(), "host 1 expired");
    let out = lab.report(host(2), vec![record(IsInclude, group(2), &[1])]);
    assert!(out.events.is_empty());
    assert_eq!(hosts_of(&lab, group(2)), vec![host(2)]);
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
