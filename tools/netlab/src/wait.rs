//! Bounded polling: every wait in a test has a deadline (docs/test-strategy.md §2, "Bounded loops").

use std::thread;
use std::time::{Duration, Instant};

/// Poll interval used by [`wait_for`] and by the harness's own waits.
pub const DEFAULT_POLL: Duration = Duration::from_millis(10);

/// Calls `condition` every `poll_interval` until it returns `true` or `timeout` has passed.
///
/// Returns whether the condition became true. The condition is always evaluated at least once,
/// and once more right at the deadline, so a zero timeout is a plain check.
pub fn wait_until(
    timeout: Duration,
    poll_interval: Duration,
    mut condition: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        thread::sleep(poll_interval.min(deadline - now));
    }
}

/// Calls `probe` every [`DEFAULT_POLL`] until it returns `Some`, or `timeout` has passed.
///
/// Returns the first `Some` value, or `None` at the deadline.
pub fn wait_for<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let mut found = None;
    wait_until(timeout, DEFAULT_POLL, || {
        found = probe();
        found.is_some()
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_true_once_the_condition_holds() {
        let mut calls = 0;
        let ok = wait_until(Duration::from_secs(5), Duration::from_millis(1), || {
            calls += 1;
            calls == 3
        });
        assert!(ok);
        assert_eq!(calls, 3);
    }

    #[test]
    fn wait_until_gives_up_at_the_deadline() {
        let mut calls = 0;
        let ok = wait_until(Duration::from_millis(20), Duration::from_millis(5), || {
            calls += 1;
            false
        });
        assert!(!ok);
        // Checked at the start and again at the deadline at least.
        assert!(calls >= 2, "condition evaluated {calls} times");
    }

    #[test]
    fn wait_for_yields_the_first_value() {
        let mut n = 0;
        let got = wait_for(Duration::from_secs(5), || {
            n += 1;
            (n >= 2).then_some(n * 10)
        });
        assert_eq!(got, Some(20));
        assert_eq!(wait_for::<u8>(Duration::ZERO, || None), None);
    }
}
