//! The IGMP messages of simulated hosts: IGMPv2 reports and leaves (RFC 2236 §2), IGMPv3
//! reports (RFC 9776 §4.2) with the records a host sends on a state change (§5.1) and in answer
//! to a query (§5.2), and the queries they answer (§4.1). Independent of the daemon's wire
//! crate, so that the simulation does not share a parsing bug with what it tests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use super::model::Want;
use crate::packet::{fix_igmp_checksum, igmp_packet};

/// IGMPv3 record types (RFC 9776 §4.2.12).
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

/// A message a simulated host sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
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
    /// The IPv4 packet `src` sends (TTL 1, Router Alert).
    pub fn packet(&self, src: Ipv4Addr) -> Vec<u8> {
        let (dst, mut igmp) = match self {
            Message::V2Report { group } => (*group, v2(0x16, *group)),
            Message::V2Leave { group } => (ALL_ROUTERS, v2(0x17, *group)),
            Message::V3Report { records } => {
                let count = u16::try_from(records.len()).unwrap_or(u16::MAX);
                let mut bytes = vec![0x22, 0, 0, 0, 0, 0];
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
                (ALL_V3_ROUTERS, bytes)
            }
        };
        fix_igmp_checksum(&mut igmp);
        igmp_packet(src, dst, &igmp)
    }
}

fn v2(kind: u8, group: Ipv4Addr) -> Vec<u8> {
    let mut bytes = vec![kind, 0, 0, 0];
    bytes.extend_from_slice(&group.octets());
    bytes
}

/// The records of an IGMPv3 report (the IP payload); empty for anything else or a truncated
/// report.
pub fn parse_report(igmp: &[u8]) -> Vec<Record> {
    if igmp.first() != Some(&0x22) || igmp.len() < 8 {
        return Vec::new();
    }
    let count = u16::from_be_bytes([igmp[6], igmp[7]]);
    let mut records = Vec::new();
    let mut at = 8;
    for _ in 0..count {
        let Some(head) = igmp.get(at..at + 8) else {
            return Vec::new();
        };
        let n = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let sources = (0..n)
            .map(|i| {
                let b = igmp.get(at + 8 + 4 * i..at + 12 + 4 * i)?;
                Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            })
            .collect::<Option<Vec<_>>>();
        let Some(sources) = sources else {
            return Vec::new();
        };
        records.push(Record {
            kind: head[0],
            group: Ipv4Addr::new(head[4], head[5], head[6], head[7]),
            sources,
        });
        at += 8 + 4 * n + 4 * usize::from(head[1]);
    }
    records
}

/// An IGMPv3 general query (RFC 9776 §4.1) from `src` with a maximum response time of
/// `tenths` tenths of a second (below 128), as an IPv4 packet.
pub fn general_query(src: Ipv4Addr, tenths: u8) -> Vec<u8> {
    let mut igmp = vec![0x11, tenths.min(127), 0, 0, 0, 0, 0, 0, 2, 125, 0, 0];
    fix_igmp_checksum(&mut igmp);
    igmp_packet(src, Ipv4Addr::new(224, 0, 0, 1), &igmp)
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
        if *igmp.first()? != 0x11 || igmp.len() < 8 {
            return None;
        }
        let group = Ipv4Addr::new(igmp[4], igmp[5], igmp[6], igmp[7]);
        let code = igmp[1];
        let (tenths, sources) = if igmp.len() >= 12 {
            // RFC 9776 §4.1.1: a floating-point value from 128 on.
            let tenths = if code < 128 {
                u32::from(code)
            } else {
                (u32::from(code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3)
            };
            let n = usize::from(u16::from_be_bytes([igmp[10], igmp[11]]));
            let sources = (0..n)
                .filter_map(|i| {
                    let b = igmp.get(12 + 4 * i..16 + 4 * i)?;
                    Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
                })
                .collect::<Vec<_>>();
            (tenths, sources)
        } else {
            // RFC 2236 §2.2; an IGMPv1 query (0) means 10 s.
            (if code == 0 { 100 } else { u32::from(code) }, Vec::new())
        };
        let query = match (group.is_unspecified(), sources.is_empty()) {
            (true, _) => Query::General,
            (false, true) => Query::Group(group),
            (false, false) => Query::GroupSources(group, sources),
        };
        Some((query, Duration::from_millis(u64::from(tenths) * 100)))
    }
}

/// The records of a state change of `group` (RFC 9776 §5.1); `None` is INCLUDE {} (not a
/// member), [`Want::AnySource`] EXCLUDE {}.
pub fn state_change(group: Ipv4Addr, old: Option<&Want>, new: Option<&Want>) -> Vec<Record> {
    let empty = BTreeSet::new();
    let include = |w: Option<&Want>| -> Option<BTreeSet<Ipv4Addr>> {
        match w {
            None => Some(empty.clone()),
            Some(Want::Include(s)) => Some(s.clone()),
            Some(Want::AnySource) => None,
        }
    };
    let record = |kind, sources: Vec<Ipv4Addr>| Record {
        kind,
        group,
        sources,
    };
    match (include(old), include(new)) {
        (Some(a), Some(b)) => {
            let mut out = Vec::new();
            let allow: Vec<_> = b.difference(&a).copied().collect();
            let block: Vec<_> = a.difference(&b).copied().collect();
            if !allow.is_empty() {
                out.push(record(ALLOW, allow));
            }
            if !block.is_empty() {
                out.push(record(BLOCK, block));
            }
            out
        }
        (Some(_), None) => vec![record(TO_EX, Vec::new())],
        (None, Some(b)) => vec![record(TO_IN, b.into_iter().collect())],
        (None, None) => Vec::new(),
    }
}

/// The current-state records answering `query` (RFC 9776 §5.2).
pub fn current_state(groups: &BTreeMap<Ipv4Addr, Want>, query: &Query) -> Vec<Record> {
    let state = |group: Ipv4Addr, want: &Want| match want {
        Want::AnySource => Record {
            kind: IS_EX,
            group,
            sources: Vec::new(),
        },
        Want::Include(s) => Record {
            kind: IS_IN,
            group,
            sources: s.iter().copied().collect(),
        },
    };
    match query {
        Query::General => groups.iter().map(|(g, w)| state(*g, w)).collect(),
        Query::Group(g) => groups.get(g).map(|w| state(*g, w)).into_iter().collect(),
        Query::GroupSources(g, asked) => {
            let Some(want) = groups.get(g) else {
                return Vec::new();
            };
            let sources: Vec<Ipv4Addr> = asked.iter().copied().filter(|s| want.wants(*s)).collect();
            if sources.is_empty() {
                Vec::new()
            } else {
                vec![Record {
                    kind: IS_IN,
                    group: *g,
                    sources,
                }]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{internet_checksum, parse_ip};

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn state_changes_follow_the_rfc_table() {
        let g = a("239.1.0.3");
        let (s1, s2) = (a("198.51.100.2"), a("198.51.100.3"));
        let inc = |s: &[Ipv4Addr]| Want::Include(s.iter().copied().collect());
        let kinds = |r: Vec<Record>| {
            r.into_iter()
                .map(|r| (r.kind, r.sources))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(state_change(g, None, Some(&Want::AnySource))),
            vec![(TO_EX, vec![])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&Want::AnySource), None)),
            vec![(TO_IN, vec![])]
        );
        assert_eq!(
            kinds(state_change(g, None, Some(&inc(&[s1])))),
            vec![(ALLOW, vec![s1])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&inc(&[s1])), Some(&inc(&[s2])))),
            vec![(ALLOW, vec![s2]), (BLOCK, vec![s1])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&inc(&[s1, s2])), None)),
            vec![(BLOCK, vec![s1, s2])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&Want::AnySource), Some(&inc(&[s2])))),
            vec![(TO_IN, vec![s2])]
        );
        assert_eq!(
            kinds(state_change(g, Some(&inc(&[s2])), Some(&Want::AnySource))),
            vec![(TO_EX, vec![])]
        );
    }

    #[test]
    fn answers_to_group_and_source_queries() {
        let g = a("239.1.0.3");
        let (s1, s2, s3) = (a("198.51.100.2"), a("198.51.100.3"), a("198.51.100.4"));
        let mut groups = BTreeMap::new();
        groups.insert(g, Want::Include([s1, s2].into()));
        let q = Query::GroupSources(g, vec![s2, s3]);
        assert_eq!(current_state(&groups, &q)[0].sources, vec![s2]);
        assert!(current_state(&groups, &Query::GroupSources(g, vec![s3])).is_empty());
        groups.insert(g, Want::AnySource);
        assert_eq!(current_state(&groups, &q)[0].sources, vec![s2, s3]);
        assert_eq!(current_state(&groups, &Query::General)[0].kind, IS_EX);
        assert!(current_state(&groups, &Query::Group(a("239.1.0.4"))).is_empty());
    }

    #[test]
    fn packets_are_valid_and_queries_parse() {
        let host = a("198.18.0.10");
        let g = a("239.1.0.3");
        let report = Message::V3Report {
            records: vec![Record {
                kind: ALLOW,
                group: g,
                sources: vec![a("198.51.100.2")],
            }],
        };
        for (m, dst) in [
            (report, a("224.0.0.22")),
            (Message::V2Leave { group: g }, a("224.0.0.2")),
            (Message::V2Report { group: g }, g),
        ] {
            let bytes = m.packet(host);
            let ip = parse_ip(&bytes).unwrap();
            assert_eq!((ip.src, ip.dst, ip.ttl), (host.into(), dst.into(), 1));
            assert!(ip.router_alert);
            assert_eq!(internet_checksum(ip.payload), 0);
        }
        // IGMPv3 group-and-source query, Max Resp Code 10; an IGMPv2 general query of 2 s;
        // an IGMPv3 code of 0x8f (exp 0, mant 15: 248 tenths).
        let mut v3 = vec![0x11, 10, 0, 0, 239, 1, 0, 3, 2, 5, 0, 1, 198, 51, 100, 2];
        assert_eq!(
            Query::parse(&v3),
            Some((
                Query::GroupSources(g, vec![a("198.51.100.2")]),
                Duration::from_secs(1)
            ))
        );
        v3[1] = 0x8f;
        assert_eq!(Query::parse(&v3).unwrap().1, Duration::from_millis(24_800));
        assert_eq!(
            Query::parse(&[0x11, 20, 0, 0, 0, 0, 0, 0]),
            Some((Query::General, Duration::from_secs(2)))
        );
        assert_eq!(Query::parse(&[0x16, 0, 0, 0, 239, 1, 0, 3]), None);
        let query = general_query(host, 10);
        let ip = parse_ip(&query).unwrap();
        assert_eq!(
            Query::parse(ip.payload),
            Some((Query::General, Duration::from_secs(1)))
        );
    }

    #[test]
    fn reports_parse_back() {
        let g = a("239.1.0.3");
        let records = vec![
            Record {
                kind: IS_IN,
                group: g,
                sources: vec![a("198.51.100.2"), a("198.51.100.4")],
            },
            Record {
                kind: IS_EX,
                group: a("239.1.0.4"),
                sources: vec![],
            },
        ];
        let bytes = Message::V3Report {
            records: records.clone(),
        }
        .packet(a("198.18.0.10"));
        let ip = parse_ip(&bytes).unwrap();
        assert_eq!(parse_report(ip.payload), records);
        assert!(parse_report(&ip.payload[..ip.payload.len() - 1]).is_empty());
        assert!(parse_report(&[0x16, 0, 0, 0, 239, 1, 0, 3]).is_empty());
    }
}
