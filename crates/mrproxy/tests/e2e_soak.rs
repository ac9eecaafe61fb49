//! End to end: a soak. 1 000 simulated hosts on two LANs (500 each, every other one IGMPv2,
//! the others IGMPv3, some with INCLUDE source lists) join and leave 64 groups for 12 s and
//! answer the daemon's queries; three sources behind the upstream send to every group all the
//! while. After the last member query time, and again one query round later, what the hosts
//! hold must be exactly what the kernel does: the output interfaces of every (S,G) forwarding
//! entry and the upstream membership with its source list. The daemon's resident memory must
//! stay below a generous bound. See docs/soak.md; `tools/bench` runs the same soak for 60 s.
//!
//! The query interval is short (5 s: a group membership interval of 12 s, shorter than the
//! run), so a membership survives only if its hosts answer the queries, as real hosts do.

mod common;
use common::*;
use netlab::soak::{self, SoakLab, Spec, Timers};
use std::time::Duration;

/// Resident memory the daemon must stay below: a functional bound (the benchmark reports the
/// figures).
const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// The seed from `MRPROXY_SOAK_SEED`, else from the clock (printed, so a failure can be
/// replayed: the hosts' decisions depend on it only).
fn seed() -> u64 {
    std::env::var("MRPROXY_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// A number from the environment (`MRPROXY_SOAK_SECONDS`, `MRPROXY_SOAK_PICKS`: a longer or
/// busier soak when reproducing a problem), else `default`.
fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The daemon's view of each group named in `mismatches`: its upstream request and its state on
/// each LAN (from the status), for a failure message.
fn daemon_view(proxy: &Proxy, rtr: &netlab::Netns, mismatches: &[&String]) -> String {
    let status = proxy.status();
    let mut groups: Vec<String> = mismatches
        .iter()
        .flat_map(|m| m.split(|c: char| !(c.is_ascii_digit() || c == '.')))
        .filter(|w| w.starts_with("239.") && w.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_owned)
        .collect();
    groups.sort();
    groups.dedup();
    let mut out = String::new();
    let igmp = rtr.read_proc("net/igmp").unwrap_or_default();
    let log = proxy.log();
    for g in groups {
        let addr: std::net::Ipv4Addr = g.parse().unwrap();
        // /proc/net/igmp prints the group as a native-endian integer.
        let native = format!("{:08X}", u32::from_ne_bytes(addr.octets()));
        for line in igmp.lines().filter(|l| l.contains(&native)) {
            out.push_str(&format!("{g}: /proc/net/igmp {}\n", line.trim()));
        }
        let mentions: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.contains(&format!("{g} ")) || l.ends_with(&g) || l.contains(&format!("{g},"))
            })
            .filter(|l| !l.contains("forwarding entry set") && !l.contains("sent IGMP"))
            .collect();
        for line in &mentions[mentions.len().saturating_sub(12)..] {
            out.push_str(&format!("{g}: log {line}\n"));
        }
        out.push_str(&format!(
            "{g}: upstream request {:?}
",
            upstream_request(&status, soak::UPSTREAM, &g)
        ));
        for (ifname, ..) in soak::LANS {
            let entries = port_status(&status, ifname, "V4")
                .and_then(|p| p["groups"].as_array())
                .cloned()
                .unwrap_or_default();
            for e in entries.iter().filter(|e| e["group"].as_str() == Some(&g)) {
                out.push_str(&format!(
                    "  {ifname}: {e}
"
                ));
            }
        }
    }
    out
}

/// The last lines of the daemon's log, for a failure message.
fn log_tail(proxy: &Proxy) -> String {
    let log = proxy.log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

#[test]
fn thousand_hosts_churn_and_the_kernel_matches_what_they_hold() {
    if !netlab::Lab::require_root() {
        return;
    }
    let timers = Timers {
        query_interval: 5,
        query_response_tenths: 20,
        last_member_tenths: 10,
        robustness: 2,
    };
    let seed = seed();
    let mut spec = Spec::new(
        Duration::from_secs_f64(env_or("MRPROXY_SOAK_SECONDS", 12.0)),
        timers,
        seed,
    );
    spec.picks_per_second = env_or("MRPROXY_SOAK_PICKS", spec.picks_per_second);
    assert!(
        spec.timers.gmi() < spec.churn + spec.settle() + spec.timers.query_round(),
        "memberships must outlive the run only through the hosts' answers"
    );
    eprintln!("e2e_soak: seed {seed} (MRPROXY_SOAK_SEED={seed} replays the hosts' decisions)");
    let lab = SoakLab::new("soak").expect("lab");
    let proxy = Proxy::start(&lab.lab, &lab.rtr, &spec.config());
    let report = soak::run(&lab, &spec, &proxy.child)
        .unwrap_or_else(|e| panic!("soak: {e}\nlog (end):\n{}", log_tail(&proxy)));
    eprint!("{}", report.summary());
    let all: Vec<&String> = report
        .mismatches_settled
        .iter()
        .chain(&report.mismatches_round)
        .chain(&report.viewer_gaps)
        .collect();
    // Read at once: the daemon's state of the groups that differ, while it still does.
    let view = if all.is_empty() {
        String::new()
    } else {
        daemon_view(&proxy, &lab.rtr, &all)
    };

    // The soak really churned and the hosts really answered (else the comparison is empty).
    assert!(
        report.state_changes >= 1_000,
        "only {} state changes",
        report.state_changes
    );
    assert!(
        report.queries > 0 && report.answers > 0,
        "no query answered"
    );
    assert!(
        report.groups_held.iter().all(|n| *n >= 4) && report.flows_wanted > 0,
        "too little held at the end to compare: {:?} groups, {} flows",
        report.groups_held,
        report.flows_wanted
    );
    let (_, peak, _) = report.rss_start_peak_end();
    assert!(
        peak < RSS_LIMIT_KIB && report.hwm_kib < RSS_LIMIT_KIB,
        "VmRSS peak {peak} KiB, VmHWM {} KiB: over {RSS_LIMIT_KIB} KiB",
        report.hwm_kib
    );
    assert!(
        all.is_empty(),
        "{} mismatches (seed {seed}; after settling: {}, after a query round: {}, viewers: {}):\n{}\nthe daemon's view:\n{view}log (end):\n{}",
        all.len(),
        report.mismatches_settled.len(),
        report.mismatches_round.len(),
        report.viewer_gaps.len(),
        all.iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        log_tail(&proxy)
    );
    assert!(proxy.child.is_running(), "the daemon exited");
}
