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

mod prop_model;
mod support;

use mrproxy_engine::{Engine, Event, SourceGroup, Timestamp};
use mrproxy_wire::{RecordType, igmp};
use prop_model::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use support::v4_interface;

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
    /// Traffic from behind the upstream (`from_lan` None) or from a sender on a LAN.
    Upcall {
        from_lan: Option<usize>,
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
        2 => (proptest::option::weighted(0.3, 0usize..2), 0u8..3, 0u8..2)
            .prop_map(|(from_lan, source, group)| Op::Upcall { from_lan, source, group }),
        3 => prop_oneof![0u64..3_000, 0u64..300_000].prop_map(|ms| Op::Wait { ms }),
    ]
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
        v4_interface(UP, "up0", Ipv4Addr::new(192, 0, 2, 1), 24),
        v4_interface(LANS[0], "dn0", lan_address(0), 25),
        v4_interface(LANS[1], "dn1", lan_address(1), 25),
    ] {
        let output = engine.handle(Timestamp(0), event);
        world.apply(output);
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
                from_lan,
                source: s,
                group: g,
            } => {
                let (iif, s) = match from_lan {
                    Some(lan) => (LANS[lan], lan_sender(lan)),
                    None => (UP, source(s)),
                };
                Event::NoCache {
                    iif,
                    sg: SourceGroup {
                        source: s,
                        group: group(g),
                    }
                    .into(),
                }
            }
        };
        let output = engine.handle(Timestamp(world.now), event);
        world.apply(output);
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
