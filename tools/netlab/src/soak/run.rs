//! The soak's driver: one loop that picks hosts to act, answers the proxy's queries when the
//! answers are due, samples the daemon's memory, and compares at the end.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::check::{Observed, mismatches};
use super::model::{Answer, Catalogue, Lan, Rng};
use super::sweep::Sweep;
use super::{LANS, PORT, SOURCES, SoakLab, Spec, UPSTREAM};
use crate::capture::{Capture, CaptureFilter, Direction, Injector};
use crate::igmp::{Message, Query};
use crate::process::ChildHandle;
use crate::receiver::Receiver;

/// New (S,G) flows start this far apart: 50 upcalls a second, half the daemon's default
/// `upcallrate`.
const FLOW_RAMP: Duration = Duration::from_millis(20);
/// How often the loop looks for due work.
const TICK: Duration = Duration::from_millis(2);
/// Progress lines on stderr this often.
const PROGRESS: Duration = Duration::from_secs(5);

/// What a soak did and found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The random seed.
    pub seed: u64,
    /// Simulated hosts (both LANs).
    pub hosts: usize,
    /// Groups in the catalogue.
    pub groups: usize,
    /// Sources.
    pub sources: usize,
    /// Seconds of churn, of settling (until the first comparison) and of the query round that
    /// follows (until the second).
    pub phases_s: [f64; 3],
    /// Hosts picked to act.
    pub picks: u64,
    /// Reports and leaves sent on a change of the hosts' state (IGMPv2 reports and leaves,
    /// IGMPv3 state-change reports).
    pub state_changes: u64,
    /// Reports sent in answer to the proxy's queries.
    pub answers: u64,
    /// Queries of the proxy seen on the LANs.
    pub queries: u64,
    /// (host, group) memberships at the end, per LAN.
    pub memberships: Vec<usize>,
    /// Groups some host of the LAN wants at the end, per LAN.
    pub groups_held: Vec<usize>,
    /// (S, G, LAN) the hosts want forwarded at the end.
    pub flows_wanted: usize,
    /// Differences after the settling time.
    pub mismatches_settled: Vec<String>,
    /// Differences one query round later.
    pub mismatches_round: Vec<String>,
    /// Streams the LANs' kernel hosts did not receive from every source at the comparisons.
    pub viewer_gaps: Vec<String>,
    /// The daemon's VmRSS samples: (seconds since the start, KiB).
    pub rss_kib: Vec<(f64, u64)>,
    /// The daemon's VmHWM at the end, KiB.
    pub hwm_kib: u64,
    /// Datagrams the sources sent.
    pub stream_sent: u64,
}

impl Report {
    /// All differences found.
    pub fn mismatch_count(&self) -> usize {
        self.mismatches_settled.len() + self.mismatches_round.len() + self.viewer_gaps.len()
    }

    /// Reports and leaves sent by the simulated hosts.
    pub fn reports_sent(&self) -> u64 {
        self.state_changes + self.answers
    }

    /// First, largest and last VmRSS sample, KiB.
    pub fn rss_start_peak_end(&self) -> (u64, u64, u64) {
        let first = self.rss_kib.first().map_or(0, |s| s.1);
        let peak = self.rss_kib.iter().map(|s| s.1).max().unwrap_or(0);
        let last = self.rss_kib.last().map_or(0, |s| s.1);
        (first, peak, last)
    }

    /// A few lines for a test's or the benchmark's output.
    pub fn summary(&self) -> String {
        let (first, peak, last) = self.rss_start_peak_end();
        let mib = |k: u64| k as f64 / 1024.0;
        format!(
            "soak: seed {}, {} hosts, {} groups, {} sources; churn {:.1} s, settle {:.1} s, query round {:.1} s\n\
             soak: {} picks, {} state-change reports/leaves, {} answers to {} queries ({} reports in all); {} datagrams streamed\n\
             soak: at the end {:?} memberships and {:?} groups held per LAN, {} (S,G,LAN) wanted\n\
             soak: VmRSS start {:.1} MiB, peak {:.1} MiB, end {:.1} MiB (VmHWM {:.1} MiB), {} samples\n\
             soak: mismatches after settling {}, after a query round {}, viewer gaps {}\n",
            self.seed,
            self.hosts,
            self.groups,
            self.sources,
            self.phases_s[0],
            self.phases_s[1],
            self.phases_s[2],
            self.picks,
            self.state_changes,
            self.answers,
            self.queries,
            self.reports_sent(),
            self.stream_sent,
            self.memberships,
            self.groups_held,
            self.flows_wanted,
            mib(first),
            mib(peak),
            mib(last),
            mib(self.hwm_kib),
            self.rss_kib.len(),
            self.mismatches_settled.len(),
            self.mismatches_round.len(),
            self.viewer_gaps.len(),
        )
    }
}

/// Answers waiting for their time: (due, sequence) → (LAN, answer).
#[derive(Default)]
struct Pending {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    answers: BTreeMap<u64, (usize, Answer)>,
    next: u64,
}

impl Pending {
    fn push(&mut self, due: Instant, lan: usize, answer: Answer) {
        self.heap.push(Reverse((due, self.next)));
        self.answers.insert(self.next, (lan, answer));
        self.next += 1;
    }

    fn pop_due(&mut self, now: Instant) -> Option<(usize, Answer)> {
        let Reverse((due, seq)) = *self.heap.peek()?;
        if due > now {
            return None;
        }
        self.heap.pop();
        self.answers.remove(&seq)
    }
}

/// Runs the soak of `spec` in `lab` against the proxy `daemon` (already running in `lab.rtr`
/// with [`Spec::config`]). Fails if the daemon exits or the lab cannot send or read.
pub fn run(lab: &SoakLab, spec: &Spec, daemon: &ChildHandle) -> io::Result<Report> {
    let catalogue = Catalogue::new(spec.first_group, spec.groups);
    let mixed: Vec<Ipv4Addr> = catalogue
        .groups
        .iter()
        .zip(&catalogue.v3_only)
        .filter(|(_, v3)| !**v3)
        .map(|(g, _)| *g)
        .collect();
    let mut lans: Vec<Lan> = LANS
        .iter()
        .enumerate()
        .map(|(i, (_, _, _, first))| {
            let kernel = mixed
                .iter()
                .skip(i * spec.kernel_groups)
                .take(spec.kernel_groups)
                .copied()
                .collect();
            Lan::new(*first, spec.hosts_per_lan, kernel)
        })
        .collect();
    let mut viewers = Vec::new();
    let mut injectors = Vec::new();
    let mut captures = Vec::new();
    for (i, (ns, lan)) in lab.lans.iter().zip(&lans).enumerate() {
        for g in &lan.kernel_groups {
            viewers.push((i, Receiver::join(ns, "e0", IpAddr::V4(*g), PORT)?));
        }
        injectors.push(Injector::open(ns, "e0")?);
        captures.push(Capture::start(ns, "e0", CaptureFilter::Igmp)?);
    }
    let sweep = Sweep::start(
        &lab.src,
        "s0",
        &SOURCES,
        &catalogue.groups,
        PORT,
        spec.stream_period,
        FLOW_RAMP,
    )?;

    let mut report = Report {
        seed: spec.seed,
        hosts: spec.hosts_per_lan * lans.len(),
        groups: spec.groups,
        sources: SOURCES.len(),
        ..Report::default()
    };
    // The hosts' decisions and the answers' delays draw from separate generators, so that
    // the decisions replay from the seed whatever the timing of the queries.
    let mut rng = Rng::new(spec.seed);
    let mut delays = Rng::new(spec.seed.rotate_left(32) ^ 0x5eed);
    let mut pending = Pending::default();
    let start = Instant::now();
    let churn_end = start + spec.churn;
    let settle_end = churn_end + spec.settle();
    let round_end = settle_end + spec.timers.query_round();
    report.phases_s = [
        spec.churn.as_secs_f64(),
        spec.settle().as_secs_f64(),
        spec.timers.query_round().as_secs_f64(),
    ];
    let pick_every = Duration::from_secs_f64(1.0 / spec.picks_per_second.max(0.001));
    let (mut next_pick, mut next_rss, mut next_progress) = (start, start, start + PROGRESS);
    let mut settled = false;
    loop {
        let now = Instant::now();
        for (i, capture) in captures.iter().enumerate() {
            for packet in capture.take() {
                if packet.direction != Direction::Incoming {
                    continue;
                }
                let Some((query, max_response)) = Query::parse(packet.payload()) else {
                    continue;
                };
                report.queries += 1;
                // Within half the maximum response time, so that an answer is in time also
                // when the machine is slow.
                for (delay, answer) in lans[i].answers(&query, max_response / 2, &mut delays) {
                    pending.push(now + delay, i, answer);
                }
            }
        }
        while let Some((i, answer)) = pending.pop_due(now) {
            if let Some((src, message)) = lans[i].render(&answer) {
                send(&injectors[i], src, &message)?;
                report.answers += 1;
            }
        }
        if now < churn_end {
            while next_pick <= now {
                let i = rng.below(lans.len());
                let host = rng.below(spec.hosts_per_lan);
                let src = lans[i].hosts[host].addr;
                let messages = lans[i].act(host, &catalogue, &SOURCES, &spec.behaviour, &mut rng);
                for message in &messages {
                    send(&injectors[i], src, message)?;
                    report.state_changes += 1;
                }
                report.picks += 1;
                next_pick += pick_every;
            }
        }
        if now >= next_rss {
            let (rss, _) = memory(daemon)?;
            report
                .rss_kib
                .push((now.duration_since(start).as_secs_f64(), rss));
            next_rss += spec.rss_every;
        }
        if now >= next_progress {
            let held: Vec<usize> = lans.iter().map(Lan::memberships).collect();
            eprintln!(
                "soak: {:5.1} s: {} picks, {} state changes, {} answers, {} queries, memberships {held:?}",
                now.duration_since(start).as_secs_f64(),
                report.picks,
                report.state_changes,
                report.answers,
                report.queries
            );
            next_progress += PROGRESS;
        }
        if !settled && now >= settle_end {
            report.mismatches_settled = compare(lab, &lans, &catalogue)?;
            report
                .viewer_gaps
                .extend(viewer_gaps(&viewers, spec, "after settling"));
            settled = true;
        }
        if now >= round_end {
            report.mismatches_round = compare(lab, &lans, &catalogue)?;
            report
                .viewer_gaps
                .extend(viewer_gaps(&viewers, spec, "after a query round"));
            break;
        }
        std::thread::sleep(TICK);
    }
    report.memberships = lans.iter().map(Lan::memberships).collect();
    report.groups_held = lans
        .iter()
        .map(|lan| {
            catalogue
                .groups
                .iter()
                .filter(|g| lan.request(**g).is_some())
                .count()
        })
        .collect();
    report.flows_wanted = lans
        .iter()
        .map(|lan| {
            catalogue
                .groups
                .iter()
                .flat_map(|g| SOURCES.iter().map(move |s| (*g, *s)))
                .filter(|(g, s)| lan.wants(*g, *s))
                .count()
        })
        .sum();
    report.hwm_kib = memory(daemon)?.1;
    report.stream_sent = sweep.sent();
    Ok(report)
}

/// Sends `message` from `src`; a full queue is waited out (briefly), so that the model never
/// holds a change the proxy was not told about.
fn send(injector: &Injector, src: Ipv4Addr, message: &Message) -> io::Result<()> {
    let packet = message.packet(src);
    let mut tries = 0;
    loop {
        match injector.send_ipv4(&packet) {
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) && tries < 1000 => {
                tries += 1;
                std::thread::sleep(Duration::from_micros(100));
            }
            other => return other,
        }
    }
}

fn compare(lab: &SoakLab, lans: &[Lan], catalogue: &Catalogue) -> io::Result<Vec<String>> {
    let observed = Observed::read(lab)?;
    let named: Vec<(&str, &Lan)> = LANS.iter().map(|l| l.0).zip(lans).collect();
    Ok(mismatches(
        &named,
        UPSTREAM,
        &catalogue.groups,
        &SOURCES,
        &observed,
    ))
}

/// Every (LAN, group, source) of the kernel hosts without a datagram in the last four stream
/// periods.
fn viewer_gaps(viewers: &[(usize, Receiver)], spec: &Spec, when: &str) -> Vec<String> {
    let since = Instant::now() - spec.stream_period * 4;
    let mut gaps = Vec::new();
    for (lan, rx) in viewers {
        let datagrams = rx.datagrams();
        for source in SOURCES {
            let seen = datagrams
                .iter()
                .any(|d| d.rx >= since && d.from.is_some_and(|f| f.ip() == IpAddr::V4(source)));
            if !seen {
                gaps.push(format!(
                    "{when}: the kernel host of {} got nothing from {source} to {} in the last {:?}",
                    LANS[*lan].0,
                    rx.group(),
                    spec.stream_period * 4
                ));
            }
        }
    }
    gaps
}

/// The daemon's (VmRSS, VmHWM) in KiB; an error once it has exited.
fn memory(daemon: &ChildHandle) -> io::Result<(u64, u64)> {
    let exited = || {
        io::Error::other(format!(
            "the proxy (pid {}) exited during the soak: {:?}",
            daemon.pid(),
            daemon.exit_status()
        ))
    };
    if !daemon.is_running() {
        return Err(exited());
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid()))?;
    let field = |key: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(hwm)) => Ok((rss, hwm)),
        _ => Err(exited()),
    }
}
