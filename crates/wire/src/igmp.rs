//! IGMP messages: v1 (RFC 1112 App. I), v2 (RFC 2236 §2), v3 (RFC 9776 §4).
//! The buffer given to `Packet::new_checked` is exactly the IGMP message (IP total length minus
//! the IP header length): the query version is decided by that length (RFC 9776 §7.1).

use crate::RecordType;
use std::net::Ipv4Addr;

/// A decoded IGMP message. Codes are kept raw so that `parse(emit(x)) == x`; use
/// [`crate::code`] to convert them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Repr {
    /// 8 octets, type 0x11, Max Resp Code 0 (RFC 9776 §7.1).
    QueryV1 { group: Ipv4Addr },
    /// 8 octets, type 0x11, Max Resp Code ≠ 0 (in 1/10 s).
    QueryV2 { max_resp_time: u8, group: Ipv4Addr },
    /// ≥ 12 octets, type 0x11 (RFC 9776 §4.1).
    QueryV3 {
        max_resp_code: u8,
        group: Ipv4Addr,
        s_flag: bool,
        qrv: u8,
        qqic: u8,
        sources: Vec<Ipv4Addr>,
    },
    /// Type 0x12.
    ReportV1 { group: Ipv4Addr },
    /// Type 0x16.
    ReportV2 { group: Ipv4Addr },
    /// Type 0x17.
    LeaveV2 { group: Ipv4Addr },
    /// Type 0x22 (RFC 9776 §4.2).
    ReportV3 { records: Vec<GroupRecord> },
}

/// One IGMPv3 group record (RFC 9776 §4.2.4). `aux_data` length is a multiple of 4.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupRecord {
    pub record_type: RecordType,
    pub group: Ipv4Addr,
    pub sources: Vec<Ipv4Addr>,
    pub aux_data: Vec<u8>,
}

// The helper implementing this module provides: `Packet<T>` (new_unchecked, new_checked,
// check_len, field getters/setters, verify_checksum, fill_checksum) and
// `Repr::{parse(&Packet<&T>) -> Result<Repr>, buffer_len(), emit(&mut Packet<&mut T>)}`.
