//! `rereport S` on an upstream: every S seconds, send the upstream membership again as
//! current-state records (MODE_IS_INCLUDE / MODE_IS_EXCLUDE, RFC 9776 §4.2.12, RFC 9777
//! §5.2.12), for networks that stop a stream when no report arrives in time (pali/igmpproxy#56,
//! pali/igmpproxy#94, docs/igmpproxy-differences.md D22; docs/protocol-rules.md §5 "optional,
//! not in any RFC"). The kernel's own host part still answers queries; these reports only add
//! keep-alives.

use crate::action::Action;
use crate::afi::Afi;
use crate::merge::Membership;
use mrproxy_types::{FilterMode, IfIndex};
use mrproxy_wire::record::WireAddr;
use mrproxy_wire::{GroupRecord, RecordType};

/// Bytes of records per report, so a report fits a 1500-octet link with IP and Router Alert.
const RECORD_BUDGET: usize = 1400;

fn record_type(mode: FilterMode) -> RecordType {
    match mode {
        FilterMode::Include => RecordType::ModeIsInclude,
        FilterMode::Exclude => RecordType::ModeIsExclude,
    }
}

/// Splits records into batches whose encoded length stays within the budget. A record too
/// large on its own still goes out, alone.
fn batches<A: WireAddr>(
    records: impl IntoIterator<Item = GroupRecord<A>>,
) -> Vec<Vec<GroupRecord<A>>> {
    let mut out: Vec<Vec<_>> = Vec::new();
    let mut used = 0;
    for record in records {
        let size = record.buffer_len();
        match out.last_mut() {
            Some(batch) if used + size <= RECORD_BUDGET => batch.push(record),
            _ => {
                out.push(vec![record]);
                used = 0;
            }
        }
        used += size;
    }
    out
}

/// IGMPv3 / MLDv2 reports from `source` on `ifindex` with one current-state record per
/// joined group.
pub fn reports<'a, A: Afi>(
    ifindex: IfIndex,
    source: A,
    joined: impl IntoIterator<Item = (&'a A, &'a Membership<A>)>,
) -> Vec<Action> {
    let records = joined.into_iter().map(|(group, m)| GroupRecord {
        record_type: record_type(m.mode),
        group: *group,
        sources: m.sources.iter().copied().collect(),
        aux_data: Vec::new(),
    });
    batches(records)
        .into_iter()
        .map(|records| A::report_action(ifindex, source, records))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrproxy_wire::igmp;
    use std::collections::BTreeSet;
    use std::net::Ipv4Addr;

    fn exclude_all() -> Membership<Ipv4Addr> {
        Membership {
            mode: FilterMode::Exclude,
            sources: BTreeSet::new(),
        }
    }

    #[test]
    fn one_report_carries_every_group_as_current_state() {
        let g1 = Ipv4Addr::new(239, 1, 2, 3);
        let g2 = Ipv4Addr::new(232, 1, 1, 1);
        let s = Ipv4Addr::new(198, 51, 100, 2);
        let ssm = Membership {
            mode: FilterMode::Include,
            sources: BTreeSet::from([s]),
        };
        let asm = exclude_all();
        let joined = [(&g2, &ssm), (&g1, &asm)];
        let actions = reports(IfIndex(1), Ipv4Addr::new(192, 0, 2, 1), joined);
        let [
            Action::SendIgmp {
                destination,
                message: igmp::Repr::ReportV3 { records },
                ..
            },
        ] = actions.as_slice()
        else {
            panic!("expected one IGMPv3 report, got {actions:?}");
        };
        assert_eq!(*destination, igmp::ALL_IGMPV3_ROUTERS);
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[0].record_type, records[0].group),
            (RecordType::ModeIsInclude, g2)
        );
        assert_eq!(records[0].sources, vec![s]);
        assert_eq!(
            (records[1].record_type, records[1].group),
            (RecordType::ModeIsExclude, g1)
        );
        assert!(records[1].sources.is_empty());
    }

    #[test]
    fn many_groups_are_split_so_each_report_fits_the_link() {
        let groups: Vec<Ipv4Addr> = (0..1000u32)
            .map(|i| Ipv4Addr::from(0xef00_0000 + i))
            .collect();
        let m = exclude_all();
        let actions = reports(
            IfIndex(1),
            Ipv4Addr::UNSPECIFIED,
            groups.iter().map(|g| (g, &m)),
        );
        let mut seen = 0;
        for a in &actions {
            let Action::SendIgmp { message, .. } = a else {
                panic!("{a:?}")
            };
            assert!(
                message.to_bytes().len() <= RECORD_BUDGET + 8,
                "report too large"
            );
            if let igmp::Repr::ReportV3 { records } = message {
                seen += records.len();
            }
        }
        assert_eq!(seen, 1000, "every group is re-reported exactly once");
        assert_eq!(actions.len(), 1000usize.div_ceil(RECORD_BUDGET / 8));
    }

    /// MLDv2 records are 20 octets plus 16 per source (RFC 9777 §5.2.4), and the reports go
    /// to ff02::16.
    #[test]
    fn mld_reports_are_split_by_their_own_record_size() {
        use mrproxy_wire::mld;
        use std::net::Ipv6Addr;
        let groups: Vec<Ipv6Addr> = (0..1000u128)
            .map(|i| Ipv6Addr::from(0xff3e_u128 << 112 | i))
            .collect();
        let s: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let ssm = Membership {
            mode: FilterMode::Include,
            sources: BTreeSet::from([s]),
        };
        let source: Ipv6Addr = "fe80::1".parse().unwrap();
        let actions = reports(IfIndex(1), source, groups.iter().map(|g| (g, &ssm)));
        let mut seen = 0;
        for a in &actions {
            let Action::SendMld {
                destination,
                message: mld::Repr::ReportV2 { records },
                ..
            } = a
            else {
                panic!("{a:?}")
            };
            assert_eq!(*destination, mld::ALL_MLDV2_ROUTERS);
            assert!(
                records
                    .iter()
                    .all(|r| r.record_type == RecordType::ModeIsInclude)
            );
            seen += records.len();
        }
        assert_eq!(seen, 1000, "every group is re-reported exactly once");
        assert_eq!(actions.len(), 1000usize.div_ceil(RECORD_BUDGET / 36));
    }
}
