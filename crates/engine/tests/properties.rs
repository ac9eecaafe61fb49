//! Property tests: random report / leave / query / upcall / time sequences on two downstream
//! LANs, checked after every step against models built only from the engine's actions:
//!
//! 1. no route copies (S,G) to a LAN where no host asked for (S,G) within the last GMI, or
//!    where we are not the querier ("asked" includes the RFC 9776 §6.4.1 IS_EX rule that keeps
//!    a forwarded source for a GMI when a host first lists it);
//! 2. routes are complete: every upstream-sourced entry goes exactly to the querier LANs whose
//!    router part wants (S,G) (RFC 4605: the cache follows every input change);
//! 3. the upstream membership equals the RFC 9776 §3.2 merge of the ports' subscriptions,
//!    computed independently here;
//! 4. the routes the actions installed are the routes the engine reports.

use mrproxy_engine::{
    Action, Engine, Event, FilterMode, IfIndex, InterfaceInfo, LinkFlags, Timestamp, V4Address,
};
use mrproxy_membership::Subscription;
use mrproxy_wire::{RecordType, igmp};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

const UP: IfIndex = IfIndex(1);
const LANS: [IfIndex; 2] = [IfIndex(2), IfIndex(3)];
/// RV × QI + QRI with the default timers.
const GMI_MS: u64 = 260_000;

fn lan_address(lan: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, if lan == 0 { 5 } else { 133 })
}
/// Hosts and a lower-addressed router on each LAN.
fn host(lan: usize, n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, if lan == 0 { 10 } else { 140 } + n)
}
fn other_router(lan: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, if lan == 0 { 2 } else { 130 })
}
fn group(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 1, 1, n)
}
fn source(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 10 + n)
}

#[derive(Clone, Debug)]
enum Op {
    Record {
        lan: usize,
        host: u8,
        kind: u8,
        group: u8,
        sources: Vec<u8>,
    },
    ReportV2 {
        lan: usize,
        host: u8,
        group: u8,
    },
    Leave {
        lan: usize,
        host: u8,
        group: u8,
    },
    /// A query from a lower address: we stop being querier there until it falls silent.
    ForeignQuery {
        lan: usize,
    },
    Upcall {
        source: u8,
        group: u8,
    },
    Wait {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let lan = 0usize..2;
    let hosts = 0u8..3;
    prop_oneof![
        4 => (lan.clone(), hosts.clone(), 1u8..=6, 0u8..2, proptest::collection::vec(0u8..3, 0..3))
            .prop_map(|(lan, host, kind, group, sources)| Op::Record { lan, host, kind, group, sources }),
        2 => (lan.clone(), hosts.clone(), 0u8..2).prop_map(|(lan, host, group)| Op::ReportV2 { lan, host, group }),
        2 => (lan.clone(), hosts, 0u8..2).prop_map(|(lan, host, group)| Op::Leave { lan, host, group }),
        1 => lan.prop_map(|lan| Op::ForeignQuery { lan }),
        2 => (0u8..3, 0u8..2).prop_map(|(source, group)| Op::Upcall { source, group }),
        3 => prop_oneof![0u64..3_000, 0u64..300_000].prop_map(|ms| Op::Wait { ms }),
    ]
}

/// What the actions told the outside world, plus what hosts asked for.
#[derive(Default)]
struct World {
    now: u64,
    routes: BTreeMap<(IpAddr, IpAddr), (IfIndex, Vec<IfIndex>)>,
    upstream: BTreeMap<IpAddr, (FilterMode, BTreeSet<IpAddr>)>,
    counters: BTreeMap<(IpAddr, IpAddr), u64>,
    /// (lan, group, source) → last time a report on that LAN asked for it.
    asked: BTreeMap<(usize, Ipv4Addr, Ipv4Addr), u64>,
    /// (lan, group) → last IGMPv2 report (the group's v2 compatibility mode lasts a GMI).
    v2_reported: BTreeMap<(usize, Ipv4Addr), u64>,
}

impl World {
    fn apply(&mut self, engine: &mut Engine, actions: Vec<Action>) {
        let mut samples = Vec::new();
        for action in actions {
            match action {
                Action::SetRoute {
                    source,
                    group,
                    iif,
                    oifs,
                } => {
                    assert!(
                        oifs.windows(2).all(|w| w[0] < w[1]),
                        "oifs sorted and unique"
                    );
                    assert!(
                        !oifs.contains(&iif),
                        "never back out of the input interface"
                    );
                    self.routes.insert((source, group), (iif, oifs));
                }
                Action::DeleteRoute { source, group } => {
                    self.routes.remove(&(source, group));
                }
                Action::SetUpstreamMembership {
                    ifindex,
                    group,
                    mode,
                    sources,
                } => {
                    assert_eq!(ifindex, UP);
                    if mode == FilterMode::Include && sources.is_empty() {
                        self.upstream.remove(&group);
                    } else {
                        self.upstream
                            .insert(group, (mode, sources.into_iter().collect()));
                    }
                }
                Action::SampleRoute { source, group } => samples.push((source, group)),
                _ => {}
            }
        }
        // Keep every entry busy: idle expiry is the conformance tests' business.
        for (source, group) in samples {
            let packets = self.counters.entry((source, group)).or_default();
            *packets += 1;
            let event = Event::RouteCounters {
                source,
                group,
                packets: *packets,
            };
            let more = engine.handle(Timestamp(self.now), event);
            self.apply(engine, more);
        }
    }

    fn advance(&mut self, engine: &mut Engine, until: u64) {
        while let Some(deadline) = engine.next_deadline() {
            let at = deadline.as_millis().max(self.now);
            if at > until {
                break;
            }
            self.now = at;
            let actions = engine.handle(Timestamp(at), Event::Timeout);
            self.apply(engine, actions);
        }
        self.now = until;
    }

    fn record_asked(&mut self, lan: usize, g: Ipv4Addr, kind: RecordType, sources: &[Ipv4Addr]) {
        // RFC 9776 §7.3.2: in IGMPv2 compatibility mode TO_EX(S) is treated as TO_EX({}).
        let v2_mode = self
            .v2_reported
            .get(&(lan, g))
            .is_some_and(|t| self.now - t <= GMI_MS);
        let sources = if v2_mode && kind == RecordType::ChangeToExclude {
            &[][..]
        } else {
            sources
        };
        let listed = |s: &Ipv4Addr| sources.contains(s);
        for s in (0..3).map(source) {
            let asks = match kind {
                RecordType::ModeIsExclude | RecordType::ChangeToExclude => !listed(&s),
                RecordType::ModeIsInclude
                | RecordType::ChangeToInclude
                | RecordType::AllowNewSources => listed(&s),
                _ => false,
            };
            if asks {
                self.asked.insert((lan, g, s), self.now);
            }
        }
    }
}

fn interface(ifindex: IfIndex, name: &str, address: Ipv4Addr, prefix_len: u8) -> Event {
    Event::InterfaceChanged(InterfaceInfo {
        ifindex,
        name: name.into(),
        flags: LinkFlags {
            up: true,
            running: true,
            multicast: true,
            loopback: false,
            point_to_point: false,
        },
        ipv4: vec![V4Address {
            address,
            prefix_len,
            peer: None,
        }],
        ipv6: vec![],
    })
}

fn igmp(lan: usize, from: Ipv4Addr, message: igmp::Repr) -> Event {
    Event::Igmp {
        ifindex: LANS[lan],
        source: from,
        destination: Ipv4Addr::new(224, 0, 0, 22),
        ttl: 1,
        router_alert: true,
        message,
    }
}

fn record_type(kind: u8) -> RecordType {
    RecordType::from(kind)
}

/// RFC 9776 §3.2, written out again independently of the engine's merge.
fn expected_upstream(engine: &Engine) -> BTreeMap<IpAddr, (FilterMode, BTreeSet<IpAddr>)> {
    let mut by_group: BTreeMap<Ipv4Addr, Vec<Subscription<Ipv4Addr>>> = BTreeMap::new();
    for lan in LANS {
        let port = engine.downstream_port_v4(lan).expect("downstream port");
        for g in port.groups() {
            by_group.entry(g).or_default().extend(port.subscription(&g));
        }
    }
    let mut expected = BTreeMap::new();
    for (g, subs) in by_group {
        let includes: BTreeSet<Ipv4Addr> = subs
            .iter()
            .filter_map(|s| {
                if let Subscription::Include(v) = s {
                    Some(v.clone())
                } else {
                    None
                }
            })
            .flatten()
            .collect();
        let excludes: Vec<&BTreeSet<Ipv4Addr>> = subs
            .iter()
            .filter_map(|s| {
                if let Subscription::Exclude(v) = s {
                    Some(v)
                } else {
                    None
                }
            })
            .collect();
        let state = match excludes.split_first() {
            Some((first, rest)) => {
                let common = rest.iter().fold((*first).clone(), |acc, x| {
                    acc.intersection(x).copied().collect()
                });
                Some((
                    FilterMode::Exclude,
                    common
                        .difference(&includes)
                        .copied()
                        .collect::<BTreeSet<_>>(),
                ))
            }
            None if includes.is_empty() => None,
            None => Some((FilterMode::Include, includes)),
        };
        if let Some((mode, sources)) = state {
            expected.insert(
                IpAddr::V4(g),
                (mode, sources.into_iter().map(IpAddr::V4).collect()),
            );
        }
    }
    expected
}

fn check(engine: &Engine, world: &World) -> Result<(), TestCaseError> {
    let ports: Vec<_> = LANS
        .iter()
        .map(|l| engine.downstream_port_v4(*l).expect("downstream port"))
        .collect();
    for ((s, g), (iif, oifs)) in &world.routes {
        let (IpAddr::V4(s4), IpAddr::V4(g4)) = (*s, *g) else {
            return Err(TestCaseError::fail("IPv6 route"));
        };
        for (lan, port) in ports.iter().enumerate() {
            let present = oifs.contains(&LANS[lan]);
            let should = LANS[lan] != *iif && port.is_querier() && port.wants(&g4, &s4);
            prop_assert_eq!(present, should, "route ({}, {}) and LAN {}", s, g, lan);
            if present {
                let asked = world.asked.get(&(lan, g4, s4)).copied();
                prop_assert!(
                    asked.is_some_and(|t| world.now - t <= GMI_MS),
                    "({}, {}) forwarded to LAN {} without a request in the last GMI (last {:?}, now {})",
                    s,
                    g,
                    lan,
                    asked,
                    world.now
                );
            }
        }
        prop_assert_eq!(
            oifs.contains(&UP),
            *iif != UP,
            "downstream senders go upstream"
        );
    }
    prop_assert_eq!(&world.upstream, &expected_upstream(engine));
    let reported: BTreeMap<_, _> = engine
        .status(Timestamp(world.now))
        .routes
        .into_iter()
        .map(|r| ((r.source, r.group), (r.iif, r.oifs)))
        .collect();
    prop_assert_eq!(&world.routes, &reported);
    Ok(())
}

fn run(quickleave: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let text = format!(
        "{}phyint up0 upstream ipv6 off\nphyint dn0 downstream ipv6 off\nphyint dn1 downstream ipv6 off\n",
        if quickleave { "quickleave\n" } else { "" }
    );
    let config = mrproxy_config::parse(&text, "prop.conf").expect("config parses");
    let mut engine = Engine::new(config, Timestamp(0));
    let mut world = World::default();
    for event in [
        interface(UP, "up0", Ipv4Addr::new(192, 0, 2, 1), 24),
        interface(LANS[0], "dn0", lan_address(0), 25),
        interface(LANS[1], "dn1", lan_address(1), 25),
    ] {
        let actions = engine.handle(Timestamp(0), event);
        world.apply(&mut engine, actions);
    }
    for op in ops {
        let event = match op {
            Op::Wait { ms } => {
                world.advance(&mut engine, world.now + ms);
                check(&engine, &world)?;
                continue;
            }
            Op::Record {
                lan,
                host: h,
                kind,
                group: g,
                sources,
            } => {
                let (g, sources): (_, Vec<_>) =
                    (group(g), sources.into_iter().map(source).collect());
                world.record_asked(lan, g, record_type(kind), &sources);
                if record_type(kind) == RecordType::ModeIsExclude {
                    // RFC 9776 §6.4.1 EXCLUDE(X,Y) IS_EX(A): (A-X-Y)=GMI. A source the router
                    // forwarded as "any other source" stays forwarded for a GMI when it is first
                    // listed: other hosts may still want it, and nothing asks them.
                    let port = engine
                        .downstream_port_v4(LANS[lan])
                        .expect("downstream port");
                    for s in sources.iter().filter(|s| port.wants(&g, s)) {
                        world.asked.insert((lan, g, *s), world.now);
                    }
                }
                let record = igmp::GroupRecord {
                    record_type: record_type(kind),
                    group: g,
                    sources,
                    aux_data: vec![],
                };
                igmp(
                    lan,
                    host(lan, h),
                    igmp::Repr::ReportV3 {
                        records: vec![record],
                    },
                )
            }
            Op::ReportV2 {
                lan,
                host: h,
                group: g,
            } => {
                world.record_asked(lan, group(g), RecordType::ModeIsExclude, &[]);
                world.v2_reported.insert((lan, group(g)), world.now);
                igmp(lan, host(lan, h), igmp::Repr::ReportV2 { group: group(g) })
            }
            Op::Leave {
                lan,
                host: h,
                group: g,
            } => igmp(lan, host(lan, h), igmp::Repr::LeaveV2 { group: group(g) }),
            Op::ForeignQuery { lan } => igmp(
                lan,
                other_router(lan),
                igmp::Repr::QueryV2 {
                    max_resp_time: 100,
                    group: Ipv4Addr::UNSPECIFIED,
                },
            ),
            Op::Upcall {
                source: s,
                group: g,
            } => Event::NoCache {
                iif: UP,
                source: IpAddr::V4(source(s)),
                group: IpAddr::V4(group(g)),
            },
        };
        let actions = engine.handle(Timestamp(world.now), event);
        world.apply(&mut engine, actions);
        check(&engine, &world)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn forwarding_and_upstream_follow_the_ports(quickleave in any::<bool>(), ops in proptest::collection::vec(op(), 1..60)) {
        run(quickleave, ops)?;
    }
}
