//! One host cannot take from another what it asked for: a fast leave never cuts a source a
//! tracked host still names, and a full source table gives way to a source a tracked host
//! names (docs/hostile-lans.md).

mod common;
use common::*;
use mrproxy_membership::{Limit, Mode, PortConfig, PortEvent, RecordKind::*};
use std::net::Ipv4Addr;

fn lab_with(change: impl FnOnce(&mut PortConfig)) -> Lab {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.fast_leave = true;
    change(&mut config);
    Lab::new(config)
}

#[test]
fn a_fast_leave_after_another_hosts_exclude_keeps_the_source_a_tracked_host_names() {
    let mut lab = lab_with(|_| {});
    let (viewer, other) = (host(1), host(2));
    lab.report(viewer, vec![record(IsInclude, group(1), &[1])]);
    // RFC 9776 §6.4.1: INCLUDE(A) IS_EX(B) deletes A-B; source 1 is still forwarded (EXCLUDE).
    lab.report(other, vec![record(IsExclude, group(1), &[])]);
    assert_eq!(lab.source_timer(group(1), source(1)), None);
    assert!(lab.port.wants(&group(1), &source(1)));
    // The other host leaves: INCLUDE({}) at once would cut the viewer's source.
    let out = lab.report(other, vec![record(ToInclude, group(1), &[])]);
    assert!(out.changed.is_empty(), "no fast switch to INCLUDE({{}})");
    assert_eq!(out.send, vec![v3_specific(group(1), false, &[])]);
    assert!(lab.port.wants(&group(1), &source(1)));
    // The viewer answers Q(G) within Max Resp; the group ends in INCLUDE({1}) after LMQT.
    lab.advance(ms(400));
    lab.report(viewer, vec![record(IsInclude, group(1), &[1])]);
    assert!(lab.port.wants(&group(1), &source(1)));
    lab.advance(secs(2));
    let state = lab.group_state(group(1)).expect("group");
    assert_eq!(state.filter_mode, "include");
    assert!(lab.port.wants(&group(1), &source(1)));
    assert!(!lab.port.wants(&group(1), &source(2)));
}

#[test]
fn a_fast_leave_still_switches_to_include_when_every_named_source_runs() {
    let mut lab = lab_with(|_| {});
    lab.report(host(1), vec![record(IsInclude, group(1), &[1])]);
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    lab.report(host(1), vec![record(IsInclude, group(1), &[1])]); // back in X
    let out = lab.report(host(2), vec![record(ToInclude, group(1), &[])]);
    assert_eq!(out.changed, vec![group(1)], "INCLUDE({{1}}) at once");
    assert!(lab.port.wants(&group(1), &source(1)));
    assert!(!lab.port.wants(&group(1), &source(2)));
}

#[test]
fn excluded_sources_give_way_to_a_source_a_tracked_host_names() {
    let mut lab = lab_with(|c| c.max_sources_per_group = 3);
    let (viewer, other) = (host(1), host(2));
    lab.report(viewer, vec![record(IsInclude, group(1), &[1])]);
    // Another host's exclude list deletes source 1 and fills the table with Y = {2, 3, 4}.
    let out = lab.report(other, vec![record(IsExclude, group(1), &[2, 3, 4, 5])]);
    assert_eq!(
        out.events,
        vec![PortEvent::LimitHit {
            limit: Limit::SourcesPerGroup,
            host: other,
            group: group(1)
        }]
    );
    assert_eq!(lab.group_state(group(1)).map(|g| g.sources.len()), Some(3));
    // The viewer's next report gets source 1 back in: an excluded source gives way.
    let out = lab.report(viewer, vec![record(IsInclude, group(1), &[1])]);
    assert!(out.events.is_empty());
    assert_eq!(lab.source_timer(group(1), source(1)), Some(260_000));
    assert_eq!(
        lab.source_timer(group(1), source(2)),
        None,
        "forwarded again"
    );
    assert!(lab.port.wants(&group(1), &source(2)));
    // When the other host goes silent the group falls back to INCLUDE with the viewer's source.
    lab.advance(secs(125));
    lab.report(viewer, vec![record(IsInclude, group(1), &[1])]);
    lab.advance(secs(135));
    assert_eq!(
        lab.group_state(group(1)).map(|g| g.filter_mode),
        Some("include")
    );
    assert!(lab.port.wants(&group(1), &source(1)));
}

#[test]
fn running_sources_nobody_tracked_names_give_way_and_named_ones_do_not() {
    let mut lab = lab_with(|c| c.max_sources_per_group = 2);
    let anonymous = Ipv4Addr::UNSPECIFIED;
    lab.report(anonymous, vec![record(IsInclude, group(1), &[2, 3])]);
    let out = lab.report(host(1), vec![record(IsInclude, group(1), &[1])]);
    assert!(out.events.is_empty());
    assert_eq!(out.changed, vec![group(1)]);
    assert!(lab.port.wants(&group(1), &source(1)));
    assert!(!lab.port.wants(&group(1), &source(2)), "gave way");
    assert!(lab.port.wants(&group(1), &source(3)));
    // A second tracked host takes the last slot only the anonymous host wanted ...
    lab.report(host(2), vec![record(IsInclude, group(1), &[4])]);
    assert!(lab.port.wants(&group(1), &source(4)) && !lab.port.wants(&group(1), &source(3)));
    // ... and a third finds every slot named: its source is dropped, nobody else loses one.
    let out = lab.report(host(3), vec![record(IsInclude, group(1), &[5])]);
    assert_eq!(
        out.events,
        vec![PortEvent::LimitHit {
            limit: Limit::SourcesPerGroup,
            host: host(3),
            group: group(1)
        }]
    );
    assert!(lab.port.wants(&group(1), &source(1)) && lab.port.wants(&group(1), &source(4)));
    assert!(!lab.port.wants(&group(1), &source(5)));
    // The anonymous host cannot push a tracked host's source out.
    lab.report(anonymous, vec![record(IsInclude, group(1), &[6])]);
    assert!(lab.port.wants(&group(1), &source(1)) && !lab.port.wants(&group(1), &source(6)));
}

#[test]
fn an_answer_to_a_source_specific_query_does_not_narrow_what_the_host_is_tracked_for() {
    let mut lab = lab_with(|_| {});
    let (viewer, other) = (host(1), host(2));
    lab.report(viewer, vec![record(IsInclude, group(1), &[1, 2])]);
    lab.report(other, vec![record(Allow, group(1), &[1])]);
    let out = lab.report(other, vec![record(Block, group(1), &[1])]);
    assert_eq!(out.send, vec![v3_specific(group(1), false, &[1])]);
    // RFC 9776 §5.2: the viewer answers Q(G,{1}) with IS_IN({1}), not with its whole state.
    lab.advance(ms(300));
    lab.report(viewer, vec![record(IsInclude, group(1), &[1])]);
    // Another host blocking source 2 must not fast-leave it: the viewer still wants it.
    let out = lab.report(other, vec![record(Block, group(1), &[2])]);
    assert!(out.changed.is_empty());
    assert!(lab.port.wants(&group(1), &source(2)));
    assert_eq!(
        lab.group_state(group(1)).map(|g| g.hosts),
        Some(vec![viewer])
    );
}

#[test]
fn an_exclude_mode_host_answering_a_source_specific_query_stays_in_exclude_mode() {
    let mut lab = lab_with(|_| {});
    let (viewer, other) = (host(1), host(2));
    lab.report(viewer, vec![record(IsExclude, group(1), &[])]);
    lab.report(other, vec![record(Block, group(1), &[3])]);
    lab.advance(ms(300));
    lab.report(viewer, vec![record(IsInclude, group(1), &[3])]); // its answer to Q(G,{3})
    let out = lab.report(other, vec![record(ToInclude, group(1), &[])]);
    assert!(
        out.changed.is_empty(),
        "the viewer still wants every source"
    );
    lab.advance(ms(300));
    lab.report(viewer, vec![record(IsExclude, group(1), &[])]); // its answer to Q(G)
    lab.advance(secs(3));
    assert!(lab.port.wants(&group(1), &source(7)));
}
