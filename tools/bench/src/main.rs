//! `bench`: mrproxy against the C igmpproxy, each in turn in the same namespace network with
//! equivalent configurations. Prints one table and the figures as JSON.
//!
//! ```text
//! cargo build --release -p mrproxy -p bench
//! sudo target/release/bench all            # about 13 minutes; --quick: about 2
//! ```
//!
//! Needs root (network namespaces). Installs Debian's igmpproxy when it is missing. Not part
//! of the test suite: figures are not assertions.

mod proxy;
mod report;
mod scenario;
mod stats;
mod stream;
mod topo;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Parser, ValueEnum};

use proxy::{Binaries, Kind};
use report::{Machine, Results};
use scenario::Ctx;

#[derive(Parser)]
#[command(about = "Benchmark mrproxy against igmpproxy in a namespace network (run as root)")]
struct Args {
    /// What to measure.
    #[arg(value_enum)]
    scenario: Scenario,
    /// Fewer iterations (20 joins, 1 000 groups, 10 s at rest, 10 s of soak): checks that
    /// everything runs.
    #[arg(long)]
    quick: bool,
    /// Which proxy to measure.
    #[arg(long, value_enum, default_value_t = Which::Both)]
    proxy: Which,
    /// The mrproxy binary (default: `mrproxy` next to this executable).
    #[arg(long, value_name = "PATH")]
    mrproxy: Option<PathBuf>,
    /// Also write the JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Join, leave, burst, rest and soak, in that order.
    All,
    /// 1. Join latency (IGMPv2 and IGMPv3 hosts).
    Join,
    /// 2. Leave latency, default and quickleave; two hosts on one LAN.
    Leave,
    /// 3. Report burst: 1 000 hosts, 10 000 groups.
    Burst,
    /// 4. 10 000 groups on 31 LANs: memory and CPU at rest.
    Rest,
    /// 5. The engine's micro-benchmark (`cargo bench -p mrproxy-engine --bench reports`).
    Micro,
    /// 6. Soak: 1 000 hosts on two LANs join and leave 64 groups for 60 s; the kernel must
    ///    match what they hold (mrproxy only).
    Soak,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Both,
    Mrproxy,
    Igmpproxy,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.scenario == Scenario::Micro {
        return micro();
    }
    match run(&args) {
        Ok(results) => {
            print!("{}", results.table());
            let json = serde_json::to_string_pretty(&results).unwrap_or_default();
            println!("{json}");
            if let Some(path) = &args.json
                && let Err(e) = std::fs::write(path, format!("{json}\n"))
            {
                eprintln!("bench: writing {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            if results.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<Results, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("needs root: it builds network namespaces".into());
    }
    let mrproxy = proxy::locate_mrproxy(args.mrproxy.clone())?;
    let kinds: Vec<Kind> = match args.proxy {
        Which::Both => vec![Kind::Igmpproxy, Kind::Mrproxy],
        Which::Mrproxy => vec![Kind::Mrproxy],
        Which::Igmpproxy => vec![Kind::Igmpproxy],
    };
    let igmpproxy = if kinds.contains(&Kind::Igmpproxy) {
        proxy::ensure_igmpproxy()?
    } else {
        PathBuf::from(proxy::IGMPPROXY)
    };
    let binaries = Binaries { mrproxy, igmpproxy };
    // Namespaces of earlier runs that were killed before cleaning up (their PID is gone).
    if let Err(e) = netlab::sweep_orphans() {
        eprintln!("bench: removing namespaces of dead runs: {e}");
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))
            .map_err(|e| format!("signal handler: {e}"))?;
    }
    let mut results = Results {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: Machine::probe(&binaries),
        ..Results::default()
    };
    let ctx = if args.quick {
        Ctx::quick(binaries, interrupted)
    } else {
        Ctx::full(binaries, interrupted)
    };
    let wants = |s: Scenario| args.scenario == Scenario::All || args.scenario == s;
    // Each scenario runs for both proxies back to back, so that they share the machine's
    // conditions as far as possible.
    if wants(Scenario::Join) {
        for &kind in &kinds {
            let r = scenario::join::run(&ctx, kind);
            record(
                &mut results.join,
                &mut results.errors,
                &mut results.load,
                "join",
                kind,
                r,
            );
        }
    }
    ctx.check_interrupted()?;
    if wants(Scenario::Leave) {
        for &kind in &kinds {
            let r = scenario::leave::run(&ctx, kind);
            record(
                &mut results.leave,
                &mut results.errors,
                &mut results.load,
                "leave",
                kind,
                r,
            );
        }
    }
    ctx.check_interrupted()?;
    if wants(Scenario::Burst) {
        for &kind in &kinds {
            let r = scenario::burst::run(&ctx, kind);
            record(
                &mut results.burst,
                &mut results.errors,
                &mut results.load,
                "burst",
                kind,
                r,
            );
        }
    }
    ctx.check_interrupted()?;
    if wants(Scenario::Rest) {
        for &kind in &kinds {
            let r = scenario::rest::run(&ctx, kind);
            record(
                &mut results.rest,
                &mut results.errors,
                &mut results.load,
                "rest",
                kind,
                r,
            );
        }
    }
    ctx.check_interrupted()?;
    // The soak compares with RFC 9776 source lists and configured timers: mrproxy only.
    if wants(Scenario::Soak) && kinds.contains(&Kind::Mrproxy) {
        let r = scenario::soak::run(&ctx, Kind::Mrproxy);
        record(
            &mut results.soak,
            &mut results.errors,
            &mut results.load,
            "soak",
            Kind::Mrproxy,
            r,
        );
    } else if args.scenario == Scenario::Soak {
        return Err("the soak measures mrproxy only: use --proxy mrproxy or both".into());
    }
    ctx.check_interrupted()?;
    Ok(results)
}

fn record<T>(
    into: &mut std::collections::BTreeMap<Kind, T>,
    errors: &mut Vec<String>,
    load: &mut Vec<(String, String)>,
    name: &str,
    kind: Kind,
    result: Result<T, String>,
) {
    let status = if result.is_ok() { "done" } else { "failed" };
    let loadavg = report::load_average();
    eprintln!("bench: {name} with {kind}: {status} (load average {loadavg})");
    load.push((format!("{name} {kind}"), loadavg));
    match result {
        Ok(r) => {
            into.insert(kind, r);
        }
        Err(e) => errors.push(format!("{name} with {kind}: {e}")),
    }
}

/// Item 5: the engine's own benchmark, run from the workspace this crate is part of.
fn micro() -> ExitCode {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let status = std::process::Command::new("cargo")
        .args(["bench", "-p", "mrproxy-engine", "--bench", "reports"])
        .current_dir(workspace)
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("bench: cargo bench exited with {s}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bench: running cargo bench: {e}");
            ExitCode::FAILURE
        }
    }
}
