//! `rereport S` on an upstream: every S seconds, send the upstream membership again as
//! current-state records (MODE_IS_INCLUDE / MODE_IS_EXCLUDE, RFC 9776 §4.2.12, RFC 9777
//! §5.2.12), for networks that stop a stream when no report arrives in time (pali/igmpproxy#56,
//! pali/igmpproxy#94, docs/igmpproxy-differences.md D22; docs/protocol-rules.md §5 "optional,
//! not in any RFC"). The kernel's own host part still answers queries; these reports only add
//! keep-alives.

use crate::action::Action;
use crate::merge::Membership;
use mrproxy_types::FilterMode;
use mrproxy_types::IfIndex;
use mrproxy_wire::{RecordType, igmp, mld};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Bytes of records per report, so a report fits a 1500-octet link with IP and Router Alert.
const RECORD_BUDGET: usize = 1400;
/// IGMPv3 report destination (RFC 9776 §4.2.14) and MLDv2 report destination (RFC 9777 §5.2.14).
const IGMPV3_REPORTS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
const MLDV2_REPORTS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);

fn record_type(mode: FilterMode) -> RecordType {
    match mode {
        FilterMode::Include => RecordType::ModeIsInclude,
        FilterMode::Exclude => RecordType::ModeIsExclude,
    }
}

/// Splits `(group, membership)` into batches whose encoded records stay within the budget
/// (`fixed` octets per record plus `per_source` per source). A record too large on its own
/// still goes out, alone.
fn batches<'a, A: Ord>(
    joined: impl IntoIterator<Item = (&'a A, &'a Membership<A>)>,
    fixed: usize,
    per_source: usize,
) -> Vec<Vec<(&'a A, &'a Membership<A>)>> {
    let mut out: Vec<Vec<_>> = Vec::new();
    let mut used = 0;
    for (group, m) in joined {
        let size = fixed + per_source * m.sources.len();
        match out.last_mut() {
            Some(batch) if used + size <= RECORD_BUDGET => batch.push((group, m)),
            _ => {
                out.push(vec![(group, m)]);
                used = 0;
            }
        }
        used += size;
    }
    out
}

/// IGMPv3 reports from `source` (0.0.0.0 on an unnumbered upstream: RFC 9776 §4.2.13 lets
/// reports come from it) on `ifindex`.
pub fn igmp_reports<'a>(
    ifindex: IfIndex,
    source: Ipv4Addr,
    joined: impl IntoIterator<Item = (&'a Ipv4Addr, &'a Membership<Ipv4Addr>)>,
) -> Vec<Action> {
    batches(joined, 8, 4)
        .into_iter()
        .map(|batch| Action::SendIgmp {
            ifindex,
            source,
            destination: IGMPV3_REPORTS,
            message: igmp::Repr::ReportV3 {
                records: batch
                    .into_iter()
                    .map(|(group, m)| igmp::GroupRecord {
                        record_type: record_type(m.mode),
                        group: *group,
                        sources: m.sources.iter().copied().collect(),
                        aux_data: Vec::new(),
                    })
                    .collect(),
            },
        })
        .collect()
}

/// MLDv2 reports from the link-local `source` on `ifindex`.
pub fn mld_reports<'a>(
    ifindex: IfIndex,
    source: Ipv6Addr,
    joined: impl IntoIterator<Item = (&'a Ipv6Addr, &'a Membership<Ipv6Addr>)>,
) -> Vec<Action> {
    batches(joined, 20, 16)
        .into_iter()
        .map(|batch| Action::SendMld {
            ifindex,
            source,
            destination: MLDV2_REPORTS,
            message: mld::Repr::ReportV2 {
                records: batch
                    .into_iter()
                    .map(|(group, m)| mld::AddressRecord {
                        record_type: record_type(m.mode),
                        group: *group,
                        sources: m.sources.iter().copied().collect(),
                        aux_data: Vec::new(),
                    })
                    .collect(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

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
        let actions = igmp_reports(IfIndex(1), Ipv4Addr::new(192, 0, 2, 1), joined);
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
        assert_eq!(*destination, IGMPV3_REPORTS);
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
        let actions = igmp_reports(
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
}
