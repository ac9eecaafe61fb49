//! The measured scenarios (join, leave, burst, rest, and the soak) and what they share. Each runs once per
//! proxy, in a lab of its own.

pub mod burst;
pub mod join;
pub mod leave;
pub mod rest;
pub mod soak;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::proxy::{Binaries, Running};

/// Sizes of one run and what every scenario needs.
pub struct Ctx {
    pub binaries: Binaries,
    /// Joins per host version (item 1: at least 200).
    pub joins: usize,
    /// Batches of four single-host leaves per setting.
    pub leave_batches: usize,
    /// Batches of four two-host trials per setting (each watches for 30 s first).
    pub two_host_batches: usize,
    /// Groups in the report burst (item 3: 10 000).
    pub burst_groups: usize,
    /// Groups at rest (item 4: 10 000).
    pub rest_groups: usize,
    /// Steady-state window at rest (item 4: 2 minutes).
    pub rest_window: Duration,
    /// How long the soak's hosts join and leave (60 s).
    pub soak_churn: Duration,
    /// Set on SIGINT/SIGTERM: scenarios stop at their next step, and their labs clean up.
    pub interrupted: Arc<AtomicBool>,
}

impl Ctx {
    /// The full sizes (docs/benchmarks.md); about 13 minutes for both proxies.
    pub fn full(binaries: Binaries, interrupted: Arc<AtomicBool>) -> Ctx {
        Ctx {
            binaries,
            joins: 200,
            leave_batches: 3,
            two_host_batches: 1,
            burst_groups: 10_000,
            rest_groups: 10_000,
            rest_window: Duration::from_secs(120),
            soak_churn: Duration::from_secs(60),
            interrupted,
        }
    }

    /// A check that everything runs: about 2 minutes for both proxies.
    pub fn quick(binaries: Binaries, interrupted: Arc<AtomicBool>) -> Ctx {
        Ctx {
            binaries,
            joins: 20,
            leave_batches: 1,
            two_host_batches: 1,
            burst_groups: 1_000,
            rest_groups: 1_000,
            rest_window: Duration::from_secs(10),
            soak_churn: Duration::from_secs(10),
            interrupted,
        }
    }

    /// Fails if the run was interrupted or the proxy has exited (with its log).
    pub fn check_alive(&self, proxy: &Running) -> Result<(), String> {
        self.check_interrupted()?;
        if proxy.child.is_running() {
            Ok(())
        } else {
            Err(format!(
                "{} exited during the scenario; its log:\n{}",
                proxy.kind,
                proxy.log()
            ))
        }
    }

    pub fn check_interrupted(&self) -> Result<(), String> {
        if self.interrupted.load(Ordering::Relaxed) {
            Err("interrupted".into())
        } else {
            Ok(())
        }
    }
}
