//! Which group requests a downstream may make: scope, group filters and SSM rules, applied per
//! group record so that one bad record never costs the others.

use crate::action::RejectReason;
use crate::afi::Afi;
use ipnet::IpNet;
use mrproxy_config::InterfaceSettings;
use mrproxy_membership::{Message, RecordKind};

/// The checks every requested group passes before the router part sees it.
/// `asm` = the request asks for all sources (v1/v2/MLDv1 report or leave, IS_EX/TO_EX record).
pub fn check_group<A: Afi>(
    group: A,
    asm: bool,
    settings: &InterfaceSettings,
    ssm_ranges: &[IpNet],
) -> Result<(), RejectReason> {
    let ip = group.into_ip();
    if !group.is_multicast_group() {
        return Err(RejectReason::NotMulticast(ip));
    }
    // igmpproxy's D22/D26: proxying 224.0.0.x (e.g. 224.0.0.22) upstream breaks streams.
    if group.is_link_local_group() {
        return Err(RejectReason::LinkLocalGroup(ip));
    }
    if !settings.allows_group(ip) {
        return Err(RejectReason::GroupFiltered(ip));
    }
    // RFC 4604 §2.2.1: in the SSM range an SSM-aware router ignores IS_EX and TO_EX records and
    // IGMPv1/v2/MLDv1 reports and leaves, so an SSM group is never joined as ASM.
    if asm && ssm_ranges.iter().any(|range| range.contains(&ip)) {
        return Err(RejectReason::SsmExclude(ip));
    }
    Ok(())
}

/// The sources a group record lists must be able to send: unicast, and not one of our own
/// addresses (`is_own`). A record naming another kind of address is not from a sane host, and
/// is dropped whole: keeping the rest would change its meaning (TO_IN{bad} would become a leave).
pub fn check_sources<A: Afi>(
    group: A,
    sources: &[A],
    is_own: &dyn Fn(&A) -> bool,
) -> Result<(), RejectReason> {
    match sources.iter().find(|s| !s.is_unicast_source() || is_own(s)) {
        Some(bad) => Err(RejectReason::BadRecordSource {
            group: group.into_ip(),
            source: bad.into_ip(),
        }),
        None => Ok(()),
    }
}

/// Applies [`check_group`] and [`check_sources`] to every group a message asks for. Returns the
/// message with only the acceptable parts (None when nothing is left) and the rejections.
pub fn filter_message<A: Afi>(
    message: Message<A>,
    settings: &InterfaceSettings,
    ssm_ranges: &[IpNet],
    is_own: &dyn Fn(&A) -> bool,
) -> (Option<Message<A>>, Vec<RejectReason>) {
    let single = |group: A| check_group(group, true, settings, ssm_ranges);
    match message {
        Message::Query(_) => (Some(message), Vec::new()),
        Message::ReportV1 { group } | Message::ReportV2 { group } | Message::Leave { group } => {
            match single(group) {
                Ok(()) => (Some(message), Vec::new()),
                Err(reason) => (None, vec![reason]),
            }
        }
        Message::ReportV3 { records } => {
            let mut rejected = Vec::new();
            let records: Vec<_> = records
                .into_iter()
                .filter(|r| {
                    let asm = matches!(r.kind, RecordKind::IsExclude | RecordKind::ToExclude);
                    let checked = check_group(r.group, asm, settings, ssm_ranges)
                        .and_then(|()| check_sources(r.group, &r.sources, is_own));
                    match checked {
                        Ok(()) => true,
                        Err(reason) => {
                            rejected.push(reason);
                            false
                        }
                    }
                })
                .collect();
            let kept = if records.is_empty() {
                None
            } else {
                Some(Message::ReportV3 { records })
            };
            (kept, rejected)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrproxy_config::GroupFilter;
    use mrproxy_membership::Record;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn ssm() -> Vec<IpNet> {
        vec!["232.0.0.0/8".parse().unwrap(), "ff30::/12".parse().unwrap()]
    }

    #[test]
    fn scope_rules() {
        let s = InterfaceSettings::default();
        let ip = |a: &str| -> IpAddr { a.parse().unwrap() };
        assert_eq!(
            check_group(v4("224.0.0.22"), true, &s, &ssm()),
            Err(RejectReason::LinkLocalGroup(ip("224.0.0.22")))
        );
        assert_eq!(
            check_group(v4("192.0.2.1"), true, &s, &ssm()),
            Err(RejectReason::NotMulticast(ip("192.0.2.1")))
        );
        assert_eq!(check_group(v4("224.0.1.1"), true, &s, &ssm()), Ok(()));
        // SSDP is admin-scoped, not link-local: proxied unless the operator denies it.
        assert_eq!(check_group(v4("239.255.255.250"), true, &s, &ssm()), Ok(()));
        for g in ["ff02::16", "ff01::1", "ff00::1", "ff32::1"] {
            let g: Ipv6Addr = g.parse().unwrap();
            assert_eq!(
                check_group(g, false, &s, &ssm()),
                Err(RejectReason::LinkLocalGroup(IpAddr::V6(g)))
            );
        }
        assert_eq!(
            check_group("ff0e::1".parse::<Ipv6Addr>().unwrap(), true, &s, &ssm()),
            Ok(())
        );
        assert_eq!(
            check_group("ff15::1".parse::<Ipv6Addr>().unwrap(), true, &s, &ssm()),
            Ok(())
        );
    }

    #[test]
    fn ssm_only_rejects_any_source_requests() {
        let s = InterfaceSettings::default();
        let g = v4("232.1.1.1");
        assert_eq!(
            check_group(g, true, &s, &ssm()),
            Err(RejectReason::SsmExclude(IpAddr::V4(g)))
        );
        assert_eq!(check_group(g, false, &s, &ssm()), Ok(()));
        let g6: Ipv6Addr = "ff3e::8000:1".parse().unwrap();
        assert_eq!(
            check_group(g6, true, &s, &ssm()),
            Err(RejectReason::SsmExclude(IpAddr::V6(g6)))
        );
    }

    #[test]
    fn blacklist_denies_ssdp() {
        let s = InterfaceSettings {
            group_filters: vec![GroupFilter {
                allow: false,
                prefix: "239.255.255.250/32".parse().unwrap(),
            }],
            ..InterfaceSettings::default()
        };
        let ssdp = v4("239.255.255.250");
        assert_eq!(
            check_group(ssdp, true, &s, &ssm()),
            Err(RejectReason::GroupFiltered(IpAddr::V4(ssdp)))
        );
        assert_eq!(check_group(v4("239.1.2.3"), true, &s, &ssm()), Ok(()));
    }

    #[test]
    fn one_bad_record_keeps_the_others() {
        let s = InterfaceSettings::default();
        let rec = |kind, g: &str, sources: Vec<Ipv4Addr>| Record {
            kind,
            group: v4(g),
            sources,
        };
        let message = Message::ReportV3 {
            records: vec![
                rec(RecordKind::ToExclude, "224.0.0.251", vec![]),
                rec(RecordKind::ToExclude, "239.1.2.3", vec![]),
                rec(RecordKind::IsExclude, "232.1.1.1", vec![]),
                rec(RecordKind::Allow, "232.1.1.1", vec![v4("192.0.2.9")]),
            ],
        };
        let (kept, rejected) = filter_message(message, &s, &ssm(), &|_| false);
        assert_eq!(
            kept,
            Some(Message::ReportV3 {
                records: vec![
                    rec(RecordKind::ToExclude, "239.1.2.3", vec![]),
                    rec(RecordKind::Allow, "232.1.1.1", vec![v4("192.0.2.9")]),
                ]
            })
        );
        assert_eq!(
            rejected,
            vec![
                RejectReason::LinkLocalGroup("224.0.0.251".parse().unwrap()),
                RejectReason::SsmExclude("232.1.1.1".parse().unwrap())
            ]
        );
    }

    #[test]
    fn v2_report_and_leave_for_ssm_group_are_dropped() {
        let s = InterfaceSettings::default();
        for message in [
            Message::ReportV2 {
                group: v4("232.0.0.9"),
            },
            Message::Leave {
                group: v4("232.0.0.9"),
            },
        ] {
            let (kept, rejected) = filter_message(message, &s, &ssm(), &|_| false);
            assert_eq!(kept, None);
            assert_eq!(
                rejected,
                vec![RejectReason::SsmExclude("232.0.0.9".parse().unwrap())]
            );
        }
    }
}
