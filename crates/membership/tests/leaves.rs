//! Leaves and last-member queries (RFC 2236 §3, RFC 9776 §6.6.3), filter-mode switch on
//! group-timer expiry (§6.5) and source-timer expiry (§6.3).

mod common;
use common::*;
use mrproxy_membership::{Message, Mode, PortConfig, RecordKind::*, Subscription};
use std::collections::BTreeSet;

fn v2_lab() -> Lab {
    Lab::new(PortConfig::rfc_defaults(Mode::V2))
}

#[test]
fn v2_leave_queries_lmqc_times_lmqi_apart_then_group_gone_at_lmqt() {
    let mut lab = v2_lab();
    lab.advance(secs(50));
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    let out = lab.receive(host(1), Message::Leave { group: group(1) });
    assert_eq!(out.send, vec![v2_specific(group(1))], "first query at once");
    assert!(
        out.changed.is_empty(),
        "still forwarded during the countdown"
    );
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(2_000),
        "GT lowered to LMQT"
    );
    assert!(lab.advance(ms(999)).send.is_empty());
    assert_eq!(
        lab.advance(ms(1)).send,
        vec![v2_specific(group(1))],
        "second query LMQI later (D2: 1 s, not 10 s)"
    );
    let out = lab.advance(ms(999));
    assert!(out.send.is_empty() && out.changed.is_empty());
    assert!(lab.port.wants(&group(1), &source(1)));
    let out = lab.advance(ms(1));
    assert_eq!(out.changed, vec![group(1)], "gone exactly at LMQT");
    assert!(!lab.port.wants(&group(1), &source(1)));
    assert!(lab.port.groups().is_empty());
    assert_eq!(lab.port.counters().leaves_received, 1);
}

#[test]
fn leave_and_rejoin_within_lmqt_never_interrupts() {
    // D8: a fast channel change back to the same group must keep it forwarded.
    let mut lab = v2_lab();
    lab.receive(host(1), Message::ReportV2 { group: group(1) });
    lab.receive(host(1), Message::Leave { group: group(1) });
    lab.advance(ms(500));
    let out = lab.receive(host(1), Message::ReportV2 { group: group(1) });
    assert!(out.changed.is_empty());
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(260_000)
    );
    let out = lab.advance(ms(500));
    assert_eq!(
        out.send,
        vec![v2_specific(group(1))],
        "the countdown's queries still go out"
    );
    for _ in 0..10 {
        let out = lab.advance(secs(1));
        assert!(out.changed.is_empty());
        assert!(lab.port.wants(&group(1), &source(1)));
    }
}

#[test]
fn v3_report_during_countdown_sets_the_s_flag() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsExclude, group(1), &[])]);
    let out = lab.report(host(1), vec![record(ToInclude, group(1), &[])]);
    assert_eq!(out.send, vec![v3_specific(group(1), false, &[])]);
    lab.advance(ms(300));
    lab.report(host(2), vec![record(IsExclude, group(1), &[])]);
    let out = lab.advance(ms(700));
    // §6.6.3.1: GT (259.7 s) > LMQT when the retransmission goes out, so S is set.
    assert_eq!(out.send, vec![v3_specific(group(1), true, &[])]);
    assert!(lab.advance(secs(5)).changed.is_empty());
    assert!(lab.port.wants(&group(1), &source(9)));
}

#[test]
fn source_report_during_countdown_moves_it_to_the_s_set_query() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2, 3])]);
    let out = lab.report(host(1), vec![record(Block, group(1), &[1, 2])]);
    assert_eq!(out.send, vec![v3_specific(group(1), false, &[1, 2])]);
    lab.advance(ms(400));
    lab.report(host(2), vec![record(Allow, group(1), &[2])]);
    let out = lab.advance(ms(600));
    // §6.6.3.2: one query with S set for the refreshed source, one with S clear for the other.
    assert_eq!(
        out.send,
        vec![
            v3_specific(group(1), true, &[2]),
            v3_specific(group(1), false, &[1])
        ]
    );
    let out = lab.advance(secs(1));
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(
        lab.port.subscription(&group(1)),
        Some(Subscription::Include(BTreeSet::from([
            source(2),
            source(3)
        ])))
    );
}

#[test]
fn group_timer_expiry_switches_to_include_with_running_sources() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsExclude, group(1), &[7])]);
    lab.advance(secs(100));
    lab.report(host(2), vec![record(Allow, group(1), &[1])]);
    assert_eq!(
        lab.port.subscription(&group(1)),
        Some(Subscription::Exclude(BTreeSet::from([source(7)])))
    );
    let out = lab.advance_to(259_999);
    assert!(out.changed.is_empty());
    let out = lab.advance_to(260_000);
    // §6.5: INCLUDE with the sources whose timers still run; Y ({7}) is deleted.
    assert_eq!(out.changed, vec![group(1)]);
    let state = lab.group_state(group(1)).expect("group");
    assert_eq!(state.filter_mode, "include");
    assert_eq!(state.group_timer_ms, None);
    assert_eq!(state.sources, vec![(source(1), 100_000)]);
    assert!(lab.port.wants(&group(1), &source(1)) && !lab.port.wants(&group(1), &source(8)));
    let out = lab.advance_to(360_000);
    assert_eq!(
        out.changed,
        vec![group(1)],
        "§6.3: the last source expires, the group goes"
    );
    assert_eq!(lab.port.subscription(&group(1)), None);
    assert!(lab.port.groups().is_empty());
}

#[test]
fn group_timer_expiry_without_running_sources_deletes_the_group() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsExclude, group(1), &[7])]);
    let out = lab.advance(secs(260));
    assert_eq!(out.changed, vec![group(1)]);
    assert!(lab.port.groups().is_empty());
    assert!(lab.group_state(group(1)).is_none());
}

#[test]
fn source_timer_expiry_in_exclude_mode_moves_it_to_y() {
    let mut lab = Lab::v3();
    lab.report(
        host(1),
        vec![
            record(IsExclude, group(1), &[]),
            record(Allow, group(1), &[1]),
        ],
    );
    lab.advance(secs(100));
    lab.report(host(2), vec![record(IsExclude, group(1), &[1])]);
    // EXCLUDE({1}, {}) IS_EX({1}): source 1 stays in X with its timer (160 s left), GT = 260 s.
    assert_eq!(lab.source_timer(group(1), source(1)), Some(160_000));
    let out = lab.advance(secs(160));
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(lab.source_timer(group(1), source(1)), Some(0));
    assert!(
        !lab.port.wants(&group(1), &source(1)),
        "§6.3: timer 0 in EXCLUDE mode = not forwarded"
    );
    assert!(lab.port.wants(&group(1), &source(2)));
}

#[test]
fn source_timer_expiry_in_include_mode_deletes_it() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2])]);
    lab.advance(secs(100));
    lab.report(host(1), vec![record(IsInclude, group(1), &[2])]);
    let out = lab.advance(secs(160));
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(lab.source_timer(group(1), source(1)), None);
    assert_eq!(
        lab.port.subscription(&group(1)),
        Some(Subscription::Include(BTreeSet::from([source(2)])))
    );
}

#[test]
fn late_timeout_processes_expiries_in_order() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsExclude, group(1), &[7])]);
    lab.advance(secs(100));
    lab.report(host(2), vec![record(Allow, group(1), &[1])]);
    // One call far past both expiries: switch at 260 s, then source 1 at 360 s.
    let out = lab.advance(secs(10_000));
    assert_eq!(out.changed, vec![group(1), group(1)]);
    assert!(lab.port.groups().is_empty());
}
