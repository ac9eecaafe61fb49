//! Property test: hosts that send anything (reports, older reports, leaves, from tracked and
//! untracked addresses and from 0.0.0.0, for the victim's group and others, naming the victim's
//! source) with small limits and fast leave on. After every step:
//!
//! 1. no table exceeds its bound: groups (`max_groups`), sources per group
//!    (`max_sources_per_group`), hosts tracked one by one (`max_hosts`), groups per tracked host
//!    (`max_groups_per_host`);
//! 2. a victim host that joined its group first, with EXCLUDE({}) or INCLUDE({S}), is forwarded
//!    what it asked for (`Port::wants`). The victim behaves as an RFC 9776 §5.2 host: it
//!    answers every query about its group 100 ms later (well within Max Resp), with its current
//!    state for a general or group-specific query and IS_IN(X ∩ wanted) for Q(G,X), so it
//!    refreshes within the Group Membership Interval (we query every 125 s).
//!
//! With these limits the tracked hosts other than the victim name at most
//! (max_hosts − 1) × max_sources_per_host = 4 sources, fewer than a group's 6 slots: a full table
//! always has a slot to give the victim's source (`room.rs`). Hosts past the limits are folded
//! into the anonymous host, which cannot push a tracked host's source out.

mod common;
use common::*;
use mrproxy_membership::{Message, Mode, Output, PortConfig, Record, RecordKind};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

const VICTIM: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 200);
/// The victim's group (group 1) and source (source 1); source 9 is never named by anyone.
const VICTIM_GROUP: u8 = 1;
const VICTIM_SOURCE: u8 = 1;
const NEVER_NAMED: u8 = 9;
const ANSWER_DELAY_MS: u64 = 100;

fn config() -> PortConfig {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.fast_leave = true;
    config.max_groups = 4;
    config.max_sources_per_group = 6;
    config.max_groups_per_host = 2;
    config.max_hosts = 3;
    config.max_sources_per_host = 2;
    config.max_records = 3;
    config
}

#[derive(Clone, Debug)]
enum Step {
    Report {
        attacker: u8,
        records: Vec<(RecordKind, u8, Vec<u8>)>,
    },
    Older {
        attacker: u8,
        v1: bool,
        group: u8,
    },
    Leave {
        attacker: u8,
        group: u8,
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

fn step() -> impl Strategy<Value = Step> {
    // Attacker 0 is 0.0.0.0; 1..=5 are more hosts than the port may track.
    let attacker = 0u8..6;
    let group = 1u8..=5;
    let sources = proptest::sample::subsequence(vec![1u8, 2, 3, 4, 5, 6, 7], 0..=5);
    prop_oneof![
        5 => (attacker.clone(), proptest::collection::vec((kind(), group.clone(), sources), 1..5))
            .prop_map(|(attacker, records)| Step::Report { attacker, records }),
        1 => (attacker.clone(), any::<bool>(), group.clone())
            .prop_map(|(attacker, v1, group)| Step::Older { attacker, v1, group }),
        1 => (attacker, group).prop_map(|(attacker, group)| Step::Leave { attacker, group }),
        3 => prop_oneof![0u64..3_000, 0u64..200_000].prop_map(Step::Advance),
    ]
}

fn attacker_address(n: u8) -> A {
    if n == 0 {
        Ipv4Addr::UNSPECIFIED
    } else {
        host(n)
    }
}

struct Run {
    lab: Lab,
    /// `None`: EXCLUDE({}); `Some(S)`: INCLUDE({S}).
    victim_include: Option<A>,
    /// Answers the victim owes: (due ms, record).
    answers: Vec<(u64, Record<A>)>,
}

impl Run {
    fn new(victim_include: bool) -> Run {
        let mut run = Run {
            lab: Lab::new(config()),
            victim_include: victim_include.then_some(source(VICTIM_SOURCE)),
            answers: Vec::new(),
        };
        let join = run.current_state();
        let out = run.lab.report(VICTIM, vec![join]);
        run.heard(&out);
        run
    }

    fn current_state(&self) -> Record<A> {
        match self.victim_include {
            Some(s) => Record {
                kind: RecordKind::IsInclude,
                group: group(VICTIM_GROUP),
                sources: vec![s],
            },
            None => Record {
                kind: RecordKind::IsExclude,
                group: group(VICTIM_GROUP),
                sources: vec![],
            },
        }
    }

    /// The victim hears the queries the port sent (RFC 3376 §5.2 answers).
    fn heard(&mut self, out: &Output<A>) {
        let due = self.lab.now.as_millis() + ANSWER_DELAY_MS;
        for sent in &out.send {
            let query = &sent.query;
            let answer = match (query.group, query.sources.is_empty()) {
                (None, _) => Some(self.current_state()),
                (Some(g), _) if g != group(VICTIM_GROUP) => None,
                (Some(_), true) => Some(self.current_state()),
                (Some(g), false) => {
                    let wanted: Vec<A> = match self.victim_include {
                        Some(s) => query.sources.iter().copied().filter(|x| *x == s).collect(),
                        None => query.sources.clone(),
                    };
                    (!wanted.is_empty()).then_some(Record {
                        kind: RecordKind::IsInclude,
                        group: g,
                        sources: wanted,
                    })
                }
            };
            self.answers.extend(answer.map(|record| (due, record)));
        }
    }

    fn deliver_due_answers(&mut self) {
        let now = self.lab.now.as_millis();
        let (due, later): (Vec<_>, Vec<_>) = self.answers.drain(..).partition(|(at, _)| *at <= now);
        self.answers = later;
        for (_, record) in due {
            let out = self.lab.report(VICTIM, vec![record]);
            self.heard(&out);
        }
    }

    fn apply(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Report { attacker, records } => {
                let records = records
                    .iter()
                    .map(|(kind, g, srcs)| record(*kind, group(*g), srcs))
                    .collect();
                let out = self.lab.report(attacker_address(*attacker), records);
                self.heard(&out);
            }
            Step::Older {
                attacker,
                v1,
                group: g,
            } => {
                let g = group(*g);
                let message = if *v1 {
                    Message::ReportV1 { group: g }
                } else {
                    Message::ReportV2 { group: g }
                };
                let out = self.lab.receive(attacker_address(*attacker), message);
                self.heard(&out);
            }
            Step::Leave { attacker, group: g } => {
                let message = Message::Leave { group: group(*g) };
                let out = self.lab.receive(attacker_address(*attacker), message);
                self.heard(&out);
            }
            Step::Advance(d) => {
                // Stop at every deadline and every answer, so that the victim answers on time.
                let target = self.lab.now.as_millis() + d;
                loop {
                    let deadline = self.lab.port.next_deadline().map(|t| t.as_millis());
                    let answer = self.answers.iter().map(|(at, _)| *at).min();
                    let next = [deadline, answer].into_iter().flatten().min();
                    let Some(next) = next.filter(|at| *at <= target) else {
                        break;
                    };
                    let out = self.lab.advance_to(next);
                    self.heard(&out);
                    self.deliver_due_answers();
                    self.check()?;
                }
                let out = self.lab.advance_to(target);
                self.heard(&out);
            }
        }
        self.check()
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let config = config();
        let snapshot = self.lab.port.snapshot(self.lab.now);
        prop_assert!(snapshot.groups.len() <= config.max_groups);
        let mut per_host: BTreeMap<A, usize> = BTreeMap::new();
        for g in &snapshot.groups {
            prop_assert!(g.sources.len() <= config.max_sources_per_group, "{g:?}");
            for h in g.hosts.iter().filter(|h| !h.is_unspecified()) {
                *per_host.entry(*h).or_insert(0) += 1;
            }
        }
        prop_assert!(per_host.len() <= config.max_hosts, "{per_host:?}");
        prop_assert!(per_host.values().all(|n| *n <= config.max_groups_per_host));
        prop_assert_eq!(per_host.get(&VICTIM), Some(&1), "the victim stays tracked");

        let g = group(VICTIM_GROUP);
        let now = self.lab.now;
        match self.victim_include {
            Some(s) => prop_assert!(self.lab.port.wants(&g, &s), "{s} cut at {now}"),
            None => {
                let all: BTreeSet<u8> = (1..=7).chain([NEVER_NAMED]).collect();
                for s in all.into_iter().map(source) {
                    prop_assert!(self.lab.port.wants(&g, &s), "{s} cut at {now}");
                }
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn attackers_never_grow_a_table_past_its_bound_nor_cut_a_victim_that_joined_first(
        victim_include in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let mut run = Run::new(victim_include);
        run.check()?;
        for step in &steps {
            run.apply(step)?;
        }
    }
}
