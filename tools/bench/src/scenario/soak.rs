//! Soak: 1 000 simulated hosts on two LANs (500 each, IGMPv2 and IGMPv3, some IGMPv3 hosts
//! with INCLUDE source lists) join and leave 64 groups for 60 s and answer the proxy's queries,
//! while three sources behind the upstream send to every group. Then, after the last member
//! query time and again one query round later, what the hosts hold is compared with the
//! kernel's forwarding entries and upstream membership (netlab's soak module; docs/soak.md).
//! Measured: the proxy's resident memory over the run (start, peak, end), its CPU time, the
//! reports the hosts sent, and the mismatches (the target is none).
//!
//! mrproxy only: the comparison expects RFC 9776 source lists and the configured timers,
//! which igmpproxy does not implement.

use std::time::Duration;

use netlab::soak::{self, SoakLab, Spec, Timers};
use serde::Serialize;

use crate::proxy::{Config, Kind, Running};
use crate::scenario::Ctx;

/// Mismatch lines kept in the JSON (all are counted).
const KEEP_MISMATCHES: usize = 50;

#[derive(Clone, Debug, Default, Serialize)]
pub struct SoakResult {
    pub seed: u64,
    pub hosts: usize,
    pub groups: usize,
    pub sources: usize,
    /// Churn, settling and the query round that follows, seconds.
    pub phases_s: [f64; 3],
    /// The proxy's timers: query interval, query response interval, last member query
    /// interval (s), robustness.
    pub timers: (u32, f64, f64, u32),
    /// Reports and leaves the simulated hosts sent: on a change of state, in answer to
    /// queries, and both.
    pub state_changes: u64,
    pub answers: u64,
    pub reports_sent: u64,
    /// Queries of the proxy seen on the LANs.
    pub queries: u64,
    /// (host, group) memberships and groups held per LAN at the end.
    pub memberships_at_end: Vec<usize>,
    pub groups_held_at_end: Vec<usize>,
    /// (S, G, LAN) the hosts wanted forwarded at the end.
    pub flows_wanted: usize,
    /// VmRSS of the proxy: first sample (after start-up), largest, last; and VmHWM.
    pub rss_start_mib: f64,
    pub rss_peak_mib: f64,
    pub rss_end_mib: f64,
    pub rss_hwm_mib: f64,
    /// VmRSS samples (seconds, MiB), one a second.
    pub rss_samples: Vec<(f64, f64)>,
    /// CPU time of the proxy over the soak, percent of one core.
    pub cpu_percent: f64,
    /// Datagrams the sources sent.
    pub stream_sent: u64,
    /// Every difference (after settling, after a query round, viewers' missing streams).
    pub mismatches: usize,
    /// The first of them.
    pub mismatch_lines: Vec<String>,
}

/// The proxy's timers in the soak: a query interval of 10 s (group membership interval 25 s),
/// so that memberships live through the run only by the hosts' answers.
fn timers() -> Timers {
    Timers {
        query_interval: 10,
        query_response_tenths: 50,
        last_member_tenths: 10,
        robustness: 2,
    }
}

pub fn run(ctx: &Ctx, kind: Kind) -> Result<SoakResult, String> {
    if kind != Kind::Mrproxy {
        return Err("the soak measures mrproxy only (docs/soak.md)".into());
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut spec = Spec::new(ctx.soak_churn, timers(), seed);
    spec.picks_per_second = 1_000.0;
    let lab = SoakLab::new("soak").map_err(|e| e.to_string())?;
    let config = Config {
        upstream: soak::UPSTREAM.into(),
        downstreams: soak::LANS.iter().map(|l| l.0.to_owned()).collect(),
        mrproxy_extra: spec.timers.config().lines().map(str::to_owned).collect(),
        ..Config::default()
    };
    let proxy = Running::start(&lab.lab, &lab.rtr, kind, &ctx.binaries, &config)?;
    let before = proxy.usage()?;
    let started = std::time::Instant::now();
    let report =
        soak::run(&lab, &spec, &proxy.child).map_err(|e| format!("{e}; log:\n{}", proxy.log()))?;
    let cpu = proxy.usage()?.cpu.saturating_sub(before.cpu);
    ctx.check_alive(&proxy)?;
    eprint!("{}", report.summary());
    let mib = |k: u64| k as f64 / 1024.0;
    let (first, peak, last) = report.rss_start_peak_end();
    let lines: Vec<String> = report
        .mismatches_settled
        .iter()
        .map(|m| format!("after settling: {m}"))
        .chain(
            report
                .mismatches_round
                .iter()
                .map(|m| format!("after a query round: {m}")),
        )
        .chain(report.viewer_gaps.iter().cloned())
        .collect();
    let t = &spec.timers;
    Ok(SoakResult {
        seed,
        hosts: report.hosts,
        groups: report.groups,
        sources: report.sources,
        phases_s: report.phases_s,
        timers: (
            t.query_interval,
            f64::from(t.query_response_tenths) / 10.0,
            f64::from(t.last_member_tenths) / 10.0,
            t.robustness,
        ),
        state_changes: report.state_changes,
        answers: report.answers,
        reports_sent: report.reports_sent(),
        queries: report.queries,
        memberships_at_end: report.memberships.clone(),
        groups_held_at_end: report.groups_held.clone(),
        flows_wanted: report.flows_wanted,
        rss_start_mib: mib(first),
        rss_peak_mib: mib(peak),
        rss_end_mib: mib(last),
        rss_hwm_mib: mib(report.hwm_kib),
        rss_samples: report.rss_kib.iter().map(|(t, k)| (*t, mib(*k))).collect(),
        cpu_percent: cpu.as_secs_f64()
            / started
                .elapsed()
                .max(Duration::from_millis(1))
                .as_secs_f64()
            * 100.0,
        stream_sent: report.stream_sent,
        mismatches: lines.len(),
        mismatch_lines: lines.into_iter().take(KEEP_MISMATCHES).collect(),
    })
}
