//! Throughput of the engine on the report path (a plain timing loop; run in release mode):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-engine cargo bench -p mrproxy-engine --bench reports
//! ```
//!
//! The headline figure: 100 000 IGMPv3 reports from 1 000 hosts about 10 000 groups on one
//! downstream interface, through `Engine::handle` (policy checks, the router part, the merge,
//! upstream membership). Then per-kind figures. Events are built before the clock starts.
//! Host addresses come from 10.1.0.0/16 because 1 000 hosts do not fit a TEST-NET /24; nothing
//! here touches a network.

use mrproxy_engine::{
    Engine, Event, IfIndex, InterfaceInfo, LinkFlags, SourceGroup, Timestamp, V4Address, merge,
};
use mrproxy_membership::Subscription;
use mrproxy_wire::{RecordType, igmp};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Instant;

const DOWN: IfIndex = IfIndex(2);
const HOSTS: u32 = 1_000;
const GROUPS: u32 = 10_000;

fn host(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 10)) + n)
}
fn group(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(239, 1, 0, 0)) + n)
}
fn ssm_group(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(232, 1, 0, 0)) + n)
}
fn source(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 0, 2, 10)) + n)
}

fn engine() -> Engine {
    let text = "phyint up0 upstream ipv6 off\n\
                phyint dn0 downstream ipv6 off maxgroups 100000 maxgroupsperhost 100000\n";
    let config = mrproxy_config::parse(text, "bench.conf").expect("bench config parses");
    let mut engine = Engine::new(config, Timestamp(0));
    let flags = LinkFlags {
        up: true,
        running: true,
        multicast: true,
        loopback: false,
        point_to_point: false,
    };
    for (ifindex, name, address, prefix_len) in [
        (IfIndex(1), "up0", Ipv4Addr::new(192, 0, 2, 1), 24),
        (DOWN, "dn0", Ipv4Addr::new(10, 1, 0, 1), 16),
    ] {
        let _ = engine.handle(
            Timestamp(0),
            Event::InterfaceChanged(InterfaceInfo {
                ifindex,
                name: name.into(),
                flags,
                ipv4: vec![V4Address {
                    address,
                    prefix_len,
                    peer: None,
                }],
                ipv6: vec![],
            }),
        );
    }
    engine
}

fn igmp(from: Ipv4Addr, message: igmp::Repr) -> Event {
    Event::Igmp {
        ifindex: DOWN,
        source: from,
        destination: Ipv4Addr::new(224, 0, 0, 22),
        ttl: 1,
        router_alert: true,
        message,
    }
}

fn v3(from: Ipv4Addr, record_type: RecordType, g: Ipv4Addr, sources: Vec<Ipv4Addr>) -> Event {
    igmp(
        from,
        igmp::Repr::ReportV3 {
            records: vec![igmp::GroupRecord {
                record_type,
                group: g,
                sources,
                aux_data: vec![],
            }],
        },
    )
}

/// Feeds `events` one millisecond apart from `start`; returns (events/s, actions and notices
/// produced).
fn run(engine: &mut Engine, start: u64, events: Vec<Event>) -> (f64, usize) {
    let count = events.len();
    let mut actions = 0;
    let begin = Instant::now();
    for (i, event) in events.into_iter().enumerate() {
        let output = black_box(engine.handle(Timestamp(start + i as u64 / 100), event));
        actions += output.actions.len() + output.notices.len();
    }
    (count as f64 / begin.elapsed().as_secs_f64(), actions)
}

fn print(name: &str, count: usize, (rate, actions): (f64, usize)) {
    println!(
        "{name:<48} {count:>7} in {:>8.1} ms  {:>12.0} /s  ({actions} actions and notices)",
        count as f64 / rate * 1e3,
        rate
    );
}

/// Hosts join the groups of their "channel list": report i comes from host i % HOSTS about
/// group i % GROUPS, as a join (TO_EX {}) the first time and a current-state IS_EX {} after.
fn v3_reports(n: u32) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let kind = if i < GROUPS {
                RecordType::ChangeToExclude
            } else {
                RecordType::ModeIsExclude
            };
            v3(host(i % HOSTS), kind, group(i % GROUPS), vec![])
        })
        .collect()
}

fn main() {
    let mut e = engine();
    print(
        "IGMPv3 reports (10k groups, 1k hosts)",
        100_000,
        run(&mut e, 1_000, v3_reports(100_000)),
    );

    let mut e = engine();
    let reports = (0..100_000)
        .map(|i| {
            igmp(
                host(i % HOSTS),
                igmp::Repr::ReportV2 {
                    group: group(i % GROUPS),
                },
            )
        })
        .collect();
    print("IGMPv2 reports", 100_000, run(&mut e, 1_000, reports));

    let mut e = engine();
    let reports = (0..100_000)
        .map(|i| {
            v3(
                host(i % HOSTS),
                RecordType::ModeIsInclude,
                ssm_group(i % GROUPS),
                (0..4).map(|s| source(i % 7 + s)).collect(),
            )
        })
        .collect();
    print(
        "IGMPv3 IS_IN with 4 sources (SSM)",
        100_000,
        run(&mut e, 1_000, reports),
    );

    // Leaves: one host per group, so every leave starts last-member queries.
    let mut e = engine();
    run(
        &mut e,
        1_000,
        (0..GROUPS)
            .map(|i| igmp(host(i % HOSTS), igmp::Repr::ReportV2 { group: group(i) }))
            .collect(),
    );
    let leaves = (0..GROUPS)
        .map(|i| igmp(host(i % HOSTS), igmp::Repr::LeaveV2 { group: group(i) }))
        .collect();
    print(
        "IGMPv2 leaves (each starts GSQs)",
        GROUPS as usize,
        run(&mut e, 5_000, leaves),
    );

    // Timeouts: the leaves' specific queries and expiries, then everything else expiring
    // after GMI (10k groups).
    let mut e = engine();
    run(&mut e, 1_000, v3_reports(GROUPS));
    let begin = Instant::now();
    let (mut calls, mut actions) = (0usize, 0usize);
    while let Some(deadline) = e.next_deadline().filter(|d| d.as_millis() < 600_000) {
        // No forwarding entries here: no counter is ever read.
        let output = black_box(e.timeout(deadline, &|_| None));
        actions += output.actions.len() + output.notices.len();
        calls += 1;
    }
    let elapsed = begin.elapsed().as_secs_f64();
    print(
        "Timeout calls until every group expired",
        calls,
        (calls as f64 / elapsed, actions),
    );
    println!(
        "{:<48} {:>7} groups expired in {:>5.1} ms",
        "",
        GROUPS,
        elapsed * 1e3
    );

    // Upcalls: 10k sources on one group with a listener.
    let mut e = engine();
    run(
        &mut e,
        1_000,
        vec![igmp(host(1), igmp::Repr::ReportV2 { group: group(1) })],
    );
    let upcalls = (0..GROUPS)
        .map(|i| Event::NoCache {
            iif: IfIndex(1),
            sg: SourceGroup {
                source: Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 0, 2, 0)) + i % 250),
                group: group(i / 250),
            }
            .into(),
        })
        .collect();
    print(
        "Upcalls (route installation)",
        GROUPS as usize,
        run(&mut e, 2_000, upcalls),
    );

    // The merge alone: 8 downstream subscriptions of 16 sources each.
    let subscriptions: Vec<Subscription<Ipv4Addr>> = (0..8u32)
        .map(|p| {
            let set: BTreeSet<Ipv4Addr> = (0..16).map(|s| source(p + s)).collect();
            if p % 2 == 0 {
                Subscription::Exclude(set)
            } else {
                Subscription::Include(set)
            }
        })
        .collect();
    let rounds = 100_000;
    let begin = Instant::now();
    for _ in 0..rounds {
        black_box(merge(black_box(subscriptions.clone())));
    }
    let rate = rounds as f64 / begin.elapsed().as_secs_f64();
    print("merge of 8 subscriptions x 16 sources", rounds, (rate, 0));
}
