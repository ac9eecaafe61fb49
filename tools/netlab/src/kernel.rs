//! The kernel's multicast routing and membership state of a namespace, read from `/proc` and
//! `ip -j mroute` (docs/kernel-interface.md §11, docs/test-strategy.md §8).
//!
//! The parsers are lenient: a line they do not understand is skipped rather than failing the
//! whole read, since the formats are the kernel's and only the fields below are asserted on.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::netns::Netns;

/// One entry of the multicast forwarding cache (`/proc/net/ip_mr_cache` or `ip6_mr_cache`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfcEntry {
    /// The group (G).
    pub group: IpAddr,
    /// The source (S).
    pub origin: IpAddr,
    /// Input VIF; `None` for an unresolved entry (the kernel's `Iif -1`: packets queued
    /// waiting for the daemon).
    pub iif: Option<u32>,
    /// Output VIFs with their TTL thresholds.
    pub oifs: Vec<(u32, u8)>,
    /// Packets forwarded by this entry.
    pub packets: u64,
    /// Bytes forwarded by this entry.
    pub bytes: u64,
    /// Packets that arrived on another interface than `iif`.
    pub wrong_if: u64,
}

impl MfcEntry {
    /// Whether the daemon has resolved the entry (it has an input VIF).
    pub fn is_resolved(&self) -> bool {
        self.iif.is_some()
    }

    /// The output VIF indices.
    pub fn oif_vifs(&self) -> Vec<u32> {
        self.oifs.iter().map(|(vif, _)| *vif).collect()
    }

    /// The output interfaces by name, looked up in `vifs`.
    pub fn oif_names(&self, vifs: &[Vif]) -> Vec<String> {
        self.oifs
            .iter()
            .filter_map(|(vif, _)| vif_name(vifs, *vif))
            .collect()
    }
}

/// One virtual interface (`/proc/net/ip_mr_vif` or `ip6_mr_vif`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vif {
    /// VIF index (what [`MfcEntry::iif`] and [`MfcEntry::oifs`] refer to).
    pub index: u32,
    /// Interface name (`none` once the interface is gone).
    pub name: String,
    /// Bytes received.
    pub bytes_in: u64,
    /// Packets received.
    pub pkts_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Packets sent.
    pub pkts_out: u64,
    /// `VIFF_*` flags.
    pub flags: u32,
}

/// The name of VIF `index` in `vifs`.
pub fn vif_name(vifs: &[Vif], index: u32) -> Option<String> {
    vifs.iter()
        .find(|v| v.index == index)
        .map(|v| v.name.clone())
}

/// IGMP host state of one interface (`/proc/net/igmp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgmpInterface {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// The IGMP version the host side speaks there (`"V3"`, or `"V2"`/`"V1"` after hearing an
    /// older querier).
    pub querier: String,
    /// Groups joined on the interface (including 224.0.0.1).
    pub groups: Vec<Ipv4Addr>,
}

/// The IPv4 MFC of `ns`.
pub fn mfc_v4(ns: &Netns) -> io::Result<Vec<MfcEntry>> {
    Ok(parse_mfc(&ns.read_proc("net/ip_mr_cache")?))
}

/// The IPv6 MFC of `ns`.
pub fn mfc_v6(ns: &Netns) -> io::Result<Vec<MfcEntry>> {
    Ok(parse_mfc(&ns.read_proc("net/ip6_mr_cache")?))
}

/// The IPv4 VIF table of `ns`.
pub fn vifs_v4(ns: &Netns) -> io::Result<Vec<Vif>> {
    Ok(parse_vifs(&ns.read_proc("net/ip_mr_vif")?))
}

/// The IPv6 VIF (MIF) table of `ns`.
pub fn vifs_v6(ns: &Netns) -> io::Result<Vec<Vif>> {
    Ok(parse_vifs(&ns.read_proc("net/ip6_mr_vif")?))
}

/// IGMP memberships of `ns` per interface.
pub fn igmp_memberships(ns: &Netns) -> io::Result<Vec<IgmpInterface>> {
    Ok(parse_igmp(&ns.read_proc("net/igmp")?))
}

/// MLD memberships of `ns`: interface name → groups joined there.
pub fn mld_memberships(ns: &Netns) -> io::Result<BTreeMap<String, Vec<Ipv6Addr>>> {
    Ok(parse_igmp6(&ns.read_proc("net/igmp6")?))
}

/// Whether the host side of `ns` has joined `group` on `ifname` (either family).
pub fn is_member(ns: &Netns, ifname: &str, group: IpAddr) -> io::Result<bool> {
    Ok(match group {
        IpAddr::V4(g) => igmp_memberships(ns)?
            .iter()
            .any(|i| i.name == ifname && i.groups.contains(&g)),
        IpAddr::V6(g) => mld_memberships(ns)?
            .get(ifname)
            .is_some_and(|groups| groups.contains(&g)),
    })
}

/// `ip -j -s mroute show` (or `ip -6 …`) in `ns` as JSON: an array of objects with `src`,
/// `dst`, `iif`, `multipath[].oif`, `state`, `packets`, `bytes`. An empty table is `[]`.
pub fn mroute_json(ns: &Netns, v6: bool) -> io::Result<serde_json::Value> {
    let args: &[&str] = if v6 {
        &["-6", "-j", "-s", "mroute", "show"]
    } else {
        &["-j", "-s", "mroute", "show"]
    };
    let text = ns.ip(args)?;
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Array(Vec::new()));
    }
    serde_json::from_str(&text)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("ip mroute JSON: {e}")))
}

/// Parses `ip_mr_cache` / `ip6_mr_cache` text:
/// `Group Origin Iif Pkts Bytes Wrong Oifs…`, with `Oifs` as `vif:ttl` pairs.
pub fn parse_mfc(text: &str) -> Vec<MfcEntry> {
    text.lines().skip(1).filter_map(parse_mfc_line).collect()
}

fn parse_mfc_line(line: &str) -> Option<MfcEntry> {
    let mut fields = line.split_whitespace();
    let group = parse_proc_addr(fields.next()?)?;
    let origin = parse_proc_addr(fields.next()?)?;
    let iif: i64 = fields.next()?.parse().ok()?;
    let packets = fields.next()?.parse().ok()?;
    let bytes = fields.next()?.parse().ok()?;
    let wrong_if = fields.next()?.parse().ok()?;
    let oifs = fields
        .filter_map(|pair| {
            let (vif, ttl) = pair.split_once(':')?;
            Some((vif.parse().ok()?, ttl.parse().ok()?))
        })
        .collect();
    Some(MfcEntry {
        group,
        origin,
        iif: u32::try_from(iif).ok(),
        oifs,
        packets,
        bytes,
        wrong_if,
    })
}

/// An address as `/proc` prints it: 8 hex digits of the IPv4 address in network order read as a
/// native integer (`030201EF` = 239.1.2.3 on little-endian hosts), 32 hex digits of IPv6
/// (`%pi6`), or the colon form (`%pI6`).
fn parse_proc_addr(text: &str) -> Option<IpAddr> {
    if text.contains(':') {
        return text.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    match text.len() {
        8 => u32::from_str_radix(text, 16)
            .ok()
            .map(|v| IpAddr::V4(Ipv4Addr::from(v.to_ne_bytes()))),
        32 => u128::from_str_radix(text, 16)
            .ok()
            .map(|v| IpAddr::V6(Ipv6Addr::from(v))),
        _ => None,
    }
}

/// Parses `ip_mr_vif` / `ip6_mr_vif` text:
/// `Idx Interface BytesIn PktsIn BytesOut PktsOut Flags [Local Remote]`.
pub fn parse_vifs(text: &str) -> Vec<Vif> {
    text.lines().skip(1).filter_map(parse_vif_line).collect()
}

fn parse_vif_line(line: &str) -> Option<Vif> {
    let mut fields = line.split_whitespace();
    Some(Vif {
        index: fields.next()?.parse().ok()?,
        name: fields.next()?.to_owned(),
        bytes_in: fields.next()?.parse().ok()?,
        pkts_in: fields.next()?.parse().ok()?,
        bytes_out: fields.next()?.parse().ok()?,
        pkts_out: fields.next()?.parse().ok()?,
        flags: u32::from_str_radix(fields.next()?, 16).ok()?,
    })
}

/// Parses `/proc/net/igmp`: an interface line `Idx Device : Count Querier`, then one
/// tab-indented line per group `Group Users Timer Reporter`.
pub fn parse_igmp(text: &str) -> Vec<IgmpInterface> {
    let mut interfaces: Vec<IgmpInterface> = Vec::new();
    for line in text.lines().skip(1) {
        if line.starts_with('\t') {
            let group = line.split_whitespace().next().and_then(parse_proc_addr);
            if let (Some(IpAddr::V4(group)), Some(current)) = (group, interfaces.last_mut()) {
                current.groups.push(group);
            }
        } else if let Some((head, tail)) = line.split_once(':') {
            let mut head = head.split_whitespace();
            let (Some(Ok(ifindex)), Some(name)) = (head.next().map(str::parse), head.next()) else {
                continue;
            };
            let querier = tail
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            interfaces.push(IgmpInterface {
                ifindex,
                name: name.to_owned(),
                querier,
                groups: Vec::new(),
            });
        }
    }
    interfaces
}

/// Parses `/proc/net/igmp6`: `Idx Device Group(32 hex) Users Flags Timer` per line.
pub fn parse_igmp6(text: &str) -> BTreeMap<String, Vec<Ipv6Addr>> {
    let mut groups: BTreeMap<String, Vec<Ipv6Addr>> = BTreeMap::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(_), Some(name), Some(addr)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if let Some(IpAddr::V6(group)) = parse_proc_addr(addr) {
            groups.entry(name.to_owned()).or_default().push(group);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `/proc/net/ip_mr_cache` format of docs/kernel-interface.md §11: a resolved route with
    /// two outputs, an unresolved one, and a line that is not a route.
    #[cfg(target_endian = "little")]
    #[test]
    fn mfc_cache_lines_parse() {
        let text = "Group    Origin   Iif     Pkts    Bytes    Wrong Oifs\n\
                    030201EF 026433C6 0         51     2472        0  1:1    2:3  \n\
                    030201EF 026433C6 -1         0        0        0\n\
                    garbage line\n";
        let entries = parse_mfc(text);
        assert_eq!(entries.len(), 2);
        let group = IpAddr::V4(Ipv4Addr::new(239, 1, 2, 3));
        let origin = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
        assert_eq!(
            entries[0],
            MfcEntry {
                group,
                origin,
                iif: Some(0),
                oifs: vec![(1, 1), (2, 3)],
                packets: 51,
                bytes: 2472,
                wrong_if: 0
            }
        );
        assert!(!entries[1].is_resolved());
        assert!(entries[1].oifs.is_empty());
    }

    #[test]
    fn ipv6_mfc_in_both_address_forms() {
        let text = "Group                            Origin                           Iif      Pkts  Bytes     Wrong  Oifs\n\
                    ff0e:0000:0000:0000:0000:0000:0001:0002 2001:0db8:0001:0000:0000:0000:0000:0002 1         3      270        0  0:1\n\
                    ff0e0000000000000000000000010002 20010db8000100000000000000000002 -1  0 0 0\n";
        let entries = parse_mfc(text);
        assert_eq!(entries.len(), 2);
        let group: IpAddr = "ff0e::1:2".parse().unwrap();
        let origin: IpAddr = "2001:db8:1::2".parse().unwrap();
        for e in &entries {
            assert_eq!((e.group, e.origin), (group, origin));
        }
        assert_eq!(
            (entries[0].iif, entries[0].oif_vifs(), entries[0].packets),
            (Some(1), vec![0], 3)
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn vif_table_and_names() {
        let text = "Interface      BytesIn  PktsIn  BytesOut PktsOut Flags Local    Remote\n\
                    \x20 0 up0            2472      51         0       0 00000 016433C6 00000000\n\
                    \x20 1 dn1               0       0      2472      51 00008 010200C0 00000000\n";
        let vifs = parse_vifs(text);
        assert_eq!(vifs.len(), 2);
        assert_eq!(
            (
                vifs[1].index,
                vifs[1].name.as_str(),
                vifs[1].pkts_out,
                vifs[1].flags
            ),
            (1, "dn1", 51, 8)
        );
        let entry = parse_mfc("hdr\n030201EF 026433C6 0 1 2 0 1:1\n").remove(0);
        assert_eq!(entry.oif_names(&vifs), ["dn1"]);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn igmp_membership_tables() {
        let text = "Idx\tDevice    :  Count Querier\tGroup    Users Timer\tReporter\n\
                    1\tlo        :     1      V3\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n\
                    3\te0        :     2      V2\n\
                    \t\t\t\t030201EF     1 1:00000123\t\t1\n\
                    \t\t\t\t010000E0     1 0:00000000\t\t0\n";
        let interfaces = parse_igmp(text);
        assert_eq!(interfaces.len(), 2);
        assert_eq!(
            (
                interfaces[1].ifindex,
                interfaces[1].name.as_str(),
                interfaces[1].querier.as_str()
            ),
            (3, "e0", "V2")
        );
        assert_eq!(
            interfaces[1].groups,
            [Ipv4Addr::new(239, 1, 2, 3), Ipv4Addr::new(224, 0, 0, 1)]
        );

        let text6 = "1    lo              ff020000000000000000000000000001     1 0000000C 0\n\
                     3    e0              ff0e0000000000000000000000010002     1 00000004 0\n";
        let mld = parse_igmp6(text6);
        assert_eq!(
            mld.get("e0"),
            Some(&vec!["ff0e::1:2".parse::<Ipv6Addr>().unwrap()])
        );
    }
}
