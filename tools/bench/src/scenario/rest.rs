//! Scale at rest: 10 000 groups joined by kernel hosts across as many downstream interfaces as
//! the kernel allows (32 VIFs: 31 downstream + 1 upstream); then the proxy's resident memory
//! and CPU use over a steady-state window in which it keeps querying and the hosts keep
//! answering, each proxy with its default query timers.
//!
//! 31 LANs do not fit the three TEST-NET /24s, so LAN k is 198.18.k.0/24 (RFC 2544
//! benchmarking range, inside the benchmark's namespaces only).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use netlab::Netns;
use serde::Serialize;

use crate::proxy::{Config, Kind, Running};
use crate::scenario::Ctx;
use crate::topo::{Base, Member, nth, upstream_groups};
use crate::wire::{Filter, Kind as WireKind, Wire};
use netlab::igmp::Message;

/// MAXVIFS (32) minus the upstream.
pub const DOWNSTREAMS: u32 = 31;
const FIRST_GROUP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(239, 30, 0, 0);
/// Joins still incomplete after this are reported as such (`join_all_ms` empty, and the
/// window starts anyway: a proxy that cannot hold 10 000 groups is measured as it is).
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Reports of the initial joins are still being processed right after the last upstream join.
const SETTLE: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Default, Serialize)]
pub struct RestResult {
    pub groups: usize,
    pub downstream_interfaces: u32,
    /// From the first host join until every group was joined upstream.
    pub join_all_ms: Option<f64>,
    pub window_s: f64,
    /// Largest resident set size sampled during the window.
    pub rss_max_mib: f64,
    /// The kernel's peak resident set size of the process (VmHWM), start-up included.
    pub rss_peak_mib: f64,
    /// CPU time over the window, in percent of one core.
    pub cpu_percent: f64,
    /// Queries the proxy sent on one of the LANs during the window.
    pub queries_on_one_lan: u64,
    /// Reports the hosts of that LAN sent during the window.
    pub reports_on_one_lan: u64,
    /// Groups still joined upstream at the end of the window.
    pub groups_at_end: usize,
}

pub fn run(ctx: &Ctx, kind: Kind) -> Result<RestResult, String> {
    let groups_n = ctx.rest_groups;
    let base = Base::new("rest").map_err(|e| e.to_string())?;
    let hosts = base.lab.ns("hosts").map_err(|e| e.to_string())?;
    let setup = || -> std::io::Result<()> {
        for k in 1..=DOWNSTREAMS {
            let (rtr_cidr, host_cidr) = (format!("198.18.{k}.1/24"), format!("198.18.{k}.2/24"));
            base.lan(
                &format!("dn{k}"),
                &rtr_cidr,
                &hosts,
                &format!("e{k}"),
                &host_cidr,
            )?;
        }
        if kind == Kind::Igmpproxy {
            Base::allow_memberships(&base.rtr, 2 * groups_n)?;
        }
        // The hosts' own membership sockets (one per LAN, ~323 groups each).
        Base::allow_memberships(&hosts, groups_n)
    };
    setup().map_err(|e| e.to_string())?;
    let config = Config {
        upstream: "up0".into(),
        downstreams: (1..=DOWNSTREAMS).map(|k| format!("dn{k}")).collect(),
        ..Config::default()
    };
    let proxy = Running::start(&base.lab, &base.rtr, kind, &ctx.binaries, &config)?;

    let (queries, reports) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let _one_lan = {
        let (queries, reports) = (Arc::clone(&queries), Arc::clone(&reports));
        Wire::start(&hosts, "e1", Filter::Igmp, move |e| {
            if let WireKind::Igmp(Some(m)) = &e.kind {
                match (e.outgoing, m) {
                    (false, Message::Query { .. }) => queries.fetch_add(1, Ordering::Relaxed),
                    (true, m) if m.report_version().is_some() => {
                        reports.fetch_add(1, Ordering::Relaxed)
                    }
                    _ => 0,
                };
            }
        })
        .map_err(|e| e.to_string())?
    };

    let started = Instant::now();
    let _members = join_all(&hosts, groups_n)?;
    let joined = netlab::wait_until(JOIN_TIMEOUT, Duration::from_millis(250), || {
        upstream_groups(&base.rtr, "up0").is_ok_and(|n| n >= groups_n)
    });
    let join_all_ms = joined.then(|| started.elapsed().as_secs_f64() * 1e3);
    std::thread::sleep(SETTLE);

    let (q0, r0) = (
        queries.load(Ordering::Relaxed),
        reports.load(Ordering::Relaxed),
    );
    let before = proxy.usage()?;
    let window_start = Instant::now();
    let mut rss_max = before.rss;
    while window_start.elapsed() < ctx.rest_window {
        std::thread::sleep(Duration::from_secs(1).min(ctx.rest_window));
        rss_max = rss_max.max(proxy.usage()?.rss);
    }
    let window = window_start.elapsed();
    let after = proxy.usage()?;
    ctx.check_alive(&proxy)?;
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Ok(RestResult {
        groups: groups_n,
        downstream_interfaces: DOWNSTREAMS,
        join_all_ms,
        window_s: window.as_secs_f64(),
        rss_max_mib: mib(rss_max.max(after.rss)),
        rss_peak_mib: mib(after.rss_peak),
        cpu_percent: after.cpu.saturating_sub(before.cpu).as_secs_f64() / window.as_secs_f64()
            * 100.0,
        queries_on_one_lan: queries.load(Ordering::Relaxed) - q0,
        reports_on_one_lan: reports.load(Ordering::Relaxed) - r0,
        groups_at_end: upstream_groups(&base.rtr, "up0").map_err(|e| e.to_string())?,
    })
}

/// Joins group i on LAN (i mod 31) + 1, one membership socket per LAN; the sockets must live
/// as long as the memberships should.
fn join_all(hosts: &Netns, groups_n: usize) -> Result<Vec<Member>, String> {
    let mut lans = Vec::new();
    for k in 1..=DOWNSTREAMS {
        let ifname = format!("e{k}");
        let member = Member::open(hosts).map_err(|e| e.to_string())?;
        let ifindex = hosts.ifindex(&ifname).map_err(|e| e.to_string())?;
        lans.push((member, ifindex));
    }
    for i in 0..u32::try_from(groups_n).unwrap_or(u32::MAX) {
        let group = nth(FIRST_GROUP, i);
        let Some((member, ifindex)) = lans.get(usize::try_from(i % DOWNSTREAMS).unwrap_or(0))
        else {
            continue;
        };
        member
            .join(group, *ifindex)
            .map_err(|e| format!("host join {group}: {e}"))?;
    }
    Ok(lans.into_iter().map(|(m, _)| m).collect())
}
