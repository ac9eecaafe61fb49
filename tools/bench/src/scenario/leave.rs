//! Leave latency: from the last host's leave on the LAN wire to the last packet of the group
//! on that LAN, with each proxy's default settings and with its fast-leave setting
//! (`quickleave`, the same keyword in both); and, with two hosts on one LAN, what the host that
//! stays loses when the other leaves.
//!
//! The LAN is a bridge in the router namespace (the usual `br0` of a home router) with two
//! kernel hosts, IGMPv3 by default. The upstream network is emulated by a [`Gate`]: a stream
//! flows only while the proxy is a member upstream, so an upstream leave stops it as an ISP's
//! network would. Several groups are measured at once per batch; each has its own stream of
//! 1 000 packets/s, numbered per tick so that every missed packet is counted.

use std::net::Ipv4Addr;
use std::time::Duration;

use netlab::payload::monotonic_ns;
use netlab::{Netns, Snooping};
use serde::Serialize;

use crate::proxy::{Config, Kind, Running};
use crate::scenario::Ctx;
use crate::stats::Summary;
use crate::stream::{Flows, Gate};
use crate::topo::{Base, Member, SOURCE, nth};
use crate::wire::{Recording, WireEvent};

/// Groups measured together in one batch.
const BATCH: u32 = 4;
const TICK: Duration = Duration::from_millis(1);
/// Joins must deliver the stream within this time.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The stream has stopped once nothing arrived for this long.
const QUIET: Duration = Duration::from_secs(1);
/// Forwarding still going on after this is reported as "never stopped" (docs/igmpproxy-differences.md D3).
const STOP_TIMEOUT: Duration = Duration::from_secs(45);
/// Single-host leaves of one batch are this far apart, so that they meet a proxy's timers at
/// different phases (igmpproxy handles leaves in rounds) and count as separate samples.
const STAGGER: Duration = Duration::from_millis(700);
/// How long two viewers watch before one leaves: long enough for the proxy's general queries
/// and its aging of the answers, so that IGMPv2 report suppression (only one of two hosts
/// answers a query) has happened, as it has for real viewers. igmpproxy's quickleave host
/// table forgets hosts that did not answer (docs/igmpproxy-differences.md D6).
const WATCH: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Default, Serialize)]
pub struct LeaveResult {
    pub default: Setting,
    pub fast_leave: Setting,
}

/// Figures with one configuration.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Setting {
    /// One host leaves: its leave → the last packet on the LAN.
    pub last_packet: Summary,
    /// One host leaves: its leave → the proxy's leave on the upstream wire.
    pub upstream_leave: Summary,
    /// Groups still forwarded [`STOP_TIMEOUT`] after the leave.
    pub never_stopped: usize,
    /// Groups whose stream never reached the host(s) (not measured).
    pub failed_joins: usize,
    /// Two hosts, one leaves: packets the other one lost, over all trials.
    pub remaining_host_lost: u64,
    /// Trials in which the remaining host lost anything.
    pub trials_with_loss: usize,
    /// Two-host trials measured.
    pub trials: usize,
    /// Longest silence at the remaining host during the observation window.
    pub remaining_host_max_gap_ms: Option<f64>,
    /// How long the remaining host was watched after the other one left: the proxy's nominal
    /// last-member query time plus one second.
    pub window_ms: u64,
}

pub fn run(ctx: &Ctx, kind: Kind) -> Result<LeaveResult, String> {
    Ok(LeaveResult {
        default: setting(ctx, kind, false, 0)?,
        fast_leave: setting(ctx, kind, true, 1)?,
    })
}

/// The LAN: hosts `a` and `b` on bridge `br0` of the router.
struct Lan {
    base: Base,
    a: Netns,
    b: Netns,
}

fn build() -> std::io::Result<Lan> {
    let base = Base::new("leave")?;
    let a = base.lab.ns("ha")?;
    let b = base.lab.ns("hb")?;
    base.lab.bridge(&base.rtr, "br0", Snooping::Off)?;
    for (host, port, cidr) in [(&a, "p1", "192.0.2.2/24"), (&b, "p2", "192.0.2.3/24")] {
        base.lab.veth((&base.rtr, port), (host, "e0"))?;
        base.lab.enslave(&base.rtr, port, "br0")?;
        host.add_addr("e0", cidr)?;
    }
    base.rtr.add_addr("br0", "192.0.2.1/24")?;
    Ok(Lan { base, a, b })
}

/// The nominal time from a leave to the end of last-member queries: RFC 9776 §8.8/§8.9
/// defaults for mrproxy (1 s × 2), igmpproxy's hard-coded 10 s × 2 (docs/igmpproxy-differences.md §4.4).
fn last_member_query_time(kind: Kind) -> Duration {
    match kind {
        Kind::Mrproxy => Duration::from_secs(2),
        Kind::Igmpproxy => Duration::from_secs(20),
    }
}

fn setting(ctx: &Ctx, kind: Kind, fast: bool, salt: u8) -> Result<Setting, String> {
    let lan = build().map_err(|e| e.to_string())?;
    let config = Config {
        globals: if fast {
            vec!["quickleave".into()]
        } else {
            Vec::new()
        },
        upstream: "up0".into(),
        downstreams: vec!["br0".into()],
        ..Config::default()
    };
    let proxy = Running::start(&lan.base.lab, &lan.base.rtr, kind, &ctx.binaries, &config)?;
    let gate = Gate::default();
    let _upstream = gate
        .follow(&lan.base.src, "s0")
        .map_err(|e| e.to_string())?;
    let flows = Flows::start(
        &lan.base.src,
        SOURCE,
        TICK,
        Duration::ZERO,
        Some(gate.clone()),
    )
    .map_err(|e| e.to_string())?;
    let hosts = Hosts::open(&lan).map_err(|e| e.to_string())?;
    let mut out = Setting {
        window_ms: u64::try_from((last_member_query_time(kind) + QUIET).as_millis()).unwrap_or(0),
        ..Setting::default()
    };
    let mut groups = (0u32..).map(|n| nth(Ipv4Addr::new(239, 21, salt, 0), n));
    let (mut last_packet, mut upstream) = (Vec::new(), Vec::new());
    for _ in 0..ctx.leave_batches {
        ctx.check_interrupted()?;
        let batch: Vec<Ipv4Addr> = groups.by_ref().take(BATCH as usize).collect();
        one_host_batch(
            &hosts,
            &flows,
            &gate,
            &batch,
            &mut out,
            &mut last_packet,
            &mut upstream,
        )?;
    }
    let mut gaps = Vec::new();
    for _ in 0..ctx.two_host_batches {
        ctx.check_interrupted()?;
        let batch: Vec<Ipv4Addr> = groups.by_ref().take(BATCH as usize).collect();
        let window = last_member_query_time(kind) + QUIET;
        two_host_batch(&hosts, &flows, &batch, window, &mut out, &mut gaps)?;
    }
    out.last_packet = Summary::of_ns(&last_packet);
    out.upstream_leave = Summary::of_ns(&upstream);
    out.remaining_host_max_gap_ms = gaps.iter().max().map(|ns| *ns as f64 / 1e6);
    ctx.check_alive(&proxy)?;
    Ok(out)
}

/// The two hosts: a membership socket and a capture of each one's interface.
struct Hosts {
    a: (Member, Recording, u32),
    b: (Member, Recording, u32),
}

impl Hosts {
    fn open(lan: &Lan) -> std::io::Result<Hosts> {
        let host = |ns: &Netns| -> std::io::Result<(Member, Recording, u32)> {
            Ok((
                Member::open(ns)?,
                Recording::start(ns, "e0")?,
                ns.ifindex("e0")?,
            ))
        };
        Ok(Hosts {
            a: host(&lan.a)?,
            b: host(&lan.b)?,
        })
    }
}

/// Streams `batch`, lets every host in `hosts` join all of it, waits for the streams, and
/// returns the groups that reached every host (the rest are counted as failed joins).
fn start_batch(
    flows: &Flows,
    batch: &[Ipv4Addr],
    hosts: &[&(Member, Recording, u32)],
    out: &mut Setting,
) -> Result<Vec<Ipv4Addr>, String> {
    for g in batch {
        flows.add(*g);
        for (member, _, ifindex) in hosts {
            member
                .join(*g, *ifindex)
                .map_err(|e| format!("join {g}: {e}"))?;
        }
    }
    let flowing = |g: &Ipv4Addr| {
        hosts
            .iter()
            .all(|(_, wire, _)| wire.with(|ev| ev.iter().any(|e| e.is_udp_in(*g))))
    };
    netlab::wait_until(JOIN_TIMEOUT, netlab::DEFAULT_POLL, || {
        batch.iter().all(flowing)
    });
    let ok: Vec<Ipv4Addr> = batch.iter().copied().filter(flowing).collect();
    out.failed_joins += batch.len() - ok.len();
    // A moment of steady forwarding before anyone leaves.
    std::thread::sleep(Duration::from_millis(300));
    Ok(ok)
}

fn one_host_batch(
    hosts: &Hosts,
    flows: &Flows,
    gate: &Gate,
    batch: &[Ipv4Addr],
    out: &mut Setting,
    last_packet: &mut Vec<u64>,
    upstream: &mut Vec<u64>,
) -> Result<(), String> {
    let (member, wire, ifindex) = &hosts.a;
    let groups = start_batch(flows, batch, &[&hosts.a], out)?;
    let t0 = monotonic_ns();
    for (i, g) in batch.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(STAGGER);
        }
        member
            .leave(*g, *ifindex)
            .map_err(|e| format!("leave {g}: {e}"))?;
    }
    let quiet_ns = u64::try_from(QUIET.as_nanos()).unwrap_or(u64::MAX);
    let stopped = |g: &Ipv4Addr| {
        wire.with(|ev| {
            let last = last_udp(ev, *g).unwrap_or(0);
            leave_at(ev, *g, t0).is_some() && monotonic_ns().saturating_sub(last) > quiet_ns
        })
    };
    netlab::wait_until(STOP_TIMEOUT, Duration::from_millis(50), || {
        groups.iter().all(stopped)
    });
    for g in &groups {
        if !stopped(g) {
            out.never_stopped += 1;
            continue;
        }
        let (left, last) = wire.with(|ev| (leave_at(ev, *g, t0), last_udp(ev, *g)));
        if let (Some(left), Some(last)) = (left, last) {
            last_packet.push(last.saturating_sub(left));
            if let Some(up) = gate.left_at(*g, t0) {
                upstream.push(up.saturating_sub(left));
            }
        }
    }
    for g in batch {
        flows.remove(*g);
    }
    Ok(())
}

fn two_host_batch(
    hosts: &Hosts,
    flows: &Flows,
    batch: &[Ipv4Addr],
    window: Duration,
    out: &mut Setting,
    gaps: &mut Vec<u64>,
) -> Result<(), String> {
    let groups = start_batch(flows, batch, &[&hosts.a, &hosts.b], out)?;
    std::thread::sleep(WATCH);
    let (leaver, _, a_ifindex) = &hosts.a;
    let (stayer, b_wire, b_ifindex) = &hosts.b;
    let first_seq: Vec<Option<u64>> = groups.iter().map(|g| flows.current_seq(*g)).collect();
    let t0 = monotonic_ns();
    for g in &groups {
        leaver
            .leave(*g, *a_ifindex)
            .map_err(|e| format!("leave {g}: {e}"))?;
    }
    std::thread::sleep(window);
    let end_seq: Vec<Option<u64>> = groups.iter().map(|g| flows.current_seq(*g)).collect();
    let t1 = monotonic_ns();
    // Datagrams sent just before the end are still on their way.
    std::thread::sleep(Duration::from_millis(100));
    for (i, g) in groups.iter().enumerate() {
        let (Some(Some(from)), Some(Some(to))) = (first_seq.get(i), end_seq.get(i)) else {
            continue;
        };
        let (received, gap) = b_wire.with(|ev| remaining_host(ev, *g, (*from, *to), (t0, t1)));
        let lost = (to - from).saturating_sub(received);
        out.remaining_host_lost += lost;
        out.trials += 1;
        out.trials_with_loss += usize::from(lost > 0);
        gaps.push(gap);
    }
    for g in batch {
        stayer
            .leave(*g, *b_ifindex)
            .map_err(|e| format!("leave {g}: {e}"))?;
        flows.remove(*g);
    }
    Ok(())
}

/// The host's first leave of `group` sent at or after `since` (monotonic ns).
fn leave_at(events: &[WireEvent], group: Ipv4Addr, since: u64) -> Option<u64> {
    events
        .iter()
        .find(|e| e.at_ns >= since && e.is_leave_out(group))
        .map(|e| e.at_ns)
}

fn last_udp(events: &[WireEvent], group: Ipv4Addr) -> Option<u64> {
    events
        .iter()
        .rev()
        .find(|e| e.is_udp_in(group))
        .map(|e| e.at_ns)
}

/// Distinct sequence numbers in `seqs` received by the remaining host, and its longest silence
/// within `span` (both monotonic ns), the span's edges included.
fn remaining_host(
    events: &[WireEvent],
    group: Ipv4Addr,
    seqs: (u64, u64),
    span: (u64, u64),
) -> (u64, u64) {
    let mut seen = std::collections::BTreeSet::new();
    let mut previous = span.0;
    let mut gap = 0;
    for e in events.iter().filter(|e| e.is_udp_in(group)) {
        if let Some(p) = e.payload().filter(|p| (seqs.0..seqs.1).contains(&p.seq)) {
            seen.insert(p.seq);
        }
        if (span.0..=span.1).contains(&e.at_ns) {
            gap = gap.max(e.at_ns.saturating_sub(previous));
            previous = e.at_ns;
        }
    }
    gap = gap.max(span.1.saturating_sub(previous));
    (seen.len() as u64, gap)
}
