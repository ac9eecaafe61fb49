//! Family-neutral membership messages, decoded by the caller from IGMP or MLD.

use crate::Address;
use serde::Serialize;
use std::time::Duration;

/// Protocol generation. `V1` = IGMPv1; `V2` = IGMPv2 or MLDv1; `V3` = IGMPv3 or MLDv2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Mode {
    V1,
    V2,
    V3,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Message<A: Address> {
    Query(Query<A>),
    /// IGMPv1 report.
    ReportV1 {
        group: A,
    },
    /// IGMPv2 report or MLDv1 report.
    ReportV2 {
        group: A,
    },
    /// IGMPv2 leave or MLDv1 done.
    Leave {
        group: A,
    },
    /// IGMPv3 or MLDv2 report (unknown record types already dropped by the decoder).
    ReportV3 {
        records: Vec<Record<A>>,
    },
}

/// A query, received or to send. For a received v1/v2 query only `version`, `group` and
/// `max_response` are meaningful (`qrv` 0 and `qqi` zero mean "not given").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Query<A: Address> {
    pub version: Mode,
    /// `None` for a general query.
    pub group: Option<A>,
    pub max_response: Duration,
    /// S flag: suppress router-side processing (RFC 9776 §4.1.5).
    pub suppress: bool,
    /// Querier's Robustness Variable (0 = not given / > 7).
    pub qrv: u8,
    /// Querier's Query Interval (zero = not given).
    pub qqi: Duration,
    /// Non-empty only for group-and-source-specific queries.
    pub sources: Vec<A>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RecordKind {
    /// MODE_IS_INCLUDE (current-state, type 1)
    IsInclude,
    /// MODE_IS_EXCLUDE (current-state, type 2)
    IsExclude,
    /// CHANGE_TO_INCLUDE_MODE (filter-mode-change, type 3)
    ToInclude,
    /// CHANGE_TO_EXCLUDE_MODE (filter-mode-change, type 4)
    ToExclude,
    /// ALLOW_NEW_SOURCES (source-list-change, type 5)
    Allow,
    /// BLOCK_OLD_SOURCES (source-list-change, type 6)
    Block,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record<A: Address> {
    pub kind: RecordKind,
    pub group: A,
    pub sources: Vec<A>,
}
