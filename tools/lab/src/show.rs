//! One-line descriptions of what the lab sees: IGMP on the wire, forwarding entries, hosts.

use mrproxy_wire::{RecordType, igmp};
use std::net::IpAddr;

/// "IGMPv3 report: TO_EX(239.1.2.3, {})" and the like.
pub fn igmp_summary(bytes: &[u8]) -> String {
    match igmp::Repr::parse_bytes(bytes) {
        Ok(igmp::Repr::QueryV1 { .. }) => "IGMPv1 general query".into(),
        Ok(igmp::Repr::QueryV2 { group, .. }) if group.is_unspecified() => {
            "IGMPv2 general query".into()
        }
        Ok(igmp::Repr::QueryV2 { group, .. }) => format!("IGMPv2 group-specific query for {group}"),
        Ok(igmp::Repr::QueryV3 {
            group,
            sources,
            s_flag,
            ..
        }) => {
            let s = if s_flag { " (S flag)" } else { "" };
            match (group.is_unspecified(), sources.is_empty()) {
                (true, _) => "IGMPv3 general query".into(),
                (false, true) => format!("IGMPv3 group-specific query for {group}{s}"),
                (false, false) => {
                    format!("IGMPv3 group-and-source query for {group} {sources:?}{s}")
                }
            }
        }
        Ok(igmp::Repr::ReportV1 { group }) => format!("IGMPv1 report for {group}"),
        Ok(igmp::Repr::ReportV2 { group }) => format!("IGMPv2 report for {group}"),
        Ok(igmp::Repr::LeaveV2 { group }) => format!("IGMPv2 leave for {group}"),
        Ok(igmp::Repr::ReportV3 { records }) => {
            let r: Vec<String> = records
                .iter()
                .map(|r| format!("{}({}, {:?})", record(r.record_type), r.group, r.sources))
                .collect();
            format!("IGMPv3 report: {}", r.join(" "))
        }
        Err(e) => format!("malformed IGMP ({e})"),
    }
}

fn record(t: RecordType) -> &'static str {
    match t {
        RecordType::ModeIsInclude => "IS_IN",
        RecordType::ModeIsExclude => "IS_EX",
        RecordType::ChangeToInclude => "TO_IN",
        RecordType::ChangeToExclude => "TO_EX",
        RecordType::AllowNewSources => "ALLOW",
        RecordType::BlockOldSources => "BLOCK",
        RecordType::Unknown(_) => "UNKNOWN",
    }
}

/// Whether an IGMP message is about a link-local group only (the hosts' own 224.0.0.x
/// reports): shown in the lab would be noise.
pub fn is_link_local_noise(bytes: &[u8]) -> bool {
    let ll = |g: &std::net::Ipv4Addr| g.octets()[..3] == [224, 0, 0];
    match igmp::Repr::parse_bytes(bytes) {
        Ok(
            igmp::Repr::ReportV2 { group }
            | igmp::Repr::LeaveV2 { group }
            | igmp::Repr::ReportV1 { group },
        ) => ll(&group),
        Ok(igmp::Repr::ReportV3 { records }) => records.iter().all(|r| ll(&r.group)),
        _ => false,
    }
}

/// The kernel's forwarding entries as lines "(S, G) up0 → dn1 dn2".
pub fn mfc_lines(json: &serde_json::Value) -> Vec<String> {
    let mut lines = Vec::new();
    for e in json.as_array().cloned().unwrap_or_default() {
        let oifs: Vec<String> = e["multipath"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|o| o["oif"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let oifs = if oifs.is_empty() {
            "(nowhere: nobody asked)".to_owned()
        } else {
            oifs.join(" ")
        };
        lines.push(format!(
            "({}, {}) {} → {}   [{} packets]",
            e["src"].as_str().unwrap_or("?"),
            e["dst"].as_str().unwrap_or("?"),
            e["iif"].as_str().unwrap_or("?"),
            oifs,
            e["packets"].as_u64().unwrap_or(0)
        ));
    }
    lines
}

/// Upstream memberships from `mrproxy status` JSON: "up0: 239.1.2.3 EXCLUDE {}".
pub fn upstream_lines(status: &serde_json::Value) -> Vec<String> {
    let mut lines = Vec::new();
    for u in status["upstreams"].as_array().cloned().unwrap_or_default() {
        let name = u["name"]
            .as_str()
            .or_else(|| u["interface"].as_str())
            .unwrap_or("upstream")
            .to_owned();
        for g in u["groups"].as_array().cloned().unwrap_or_default() {
            lines.push(format!(
                "{name}: {} {} {}",
                g["group"].as_str().unwrap_or("?"),
                g["mode"].as_str().unwrap_or("?"),
                g["sources"]
            ));
        }
    }
    lines
}

pub fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Downstream group state from `mrproxy status`: "dn1 (querier, IGMP): 239.1.2.3 exclude, viewers 192.0.2.10".
pub fn group_lines(status: &serde_json::Value) -> Vec<String> {
    let mut lines = Vec::new();
    for i in status["interfaces"].as_array().cloned().unwrap_or_default() {
        for f in i["families"].as_array().cloned().unwrap_or_default() {
            let port = &f["port"];
            if port.is_null() || f["family"].as_str() != Some("V4") {
                continue;
            }
            let role = if port["querier"].as_bool() == Some(true) {
                "querier"
            } else {
                "NOT querier"
            };
            let groups = port["groups"].as_array().cloned().unwrap_or_default();
            if groups.is_empty() {
                lines.push(format!(
                    "{} ({role}): no groups",
                    i["name"].as_str().unwrap_or("?")
                ));
            }
            for g in groups {
                let hosts: Vec<String> = g["hosts"]
                    .as_array()
                    .map(|h| {
                        h.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let sources: Vec<String> = g["sources"]
                    .as_array()
                    .map(|s| {
                        s.iter()
                            .filter_map(|x| x[0].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let sources = if sources.is_empty() {
                    String::new()
                } else {
                    format!(" sources {sources:?}")
                };
                lines.push(format!(
                    "{} ({role}): {} {}{sources}, viewers [{}]",
                    i["name"].as_str().unwrap_or("?"),
                    g["group"].as_str().unwrap_or("?"),
                    g["filter_mode"].as_str().unwrap_or("?"),
                    hosts.join(", ")
                ));
            }
        }
    }
    lines
}
