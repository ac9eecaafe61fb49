//! MLD messages: MLDv1 (RFC 2710 §3) and MLDv2 (RFC 9777 §5). The buffer is the ICMPv6
//! message; the checksum covers the IPv6 pseudo-header, so parse/emit take the addresses.

use crate::RecordType;
use std::net::Ipv6Addr;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Repr {
    /// Type 130, exactly 24 octets. Maximum Response Delay in ms.
    QueryV1 { max_resp_delay: u16, group: Ipv6Addr },
    /// Type 130, ≥ 28 octets (RFC 9777 §5.1). 16-bit Maximum Response Code.
    QueryV2 {
        max_resp_code: u16,
        group: Ipv6Addr,
        s_flag: bool,
        qrv: u8,
        qqic: u8,
        sources: Vec<Ipv6Addr>,
    },
    /// Type 131.
    ReportV1 { group: Ipv6Addr },
    /// Type 132.
    DoneV1 { group: Ipv6Addr },
    /// Type 143 (RFC 9777 §5.2).
    ReportV2 { records: Vec<AddressRecord> },
}

/// One MLDv2 multicast address record (RFC 9777 §5.2.4).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddressRecord {
    pub record_type: RecordType,
    pub group: Ipv6Addr,
    pub sources: Vec<Ipv6Addr>,
    pub aux_data: Vec<u8>,
}
