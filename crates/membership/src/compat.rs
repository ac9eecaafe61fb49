//! Older-version group members (RFC 9776 §7.3.2, RFC 9777 §8.3.2): per group, an IGMPv1 and an
//! IGMPv2 (MLDv1) Host Present timer; the Group Compatibility Mode is the lowest version whose
//! timer runs, and decides how v3 records are translated.

use crate::{Mode, RecordKind, Timestamp};
use std::num::NonZeroU64;

/// The Host Present timers, in milliseconds that are never 0 so that "not running" costs no
/// extra word (this state exists once per (link, group)). A timer is set to now + the Older
/// Host Present Interval, which is at least 1 ms (RV >= 1, QI >= 1 ms), so its deadline is
/// never 0; were it 0, it would be stored as 1 ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OlderHosts {
    v1_until: Option<NonZeroU64>,
    v2_until: Option<NonZeroU64>,
}

fn deadline(until: Timestamp) -> Option<NonZeroU64> {
    NonZeroU64::new(until.as_millis().max(1))
}

fn timestamp(until: NonZeroU64) -> Timestamp {
    Timestamp(until.get())
}

impl OlderHosts {
    /// The Group Compatibility Mode, capped by the version the port runs: on a link that runs
    /// IGMPv2 nothing can be processed as IGMPv3 (RFC 9776 §7.3.1 makes the lower version an
    /// administrative choice for the whole link).
    pub(crate) fn mode(&self, port_version: Mode) -> Mode {
        let heard = if self.v1_until.is_some() {
            Mode::V1
        } else if self.v2_until.is_some() {
            Mode::V2
        } else {
            Mode::V3
        };
        heard.min(port_version)
    }

    /// A v1 or v2 report was heard: its Host Present timer runs until `until` (Older Host
    /// Present Interval from now). A v3 report changes nothing here.
    pub(crate) fn heard(&mut self, version: Mode, until: Timestamp) {
        match version {
            Mode::V1 => self.v1_until = deadline(until),
            Mode::V2 => self.v2_until = deadline(until),
            Mode::V3 => {}
        }
    }

    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        match (self.v1_until, self.v2_until) {
            (Some(a), Some(b)) => Some(timestamp(a.min(b))),
            (a, b) => a.or(b).map(timestamp),
        }
    }

    /// Stops the timers due at or before `at`; the group falls back to a higher mode.
    pub(crate) fn expire(&mut self, at: Timestamp) {
        let due = |until: Option<NonZeroU64>| until.is_some_and(|t| timestamp(t) <= at);
        if due(self.v1_until) {
            self.v1_until = None;
        }
        if due(self.v2_until) {
            self.v2_until = None;
        }
    }
}

/// Translates a v3 record kind for a group in `mode` (RFC 9776 §7.3.2, RFC 9777 §8.3.2): in
/// IGMPv1 and IGMPv2/MLDv1 mode BLOCK records are ignored and TO_EX(S) is treated as
/// TO_EX({}). `Ok((kind, keep_sources))`; `Err` carries the reason a record is ignored.
pub(crate) fn translate(mode: Mode, kind: RecordKind) -> Result<(RecordKind, bool), &'static str> {
    match (mode, kind) {
        (Mode::V3, _) => Ok((kind, true)),
        (_, RecordKind::Block) => {
            Err("BLOCK ignored in older-version group compatibility mode (RFC 9776 §7.3.2)")
        }
        (_, RecordKind::ToExclude) => Ok((RecordKind::ToExclude, false)),
        _ => Ok((kind, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_running_version_capped_by_port() {
        let mut hosts = OlderHosts::default();
        assert_eq!(hosts.mode(Mode::V3), Mode::V3);
        assert_eq!(hosts.mode(Mode::V2), Mode::V2);
        hosts.heard(Mode::V2, Timestamp(100));
        hosts.heard(Mode::V1, Timestamp(50));
        assert_eq!(hosts.mode(Mode::V3), Mode::V1);
        assert_eq!(hosts.deadline(), Some(Timestamp(50)));
        hosts.expire(Timestamp(50));
        assert_eq!(hosts.mode(Mode::V3), Mode::V2);
        hosts.expire(Timestamp(100));
        assert_eq!(hosts.mode(Mode::V3), Mode::V3);
        assert_eq!(hosts.deadline(), None);
    }

    #[test]
    fn older_modes_ignore_block_and_exclude_lists() {
        assert!(translate(Mode::V2, RecordKind::Block).is_err());
        assert!(translate(Mode::V1, RecordKind::Block).is_err());
        assert_eq!(
            translate(Mode::V1, RecordKind::ToExclude),
            Ok((RecordKind::ToExclude, false))
        );
        assert_eq!(
            translate(Mode::V2, RecordKind::IsExclude),
            Ok((RecordKind::IsExclude, true))
        );
        assert_eq!(
            translate(Mode::V2, RecordKind::IsInclude),
            Ok((RecordKind::IsInclude, true))
        );
        assert_eq!(
            translate(Mode::V3, RecordKind::Block),
            Ok((RecordKind::Block, true))
        );
        assert_eq!(
            translate(Mode::V3, RecordKind::ToExclude),
            Ok((RecordKind::ToExclude, true))
        );
    }
}
