//! The timer formulas of RFC 9776 §8 (IGMPv3) and RFC 9777 §9 (MLDv2), in one place: the
//! defaults of the values a configuration may leave out, and the intervals derived from the
//! others. IGMPv2 (RFC 2236 §8) and MLDv1 (RFC 2710 §7) define the same ones.
//!
//! The caller chooses the inputs: [`crate::PortConfig`] passes its configured values, the
//! port passes the values in force (`timing.rs`: clamped, and adopted from the querier), the
//! engine fills a configuration's gaps. Products saturate instead of overflowing, since the
//! intervals come from a configuration file.

use std::time::Duration;

/// RV × `interval`.
fn robustness_times(robustness: u8, interval: Duration) -> Duration {
    interval.saturating_mul(u32::from(robustness))
}

/// Group Membership Interval = RV × QI + QRI (RFC 9776 §8.4); the Multicast Address
/// Listening Interval of RFC 9777 §9.4.
pub fn group_membership_interval(
    robustness: u8,
    query_interval: Duration,
    query_response_interval: Duration,
) -> Duration {
    robustness_times(robustness, query_interval).saturating_add(query_response_interval)
}

/// Other Querier Present Interval = RV × QI + QRI / 2 (RFC 9776 §8.5); the Other Querier
/// Present Timeout of RFC 9777 §9.5.
pub fn other_querier_present_interval(
    robustness: u8,
    query_interval: Duration,
    query_response_interval: Duration,
) -> Duration {
    robustness_times(robustness, query_interval).saturating_add(query_response_interval / 2)
}

/// Startup Query Interval, by default QI / 4 (RFC 9776 §8.6, RFC 9777 §9.6).
pub fn startup_query_interval(query_interval: Duration) -> Duration {
    query_interval / 4
}

/// Startup Query Count, by default RV (RFC 9776 §8.7, RFC 9777 §9.7).
pub fn startup_query_count(robustness: u8) -> u8 {
    robustness
}

/// Last Member Query Count, by default RV (RFC 9776 §8.9); the Last Listener Query Count of
/// RFC 9777 §9.9.
pub fn last_member_query_count(robustness: u8) -> u8 {
    robustness
}

/// Last Member Query Time = LMQI × LMQC (RFC 9776 §8.10); the Last Listener Query Time of
/// RFC 9777 §9.10.
pub fn last_member_query_time(
    last_member_query_interval: Duration,
    last_member_query_count: u8,
) -> Duration {
    last_member_query_interval.saturating_mul(u32::from(last_member_query_count))
}

/// Older Host Present Interval = RV × QI + QRI (RFC 9776 §8.13); the Older Version Host
/// Present Timeout of RFC 9777 §9.13.
pub fn older_host_present_interval(
    robustness: u8,
    query_interval: Duration,
    query_response_interval: Duration,
) -> Duration {
    robustness_times(robustness, query_interval).saturating_add(query_response_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_default_values() {
        let (qi, qri) = (Duration::from_secs(125), Duration::from_secs(10));
        assert_eq!(
            group_membership_interval(2, qi, qri),
            Duration::from_secs(260)
        );
        assert_eq!(
            other_querier_present_interval(2, qi, qri),
            Duration::from_secs(255)
        );
        assert_eq!(
            older_host_present_interval(2, qi, qri),
            Duration::from_secs(260)
        );
        assert_eq!(startup_query_interval(qi), Duration::from_millis(31_250));
        assert_eq!((startup_query_count(2), last_member_query_count(2)), (2, 2));
        assert_eq!(
            last_member_query_time(Duration::from_secs(1), 2),
            Duration::from_secs(2)
        );
    }
}
