//! One case per row of the RFC 9776 §6.4.1 (Current-State) and §6.4.2 (State-Change) tables.
//!
//! Start states, built with reports at t = 0 and evaluated at t = 10 s (GMI 260 s, LMQT 2 s):
//!   INCLUDE(A):    A = {1, 2}, timers 250 s.
//!   EXCLUDE(X, Y): X = {1, 2} (timers 250 s), Y = {3, 4}, group timer 250 s.
//! The record comes from another host. Sources 1..5 stand for 198.51.100.1..5. The expected
//! columns are: filter mode, group timer (ms), every source with its timer (ms, 0 = in Y), and
//! the queries sent at once (G = Q(G) with its S flag, S = Q(G,X) with its S flag and sources).
//!
//! After the rows: records outside them (an unknown group, a group named twice in one report)
//! and refreshes that change no forwarding.

mod common;
use common::*;
use mrproxy_membership::{Outgoing, RecordKind, RecordKind::*};

#[derive(Clone, Copy, Debug)]
enum Start {
    Include,
    Exclude,
}

#[derive(Clone, Copy, Debug)]
enum Q {
    G(bool),
    S(bool, &'static [u8]),
}

struct Row {
    rule: &'static str,
    start: Start,
    kind: RecordKind,
    record: &'static [u8],
    mode: &'static str,
    group_timer: Option<u64>,
    sources: &'static [(u8, u64)],
    queries: &'static [Q],
    /// Whether forwarding (`wants`/`subscription`) changed, so the group must be in `changed`.
    changed: bool,
}

const GMI: u64 = 260_000;
const T250: u64 = 250_000;
const LMQT: u64 = 2_000;

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // §6.4.1 Current-State Records
    Row { rule: "INCLUDE(A) IS_IN(B) -> INCLUDE(A+B); (B)=GMI", start: Start::Include, kind: IsInclude, record: &[2, 3],
          mode: "include", group_timer: None, sources: &[(1, T250), (2, GMI), (3, GMI)], queries: &[], changed: true },
    Row { rule: "INCLUDE(A) IS_EX(B) -> EXCLUDE(A*B, B-A); (B-A)=0; Delete(A-B); GT=GMI", start: Start::Include, kind: IsExclude, record: &[2, 3],
          mode: "exclude", group_timer: Some(GMI), sources: &[(2, T250), (3, 0)], queries: &[], changed: true },
    Row { rule: "EXCLUDE(X,Y) IS_IN(A) -> EXCLUDE(X+A, Y-A); (A)=GMI", start: Start::Exclude, kind: IsInclude, record: &[2, 3, 5],
          mode: "exclude", group_timer: Some(T250), sources: &[(1, T250), (2, GMI), (3, GMI), (4, 0), (5, GMI)], queries: &[], changed: true },
    Row { rule: "EXCLUDE(X,Y) IS_EX(A) -> EXCLUDE(A-Y, Y*A); (A-X-Y)=GMI; Delete(X-A); Delete(Y-A); GT=GMI", start: Start::Exclude, kind: IsExclude, record: &[2, 3, 5],
          mode: "exclude", group_timer: Some(GMI), sources: &[(2, T250), (3, 0), (5, GMI)], queries: &[], changed: true },
    // §6.4.2 Filter-Mode-Change and Source-List-Change Records
    Row { rule: "INCLUDE(A) ALLOW(B) -> INCLUDE(A+B); (B)=GMI", start: Start::Include, kind: Allow, record: &[2, 3],
          mode: "include", group_timer: None, sources: &[(1, T250), (2, GMI), (3, GMI)], queries: &[], changed: true },
    Row { rule: "INCLUDE(A) BLOCK(B) -> INCLUDE(A); Send Q(G,A*B)", start: Start::Include, kind: Block, record: &[2, 3],
          mode: "include", group_timer: None, sources: &[(1, T250), (2, LMQT)], queries: &[Q::S(false, &[2])], changed: false },
    Row { rule: "INCLUDE(A) TO_EX(B) -> EXCLUDE(A*B, B-A); (B-A)=0; Delete(A-B); Send Q(G,A*B); GT=GMI", start: Start::Include, kind: ToExclude, record: &[2, 3],
          mode: "exclude", group_timer: Some(GMI), sources: &[(2, LMQT), (3, 0)], queries: &[Q::S(false, &[2])], changed: true },
    Row { rule: "INCLUDE(A) TO_IN(B) -> INCLUDE(A+B); (B)=GMI; Send Q(G,A-B)", start: Start::Include, kind: ToInclude, record: &[2, 3],
          mode: "include", group_timer: None, sources: &[(1, LMQT), (2, GMI), (3, GMI)], queries: &[Q::S(false, &[1])], changed: true },
    Row { rule: "EXCLUDE(X,Y) ALLOW(A) -> EXCLUDE(X+A, Y-A); (A)=GMI", start: Start::Exclude, kind: Allow, record: &[2, 3, 5],
          mode: "exclude", group_timer: Some(T250), sources: &[(1, T250), (2, GMI), (3, GMI), (4, 0), (5, GMI)], queries: &[], changed: true },
    Row { rule: "EXCLUDE(X,Y) BLOCK(A) -> EXCLUDE(X+(A-Y), Y); (A-X-Y)=GT; Send Q(G,A-Y)", start: Start::Exclude, kind: Block, record: &[2, 3, 5],
          mode: "exclude", group_timer: Some(T250), sources: &[(1, T250), (2, LMQT), (3, 0), (4, 0), (5, LMQT)], queries: &[Q::S(false, &[2, 5])], changed: false },
    Row { rule: "EXCLUDE(X,Y) TO_EX(A) -> EXCLUDE(A-Y, Y*A); (A-X-Y)=GT; Delete(X-A); Delete(Y-A); Send Q(G,A-Y); GT=GMI", start: Start::Exclude, kind: ToExclude, record: &[2, 3, 5],
          mode: "exclude", group_timer: Some(GMI), sources: &[(2, LMQT), (3, 0), (5, LMQT)], queries: &[Q::S(false, &[2, 5])], changed: true },
    Row { rule: "EXCLUDE(X,Y) TO_IN(A) -> EXCLUDE(X+A, Y-A); (A)=GMI; Send Q(G,X-A); Send Q(G)", start: Start::Exclude, kind: ToInclude, record: &[2, 3, 5],
          mode: "exclude", group_timer: Some(LMQT), sources: &[(1, LMQT), (2, GMI), (3, GMI), (4, 0), (5, GMI)], queries: &[Q::G(false), Q::S(false, &[1])], changed: true },
];

fn start_state(lab: &mut Lab, start: Start) {
    let g = group(1);
    match start {
        Start::Include => {
            lab.report(host(1), vec![record(IsInclude, g, &[1, 2])]);
        }
        Start::Exclude => {
            lab.report(
                host(1),
                vec![record(IsExclude, g, &[3, 4]), record(Allow, g, &[1, 2])],
            );
        }
    }
    lab.advance(secs(10));
}

fn expected_queries(queries: &[Q]) -> Vec<Outgoing<A>> {
    queries
        .iter()
        .map(|q| match *q {
            Q::G(suppress) => v3_specific(group(1), suppress, &[]),
            Q::S(suppress, srcs) => v3_specific(group(1), suppress, srcs),
        })
        .collect()
}

#[test]
fn start_states_are_what_the_rows_assume() {
    let mut lab = Lab::v3();
    start_state(&mut lab, Start::Exclude);
    let state = lab.group_state(group(1)).expect("group");
    assert_eq!(state.filter_mode, "exclude");
    assert_eq!(state.group_timer_ms, Some(T250));
    assert_eq!(
        state.sources,
        vec![
            (source(1), T250),
            (source(2), T250),
            (source(3), 0),
            (source(4), 0)
        ]
    );
}

fn check_row(row: &Row) {
    let mut lab = Lab::v3();
    start_state(&mut lab, row.start);
    let before = lab.port.subscription(&group(1));
    let out = lab.report(host(2), vec![record(row.kind, group(1), row.record)]);
    let state = lab
        .group_state(group(1))
        .unwrap_or_else(|| panic!("{}: group vanished", row.rule));
    assert_eq!(state.filter_mode, row.mode, "{}: filter mode", row.rule);
    assert_eq!(
        state.group_timer_ms, row.group_timer,
        "{}: group timer",
        row.rule
    );
    let want: Vec<(A, u64)> = row.sources.iter().map(|&(s, t)| (source(s), t)).collect();
    assert_eq!(state.sources, want, "{}: sources", row.rule);
    assert_eq!(
        out.send,
        expected_queries(row.queries),
        "{}: queries",
        row.rule
    );
    let want_changed = if row.changed { vec![group(1)] } else { vec![] };
    assert_eq!(out.changed, want_changed, "{}: changed", row.rule);
    assert_eq!(
        before != lab.port.subscription(&group(1)),
        row.changed,
        "{}: subscription",
        row.rule
    );
}

macro_rules! row_tests {
    ($($name:ident => $index:expr),* $(,)?) => {
        $( #[test] fn $name() { check_row(&ROWS[$index]); } )*
    };
}

row_tests! {
    current_state_include_is_in => 0,
    current_state_include_is_ex => 1,
    current_state_exclude_is_in => 2,
    current_state_exclude_is_ex => 3,
    state_change_include_allow => 4,
    state_change_include_block => 5,
    state_change_include_to_ex => 6,
    state_change_include_to_in => 7,
    state_change_exclude_allow => 8,
    state_change_exclude_block => 9,
    state_change_exclude_to_ex => 10,
    state_change_exclude_to_in => 11,
}

#[test]
fn every_row_has_a_test() {
    assert_eq!(ROWS.len(), 12);
}

/// The S-clear query of each row is repeated once (LMQC = 2) one LMQI later, and after LMQT the
/// queried sources and group timer have run out as §6.3/§6.5 say, unless a report came back.
#[test]
fn every_query_row_retransmits_once_then_times_out() {
    for row in ROWS.iter().filter(|r| !r.queries.is_empty()) {
        let mut lab = Lab::v3();
        start_state(&mut lab, row.start);
        lab.report(host(2), vec![record(row.kind, group(1), row.record)]);
        let out = lab.advance(ms(999));
        assert!(out.send.is_empty(), "{}: nothing before LMQI", row.rule);
        let out = lab.advance(ms(1));
        assert_eq!(
            out.send,
            expected_queries(row.queries),
            "{}: retransmission",
            row.rule
        );
        let out = lab.advance(secs(1));
        assert!(out.send.is_empty(), "{}: only LMQC queries", row.rule);
        assert!(
            !out.changed.is_empty(),
            "{}: the queried state ran out",
            row.rule
        );
        for (s, t) in row.sources {
            let timer = lab.source_timer(group(1), source(*s));
            if *t == LMQT {
                let gone_or_excluded = timer.is_none() || timer == Some(0);
                assert!(
                    gone_or_excluded,
                    "{}: source {s} timed out, got {timer:?}",
                    row.rule
                );
                assert!(
                    !lab.port.wants(&group(1), &source(*s)),
                    "{}: source {s} not forwarded",
                    row.rule
                );
            }
        }
    }
}

#[test]
fn a_group_named_twice_in_one_report_is_processed_in_order() {
    let mut lab = Lab::v3();
    let out = lab.report(
        host(1),
        vec![record(Allow, group(1), &[1]), record(Block, group(1), &[1])],
    );
    assert_eq!(
        out.send,
        vec![v3_specific(group(1), false, &[1])],
        "BLOCK saw the source ALLOW added"
    );
    assert_eq!(lab.source_timer(group(1), source(1)), Some(2_000));
}

#[test]
fn records_on_an_unknown_group() {
    let mut lab = Lab::v3();
    for kind in [IsInclude, ToInclude, Block] {
        let out = lab.report(host(1), vec![record(kind, group(1), &[])]);
        assert!(out.is_empty(), "{kind:?}");
    }
    let out = lab.report(host(1), vec![record(Block, group(1), &[1])]);
    assert!(out.is_empty());
    assert!(lab.port.groups().is_empty());
    let out = lab.report(host(1), vec![record(ToExclude, group(2), &[])]);
    assert_eq!(out.changed, vec![group(2)]);
    assert!(
        out.send.is_empty(),
        "TO_EX({{}}) on INCLUDE({{}}): Q(G, A*B) is empty"
    );
    assert_eq!(lab.port.groups(), vec![group(2)]);
}

#[test]
fn reports_refresh_only_what_they_name() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2])]);
    lab.advance(secs(200));
    let out = lab.report(host(1), vec![record(IsInclude, group(1), &[1, 2])]);
    assert!(
        out.changed.is_empty(),
        "refreshing timers changes no forwarding"
    );
    assert_eq!(lab.source_timer(group(1), source(1)), Some(260_000));
}
