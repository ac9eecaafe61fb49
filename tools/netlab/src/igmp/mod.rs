//! The harness's IGMP codec: queries (RFC 9776 §4.1, RFC 2236 §2), IGMPv1/v2 reports and leaves
//! (RFC 2236 §2) and IGMPv3 reports (RFC 9776 §4.2), parsed from and built into bytes. The
//! soak's simulated hosts and the benchmarks' captures and report generators use it.
//! Deliberately independent of the daemon's wire crate, so that the harness does not share a
//! parsing bug with what it tests.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::packet::{fix_igmp_checksum, igmp_packet};

#[cfg(test)]
mod tests;

/// IGMPv3 record types (RFC 9776 §4.2.12): MODE_IS_INCLUDE.
pub const IS_IN: u8 = 1;
/// MODE_IS_EXCLUDE.
pub const IS_EX: u8 = 2;
/// CHANGE_TO_INCLUDE_MODE.
pub const TO_IN: u8 = 3;
/// CHANGE_TO_EXCLUDE_MODE.
pub const TO_EX: u8 = 4;
/// ALLOW_NEW_SOURCES.
pub const ALLOW: u8 = 5;
/// BLOCK_OLD_SOURCES.
pub const BLOCK: u8 = 6;

const QUERY: u8 = 0x11;
const V1_REPORT: u8 = 0x12;
const V2_REPORT: u8 = 0x16;
const V2_LEAVE: u8 = 0x17;
const V3_REPORT: u8 = 0x22;

const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);

/// One group record of an IGMPv3 report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Record type ([`IS_IN`] … [`BLOCK`]).
    pub kind: u8,
    /// The group.
    pub group: Ipv4Addr,
    /// The sources.
    pub sources: Vec<Ipv4Addr>,
}

impl Record {
    /// Whether the record leaves the group wanted: EXCLUDE mode, or INCLUDE with sources.
    pub fn wants_group(&self) -> bool {
        match self.kind {
            IS_EX | TO_EX => true,
            IS_IN | TO_IN | ALLOW => !self.sources.is_empty(),
            _ => false,
        }
    }

    /// Whether the record gives the group up: INCLUDE {} (IS_IN {} or TO_IN {}, RFC 9776
    /// §6.4.2).
    pub fn leaves_group(&self) -> bool {
        matches!(self.kind, IS_IN | TO_IN) && self.sources.is_empty()
    }
}

/// What a query asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// General query.
    General,
    /// Group-specific query.
    Group(Ipv4Addr),
    /// Group-and-source-specific query (IGMPv3 only).
    GroupSources(Ipv4Addr, Vec<Ipv4Addr>),
}

impl Query {
    /// The group asked about; `None` for a general query.
    pub fn group(&self) -> Option<Ipv4Addr> {
        match self {
            Query::General => None,
            Query::Group(g) | Query::GroupSources(g, _) => Some(*g),
        }
    }

    /// Parses an IGMP message (the IP payload): the query and its maximum response time;
    /// `None` for anything but a query.
    pub fn parse(igmp: &[u8]) -> Option<(Query, Duration)> {
        match Message::parse(igmp)? {
            Message::Query {
                query,
                max_response,
            } => Some((query, max_response)),
            _ => None,
        }
    }
}

/// One IGMP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Membership Query of any version; built as an IGMPv3 query (QRV 2, QQIC 125), sent to
    /// 224.0.0.1 when general, else to the group.
    Query {
        /// What it asks.
        query: Query,
        /// Its maximum response time (tenths of a second on the wire).
        max_response: Duration,
    },
    /// IGMPv1 Membership Report, sent to the group.
    V1Report {
        /// The group.
        group: Ipv4Addr,
    },
    /// IGMPv2 Membership Report, sent to the group.
    V2Report {
        /// The group.
        group: Ipv4Addr,
    },
    /// IGMPv2 Leave Group, sent to 224.0.0.2.
    V2Leave {
        /// The group.
        group: Ipv4Addr,
    },
    /// IGMPv3 Membership Report, sent to 224.0.0.22.
    V3Report {
        /// Its records.
        records: Vec<Record>,
    },
}

impl Message {
    /// Parses an IGMP message (the IP payload). Never panics; `None` for other types and for
    /// truncated messages (a record or source list that does not fit).
    pub fn parse(igmp: &[u8]) -> Option<Message> {
        let group = Ipv4Addr::from(<[u8; 4]>::try_from(igmp.get(4..8)?).ok()?);
        match igmp[0] {
            QUERY => parse_query(igmp, group),
            V1_REPORT => Some(Message::V1Report { group }),
            V2_REPORT => Some(Message::V2Report { group }),
            V2_LEAVE => Some(Message::V2Leave { group }),
            V3_REPORT => parse_v3_report(igmp),
            _ => None,
        }
    }

    /// The IGMP message (the IP payload), checksum included.
    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes = match self {
            Message::Query {
                query,
                max_response,
            } => {
                let (group, sources) = match query {
                    Query::General => (Ipv4Addr::UNSPECIFIED, &[][..]),
                    Query::Group(g) => (*g, &[][..]),
                    Query::GroupSources(g, s) => (*g, &s[..]),
                };
                let count = u16::try_from(sources.len()).unwrap_or(u16::MAX);
                let mut bytes = vec![QUERY, max_response_code(*max_response), 0, 0];
                bytes.extend_from_slice(&group.octets());
                bytes.extend_from_slice(&[2, 125]);
                bytes.extend_from_slice(&count.to_be_bytes());
                for s in sources {
                    bytes.extend_from_slice(&s.octets());
                }
                bytes
            }
            Message::V1Report { group } => v1_v2(V1_REPORT, *group),
            Message::V2Report { group } => v1_v2(V2_REPORT, *group),
            Message::V2Leave { group } => v1_v2(V2_LEAVE, *group),
            Message::V3Report { records } => {
                let count = u16::try_from(records.len()).unwrap_or(u16::MAX);
                let mut bytes = vec![V3_REPORT, 0, 0, 0, 0, 0];
                bytes.extend_from_slice(&count.to_be_bytes());
                for r in records {
                    let n = u16::try_from(r.sources.len()).unwrap_or(u16::MAX);
                    bytes.extend_from_slice(&[r.kind, 0]);
                    bytes.extend_from_slice(&n.to_be_bytes());
                    bytes.extend_from_slice(&r.group.octets());
                    for s in &r.sources {
                        bytes.extend_from_slice(&s.octets());
                    }
                }
                bytes
            }
        };
        fix_igmp_checksum(&mut bytes);
        bytes
    }

    /// The IPv4 packet `src` sends (TTL 1, Router Alert) to the message's destination.
    pub fn packet(&self, src: Ipv4Addr) -> Vec<u8> {
        let dst = match self {
            Message::Query { query, .. } => query.group().unwrap_or(ALL_SYSTEMS),
            Message::V1Report { group } | Message::V2Report { group } => *group,
            Message::V2Leave { .. } => ALL_ROUTERS,
            Message::V3Report { .. } => ALL_V3_ROUTERS,
        };
        igmp_packet(src, dst, &self.bytes())
    }

    /// The groups this message asks to receive (any-source or with sources), as a host's
    /// report means them: v1/v2 reports, and v3 records that leave the group wanted.
    pub fn joined_groups(&self) -> Vec<Ipv4Addr> {
        match self {
            Message::V1Report { group } | Message::V2Report { group } => vec![*group],
            Message::V3Report { records } => records
                .iter()
                .filter(|r| r.wants_group())
                .map(|r| r.group)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The groups this message gives up: v2 leaves and v3 records that leave INCLUDE {}.
    pub fn left_groups(&self) -> Vec<Ipv4Addr> {
        match self {
            Message::V2Leave { group } => vec![*group],
            Message::V3Report { records } => records
                .iter()
                .filter(|r| r.leaves_group())
                .map(|r| r.group)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The IGMP version of a report (1, 2 or 3), for telling which version a host really spoke.
    pub fn report_version(&self) -> Option<u8> {
        match self {
            Message::V1Report { .. } => Some(1),
            Message::V2Report { .. } => Some(2),
            Message::V3Report { .. } => Some(3),
            _ => None,
        }
    }
}

fn v1_v2(kind: u8, group: Ipv4Addr) -> Vec<u8> {
    let mut bytes = vec![kind, 0, 0, 0];
    bytes.extend_from_slice(&group.octets());
    bytes
}

fn parse_query(igmp: &[u8], group: Ipv4Addr) -> Option<Message> {
    let code = igmp[1];
    let (tenths, sources) = if igmp.len() >= 12 {
        let n = usize::from(u16::from_be_bytes([igmp[10], igmp[11]]));
        let sources = (0..n)
            .map(|i| ipv4_at(igmp, 12 + 4 * i))
            .collect::<Option<Vec<_>>>()?;
        (max_response_tenths(code), sources)
    } else {
        // RFC 2236 §2.2; an IGMPv1 query (0) means 10 s.
        (if code == 0 { 100 } else { u32::from(code) }, Vec::new())
    };
    let query = match (group.is_unspecified(), sources.is_empty()) {
        (true, _) => Query::General,
        (false, true) => Query::Group(group),
        (false, false) => Query::GroupSources(group, sources),
    };
    Some(Message::Query {
        query,
        max_response: Duration::from_millis(u64::from(tenths) * 100),
    })
}

fn parse_v3_report(igmp: &[u8]) -> Option<Message> {
    let count = u16::from_be_bytes([igmp[6], igmp[7]]);
    let mut records = Vec::with_capacity(usize::from(count));
    let mut at = 8;
    for _ in 0..count {
        let head = igmp.get(at..at + 8)?;
        let n = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let sources = (0..n)
            .map(|i| ipv4_at(igmp, at + 8 + 4 * i))
            .collect::<Option<Vec<_>>>()?;
        records.push(Record {
            kind: head[0],
            group: Ipv4Addr::new(head[4], head[5], head[6], head[7]),
            sources,
        });
        at += 8 + 4 * n + 4 * usize::from(head[1]);
        if at > igmp.len() {
            return None;
        }
    }
    Some(Message::V3Report { records })
}

fn ipv4_at(bytes: &[u8], at: usize) -> Option<Ipv4Addr> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

/// RFC 9776 §4.1.1: below 128 the code is the value in tenths; from 128 on a floating-point
/// value, mantissa and exponent.
fn max_response_tenths(code: u8) -> u32 {
    if code < 128 {
        u32::from(code)
    } else {
        (u32::from(code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3)
    }
}

/// The code of a maximum response time (RFC 9776 §4.1.1), rounded down to what the code can
/// say, at most 31 744 tenths.
fn max_response_code(max_response: Duration) -> u8 {
    let tenths = u32::try_from(max_response.as_millis() / 100).unwrap_or(u32::MAX);
    if tenths < 128 {
        return u8::try_from(tenths).unwrap_or(127);
    }
    for exp in 0..8u8 {
        let mant = tenths >> (exp + 3);
        if mant < 0x20 {
            return 0x80 | (exp << 4) | u8::try_from(mant & 0x0f).unwrap_or(0x0f);
        }
    }
    0xff
}
