//! The comparison at the end of a soak: what the hosts hold (the model) against what the
//! router's kernel does, per group: the output interfaces of every (S,G) forwarding entry
//! (`/proc/net/ip_mr_cache`, VIFs named through `/proc/net/ip_mr_vif`) and the upstream
//! membership (`/proc/net/igmp`, with the source filter of `/proc/net/mcfilter`).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr};

use super::model::{Lan, Want};
use crate::kernel::{IgmpInterface, MfcEntry, Vif};
use crate::netns::Netns;

/// The router's kernel state the comparison reads.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// `/proc/net/ip_mr_vif`.
    pub vifs: Vec<Vif>,
    /// `/proc/net/ip_mr_cache`.
    pub mfc: Vec<MfcEntry>,
    /// `/proc/net/igmp`.
    pub igmp: Vec<IgmpInterface>,
    /// `/proc/net/mcfilter`: (interface, group, source) → (include count, exclude count).
    pub filters: BTreeMap<(String, Ipv4Addr, Ipv4Addr), (u64, u64)>,
}

impl Observed {
    /// Reads the router namespace's tables.
    pub fn read(rtr: &Netns) -> io::Result<Observed> {
        Ok(Observed {
            vifs: crate::vifs_v4(rtr)?,
            mfc: crate::mfc_v4(rtr)?,
            igmp: crate::igmp_memberships(rtr)?,
            filters: parse_mcfilter(&rtr.read_proc("net/mcfilter")?),
        })
    }
}

/// `/proc/net/mcfilter`: `Idx Device MCA SRC INC EXC`, addresses as `0x` + 8 hex digits in
/// host order as the kernel prints a big-endian value (so 0xef010203 is 239.1.2.3).
pub fn parse_mcfilter(text: &str) -> BTreeMap<(String, Ipv4Addr, Ipv4Addr), (u64, u64)> {
    let addr = |s: &str| {
        u32::from_str_radix(s.strip_prefix("0x")?, 16)
            .ok()
            .map(Ipv4Addr::from)
    };
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [_, ifname, group, source, inc, exc] = f.as_slice() else {
                return None;
            };
            Some((
                ((*ifname).to_owned(), addr(group)?, addr(source)?),
                (inc.parse().ok()?, exc.parse().ok()?),
            ))
        })
        .collect()
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
            } else if let (Some(e), false) = (entry, expected.is_empty()) {
                if e.iif != upstream_vif {
                    out.push(format!(
                        "({source}, {group}): input VIF {:?}, expected the upstream's {upstream_vif:?}",
                        e.iif
                    ));
                }
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
    let (mut include, mut exclude) = (BTreeSet::new(), BTreeSet::new());
    for ((ifname, g, s), (inc, exc)) in &observed.filters {
        if ifname == upstream && *g == group {
            if *inc > 0 {
                include.insert(*s);
            }
            if *exc > 0 {
                exclude.insert(*s);
            }
        }
    }
    let actual = match (joined, include.is_empty(), exclude.is_empty()) {
        (false, _, _) => "not joined".to_owned(),
        (true, true, true) => "any source".to_owned(),
        (true, _, true) => format!("sources {include:?}"),
        (true, _, _) => format!("include {include:?} exclude {exclude:?}"),
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

    fn observed(mfc: &str, igmp: &str, mcfilter: &str) -> Observed {
        Observed {
            vifs: parse_vifs(VIFS),
            mfc: parse_mfc(mfc),
            igmp: parse_igmp(igmp),
            filters: parse_mcfilter(mcfilter),
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
        let filter = "Idx Device        MCA        SRC    INC    EXC
  2 up0        0xef010003 0xc6336402      1      0
";
        let lans = [("dn1", &lan1), ("dn2", &lan2)];
        let ok = observed(mfc, igmp, filter);
        assert_eq!(
            mismatches(&lans, "up0", &[g], &[s1, s2], &ok),
            Vec::<String>::new()
        );
        // The source list upstream is wrong, and (s2, g) forwarded to dn2.
        let wrong_mfc = mfc.replace("500        0\n", "500        0  2:1\n");
        let bad = observed(&wrong_mfc, igmp, "");
        let found = mismatches(&lans, "up0", &[g], &[s1, s2], &bad);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("(198.51.100.3, 239.1.0.3)") && found[0].contains("dn2"));
        assert!(found[1].contains("any source"), "{}", found[1]);
        // Nobody wants the group: no entry and no upstream membership are right.
        let nobody = Lan::new(a("198.18.0.10"), 2, vec![]);
        let empty = [("dn1", &nobody), ("dn2", &lan2)];
        let none = observed("", "", "");
        assert!(mismatches(&empty, "up0", &[g], &[s1, s2], &none).is_empty());
        assert_eq!(mismatches(&lans, "up0", &[g], &[s1, s2], &none).len(), 2);
    }
}
