//! `mrproxy-lab`: builds a small namespace network, runs the real mrproxy in the router
//! namespace with a stream flowing, joins and leaves hosts on a script and shows live what
//! happens. Everything is removed on exit or Ctrl-C. Run it with `./scripts/lab.sh` (as root).

mod show;
mod topology;

use netlab::{Capture, CaptureFilter, Lab, Receiver, Source, SourceSpec};
use show::ip;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use topology::{CONFIG, Topology};

const GROUP: &str = "239.1.2.3";
const SSM_GROUP: &str = "232.1.1.1";
const SOURCE: &str = "198.51.100.2";
const PACKETS_PER_SECOND: u64 = 50;

/// The script: at second `t`, `who` does `what`.
#[derive(Clone, Copy)]
enum Step {
    Join(&'static str, &'static str),
    JoinSsm(&'static str),
    Leave(&'static str, &'static str),
    End,
}

const SCRIPT: &[(u64, Step, &str)] = &[
    (
        3,
        Step::Join("alice", GROUP),
        "alice (IGMPv3) joins 239.1.2.3: report → mrproxy joins upstream, forwards onto dn1",
    ),
    (
        6,
        Step::Join("carol", GROUP),
        "carol (an IGMPv2 host on dn2) joins: dn2 is added to the forwarding entry at once",
    ),
    (
        9,
        Step::Join("bob", GROUP),
        "bob joins on the same LAN as alice",
    ),
    (
        12,
        Step::Leave("alice", GROUP),
        "alice leaves: bob still watches, so dn1 keeps the stream (host tracking)",
    ),
    (
        15,
        Step::Leave("carol", GROUP),
        "carol (IGMPv2) leaves: group-specific queries, dn2 stops after LMQT (2 s)",
    ),
    (
        19,
        Step::Leave("bob", GROUP),
        "bob, the last viewer, leaves: forwarding stops and mrproxy leaves upstream",
    ),
    (
        22,
        Step::JoinSsm("alice"),
        "alice joins the SSM channel (198.51.100.2, 232.1.1.1): INCLUDE mode, source-specific",
    ),
    (
        26,
        Step::Leave("alice", SSM_GROUP),
        "alice leaves the SSM channel",
    ),
    (29, Step::End, "end of the script"),
];

fn main() -> ExitCode {
    let seconds: Option<u64> = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => None,
        [flag, n] if flag == "--seconds" => n.parse().ok(),
        _ => {
            eprintln!(
                "usage: mrproxy-lab [--seconds N]   (run as root; ./scripts/lab.sh builds and runs it)"
            );
            return ExitCode::from(2);
        }
    };
    if !Lab::require_root() {
        return ExitCode::from(2);
    }
    match run(seconds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mrproxy-lab: {e}");
            ExitCode::from(1)
        }
    }
}

fn mrproxy_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name("mrproxy");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it first (cargo build --release -p mrproxy)",
            path.display()
        ))
    }
}

fn run(seconds: Option<u64>) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    let binary = mrproxy_binary()?;
    fn e(what: &'static str) -> impl Fn(std::io::Error) -> String {
        move |err| format!("{what}: {err}")
    }
    println!("Building the lab network (namespaces mrp<pid>-…-lab-*) …");
    let t = Topology::build().map_err(e("building the topology"))?;
    println!("{}", TOPOLOGY_PICTURE);
    println!("mrproxy.conf:\n{CONFIG}");
    let config = t.lab.path("mrproxy.conf");
    std::fs::write(&config, CONFIG).map_err(e("writing the config"))?;
    let control = t.lab.path("mrproxy.sock");
    let (control_s, config_s) = (control.display().to_string(), config.display().to_string());
    let daemon = t
        .lab
        .spawn(
            &t.rtr,
            &binary.display().to_string(),
            &["-d", "-v", "--control", &control_s, &config_s],
            "mrproxy.log",
        )
        .map_err(e("starting mrproxy"))?;
    let status = || -> Option<serde_json::Value> {
        let out = std::process::Command::new(&binary)
            .args(["status", "--engine", "--control", &control_s])
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    };
    if !netlab::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        status().is_some()
    }) {
        return Err(format!(
            "mrproxy did not start; its log:\n{}",
            daemon.log().unwrap_or_default()
        ));
    }
    println!(
        "mrproxy is running in the router namespace (pid {}), log: {}\n",
        daemon.pid(),
        daemon.log_path().display()
    );

    let total = seconds.unwrap_or(30);
    let count = (total + 5) * PACKETS_PER_SECOND;
    let interval = Duration::from_millis(1000 / PACKETS_PER_SECOND);
    let _asm = Source::start(
        &t.src,
        SourceSpec::new("s0", ip(GROUP), 5000)
            .interval(interval)
            .count(count),
    )
    .map_err(e("starting the source"))?;
    let _ssm = Source::start(
        &t.src,
        SourceSpec::new("s0", ip(SSM_GROUP), 5001)
            .interval(interval)
            .count(count),
    )
    .map_err(e("starting the SSM source"))?;
    println!(
        "t+00s  the source streams {GROUP} and {SSM_GROUP} at {PACKETS_PER_SECOND} packets/s each (nobody listens yet)"
    );

    let captures = [("up0", &t.rtr), ("dn1", &t.rtr), ("dn2", &t.rtr)]
        .iter()
        .map(|(ifname, ns)| Capture::start(ns, ifname, CaptureFilter::Igmp).map(|c| (*ifname, c)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(e("starting captures"))?;
    let hosts = [("alice", &t.alice), ("bob", &t.bob), ("carol", &t.carol)];
    let mut receivers: BTreeMap<(&'static str, &'static str), Receiver> = BTreeMap::new();
    let mut last_counts: BTreeMap<(&'static str, &'static str), usize> = BTreeMap::new();
    let started = Instant::now();
    let mut script = SCRIPT.iter().peekable();
    let mut next_tick = 1;
    while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(total) {
        std::thread::sleep(Duration::from_millis(50));
        let now = started.elapsed().as_secs();
        while let Some((at, step, what)) = script.peek().copied().copied() {
            if at > now {
                break;
            }
            script.next();
            println!("\nt+{at:02}s  ▶ {what}");
            match step {
                Step::Join(who, group) => {
                    let ns = hosts
                        .iter()
                        .find(|h| h.0 == who)
                        .map(|h| h.1)
                        .ok_or("no such host")?;
                    let port = if group == GROUP { 5000 } else { 5001 };
                    receivers.insert(
                        (who, group),
                        Receiver::join(ns, "e0", ip(group), port).map_err(e("join"))?,
                    );
                }
                Step::JoinSsm(who) => {
                    let ns = hosts
                        .iter()
                        .find(|h| h.0 == who)
                        .map(|h| h.1)
                        .ok_or("no such host")?;
                    let rx = Receiver::join_source(ns, "e0", ip(SSM_GROUP), ip(SOURCE), 5001)
                        .map_err(e("join"))?;
                    receivers.insert((who, SSM_GROUP), rx);
                }
                Step::Leave(who, group) => {
                    if let Some(rx) = receivers.get(&(who, group)) {
                        rx.leave().map_err(e("leave"))?;
                    }
                }
                Step::End => {}
            }
        }
        for (ifname, capture) in &captures {
            for p in capture.packets() {
                if show::is_link_local_noise(p.payload()) {
                    continue;
                }
                let from = p.ip().map(|i| i.src.to_string()).unwrap_or_default();
                let dir = match p.direction {
                    netlab::Direction::Outgoing => "mrproxy →",
                    netlab::Direction::Incoming => "        ←",
                };
                println!(
                    "t+{:05.2}s    {ifname} {dir} {from:<14} {}",
                    started.elapsed().as_secs_f64(),
                    show::igmp_summary(p.payload())
                );
            }
            capture.clear();
        }
        if now >= next_tick {
            next_tick = now + 1;
            dashboard(now, &t, &receivers, &mut last_counts, status());
        }
    }
    println!("\nSummary");
    for ((who, group), rx) in &receivers {
        let s = rx.stats();
        println!(
            "  {who:<6} {group:<10} received {:>5} packets, largest gap while receiving {:?}, oldest packet {:?}",
            s.count,
            s.max_gap.unwrap_or_default(),
            s.max_age.unwrap_or_default()
        );
    }
    if daemon.is_running() {
        let _ = daemon.signal(netlab::Signal::SIGTERM);
        let _ = daemon.wait_timeout(Duration::from_secs(5));
    }
    println!(
        "  mrproxy log: {} lines; kernel forwarding table after SIGTERM: {} entries",
        daemon.log().unwrap_or_default().lines().count(),
        netlab::mfc_v4(&t.rtr).map(|m| m.len()).unwrap_or(0)
    );
    println!("Removing the lab namespaces.");
    Ok(())
}

fn dashboard(
    now: u64,
    t: &Topology,
    receivers: &BTreeMap<(&'static str, &'static str), Receiver>,
    last: &mut BTreeMap<(&'static str, &'static str), usize>,
    status: Option<serde_json::Value>,
) {
    let mut rates = Vec::new();
    for (key, rx) in receivers {
        let count = rx.count();
        let before = last.insert(*key, count).unwrap_or(0);
        rates.push(format!(
            "{} {}: {:>3}/s",
            key.0,
            key.1,
            count.saturating_sub(before)
        ));
    }
    println!(
        "t+{now:02}s  ┌ hosts receive  {}",
        if rates.is_empty() {
            "(nobody has joined)".into()
        } else {
            rates.join(" │ ")
        }
    );
    if let Some(s) = &status {
        for line in show::group_lines(s) {
            println!("       │ groups     {line}");
        }
        for line in show::upstream_lines(s) {
            println!("       │ upstream   {line}");
        }
    }
    let mfc = netlab::mroute_json(&t.rtr, false).unwrap_or_default();
    let lines = show::mfc_lines(&mfc);
    if lines.is_empty() {
        println!("       └ kernel MFC (none)");
    }
    for (i, line) in lines.iter().enumerate() {
        let corner = if i + 1 == lines.len() { '└' } else { '│' };
        println!("       {corner} kernel MFC {line}");
    }
}

const TOPOLOGY_PICTURE: &str = "
  src ── s0 ═══ up0 ── [rtr: mrproxy] ── dn1 ═══ p0 ─ br0 (switch, IGMP snooping) ─┬─ alice 192.0.2.10
  198.51.100.2         198.51.100.1      192.0.2.1                                  └─ bob   192.0.2.11
                                     └── dn2 ═══ carol 203.0.113.10 (IGMPv2 host)
";
