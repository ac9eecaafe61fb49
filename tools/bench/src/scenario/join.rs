//! Join latency: a stream already reaches the router's upstream at 1 000 packets/s; a kernel
//! host joins; the time from its report on the downstream wire to the first packet of the
//! group on that wire.
//!
//! Each join uses a fresh group whose stream started at least [`PREROLL`] earlier (so the
//! proxy has seen the source), and the host leaves right after the first packet. Both the
//! report and the packet are stamped by the kernel on the host's interface, so the figure is
//! the proxy's reaction plus the wait for the next packet of the stream (at most 1 ms).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use netlab::Netns;
use serde::Serialize;

use crate::proxy::{Config, Kind, Running};
use crate::scenario::Ctx;
use crate::stats::Summary;
use crate::stream::{Flows, random_phase};
use crate::topo::{Base, Member, SOURCE, nth};
use crate::wire::{Kind as WireKind, Recording, WireEvent};

/// How long each stream flows before its host joins (50 packets: the proxy has had the
/// source's upcall within the first).
const PREROLL: Duration = Duration::from_millis(50);
/// A join that shows no report and packet within this time counts as failed.
const JOIN_TIMEOUT: Duration = Duration::from_secs(3);
/// Stream rate: one datagram per tick.
const TICK: Duration = Duration::from_millis(1);

/// Figures of one host version.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Series {
    /// The version the host was configured for (`force_igmp_version`).
    pub host_version: u8,
    /// Report → first packet.
    pub latency: Summary,
    /// Report → first packet that its source sent after the report: the live stream. Differs
    /// from `latency` when the kernel had queued older packets for an unresolved route.
    pub latency_fresh: Summary,
    /// Age of the first packet at the host (time since its source sent it): large values are
    /// packets the kernel queued while the route was unresolved (docs/igmpproxy-differences.md D35).
    pub first_packet_age: Summary,
    /// Joins without a report or without a packet within the timeout.
    pub failed: usize,
    /// Report versions seen on the wire, (version, count): a host configured for IGMPv3 falls
    /// back to IGMPv2 when it hears IGMPv2 queries (docs/igmpproxy-differences.md D24).
    pub report_versions: Vec<(u8, usize)>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct JoinResult {
    pub v2: Series,
    pub v3: Series,
}

pub fn run(ctx: &Ctx, kind: Kind) -> Result<JoinResult, String> {
    let base = Base::new("join").map_err(|e| e.to_string())?;
    let h2 = base.lab.ns("h2").map_err(|e| e.to_string())?;
    let h3 = base.lab.ns("h3").map_err(|e| e.to_string())?;
    let setup = || -> std::io::Result<()> {
        base.lan("dn1", "192.0.2.1/24", &h2, "e0", "192.0.2.2/24")?;
        base.lan("dn2", "203.0.113.1/24", &h3, "e0", "203.0.113.2/24")?;
        h2.sysctl("net/ipv4/conf/e0/force_igmp_version", "2")?;
        h3.sysctl("net/ipv4/conf/e0/force_igmp_version", "3")
    };
    setup().map_err(|e| e.to_string())?;
    let config = Config {
        upstream: "up0".into(),
        downstreams: vec!["dn1".into(), "dn2".into()],
        ..Config::default()
    };
    let proxy = Running::start(&base.lab, &base.rtr, kind, &ctx.binaries, &config)?;
    let v2 = series(ctx, &base.src, &h2, 2, Ipv4Addr::new(239, 20, 2, 0))?;
    let v3 = series(ctx, &base.src, &h3, 3, Ipv4Addr::new(239, 20, 3, 0))?;
    ctx.check_alive(&proxy)?;
    Ok(JoinResult { v2, v3 })
}

/// `ctx.joins` joins of fresh groups numbered from `base` by the host in `host`.
fn series(
    ctx: &Ctx,
    src: &Netns,
    host: &Netns,
    version: u8,
    base: Ipv4Addr,
) -> Result<Series, String> {
    let wire = Recording::start(host, "e0").map_err(|e| e.to_string())?;
    let member = Member::open(host).map_err(|e| e.to_string())?;
    let ifindex = host.ifindex("e0").map_err(|e| e.to_string())?;
    let joins = ctx.joins;
    let group = |i: usize| nth(base, u32::try_from(i).unwrap_or(u32::MAX));

    let mut result = Series {
        host_version: version,
        ..Series::default()
    };
    let (mut latencies, mut fresh, mut ages) = (Vec::new(), Vec::new(), Vec::new());
    // Each group has a stream of its own, started at a phase of its own.
    let stream = |g: Ipv4Addr| -> Result<(Flows, Instant), String> {
        let flows =
            Flows::start(src, SOURCE, TICK, random_phase(TICK), None).map_err(|e| e.to_string())?;
        flows.add(g);
        Ok((flows, Instant::now() + PREROLL))
    };
    let mut next = Some(stream(group(0))?);
    for i in 0..joins {
        ctx.check_interrupted()?;
        let Some((current, ready)) = next.take() else {
            break;
        };
        std::thread::sleep(ready.saturating_duration_since(Instant::now()));
        let g = group(i);
        // The next group's stream starts now, so its preroll overlaps this join.
        if i + 1 < joins {
            next = Some(stream(group(i + 1))?);
        }
        member
            .join(g, ifindex)
            .map_err(|e| format!("join {g}: {e}"))?;
        let sample = netlab::wait_for(JOIN_TIMEOUT, || wire.with(|events| first_packet(events, g)));
        member
            .leave(g, ifindex)
            .map_err(|e| format!("leave {g}: {e}"))?;
        drop(current);
        match sample {
            Some(sample) => {
                latencies.push(sample.latency);
                fresh.push(sample.fresh);
                ages.push(sample.age);
            }
            None => result.failed += 1,
        }
    }
    result.latency = Summary::of_ns(&latencies);
    result.latency_fresh = Summary::of_ns(&fresh);
    result.first_packet_age = Summary::of_ns(&ages);
    result.report_versions = wire.with(report_versions);
    Ok(result)
}

/// One join, in nanoseconds.
struct Sample {
    latency: u64,
    fresh: u64,
    age: u64,
}

/// The join of `group`, once its report, a first packet and a first fresh packet are on the
/// wire.
fn first_packet(events: &[WireEvent], group: Ipv4Addr) -> Option<Sample> {
    let report = events.iter().find(|e| e.is_join_out(group))?.at_ns;
    let first = events.iter().find(|e| e.is_udp_in(group))?;
    let fresh = events
        .iter()
        .find(|e| e.is_udp_in(group) && e.payload().is_some_and(|p| p.sent_ns >= report))?;
    Some(Sample {
        latency: first.at_ns.saturating_sub(report),
        fresh: fresh.at_ns.saturating_sub(report),
        age: first
            .payload()
            .map_or(0, |p| first.at_ns.saturating_sub(p.sent_ns)),
    })
}

fn report_versions(events: &[WireEvent]) -> Vec<(u8, usize)> {
    let mut counts = [0usize; 4];
    for e in events.iter().filter(|e| e.outgoing) {
        if let WireKind::Igmp(Some(m)) = &e.kind
            && let Some(v) = m.report_version()
            && let Some(c) = counts.get_mut(usize::from(v))
        {
            *c += 1;
        }
    }
    (1u8..=3)
        .zip(counts.into_iter().skip(1))
        .filter(|(_, n)| *n > 0)
        .collect()
}
