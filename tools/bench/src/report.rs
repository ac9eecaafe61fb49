//! The results of a run: one table (igmpproxy, mrproxy, their ratio, the target and whether
//! mrproxy meets it) and the same figures as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use serde::Serialize;

use crate::proxy::{Binaries, Kind};
use crate::scenario::burst::BurstResult;
use crate::scenario::join::{JoinResult, Series};
use crate::scenario::leave::{LeaveResult, Setting};
use crate::scenario::rest::RestResult;
use crate::scenario::soak::SoakResult;

#[derive(Debug, Default, Serialize)]
pub struct Results {
    pub command: String,
    pub machine: Machine,
    pub join: BTreeMap<Kind, JoinResult>,
    pub leave: BTreeMap<Kind, LeaveResult>,
    pub burst: BTreeMap<Kind, BurstResult>,
    pub rest: BTreeMap<Kind, RestResult>,
    pub soak: BTreeMap<Kind, SoakResult>,
    /// Scenarios that could not be measured, with the reason.
    pub errors: Vec<String>,
    /// `/proc/loadavg` after each scenario: the machine is shared, and other work running
    /// at the same time shows here.
    pub load: Vec<(String, String)>,
}

/// What the figures were measured on.
#[derive(Debug, Default, Serialize)]
pub struct Machine {
    pub kernel: String,
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub igmpproxy: String,
    pub mrproxy: String,
    /// `/proc/loadavg` when the run started.
    pub load_at_start: String,
}

impl Machine {
    pub fn probe(binaries: &Binaries) -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let meminfo = read("/proc/meminfo");
        let mem_kib: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0.0);
        let output = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        let mrproxy = binaries.mrproxy.display().to_string();
        Machine {
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            cpu: cpuinfo
                .lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default(),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            memory_gib: (mem_kib / (1024.0 * 1024.0) * 10.0).round() / 10.0,
            igmpproxy: output("dpkg-query", &["-W", "-f=${Version}", "igmpproxy"]),
            mrproxy: output(&mrproxy, &["--version"]),
            load_at_start: load_average(),
        }
    }
}

/// The first three fields of `/proc/loadavg` (1, 5 and 15 minutes).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A target of docs/benchmarks.md, checked against mrproxy's figure.
#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    AtLeast(f64),
    None,
}

struct Row {
    label: String,
    values: [Option<f64>; 2],
    decimals: usize,
    target: Target,
    target_text: String,
}

impl Results {
    /// The table, one row per figure.
    pub fn table(&self) -> String {
        let rows = self.rows();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<48} {:>11} {:>11} {:>8}  {:<26} met",
            "figure", "igmpproxy", "mrproxy", "ratio", "target (mrproxy)"
        );
        for row in rows {
            let cell =
                |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.*}", row.decimals));
            let ratio = match row.values {
                [Some(i), Some(m)] if i != 0.0 => format!("{:.2}", m / i),
                _ => "-".to_owned(),
            };
            let met = match (row.target, row.values[1]) {
                (Target::AtMost(t), Some(v)) => {
                    if v <= t {
                        "yes"
                    } else {
                        "NO"
                    }
                }
                (Target::AtLeast(t), Some(v)) => {
                    if v >= t {
                        "yes"
                    } else {
                        "NO"
                    }
                }
                _ => "",
            };
            let _ = writeln!(
                out,
                "{:<48} {:>11} {:>11} {:>8}  {:<26} {met}",
                row.label,
                cell(row.values[0]),
                cell(row.values[1]),
                ratio,
                row.target_text
            );
        }
        out
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let both = |f: &dyn Fn(Kind) -> Option<f64>| [f(Kind::Igmpproxy), f(Kind::Mrproxy)];
        let mut add = |label: &str, values, decimals, target, text: &str| {
            rows.push(Row {
                label: label.to_owned(),
                values,
                decimals,
                target,
                target_text: text.to_owned(),
            });
        };
        let join = |k: Kind, v: u8| -> Option<Series> {
            self.join
                .get(&k)
                .map(|j| if v == 2 { j.v2.clone() } else { j.v3.clone() })
        };
        for v in [2u8, 3] {
            let p50 = both(&|k| join(k, v).and_then(|s| s.latency.p50_ms));
            let p99 = both(&|k| join(k, v).and_then(|s| s.latency.p99_ms));
            let fresh50 = both(&|k| join(k, v).and_then(|s| s.latency_fresh.p50_ms));
            let fresh99 = both(&|k| join(k, v).and_then(|s| s.latency_fresh.p99_ms));
            add(
                &format!("join latency, IGMPv{v} host, p50 (ms)"),
                p50,
                2,
                Target::None,
                "",
            );
            add(
                &format!("join latency, IGMPv{v} host, p99 (ms)"),
                p99,
                2,
                Target::AtMost(2.0),
                "≤ 2 (1 ms + interval)",
            );
            add(
                &format!("join latency, IGMPv{v} host, fresh, p50 (ms)"),
                fresh50,
                2,
                Target::None,
                "",
            );
            add(
                &format!("join latency, IGMPv{v} host, fresh, p99 (ms)"),
                fresh99,
                2,
                Target::AtMost(2.0),
                "≤ 2 (1 ms + interval)",
            );
        }
        let leave = |k: Kind, fast: bool| -> Option<Setting> {
            self.leave.get(&k).map(|l| {
                if fast {
                    l.fast_leave.clone()
                } else {
                    l.default.clone()
                }
            })
        };
        for (fast, name, limit, text) in [
            (false, "default", 2_100.0, "≤ 2100 (LMQT + 100 ms)"),
            (true, "quickleave", 10.0, "≤ 10"),
        ] {
            let p50 = both(&|k| leave(k, fast).and_then(|s| s.last_packet.p50_ms));
            let max = both(&|k| leave(k, fast).and_then(|s| s.last_packet.max_ms));
            let up = both(&|k| leave(k, fast).and_then(|s| s.upstream_leave.p50_ms));
            let lost = both(&|k| leave(k, fast).map(|s| s.remaining_host_lost as f64));
            let stuck = both(&|k| leave(k, fast).map(|s| s.never_stopped as f64));
            add(
                &format!("leave → last packet, {name}, p50 (ms)"),
                p50,
                1,
                Target::None,
                "",
            );
            add(
                &format!("leave → last packet, {name}, max (ms)"),
                max,
                1,
                Target::AtMost(limit),
                text,
            );
            add(
                &format!("leave → upstream leave, {name}, p50 (ms)"),
                up,
                1,
                Target::None,
                "",
            );
            add(
                &format!("leave: never stopped, {name}"),
                stuck,
                0,
                Target::AtMost(0.0),
                "0",
            );
            add(
                &format!("2 hosts: packets lost by the other, {name}"),
                lost,
                0,
                Target::AtMost(0.0),
                "0",
            );
        }
        let rate_target = self.burst.get(&Kind::Igmpproxy).map_or(100_000.0, |b| {
            (10.0 * b.with_streams.reports_per_s).max(100_000.0)
        });
        for (streams, name) in [(true, "streams flowing"), (false, "no streams")] {
            let burst = |k: Kind| {
                self.burst.get(&k).map(|b| {
                    if streams {
                        &b.with_streams
                    } else {
                        &b.without_streams
                    }
                })
            };
            let label = |what: &str| format!("burst, {name}: {what}");
            add(
                &label("reports/s"),
                both(&|k| burst(k).map(|b| b.reports_per_s)),
                0,
                Target::AtLeast(rate_target),
                "≥ 100000, ≥ 10× igmpproxy",
            );
            add(
                &label("reports lost"),
                both(&|k| burst(k).map(|b| b.reports_lost as f64)),
                0,
                Target::AtMost(0.0),
                "0",
            );
            add(
                &label("all joined upstream (ms)"),
                both(&|k| burst(k).and_then(|b| b.membership_ms)),
                1,
                Target::None,
                "",
            );
            if streams {
                add(
                    &label("all forwarded (ms)"),
                    both(&|k| burst(k).and_then(|b| b.forwarding_ms)),
                    1,
                    Target::None,
                    "",
                );
                add(
                    &label("groups never forwarded"),
                    both(&|k| burst(k).map(|b| b.groups_not_forwarded as f64)),
                    0,
                    Target::AtMost(0.0),
                    "0",
                );
            }
        }
        let rest = |k: Kind| self.rest.get(&k);
        add(
            "at rest: resident memory (MiB)",
            both(&|k| rest(k).map(|r| r.rss_max_mib)),
            1,
            Target::AtMost(16.0),
            "≤ 16",
        );
        add(
            "at rest: CPU (% of one core)",
            both(&|k| rest(k).map(|r| r.cpu_percent)),
            2,
            Target::AtMost(1.0),
            "≤ 1",
        );
        let soak = |k: Kind| self.soak.get(&k);
        add(
            "soak: mismatches (kernel vs hosts)",
            both(&|k| soak(k).map(|s| s.mismatches as f64)),
            0,
            Target::AtMost(0.0),
            "0",
        );
        add(
            "soak: reports sent by the hosts",
            both(&|k| soak(k).map(|s| s.reports_sent as f64)),
            0,
            Target::None,
            "",
        );
        for (what, f) in [
            (
                "start",
                (|s: &SoakResult| s.rss_start_mib) as fn(&SoakResult) -> f64,
            ),
            ("peak", |s| s.rss_peak_mib),
            ("end", |s| s.rss_end_mib),
        ] {
            add(
                &format!("soak: resident memory, {what} (MiB)"),
                both(&|k| soak(k).map(f)),
                1,
                Target::None,
                "",
            );
        }
        add(
            "soak: CPU (% of one core)",
            both(&|k| soak(k).map(|s| s.cpu_percent)),
            2,
            Target::None,
            "",
        );
        rows.retain(|r| r.values.iter().any(Option::is_some));
        rows
    }
}
