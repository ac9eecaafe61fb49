//! The timer values in force on a port: the configuration, with the elected querier's Robustness
//! Variable and Query Interval adopted while we are not the querier (RFC 9776 §4.1.6, §4.1.7;
//! RFC 9777 §5.1.8, §5.1.9), and the derived intervals of RFC 9776 §8 / RFC 9777 §9
//! (`intervals.rs`) from these values.
//!
//! Adopted values are bounded: a query is accepted from any address on the link, so a forged
//! one with QRV 7 and QQIC 255 (QQI 31 744 s) would otherwise keep us non-querier, and every
//! group alive, for days. When the adopted RV × QI exceeds the configured RV × QI, both adopted
//! values are dropped and the configured ones apply. Since QRI is always ours, the Other Querier
//! Present Interval, the Group Membership Interval and the Older Host Present Interval are then
//! never longer than this port's configuration makes them; smaller adopted values (a querier
//! that queries more often) are honoured as the RFCs ask.

use crate::{Mode, PortConfig, intervals};
use std::time::Duration;

/// A period that drives a repeating timer is never shorter than this, so that a zero in a
/// configuration cannot make `timeout` loop forever.
const MIN_PERIOD: Duration = Duration::from_millis(1);

/// Values heard from the elected querier; `None` when not given (QRV 0, QQIC 0) or not heard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Adopted {
    pub(crate) robustness: Option<u8>,
    pub(crate) query_interval: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    pub(crate) version: Mode,
    pub(crate) robustness: u8,
    pub(crate) query_interval: Duration,
    pub(crate) query_response_interval: Duration,
    pub(crate) startup_query_interval: Duration,
    pub(crate) startup_query_count: u8,
    pub(crate) last_member_query_interval: Duration,
    pub(crate) last_member_query_count: u8,
}

impl Timing {
    pub(crate) fn new(config: &PortConfig, adopted: Adopted) -> Timing {
        // RFC 9776 §8.1: the Robustness Variable MUST NOT be zero.
        let configured = (
            config.robustness.max(1),
            config.query_interval.max(MIN_PERIOD),
        );
        let heard = (
            adopted.robustness.unwrap_or(configured.0).max(1),
            adopted
                .query_interval
                .unwrap_or(configured.1)
                .max(MIN_PERIOD),
        );
        let span = |(rv, qi): (u8, Duration)| qi.saturating_mul(u32::from(rv));
        // See the module documentation: adopted values never lengthen RV × QI.
        let (robustness, query_interval) = if span(heard) > span(configured) {
            configured
        } else {
            heard
        };
        Timing {
            version: config.version,
            robustness,
            query_interval,
            query_response_interval: config.query_response_interval,
            startup_query_interval: config.startup_query_interval.max(MIN_PERIOD),
            startup_query_count: config.startup_query_count.max(1),
            last_member_query_interval: config.last_member_query_interval,
            last_member_query_count: config.last_member_query_count.max(1),
        }
    }

    /// Group Membership Interval (RFC 9776 §8.4, RFC 9777 §9.4).
    pub(crate) fn group_membership_interval(&self) -> Duration {
        intervals::group_membership_interval(
            self.robustness,
            self.query_interval,
            self.query_response_interval,
        )
    }

    /// Other Querier Present Interval (RFC 9776 §8.5, RFC 9777 §9.5).
    pub(crate) fn other_querier_present_interval(&self) -> Duration {
        intervals::other_querier_present_interval(
            self.robustness,
            self.query_interval,
            self.query_response_interval,
        )
    }

    /// Last Member Query Time (RFC 9776 §8.10, RFC 9777 §9.10).
    pub(crate) fn last_member_query_time(&self) -> Duration {
        intervals::last_member_query_time(
            self.last_member_query_interval,
            self.last_member_query_count,
        )
    }

    /// Older Host Present Interval (RFC 9776 §8.13, RFC 9777 §9.13).
    pub(crate) fn older_host_present_interval(&self) -> Duration {
        intervals::older_host_present_interval(
            self.robustness,
            self.query_interval,
            self.query_response_interval,
        )
    }

    /// The QRV field of queries we send: RV, or 0 when it does not fit in 3 bits (RFC 9776 §4.1.6).
    pub(crate) fn advertised_qrv(&self) -> u8 {
        if self.robustness <= 7 {
            self.robustness
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_default_intervals() {
        let timing = Timing::new(&PortConfig::rfc_defaults(Mode::V3), Adopted::default());
        assert_eq!(timing.group_membership_interval(), Duration::from_secs(260));
        assert_eq!(
            timing.other_querier_present_interval(),
            Duration::from_secs(255)
        );
        assert_eq!(timing.last_member_query_time(), Duration::from_secs(2));
        assert_eq!(timing.advertised_qrv(), 2);
    }

    #[test]
    fn adopted_values_replace_configured_ones() {
        let adopted = Adopted {
            robustness: Some(3),
            query_interval: Some(Duration::from_secs(60)),
        };
        let timing = Timing::new(&PortConfig::rfc_defaults(Mode::V3), adopted);
        assert_eq!(timing.group_membership_interval(), Duration::from_secs(190));
        assert_eq!(
            timing.other_querier_present_interval(),
            Duration::from_secs(185)
        );
    }

    #[test]
    fn adopted_values_never_lengthen_the_configured_intervals() {
        let config = PortConfig::rfc_defaults(Mode::V3);
        let forged = Adopted {
            robustness: Some(7),
            query_interval: Some(Duration::from_secs(31_744)),
        };
        let timing = Timing::new(&config, forged);
        assert_eq!(
            (timing.robustness, timing.query_interval),
            (2, config.query_interval)
        );
        assert_eq!(
            timing.other_querier_present_interval(),
            Duration::from_secs(255)
        );
        // Either value alone can lengthen RV × QI: QRV 7 with our QI, or our RV with QQI 200 s.
        for adopted in [
            Adopted {
                robustness: Some(7),
                query_interval: None,
            },
            Adopted {
                robustness: None,
                query_interval: Some(Duration::from_secs(200)),
            },
        ] {
            let timing = Timing::new(&config, adopted);
            assert_eq!(timing.group_membership_interval(), Duration::from_secs(260));
            assert_eq!(
                timing.older_host_present_interval(),
                Duration::from_secs(260)
            );
        }
        // A larger RV with a shorter QI is honoured while RV × QI stays within ours.
        let adopted = Adopted {
            robustness: Some(5),
            query_interval: Some(Duration::from_secs(50)),
        };
        let timing = Timing::new(&config, adopted);
        assert_eq!(
            (timing.robustness, timing.query_interval.as_secs()),
            (5, 50)
        );
    }

    #[test]
    fn zeros_are_clamped() {
        let mut config = PortConfig::rfc_defaults(Mode::V3);
        config.robustness = 0;
        config.query_interval = Duration::ZERO;
        config.last_member_query_count = 0;
        let timing = Timing::new(&config, Adopted::default());
        assert_eq!(timing.robustness, 1);
        assert_eq!(timing.query_interval, MIN_PERIOD);
        assert_eq!(timing.last_member_query_count, 1);
        config.robustness = 9;
        assert_eq!(Timing::new(&config, Adopted::default()).advertised_qrv(), 0);
    }

    #[test]
    fn absurd_intervals_saturate_instead_of_panicking() {
        let mut config = PortConfig::rfc_defaults(Mode::V3);
        config.query_interval = Duration::MAX;
        config.last_member_query_interval = Duration::MAX;
        let timing = Timing::new(&config, Adopted::default());
        assert_eq!(timing.group_membership_interval(), Duration::MAX);
        assert_eq!(timing.other_querier_present_interval(), Duration::MAX);
        assert_eq!(timing.last_member_query_time(), Duration::MAX);
    }
}
