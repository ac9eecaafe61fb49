//! Rate limiting of warnings that can repeat per packet or per group: at most one line per
//! (reason, interface) per period, and the next line says how many were held back. Hosts on a
//! downstream LAN are untrusted, so a flood of bad reports must not flood the log, and one
//! interface's flood must not hide another interface's first warning (docs/hostile-lans.md).

use super::names::Names;
use mrproxy_engine::IfIndex;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};
use tracing::warn;

/// One line per (reason, interface) per this period.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// Keys kept before idle ones are dropped: reasons are a handful, interfaces at most a few
/// dozen, but ifindexes are not reused (a PPP link gets a new one at every reconnection).
const PRUNE_ABOVE: usize = 256;

/// What is known of the lines of one (reason, interface).
#[derive(Clone, Copy, Debug)]
struct Slot {
    logged_at: Instant,
    suppressed: u64,
}

/// A line let through, with what was held back since the previous line of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pass {
    pub suppressed: u64,
    /// Since the previous line of the kind (meaningful when `suppressed` > 0).
    pub since: Duration,
}

impl Pass {
    /// What to append to the line: nothing, or " (37 more like this on eth1 in the last 10 s)".
    pub fn suffix(&self, iface: Option<&str>) -> String {
        if self.suppressed == 0 {
            return String::new();
        }
        let on = iface.map(|i| format!(" on {i}")).unwrap_or_default();
        // Whole seconds, rounded up: the held-back lines are all within that time.
        let secs = self.since.as_millis().div_ceil(1000);
        format!(
            " ({} more like this{on} in the last {secs} s)",
            self.suppressed
        )
    }
}

/// Pure: the caller gives the time, so the tests need no clock.
#[derive(Debug)]
pub struct LogLimiter {
    period: Duration,
    slots: HashMap<(&'static str, Option<u32>), Slot>,
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new(WARN_EVERY)
    }
}

impl LogLimiter {
    pub fn new(period: Duration) -> LogLimiter {
        LogLimiter {
            period,
            slots: HashMap::new(),
        }
    }

    /// Whether a line of `reason` on `ifindex` (`None`: not tied to one interface) may be
    /// logged at `now`; if not, it is counted for the next one that may.
    pub fn admit(
        &mut self,
        reason: &'static str,
        ifindex: Option<u32>,
        now: Instant,
    ) -> Option<Pass> {
        if self.slots.len() > PRUNE_ABOVE {
            let period = self.period;
            // A slot with nothing held back that is older than the period says nothing the
            // next line needs.
            self.slots.retain(|_, s| {
                s.suppressed > 0 || now.saturating_duration_since(s.logged_at) < period
            });
        }
        match self.slots.get_mut(&(reason, ifindex)) {
            Some(slot) if now.saturating_duration_since(slot.logged_at) < self.period => {
                slot.suppressed += 1;
                None
            }
            Some(slot) => {
                let pass = Pass {
                    suppressed: slot.suppressed,
                    since: now.saturating_duration_since(slot.logged_at),
                };
                *slot = Slot {
                    logged_at: now,
                    suppressed: 0,
                };
                Some(pass)
            }
            None => {
                let slot = Slot {
                    logged_at: now,
                    suppressed: 0,
                };
                self.slots.insert((reason, ifindex), slot);
                Some(Pass {
                    suppressed: 0,
                    since: Duration::ZERO,
                })
            }
        }
    }

    /// Logs `message` at warn level, now, if [`LogLimiter::admit`] lets it through; the
    /// interface is named in the suffix (the message should name it too).
    pub fn warn(
        &mut self,
        reason: &'static str,
        ifindex: Option<IfIndex>,
        names: &Names,
        message: fmt::Arguments<'_>,
    ) {
        if let Some(pass) = self.admit(reason, ifindex.map(|i| i.0), Instant::now()) {
            let iface = ifindex.map(|i| names.of(i));
            warn!("{message}{}", pass.suffix(iface.as_deref()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> (LogLimiter, Instant) {
        (LogLimiter::new(Duration::from_secs(10)), Instant::now())
    }

    #[test]
    fn the_first_line_passes_and_repeats_within_the_period_are_counted() {
        let (mut l, t0) = limiter();
        assert_eq!(
            l.admit("limit", Some(3), t0),
            Some(Pass {
                suppressed: 0,
                since: Duration::ZERO
            })
        );
        for ms in [1, 500, 9_999] {
            assert_eq!(
                l.admit("limit", Some(3), t0 + Duration::from_millis(ms)),
                None
            );
        }
        let next = l.admit("limit", Some(3), t0 + Duration::from_secs(10));
        assert_eq!(
            next,
            Some(Pass {
                suppressed: 3,
                since: Duration::from_secs(10)
            })
        );
        // The count starts again after a line.
        assert_eq!(
            l.admit("limit", Some(3), t0 + Duration::from_secs(11)),
            None
        );
        assert_eq!(
            l.admit("limit", Some(3), t0 + Duration::from_secs(25))
                .map(|p| p.suppressed),
            Some(1)
        );
    }

    #[test]
    fn one_interfaces_flood_does_not_hide_another_interface_or_reason() {
        let (mut l, t0) = limiter();
        for ms in 0..1000 {
            l.admit("limit", Some(3), t0 + Duration::from_millis(ms));
        }
        let t = t0 + Duration::from_secs(1);
        assert!(l.admit("limit", Some(4), t).is_some());
        assert!(l.admit("older querier", Some(3), t).is_some());
        assert!(l.admit("limit", None, t).is_some());
        assert!(l.admit("limit", Some(3), t).is_none());
    }

    #[test]
    fn the_suffix_says_how_many_where_and_over_how_long() {
        let quiet = Pass {
            suppressed: 0,
            since: Duration::ZERO,
        };
        assert_eq!(quiet.suffix(Some("eth1")), "");
        let held = Pass {
            suppressed: 37,
            since: Duration::from_millis(10_000),
        };
        assert_eq!(
            held.suffix(Some("eth1")),
            " (37 more like this on eth1 in the last 10 s)"
        );
        let long_ago = Pass {
            suppressed: 1,
            since: Duration::from_millis(72_001),
        };
        assert_eq!(
            long_ago.suffix(None),
            " (1 more like this in the last 73 s)"
        );
    }

    #[test]
    fn idle_keys_are_dropped_but_held_back_counts_are_kept() {
        let (mut l, t0) = limiter();
        l.admit("send", Some(0), t0);
        l.admit("send", Some(0), t0 + Duration::from_secs(1));
        for i in 1..=300 {
            l.admit("send", Some(i), t0);
        }
        let later = t0 + Duration::from_secs(60);
        l.admit("send", Some(1000), later);
        assert_eq!(
            l.slots.len(),
            2,
            "only the slot with a held-back line and the new one"
        );
        assert_eq!(
            l.admit("send", Some(0), later).map(|p| p.suppressed),
            Some(1)
        );
    }
}
