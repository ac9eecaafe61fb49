//! The heap one hostile downstream LAN can make the engine hold with the default bounds
//! (docs/hostile-lans.md): every table of that LAN filled to its limit by hosts that send
//! whatever fills it fastest, while the engine keeps serving a legitimate viewer.
//!
//! ```text
//! cargo bench -p mrproxy-engine --bench bounds
//! ```
//!
//! The attack, on LAN 198.18.0.0/15 (router 198.18.0.1):
//! 1. 64 hosts each ask for 256 groups with 64 sources each (INCLUDE), four hosts per group
//!    with different sources: every group of the LAN's 4096 (`maxgroups`) reaches `maxsources`
//!    (the rest is dropped), each host at its own bounds (`maxgroupsperhost`,
//!    `maxsourcesperhost`);
//! 2. 2 000 more hosts each ask for one of those groups (EXCLUDE {}): 1 024 hosts are tracked
//!    (`maxhosts`), the others count as untracked listeners;
//! 3. one host on the LAN sends to 20 000 (S,G) over 200 s (kernel upcalls): at most
//!    `maxroutes` entries from the LAN, and the upstream's idle entries fill the family's
//!    `maxtotalroutes`.
//!
//! It prints the heap after each step and checks that a viewer on a second LAN, who joined
//! first, is still served.

#[path = "support/counting.rs"]
mod counting;
use counting::{Heap, PEAK_CHUNKS, heap};

use mrproxy_engine::{
    Engine, Event, IfIndex, InterfaceInfo, LinkFlags, SourceGroup, Timestamp, V4Address,
};
use mrproxy_wire::{RecordType, igmp};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

const UP: IfIndex = IfIndex(1);
const HOSTILE: IfIndex = IfIndex(2);
const VIEWER_LAN: IfIndex = IfIndex(3);
const GROUPS: u32 = 4096;
const GROUPS_PER_HOST: u32 = 256;
const SOURCES_PER_HOST: u32 = 64;
const FILLING_HOSTS: u32 = 64;
const MORE_HOSTS: u32 = 2_000;
const FLOOD: u32 = 20_000;

fn addr(base: Ipv4Addr, i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base) + i)
}
fn group(i: u32) -> Ipv4Addr {
    addr(Ipv4Addr::new(239, 40, 0, 0), i % GROUPS)
}
/// Hosts of the hostile LAN, 198.18.1.0 onwards.
fn host(i: u32) -> Ipv4Addr {
    addr(Ipv4Addr::new(198, 18, 1, 0), i)
}
/// Sources named in records, 198.19.0.0 onwards (unicast, on no interface of ours).
fn source(i: u32) -> Ipv4Addr {
    addr(Ipv4Addr::new(198, 19, 0, 0), i)
}

fn interface(ifindex: IfIndex, name: &str, address: Ipv4Addr, prefix_len: u8) -> Event {
    Event::InterfaceChanged(InterfaceInfo {
        ifindex,
        name: name.to_owned(),
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

fn report(ifindex: IfIndex, from: Ipv4Addr, records: Vec<igmp::GroupRecord>) -> Event {
    Event::Igmp {
        ifindex,
        source: from,
        destination: igmp::ALL_IGMPV3_ROUTERS,
        ttl: 1,
        router_alert: true,
        message: igmp::Repr::ReportV3 { records },
    }
}

fn record(record_type: RecordType, group: Ipv4Addr, sources: Vec<Ipv4Addr>) -> igmp::GroupRecord {
    igmp::GroupRecord {
        record_type,
        group,
        sources,
        aux_data: vec![],
    }
}

fn print(step: &str, h: Heap, base: Heap, took: std::time::Duration) {
    println!(
        "{step:<46} {:>10} B in chunks ({:>6.1} MiB over the idle engine) {:>8} blocks  {:>7.2} s",
        h.chunks,
        h.chunks.saturating_sub(base.chunks) as f64 / 1_048_576.0,
        h.blocks,
        took.as_secs_f64()
    );
}

fn main() {
    let text = "phyint up0 upstream\nphyint hostile downstream\nphyint viewers downstream\n";
    let config = mrproxy_config::parse(text, "bounds.conf").expect("bench config parses");
    let mut engine = Engine::new(config, Timestamp(0));
    let _ = engine.handle(
        Timestamp(0),
        interface(UP, "up0", Ipv4Addr::new(192, 0, 2, 1), 24),
    );
    let router = Ipv4Addr::new(198, 18, 0, 1);
    let _ = engine.handle(Timestamp(0), interface(HOSTILE, "hostile", router, 15));
    let viewers = Ipv4Addr::new(203, 0, 113, 1);
    let _ = engine.handle(Timestamp(0), interface(VIEWER_LAN, "viewers", viewers, 24));
    // The viewer on the other LAN joins first and its stream is flowing.
    let watched = Ipv4Addr::new(239, 1, 1, 1);
    let stream_source = Ipv4Addr::new(192, 0, 2, 99);
    let viewer = Ipv4Addr::new(203, 0, 113, 10);
    let _ = engine.handle(
        Timestamp(0),
        report(
            VIEWER_LAN,
            viewer,
            vec![record(RecordType::ChangeToExclude, watched, vec![])],
        ),
    );
    let _ = engine.handle(
        Timestamp(1),
        Event::NoCache {
            iif: UP,
            sg: SourceGroup {
                source: stream_source,
                group: watched,
            }
            .into(),
        },
    );
    let base = heap();
    print("idle engine, one viewer", base, base, Default::default());

    let started = Instant::now();
    let mut now = 1_000;
    for h in 0..FILLING_HOSTS {
        let records = (0..GROUPS_PER_HOST)
            .map(|j| {
                let g = h * GROUPS_PER_HOST + j;
                let first = (h * GROUPS_PER_HOST + j) / GROUPS * SOURCES_PER_HOST;
                let sources = (first..first + SOURCES_PER_HOST).map(source).collect();
                record(RecordType::ModeIsInclude, group(g), sources)
            })
            .collect();
        let _ = engine.handle(Timestamp(now), report(HOSTILE, host(h), records));
        now += 10;
    }
    print(
        "1. 4096 groups, each at maxsources",
        heap(),
        base,
        started.elapsed(),
    );

    let started = Instant::now();
    for h in FILLING_HOSTS..FILLING_HOSTS + MORE_HOSTS {
        let records = vec![record(RecordType::ModeIsExclude, group(h), vec![])];
        let _ = engine.handle(Timestamp(now), report(HOSTILE, host(h), records));
        now += 1;
    }
    print(
        "2. + 2000 hosts (1024 tracked)",
        heap(),
        base,
        started.elapsed(),
    );

    let started = Instant::now();
    for i in 0..FLOOD {
        // 100 upcalls per second from the hostile LAN and as many from the upstream.
        now += 10;
        let _ = engine.handle(
            Timestamp(now),
            Event::NoCache {
                iif: HOSTILE,
                sg: SourceGroup {
                    source: host(0),
                    group: addr(Ipv4Addr::new(239, 50, 0, 0), i),
                }
                .into(),
            },
        );
        let _ = engine.handle(
            Timestamp(now),
            Event::NoCache {
                iif: UP,
                sg: SourceGroup {
                    source: stream_source,
                    group: addr(Ipv4Addr::new(239, 60, 0, 0), i),
                }
                .into(),
            },
        );
    }
    print(
        "3. + 20000 (S,G) from each of two interfaces",
        heap(),
        base,
        started.elapsed(),
    );
    let peak = PEAK_CHUNKS.load(Relaxed);
    println!(
        "peak: {peak} B in chunks ({:.1} MiB over the idle engine)",
        peak.saturating_sub(base.chunks) as f64 / 1_048_576.0
    );

    let status = engine.status(Timestamp(now));
    let from_hostile = status.routes.iter().filter(|r| r.iif == HOSTILE).count();
    println!(
        "forwarding entries: {} in all, {from_hostile} from the hostile LAN; rejected: {:?}",
        status.routes.len(),
        status.rejected
    );
    let served = status.routes.iter().any(|r| {
        r.group == IpAddr::V4(watched)
            && r.source == IpAddr::V4(stream_source)
            && r.oifs == vec![VIEWER_LAN]
    });
    assert!(served, "the viewer's stream is still forwarded");
    assert!(from_hostile <= 1024, "maxroutes bounds the hostile LAN");
    assert!(
        status.routes.len() <= 16_384,
        "maxtotalroutes bounds the family"
    );
}
