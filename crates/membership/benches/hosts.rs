//! Cost of a report through `Port::receive` against the number of tracked hosts, and the heap a
//! flood of spoofed hosts can make one port hold.
//!
//! ```text
//! CARGO_TARGET_DIR=... cargo bench -p mrproxy-membership --bench hosts
//! ```
//!
//! Part 1: 1 000, 100 000 and 1 000 000 distinct IGMPv3 hosts, each a member of one group
//! (`max_hosts` raised to fit), in two layouts:
//! * spread: half of the hosts over 100 groups, the other half in a geometric series of
//!   large groups (a quarter of all hosts in one, an eighth in the next, ...); the same 120
//!   groups or so at every size, so that only the number of hosts per group changes;
//! * one group: every host in the same group.
//!
//! Every host joins (IS_EX {}) within 100 s, then answers three query rounds 125 s apart
//! (IS_EX {} again, in the same order, each round over 100 s). The figure is the time per
//! report of the join round and of the fastest refresh round, building the message included.
//! Then the clock passes every host's Group Membership Interval: the time per expired host.
//!
//! Part 2: 1 000 000 MLDv2 hosts with spoofed link-local sources (fe80::/64), each reporting
//! one group, with the default limits: the heap the port holds afterwards, counted by a global
//! allocator that tracks the bytes requested.
//!
//! Part 3 (`-- product` runs it alone): the product of the per-host limits, `max_hosts` spoofed
//! MLDv2 hosts each in `max_groups_per_host` groups with `max_sources_per_host` sources (and
//! with none): the heap that `max_host_entries` bounds.

use mrproxy_membership::{Message, Mode, Output, Port, PortConfig, Record, RecordKind, Timestamp};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counter only observes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            LIVE.fetch_add(new_size, Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ROUND_MS: u64 = 100_000;
const QUERY_INTERVAL_MS: u64 = 125_000;

#[derive(Clone, Copy)]
enum Layout4 {
    Spread,
    OneGroup,
}

fn host_v4(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0A00_0000 + i)
}

fn group_v4(layout: Layout4, i: u32) -> Ipv4Addr {
    let n = match layout {
        Layout4::OneGroup => 0,
        // Odd hosts over 100 groups; even hosts in group 100 + (trailing zeros of i): half of
        // them in the first, a quarter in the next, and so on.
        Layout4::Spread if i % 2 == 1 => (i / 2) % 100,
        Layout4::Spread => 100 + (i | 1 << 31).trailing_zeros(),
    };
    Ipv4Addr::from(0xEF01_0000 + n)
}

fn is_ex<A: mrproxy_membership::Address>(group: A) -> Message<A> {
    Message::ReportV3 {
        records: vec![Record {
            kind: RecordKind::IsExclude,
            group,
            sources: vec![],
        }],
    }
}

fn clear<A: mrproxy_membership::Address>(out: &mut Output<A>) {
    out.send.clear();
    out.changed.clear();
    out.events.clear();
    out.querier_changed = false;
}

/// One round: every host reports once, spread over `ROUND_MS` from `start`; ns per report.
fn round(port: &mut Port<Ipv4Addr>, layout: Layout4, hosts: u32, start: u64) -> f64 {
    let mut out = Output::new();
    let began = Instant::now();
    for i in 0..hosts {
        let now = Timestamp(start + u64::from(i) * ROUND_MS / u64::from(hosts));
        port.receive(now, host_v4(i), is_ex(group_v4(layout, i)), &mut out);
        clear(&mut out);
    }
    began.elapsed().as_nanos() as f64 / f64::from(hosts)
}

struct Figures {
    join: f64,
    refresh: f64,
    expiry: f64,
    groups: usize,
}

fn part1(layout: Layout4, hosts: u32) -> Figures {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.max_hosts = hosts as usize;
    let mut port = Port::new(config, Timestamp(0));
    let mut out = Output::new();
    port.set_address(
        Some(Ipv4Addr::new(10, 255, 255, 254)),
        Timestamp(0),
        &mut out,
    );
    let join = round(&mut port, layout, hosts, 0);
    let refresh = (1..=3)
        .map(|k| round(&mut port, layout, hosts, k * QUERY_INTERVAL_MS))
        .fold(f64::INFINITY, f64::min);
    let groups = port.groups().len();
    // Past every host's GMI (260 s after the last round).
    let began = Instant::now();
    port.timeout(
        Timestamp(3 * QUERY_INTERVAL_MS + ROUND_MS + 261_000),
        &mut out,
    );
    let expiry = began.elapsed().as_nanos() as f64 / f64::from(hosts);
    assert!(port.groups().is_empty(), "every host expired");
    black_box(&port);
    Figures {
        join,
        refresh,
        expiry,
        groups,
    }
}

fn spoofed(i: u32) -> Ipv6Addr {
    // Link-local addresses with pseudo-random interface identifiers.
    let iid = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Ipv6Addr::from((0xfe80_u128 << 112) | u128::from(iid))
}

/// An IPv6 port with the link-local address fe80::1 (the querier), at time 0.
fn querier_port(config: &PortConfig) -> (Port<Ipv6Addr>, Output<Ipv6Addr>) {
    let mut port = Port::new(config.clone(), Timestamp(0));
    let mut out = Output::new();
    port.set_address(
        Some("fe80::1".parse().expect("address")),
        Timestamp(0),
        &mut out,
    );
    (port, out)
}

fn part2(distinct_groups: bool) {
    const HOSTS: u32 = 1_000_000;
    let config = PortConfig::rfc_defaults(Mode::V3);
    let before = LIVE.load(Relaxed);
    let (mut port, mut out) = querier_port(&config);
    let mut limit_hits = 0u64;
    let began = Instant::now();
    for i in 0..HOSTS {
        let group = if distinct_groups {
            Ipv6Addr::from((0xff3e_u128 << 112) | u128::from(i + 1))
        } else {
            "ff3e::1".parse().expect("group")
        };
        let now = Timestamp(u64::from(i) * ROUND_MS / u64::from(HOSTS));
        port.receive(now, spoofed(i), is_ex(group), &mut out);
        limit_hits += out.events.len() as u64;
        clear(&mut out);
    }
    let ns = began.elapsed().as_nanos() as f64 / f64::from(HOSTS);
    drop(out);
    let heap = LIVE.load(Relaxed) - before;
    let snapshot = port.snapshot(Timestamp(ROUND_MS));
    let tracked: std::collections::BTreeSet<Ipv6Addr> = snapshot
        .groups
        .iter()
        .flat_map(|g| g.hosts.iter().copied())
        .filter(|h| !h.is_unspecified())
        .collect();
    println!(
        "| {:<28} | {:>7} | {:>7} | {:>9} | {:>10.1} | {:>6.0} |",
        if distinct_groups {
            "one group each (1 M groups)"
        } else {
            "all in ff3e::1"
        },
        snapshot.groups.len(),
        tracked.len(),
        limit_hits,
        heap as f64 / 1e6,
        ns,
    );
    black_box(&port);
}

fn main() {
    println!("Part 1: ns per report through Port::receive (IGMPv3 IS_EX {{}}), one group per host");
    println!();
    println!("| layout    | hosts     | groups | join ns | refresh ns | expiry ns/host |");
    println!("|-----------|-----------|--------|---------|------------|----------------|");
    // `-- spread|one [HOSTS]` runs one case of part 1 only (for a profiler); `-- product`
    // part 3 only.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().is_some_and(|a| a == "product") {
        part3(false);
        part3(true);
        return;
    }
    let only_layout = args.first().map(|a| a.starts_with("one"));
    let only_size: Option<u32> = args.get(1).and_then(|a| a.parse().ok());
    for layout in [Layout4::Spread, Layout4::OneGroup] {
        if only_layout.is_some_and(|one| one != matches!(layout, Layout4::OneGroup)) {
            continue;
        }
        for hosts in [1_000, 100_000, 1_000_000] {
            if only_size.is_some_and(|size| size != hosts) {
                continue;
            }
            let f = part1(layout, hosts);
            println!(
                "| {:<9} | {:>9} | {:>6} | {:>7.0} | {:>10.0} | {:>14.0} |",
                match layout {
                    Layout4::Spread => "spread",
                    Layout4::OneGroup => "one group",
                },
                hosts,
                f.groups,
                f.join,
                f.refresh,
                f.expiry
            );
        }
    }
    if only_layout.is_some() {
        return;
    }
    println!();
    println!("Part 2: 1 000 000 spoofed fe80:: MLDv2 hosts, one report each, default limits");
    let defaults = PortConfig::rfc_defaults(Mode::V3);
    println!(
        "(max_groups {}, max_hosts {}, max_groups_per_host {}, max_sources_per_group {}, max_sources_per_host {})",
        defaults.max_groups,
        defaults.max_hosts,
        defaults.max_groups_per_host,
        defaults.max_sources_per_group,
        defaults.max_sources_per_host
    );
    println!();
    println!(
        "| reports                      | groups  | tracked | limit hit | heap MB    | ns/rep |"
    );
    println!(
        "|------------------------------|---------|---------|-----------|------------|--------|"
    );
    part2(false);
    part2(true);
    println!();
    part3(false);
    part3(true);
}

/// Part 3: the product of the per-host limits. `max_hosts` spoofed MLDv2 hosts each report
/// `max_groups_per_host` groups with `max_sources_per_host` sources (IS_IN), the same sources
/// for every group so that no group's source table overflows: the most host state the default
/// limits let one port hold.
fn part3(with_sources: bool) {
    let config = PortConfig::rfc_defaults(Mode::V3);
    let hosts = config.max_hosts as u32;
    let groups = config.max_groups_per_host as u32;
    let per_host = if with_sources {
        config.max_sources_per_host
    } else {
        0
    };
    let kind = if with_sources {
        RecordKind::IsInclude
    } else {
        RecordKind::IsExclude
    };
    let sources: Vec<Ipv6Addr> = (0..per_host as u128)
        .map(|i| Ipv6Addr::from((0x2001_0db8_u128 << 96) | (i + 1)))
        .collect();
    let before = LIVE.load(Relaxed);
    let (mut port, mut out) = querier_port(&config);
    let began = Instant::now();
    let mut limit_hits = 0u64;
    for h in 0..hosts {
        let records = (0..groups)
            .map(|g| Record {
                kind,
                group: Ipv6Addr::from((0xff3e_u128 << 112) | u128::from(g + 1)),
                sources: sources.clone(),
            })
            .collect::<Vec<_>>();
        for chunk in records.chunks(config.max_records.max(1)) {
            let now = Timestamp(u64::from(h) * ROUND_MS / u64::from(hosts));
            let message = Message::ReportV3 {
                records: chunk.to_vec(),
            };
            port.receive(now, spoofed(h), message, &mut out);
            limit_hits += out.events.len() as u64;
            clear(&mut out);
        }
    }
    let elapsed = began.elapsed();
    drop(out);
    let heap = LIVE.load(Relaxed) - before;
    println!(
        "Part 3: {hosts} spoofed MLDv2 hosts x {groups} groups x {} sources ({kind:?}), default limits: \
         heap {:.1} MB, {limit_hits} limit events, {:.1} s",
        sources.len(),
        heap as f64 / 1e6,
        elapsed.as_secs_f64()
    );
    black_box(&port);
}
