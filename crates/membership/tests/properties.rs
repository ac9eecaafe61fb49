//! Property tests: random report / leave / query / timeout sequences from a few hosts.
//!
//! 1. `wants(G,S)` is never true unless a report of the last GMI asked for it: an
//!    INCLUDE-type record (IS_IN, TO_IN, ALLOW) naming S, or an EXCLUDE-type one (IS_EX, TO_EX,
//!    a v1/v2 report) for G, since the RFC tables let EXCLUDE mode forward every source not in Y.
//! 2. `changed` names every group whose subscription differs after a call; after a single
//!    record it names nothing else.
//! 3. Once every host is silent for GMI + LMQT no group is left, and the only deadlines are
//!    the querier's.
//!
//! Arbitrary input from anywhere is in `robustness.rs`, attacker hosts against a victim in
//! `attackers.rs`.

mod common;
use common::*;
use mrproxy_membership::{Message, Mode, PortConfig, Query, Record, RecordKind, Subscription};
use proptest::prelude::*;
use std::net::Ipv4Addr;
use std::time::Duration;

const GROUPS: [u8; 2] = [1, 2];
const SOURCES: [u8; 4] = [1, 2, 3, 9]; // 9 is never named in any record
const GMI_MS: u64 = 260_000;

#[derive(Clone, Debug)]
enum Step {
    Report {
        host: u8,
        records: Vec<(RecordKind, u8, Vec<u8>)>,
    },
    Older {
        host: u8,
        v1: bool,
        group: u8,
    },
    Leave {
        host: u8,
        group: u8,
    },
    Query {
        lower: bool,
        group: Option<u8>,
        suppress: bool,
        sources: Vec<u8>,
    },
    Advance(u64),
}

fn kind() -> impl Strategy<Value = RecordKind> {
    use RecordKind::*;
    prop_oneof![
        Just(IsInclude),
        Just(IsExclude),
        Just(ToInclude),
        Just(ToExclude),
        Just(Allow),
        Just(Block)
    ]
}

fn source_list() -> impl Strategy<Value = Vec<u8>> {
    proptest::sample::subsequence(vec![1u8, 2, 3], 0..=3)
}

fn step() -> impl Strategy<Value = Step> {
    let group = proptest::sample::select(GROUPS.to_vec());
    let host = 0u8..4;
    prop_oneof![
        4 => (host.clone(), proptest::collection::vec((kind(), group.clone(), source_list()), 1..3))
            .prop_map(|(host, records)| Step::Report { host, records }),
        1 => (host.clone(), any::<bool>(), group.clone()).prop_map(|(host, v1, group)| Step::Older { host, v1, group }),
        1 => (host, group.clone()).prop_map(|(host, group)| Step::Leave { host, group }),
        1 => (any::<bool>(), proptest::option::of(group), any::<bool>(), source_list())
            .prop_map(|(lower, group, suppress, sources)| Step::Query { lower, group, suppress, sources }),
        3 => prop_oneof![0u64..3_000, 0u64..300_000].prop_map(Step::Advance),
    ]
}

fn host_address(n: u8) -> A {
    if n == 0 {
        Ipv4Addr::UNSPECIFIED
    } else {
        host(n)
    }
}

/// Something a report asked for, and when.
#[derive(Clone, Copy, Debug)]
struct Ask {
    at: u64,
    group: A,
    /// `None`: any source (an EXCLUDE-type record or an older report).
    source: Option<A>,
}

struct Run {
    lab: Lab,
    asks: Vec<Ask>,
}

impl Run {
    fn new(version: Mode, fast_leave: bool) -> Run {
        let mut config = PortConfig::rfc_defaults(version);
        config.fast_leave = fast_leave;
        Run {
            lab: Lab::new(config),
            asks: Vec::new(),
        }
    }

    fn subscriptions(&self) -> Vec<Option<Subscription<A>>> {
        GROUPS
            .iter()
            .map(|&g| self.lab.port.subscription(&group(g)))
            .collect()
    }

    /// Applies one step; returns the groups reported as changed and whether the step was a
    /// single state change (where `changed` must be exact).
    fn apply(&mut self, step: &Step) -> (Vec<A>, bool) {
        let now = self.lab.now.as_millis();
        match step {
            Step::Report { host, records } => {
                let mut list = Vec::new();
                for (kind, g, srcs) in records {
                    let (g, sources) = (group(*g), sources(srcs));
                    match kind {
                        RecordKind::IsExclude | RecordKind::ToExclude => self.asks.push(Ask {
                            at: now,
                            group: g,
                            source: None,
                        }),
                        RecordKind::IsInclude | RecordKind::ToInclude | RecordKind::Allow => {
                            self.asks.extend(sources.iter().map(|s| Ask {
                                at: now,
                                group: g,
                                source: Some(*s),
                            }))
                        }
                        RecordKind::Block => {}
                    }
                    list.push(Record {
                        kind: *kind,
                        group: g,
                        sources,
                    });
                }
                let single = list.len() == 1;
                (self.lab.report(host_address(*host), list).changed, single)
            }
            Step::Older { host, v1, group: g } => {
                let g = group(*g);
                self.asks.push(Ask {
                    at: now,
                    group: g,
                    source: None,
                });
                let message = if *v1 {
                    Message::ReportV1 { group: g }
                } else {
                    Message::ReportV2 { group: g }
                };
                (self.lab.receive(host_address(*host), message).changed, true)
            }
            Step::Leave { host, group: g } => (
                self.lab
                    .receive(host_address(*host), Message::Leave { group: group(*g) })
                    .changed,
                true,
            ),
            Step::Query {
                lower,
                group: g,
                suppress,
                sources: srcs,
            } => {
                let from = if *lower { LOWER } else { HIGHER };
                let query = Query {
                    version: Mode::V3,
                    group: g.map(group),
                    max_response: Duration::from_secs(1),
                    suppress: *suppress,
                    qrv: 0,
                    qqi: Duration::ZERO,
                    sources: if g.is_some() { sources(srcs) } else { vec![] },
                };
                (self.lab.receive(from, Message::Query(query)).changed, true)
            }
            Step::Advance(d) => (self.lab.advance(ms(*d)).changed, false),
        }
    }

    fn check_wants(&self) -> Result<(), TestCaseError> {
        let now = self.lab.now.as_millis();
        for g in GROUPS.map(group) {
            for s in SOURCES.map(source) {
                if self.lab.port.wants(&g, &s) {
                    let asked = self.asks.iter().any(|a| {
                        a.group == g && a.at + GMI_MS > now && a.source.is_none_or(|x| x == s)
                    });
                    prop_assert!(
                        asked,
                        "wants({g}, {s}) at {now} ms without a report asking for it"
                    );
                }
            }
        }
        Ok(())
    }
}

fn versions() -> impl Strategy<Value = Mode> {
    prop_oneof![3 => Just(Mode::V3), 1 => Just(Mode::V2)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn forwarding_only_what_was_asked_and_changed_is_complete(
        version in versions(),
        fast_leave in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut run = Run::new(version, fast_leave);
        for step in &steps {
            let before = run.subscriptions();
            let (changed, single) = run.apply(step);
            let after = run.subscriptions();
            for (i, g) in GROUPS.map(group).iter().enumerate() {
                let differs = before[i] != after[i];
                if differs {
                    prop_assert!(changed.contains(g), "{step:?}: {g} changed but not reported");
                }
                if single && changed.contains(g) {
                    prop_assert!(differs, "{step:?}: {g} reported but did not change");
                }
            }
            run.check_wants()?;
        }
    }

    #[test]
    fn silence_for_gmi_plus_lmqt_leaves_nothing(
        version in versions(),
        fast_leave in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut run = Run::new(version, fast_leave);
        for step in &steps {
            run.apply(step);
        }
        run.lab.advance(ms(GMI_MS + 2_000));
        prop_assert!(run.lab.port.groups().is_empty(), "groups left: {:?}", run.lab.port.groups());
        prop_assert!(run.lab.port.snapshot(run.lab.now).groups.is_empty());
        prop_assert!(run.lab.port.is_querier(), "the other querier's timer ran out too");
        // Every remaining deadline is the querier's: each one sends exactly one general query.
        for _ in 0..3 {
            let next = run.lab.port.next_deadline();
            prop_assert!(next.is_some());
            let at = next.map_or(0, |t| t.as_millis());
            let out = run.lab.advance_to(at);
            prop_assert_eq!(out.send.len(), 1);
            prop_assert_eq!(out.send[0].query.group, None);
            prop_assert!(out.changed.is_empty());
        }
    }
}
