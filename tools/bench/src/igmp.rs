//! Just enough IGMP for the benchmark: classifying what a capture sees (RFC 2236 §2, RFC 9776
//! §4) and building the IGMPv3 reports of the simulated hosts. Deliberately independent of
//! `mrproxy-wire`, so that the harness does not share a parsing bug with the daemon it measures.

use std::net::Ipv4Addr;

/// IGMPv3 record types (RFC 9776 §4.2.12).
pub const MODE_IS_INCLUDE: u8 = 1;
pub const MODE_IS_EXCLUDE: u8 = 2;
pub const CHANGE_TO_INCLUDE: u8 = 3;
pub const CHANGE_TO_EXCLUDE: u8 = 4;
pub const ALLOW_NEW_SOURCES: u8 = 5;

/// One IGMP message as the benchmark needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Membership Query; `group` is 0.0.0.0 for a general query.
    Query { group: Ipv4Addr },
    /// IGMPv1 or IGMPv2 Membership Report.
    Report { version: u8, group: Ipv4Addr },
    /// IGMPv2 Leave Group.
    Leave { group: Ipv4Addr },
    /// IGMPv3 Membership Report: (record type, group, number of sources) per record.
    V3Report { records: Vec<(u8, Ipv4Addr, u16)> },
    /// Anything else (other types, truncated messages).
    Other,
}

impl Message {
    /// Parses an IGMP message (the IP payload). Never panics; unknown or short input is `Other`.
    pub fn parse(igmp: &[u8]) -> Message {
        let group_at = |offset: usize| -> Option<Ipv4Addr> {
            let b: [u8; 4] = igmp.get(offset..offset + 4)?.try_into().ok()?;
            Some(Ipv4Addr::from(b))
        };
        let parsed = match igmp.first() {
            Some(0x11) => group_at(4).map(|group| Message::Query { group }),
            Some(0x12) => group_at(4).map(|group| Message::Report { version: 1, group }),
            Some(0x16) => group_at(4).map(|group| Message::Report { version: 2, group }),
            Some(0x17) => group_at(4).map(|group| Message::Leave { group }),
            Some(0x22) => parse_v3_records(igmp).map(|records| Message::V3Report { records }),
            _ => None,
        };
        parsed.unwrap_or(Message::Other)
    }

    /// The groups this message asks to receive (any-source or with sources), as a host's
    /// report means them: v1/v2 reports, and v3 records that leave the group wanted.
    pub fn joined_groups(&self) -> Vec<Ipv4Addr> {
        match self {
            Message::Report { group, .. } => vec![*group],
            Message::V3Report { records } => records
                .iter()
                .filter(|(kind, _, sources)| record_wants(*kind, *sources))
                .map(|(_, group, _)| *group)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The groups this message gives up: v2 leaves and v3 records that leave INCLUDE {}
    /// (TO_IN {} or IS_IN {}, RFC 9776 §6.4.2).
    pub fn left_groups(&self) -> Vec<Ipv4Addr> {
        match self {
            Message::Leave { group } => vec![*group],
            Message::V3Report { records } => records
                .iter()
                .filter(|(kind, _, sources)| {
                    matches!(*kind, MODE_IS_INCLUDE | CHANGE_TO_INCLUDE) && *sources == 0
                })
                .map(|(_, group, _)| *group)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The IGMP version of a report (1, 2 or 3), for telling which version a host really spoke.
    pub fn report_version(&self) -> Option<u8> {
        match self {
            Message::Report { version, .. } => Some(*version),
            Message::V3Report { .. } => Some(3),
            _ => None,
        }
    }
}

/// Whether a v3 record leaves the group requested: EXCLUDE mode, or INCLUDE with sources.
fn record_wants(kind: u8, sources: u16) -> bool {
    match kind {
        MODE_IS_EXCLUDE | CHANGE_TO_EXCLUDE => true,
        MODE_IS_INCLUDE | CHANGE_TO_INCLUDE | ALLOW_NEW_SOURCES => sources > 0,
        _ => false,
    }
}

fn parse_v3_records(igmp: &[u8]) -> Option<Vec<(u8, Ipv4Addr, u16)>> {
    let count = u16::from_be_bytes(igmp.get(6..8)?.try_into().ok()?);
    let mut records = Vec::with_capacity(usize::from(count));
    let mut offset = 8;
    for _ in 0..count {
        let header = igmp.get(offset..offset + 8)?;
        let (kind, aux_words) = (header[0], usize::from(header[1]));
        let sources = u16::from_be_bytes([header[2], header[3]]);
        let group = Ipv4Addr::new(header[4], header[5], header[6], header[7]);
        records.push((kind, group, sources));
        offset += 8 + 4 * usize::from(sources) + 4 * aux_words;
        if offset > igmp.len() {
            return None;
        }
    }
    Some(records)
}

/// An IGMPv3 report with one record without sources (RFC 9776 §4.2): TO_EX({}) is what a
/// Linux host sends when an application joins a group.
pub fn v3_report(kind: u8, group: Ipv4Addr) -> Vec<u8> {
    let mut message = vec![0x22, 0, 0, 0, 0, 0, 0, 1, kind, 0, 0, 0];
    message.extend_from_slice(&group.octets());
    netlab::packet::fix_igmp_checksum(&mut message);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/test-strategy.md §5: TO_EX 239.1.2.3 and ALLOW 232.1.1.1 {192.0.2.2}.
    const V3_VECTOR: &str = "220038f20000000204000000ef01020305000001e8010101c0000202";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect()
    }

    #[test]
    fn known_vectors_parse() {
        let g = Ipv4Addr::new(239, 1, 2, 3);
        assert_eq!(
            Message::parse(&hex("1600f8faef010203")),
            Message::Report {
                version: 2,
                group: g
            }
        );
        assert_eq!(
            Message::parse(&hex("1700f7faef010203")).left_groups(),
            vec![g]
        );
        let v3 = Message::parse(&hex(V3_VECTOR));
        assert_eq!(
            v3.joined_groups(),
            vec![g, Ipv4Addr::new(232, 1, 1, 1)],
            "TO_EX({{}}) and ALLOW with a source both want the group"
        );
        assert_eq!(v3.report_version(), Some(3));
        assert_eq!(
            Message::parse(&hex("110aeef500000000")),
            Message::Query {
                group: Ipv4Addr::UNSPECIFIED
            }
        );
    }

    #[test]
    fn built_report_round_trips_with_a_valid_checksum() {
        let g = Ipv4Addr::new(239, 10, 0, 7);
        let bytes = v3_report(CHANGE_TO_EXCLUDE, g);
        assert_eq!(netlab::packet::internet_checksum(&bytes), 0);
        assert_eq!(Message::parse(&bytes).joined_groups(), vec![g]);
        let leave = Message::parse(&v3_report(CHANGE_TO_INCLUDE, g));
        assert_eq!(
            (leave.joined_groups(), leave.left_groups()),
            (vec![], vec![g])
        );
    }

    #[test]
    fn truncated_input_is_other() {
        let full = hex(V3_VECTOR);
        for len in 0..full.len() {
            assert_eq!(Message::parse(&full[..len]), Message::Other, "cut at {len}");
        }
    }
}
