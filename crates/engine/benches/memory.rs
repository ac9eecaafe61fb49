//! Heap held by the engine at rest: the `bench rest` scenario (docs/benchmarks.md §4) without the
//! kernel. One IGMPv3 host per LAN joins 10 000 groups spread evenly over 31 downstream LANs
//! (group i on LAN i mod 31, so 10 000 (interface, group) entries with one host each), repeats
//! each join once (the kernel's robustness retransmission) and answers every general query
//! with current-state IS_EX records, as the kernel would, until the state has lived through
//! startup and regular query rounds.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-engine cargo bench -p mrproxy-engine --bench memory
//! ```
//!
//! A counting global allocator reports the bytes requested and an estimate of what glibc's
//! malloc really uses for them (16-byte aligned chunks with an 8-byte header, 32 bytes at
//! least), before the joins, after them, and at rest; the figure that matters is the growth
//! per (interface, group) at rest. The harness's own queue is empty when each figure is taken.
//! LAN k is 198.51.100.(8k)/29: the router is .8k+1, the host .8k+2.

use mrproxy_engine::{
    Action, Engine, Event, IfIndex, InterfaceInfo, LinkFlags, Output, Timestamp, V4Address,
};
use mrproxy_wire::{RecordType, igmp};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering::Relaxed;

const LANS: u32 = 31;
const GROUPS: u32 = 10_000;
/// IS_EX {} records per report: (1500 - 24 IP with Router Alert - 8) / 8 octets per record.
const RECORDS_PER_REPORT: usize = 183;
/// The host answers a general query this long after it (well within Max Resp).
const ANSWER_DELAY_MS: u64 = 100;
/// Joins start here, 100 per millisecond (the burst scenario's pace).
const JOINS_AT_MS: u64 = 1_000;
/// Through the two startup queries (0, 31.25 s), two regular ones (156.25 s, 281.25 s) and
/// beyond the Group Membership Interval (260 s) of the first joins.
const REST_AT_MS: u64 = 400_000;

#[path = "support/counting.rs"]
mod counting;
use counting::{Heap, PEAK_CHUNKS, heap};

fn lan_ifindex(lan: u32) -> IfIndex {
    IfIndex(lan + 2)
}
fn router(lan: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, (8 * (lan + 1) + 1) as u8)
}
fn host(lan: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, (8 * (lan + 1) + 2) as u8)
}
fn group(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(239, 30, 0, 0)) + i)
}
fn groups_of(lan: u32) -> impl Iterator<Item = Ipv4Addr> {
    (lan..GROUPS).step_by(LANS as usize).map(group)
}

fn engine() -> Engine {
    let mut text = String::from("phyint up0 upstream ratelimit 0 threshold 1\n");
    for lan in 0..LANS {
        text.push_str(&format!(
            "phyint dn{lan} downstream ratelimit 0 threshold 1\n"
        ));
    }
    let config = mrproxy_config::parse(&text, "memory.conf").expect("bench config parses");
    let mut engine = Engine::new(config, Timestamp(0));
    let flags = LinkFlags {
        up: true,
        running: true,
        multicast: true,
        loopback: false,
        point_to_point: false,
    };
    let upstream = (
        IfIndex(1),
        "up0".to_owned(),
        Ipv4Addr::new(192, 0, 2, 1),
        24,
    );
    let lans = (0..LANS).map(|lan| (lan_ifindex(lan), format!("dn{lan}"), router(lan), 29));
    for (ifindex, name, address, prefix_len) in std::iter::once(upstream).chain(lans) {
        let _ = engine.handle(
            Timestamp(0),
            Event::InterfaceChanged(InterfaceInfo {
                ifindex,
                name,
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

fn report(lan: u32, record_type: RecordType, groups: impl Iterator<Item = Ipv4Addr>) -> Event {
    Event::Igmp {
        ifindex: lan_ifindex(lan),
        source: host(lan),
        destination: igmp::ALL_IGMPV3_ROUTERS,
        ttl: 1,
        router_alert: true,
        message: igmp::Repr::ReportV3 {
            records: groups
                .map(|group| igmp::GroupRecord {
                    record_type,
                    group,
                    sources: vec![],
                    aux_data: vec![],
                })
                .collect(),
        },
    }
}

/// What the hosts still have to send: (when, lan) → answer every general query of that LAN.
type Pending = BTreeMap<(u64, u32), ()>;

/// Runs the engine's timers and the hosts' answers up to `until`.
fn run_until(engine: &mut Engine, pending: &mut Pending, until: u64) {
    loop {
        let deadline = engine.next_deadline().map(Timestamp::as_millis);
        let answer = pending.keys().next().copied();
        let (now, output) = match (deadline, answer) {
            // No forwarding entries here: no counter is ever read.
            (Some(d), a) if d <= until && a.is_none_or(|(t, _)| d <= t) => {
                (d, engine.timeout(Timestamp(d), &|_| None))
            }
            (_, Some((t, lan))) if t <= until => {
                pending.remove(&(t, lan));
                let mut output = Output::new();
                let all: Vec<Ipv4Addr> = groups_of(lan).collect();
                for batch in all.chunks(RECORDS_PER_REPORT) {
                    let event = report(lan, RecordType::ModeIsExclude, batch.iter().copied());
                    output.append(engine.handle(Timestamp(t), event));
                }
                (t, output)
            }
            _ => return,
        };
        note_queries(now, &output.actions, pending);
    }
}

/// General queries on a LAN are answered by its host.
fn note_queries(now: u64, actions: &[Action], pending: &mut Pending) {
    for action in actions {
        if let Action::SendIgmp {
            ifindex,
            destination,
            ..
        } = action
            && *destination == igmp::ALL_SYSTEMS
            && let Some(lan) = ifindex.0.checked_sub(2).filter(|lan| *lan < LANS)
        {
            pending.insert((now + ANSWER_DELAY_MS, lan), ());
        }
    }
}

fn print(name: &str, h: Heap, base: Heap) {
    let per = |now: usize, before: usize| (now.saturating_sub(before)) as f64 / f64::from(GROUPS);
    println!(
        "{name:<26} {:>9} B requested {:>9} B in chunks {:>7} blocks | per group: {:>6.0} B requested {:>6.0} B in chunks {:>5.2} blocks",
        h.requested,
        h.chunks,
        h.blocks,
        per(h.requested, base.requested),
        per(h.chunks, base.chunks),
        per(h.blocks, base.blocks),
    );
}

fn main() {
    let mut engine = engine();
    let mut pending = Pending::new();
    run_until(&mut engine, &mut pending, JOINS_AT_MS);
    let base = heap();
    print("interfaces only", base, base);

    for i in 0..GROUPS {
        let now = JOINS_AT_MS + u64::from(i) / 100;
        run_until(&mut engine, &mut pending, now);
        let lan = i % LANS;
        let output = engine.handle(
            Timestamp(now),
            report(lan, RecordType::ChangeToExclude, std::iter::once(group(i))),
        );
        note_queries(now, &output.actions, &mut pending);
    }
    // The kernel repeats each state-change report once (Robustness Variable 2), within 1 s.
    for i in 0..GROUPS {
        let now = JOINS_AT_MS + 1_000 + u64::from(i) / 100;
        run_until(&mut engine, &mut pending, now);
        let lan = i % LANS;
        let output = engine.handle(
            Timestamp(now),
            report(lan, RecordType::ChangeToExclude, std::iter::once(group(i))),
        );
        note_queries(now, &output.actions, &mut pending);
    }
    run_until(&mut engine, &mut pending, JOINS_AT_MS + 3_000);
    print("after the joins", heap(), base);

    run_until(&mut engine, &mut pending, REST_AT_MS);
    print("at rest (400 s)", heap(), base);
    let peak = PEAK_CHUNKS.load(Relaxed);
    println!(
        "peak during the run: {peak} B in chunks ({:.0} B per group over the interfaces-only heap)",
        peak.saturating_sub(base.chunks) as f64 / f64::from(GROUPS)
    );
    let status = engine.status(Timestamp(REST_AT_MS));
    let tracked: usize = status
        .interfaces
        .iter()
        .flat_map(|i| &i.families)
        .filter_map(|f| match &f.port {
            Some(mrproxy_engine::PortStatus::V4(p)) => Some(p.groups.len()),
            _ => None,
        })
        .sum();
    let upstream: usize = status.upstreams.iter().map(|u| u.groups.len()).sum();
    drop(status);
    assert_eq!(
        (tracked, upstream),
        (GROUPS as usize, GROUPS as usize),
        "every group is still joined downstream and upstream at rest"
    );
}
