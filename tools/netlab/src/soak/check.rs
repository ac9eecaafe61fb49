//! The comparison at the end of a soak: what the hosts hold (the model) against what the
//! router's kernel does, per group: the output interfaces of every (S,G) forwarding entry
//! (`/proc/net/ip_mr_cache`, VIFs named through `/proc/net/ip_mr_vif`), the upstream
//! membership (`/proc/net/igmp`) and its source filter, as the router's kernel reports it to
//! an upstream querier (its IGMPv3 current-state records, RFC 9776 §5.2).
//!
//! `/proc/net/mcfilter` cannot serve for the source filter: it lists an interface's sources
//! only when the first group of the interface's list has some (`igmp_mcf_get_first` in
//! net/ipv4/igmp.c looks at that group alone), so it misses source lists.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::model::{Lan, Want};
use super::{SOURCES, SoakLab};
use crate::capture::{Capture, CaptureFilter, Direction, Injector};
use crate::igmp::{IS_EX, IS_IN, Message, Query};
use crate::kernel::{IgmpInterface, MfcEntry, Vif};

/// Maximum response time of the query that reads the upstream state.
const QUERY_RESPONSE: Duration = Duration::from_secs(1);

/// The router's kernel state the comparison reads.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// `/proc/net/ip_mr_vif`.
    pub vifs: Vec<Vif>,
    /// `/proc/net/ip_mr_cache`.
    pub mfc: Vec<MfcEntry>,
    /// `/proc/net/igmp`.
    pub igmp: Vec<IgmpInterface>,
    /// The upstream's current-state records: group → (record type, sources).
    pub upstream_records: BTreeMap<Ipv4Addr, (u8, BTreeSet<Ipv4Addr>)>,
}

impl Observed {
    /// Reads the router namespace's tables, and asks its kernel for its upstream state with
    /// an IGMPv3 general query from the source namespace (it answers within 1 s; the
    /// answers are awaited for that plus half a second).
    pub fn read(lab: &SoakLab) -> io::Result<Observed> {
        let capture = Capture::start(&lab.src, "s0", CaptureFilter::Igmp)?;
        let query = Message::Query {
            query: Query::General,
            max_response: QUERY_RESPONSE,
        };
        Injector::open(&lab.src, "s0")?.send_ipv4(&query.packet(SOURCES[0]))?;
        std::thread::sleep(QUERY_RESPONSE + Duration::from_millis(500));
        let mut upstream_records = BTreeMap::new();
        for packet in capture.take() {
            if packet.direction != Direction::Incoming {
                continue;
            }
            let Some(Message::V3Report { records }) = Message::parse(packet.payload()) else {
                continue;
            };
            for r in records {
                if matches!(r.kind, IS_IN | IS_EX) {
                    upstream_records.insert(r.group, (r.kind, r.sources.into_iter().collect()));
                }
            }
        }
        Ok(Observed {
            vifs: crate::vifs_v4(&lab.rtr)?,
            mfc: crate::mfc_v4(&lab.rtr)?,
            igmp: crate::igmp_memberships(&lab.rtr)?,
            upstream_records,
        })
    }
}

/// Every difference between the hosts' state and the kernel's, one line each (empty: none).
/// `lans` pairs each LAN's router interface with its hosts.
pub fn mismatches(
    lans: &[(&str, &Lan)],
    upstream: &str,
    groups: &[Ipv4Addr],
    sources: &[Ipv4Addr],
    observed: &Observed,
) -> Vec<String> {
    let mut out = Vec::new();
    let name = |vif: u32| crate::vif_name(&observed.vifs, vif).unwrap_or(format!("vif{vif}"));
    let upstream_vif = observed
        .vifs
        .iter()
        .find(|v| v.name == upstream)
        .map(|v| v.index);
    for &group in groups {
        for &source in sources {
            let expected: BTreeSet<String> = lans
                .iter()
                .filter(|(_, lan)| lan.wants(group, source))
                .map(|(ifname, _)| (*ifname).to_owned())
                .collect();
            let entry = observed
                .mfc
                .iter()
                .find(|e| e.group == IpAddr::V4(group) && e.origin == IpAddr::V4(source));
            let actual: BTreeSet<String> = entry
                .filter(|e| e.is_resolved())
                .map(|e| e.oif_vifs().into_iter().map(name).collect())
                .unwrap_or_default();
            if expected != actual {
                let state = match entry {
                    None => " (no entry)",
                    Some(e) if !e.is_resolved() => " (unresolved entry)",
                    Some(_) => "",
                };
                out.push(format!(
                    "({source}, {group}): hosts want it on {expected:?}, the kernel forwards to {actual:?}{state}"
                ));
            } else if let (Some(e), false) = (entry, expected.is_empty())
                && e.iif != upstream_vif
            {
                out.push(format!(
                    "({source}, {group}): input VIF {:?}, expected the upstream's {upstream_vif:?}",
                    e.iif
                ));
            }
        }
        out.extend(upstream_mismatch(lans, upstream, group, observed));
    }
    out
}

/// The upstream membership of `group` against the union of the LANs' requests (RFC 4605 §4.1:
/// any source if any LAN wants any source, else the union of the source lists).
fn upstream_mismatch(
    lans: &[(&str, &Lan)],
    upstream: &str,
    group: Ipv4Addr,
    observed: &Observed,
) -> Option<String> {
    let mut expected: Option<Want> = None;
    for (_, lan) in lans {
        expected = match (expected, lan.request(group)) {
            (Some(Want::AnySource), _) | (_, Some(Want::AnySource)) => Some(Want::AnySource),
            (Some(Want::Include(mut a)), Some(Want::Include(b))) => {
                a.extend(b);
                Some(Want::Include(a))
            }
            (a, b) => a.or(b),
        };
    }
    let joined = observed
        .igmp
        .iter()
        .any(|i| i.name == upstream && i.groups.contains(&group));
    let actual = match (joined, observed.upstream_records.get(&group)) {
        (false, _) => "not joined".to_owned(),
        (true, None) => "joined, but no record in its answer to a query".to_owned(),
        (true, Some((IS_EX, s))) if s.is_empty() => "any source".to_owned(),
        (true, Some((IS_IN, s))) => format!("sources {s:?}"),
        (true, Some((kind, s))) => format!("record type {kind} with {s:?}"),
    };
    let wanted = match &expected {
        None => "not joined".to_owned(),
        Some(Want::AnySource) => "any source".to_owned(),
        Some(Want::Include(s)) => format!("sources {s:?}"),
    };
    (actual != wanted).then(|| {
        format!("{group} upstream on {upstream}: hosts want {wanted}, the kernel has {actual}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{parse_igmp, parse_mfc, parse_vifs};

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    const VIFS: &str = "Interface      BytesIn  PktsIn  BytesOut PktsOut Flags Local    Remote
 0 up0               0       0         0       0 00000 01643CC6 00000000
 1 dn1               0       0         0       0 00000 010012C6 00000000
 2 dn2               0       0         0       0 00000 010412C6 00000000
";

    fn observed(mfc: &str, igmp: &str, records: &[(Ipv4Addr, u8, &[Ipv4Addr])]) -> Observed {
        Observed {
            vifs: parse_vifs(VIFS),
            mfc: parse_mfc(mfc),
            igmp: parse_igmp(igmp),
            upstream_records: records
                .iter()
                .map(|(g, k, s)| (*g, (*k, s.iter().copied().collect())))
                .collect(),
        }
    }

    #[test]
    fn forwarding_and_upstream_are_compared_per_source() {
        let (g, s1, s2) = (a("239.1.0.3"), a("198.51.100.2"), a("198.51.100.3"));
        let mut lan1 = Lan::new(a("198.18.0.10"), 2, vec![]);
        let lan2 = Lan::new(a("198.18.4.10"), 2, vec![]);
        lan1.hosts[1].groups.insert(g, Want::Include([s1].into()));
        // (s1, g) to dn1; (s2, g) nowhere: matches.
        let mfc = "Group    Origin   Iif     Pkts    Bytes    Wrong Oifs
030001EF 026433C6 0          5      500        0  1:1
030001EF 036433C6 0          5      500        0
";
        let igmp = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter
2\tup0       :     2      V3
\t\t\t\t010000E0     1 0:00000000\t\t0
\t\t\t\t030001EF     1 0:00000000\t\t0
";
        let lans = [("dn1", &lan1), ("dn2", &lan2)];
        let ok = observed(mfc, igmp, &[(g, IS_IN, &[s1])]);
        assert_eq!(
            mismatches(&lans, "up0", &[g], &[s1, s2], &ok),
            Vec::<String>::new()
        );
        // The source list upstream is wrong, and (s2, g) forwarded to dn2.
        let wrong_mfc = mfc.replace("500        0\n", "500        0  2:1\n");
        let bad = observed(&wrong_mfc, igmp, &[(g, IS_EX, &[])]);
        let found = mismatches(&lans, "up0", &[g], &[s1, s2], &bad);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("(198.51.100.3, 239.1.0.3)") && found[0].contains("dn2"));
        assert!(found[1].contains("any source"), "{}", found[1]);
        // Nobody wants the group: no entry and no upstream membership are right.
        let nobody = Lan::new(a("198.18.0.10"), 2, vec![]);
        let empty = [("dn1", &nobody), ("dn2", &lan2)];
        let none = observed("", "", &[]);
        assert!(mismatches(&empty, "up0", &[g], &[s1, s2], &none).is_empty());
        assert_eq!(mismatches(&lans, "up0", &[g], &[s1, s2], &none).len(), 2);
    }
}
