//! The status document: what `mrproxy status --json` prints, what the tables and the Prometheus
//! metrics are rendered from, and what the status socket answers to `status`.
//!
//! This is an interface for operators and their scripts, kept apart from the engine's internal
//! snapshot so that the engine can change without breaking them: field names are lower-case
//! `snake_case`, enumerations are lower-case strings, interfaces are named, times are integers
//! with their unit in the name. `schema` changes only when a field changes meaning or goes
//! away; new fields may appear. docs/status.md documents every field with an example.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The schema number of this document.
pub const SCHEMA: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub schema: u32,
    /// mrproxy's version.
    pub version: String,
    pub uptime_seconds: u64,
    pub interfaces: Vec<Interface>,
    /// Every group some downstream LAN asks for, per interface and family.
    pub groups: Vec<Group>,
    /// The hosts heard on each downstream and the groups each one wants.
    pub hosts: Vec<Host>,
    /// What mrproxy asks for as a host on each upstream interface.
    pub upstream: Vec<UpstreamGroup>,
    /// Kernel changes refused and asked for again (docs/kernel-faults.md).
    pub pending_retries: Vec<PendingRetry>,
    /// The kernel's forwarding entries mrproxy installed.
    pub routes: Vec<Route>,
    pub stats: Stats,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub ifindex: u32,
    /// The configured role: `upstream`, `downstream` or `disabled`.
    pub role: String,
    /// Administratively up and running (carrier).
    pub up: bool,
    pub multicast: bool,
    /// Point-to-point (PPP, tun).
    pub point_to_point: bool,
    /// The families the interface is used in.
    pub families: Vec<InterfaceFamily>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InterfaceFamily {
    /// `ipv4` or `ipv6`.
    pub family: String,
    pub role: String,
    /// Downstream: the address queries are sent from; absent when the link has none.
    pub address: Option<IpAddr>,
    /// Downstream: `self` (mrproxy is the querier), `other` (another router is) or `none` (no
    /// address to query from). Absent on an upstream.
    pub querier: Option<String>,
    /// The querier's address, mrproxy's own when it is the querier.
    pub querier_address: Option<IpAddr>,
    /// Downstream: the protocol version the router part runs (IGMP 1–3, MLD 1–2).
    pub version: Option<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub interface: String,
    pub family: String,
    pub group: IpAddr,
    /// `include` or `exclude` (RFC 9776 §6.1, RFC 9777 §7.1).
    pub mode: String,
    /// The group's compatibility version: the oldest host version heard (RFC 9776 §7.3.2).
    pub version: u8,
    /// EXCLUDE mode: the group timer; absent in INCLUDE mode.
    pub expires_in_ms: Option<u64>,
    pub sources: Vec<Source>,
    pub hosts: Vec<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub address: IpAddr,
    /// The source timer; absent for a source excluded in EXCLUDE mode.
    pub expires_in_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub interface: String,
    pub family: String,
    pub host: IpAddr,
    pub groups: Vec<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpstreamGroup {
    pub interface: String,
    pub family: String,
    pub group: IpAddr,
    pub mode: String,
    pub sources: Vec<IpAddr>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingRetry {
    /// `interface`, `upstream_membership` or `route`.
    pub what: String,
    /// What exactly: an interface and family, a group on an upstream, a (source, group).
    pub object: String,
    pub interface: Option<String>,
    /// The errno name of the latest refusal (`ENOBUFS`, …).
    pub error: String,
    pub attempts: u32,
    pub next_retry_in_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub family: String,
    pub source: IpAddr,
    pub group: IpAddr,
    pub input: String,
    pub outputs: Vec<String>,
    /// False: a source the upstream's networks and altnets do not cover (installed with no
    /// outputs, so that the kernel stops asking).
    pub accepted: bool,
    /// The kernel's counters of the entry; absent when the kernel could not be asked.
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    /// Packets of the group that arrived on another interface than `input`.
    pub wrong_interface: Option<u64>,
    /// Since the entry was first installed.
    pub age_seconds: u64,
}

/// For tests and examples: an IPv4 route with unspecified addresses and no counters.
impl Default for Route {
    fn default() -> Route {
        Route {
            family: "ipv4".to_owned(),
            source: IpAddr::from([0, 0, 0, 0]),
            group: IpAddr::from([0, 0, 0, 0]),
            input: String::new(),
            outputs: Vec::new(),
            accepted: true,
            packets: None,
            bytes: None,
            wrong_interface: None,
            age_seconds: 0,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub interfaces: Vec<InterfaceCounters>,
    /// Rejected inputs that belong to no interface, by reason.
    pub dropped_elsewhere: BTreeMap<String, u64>,
    pub kernel_failures: Vec<KernelFailures>,
    pub netlink: NetlinkCounters,
}

/// Messages per interface. `received` and `sent` are keyed by message type (`igmp_query_v3`,
/// `igmp_report_v2`, `igmp_leave`, `mld_report_v2`, `mld_done`, …), `dropped` by reason
/// (`bad_ttl`, `group_filtered`, `limit`, …: docs/status.md lists them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InterfaceCounters {
    pub interface: String,
    pub received: BTreeMap<String, u64>,
    pub sent: BTreeMap<String, u64>,
    pub dropped: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelFailures {
    pub interface: Option<String>,
    /// `interface`, `upstream_membership` or `route`.
    pub operation: String,
    pub reason: String,
    pub count: u64,
}

/// The interface monitor's counters (docs/interfaces.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetlinkCounters {
    pub overruns: u64,
    pub redumps: u64,
    pub reconnects: u64,
}

/// `CamelCase` → `snake_case`, for names taken from Rust enumerations.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_become_snake_case() {
        assert_eq!(snake_case("BadTtl"), "bad_ttl");
        assert_eq!(snake_case("OffLinkQuerier"), "off_link_querier");
        assert_eq!(snake_case("Limit"), "limit");
    }

    #[test]
    fn a_document_round_trips_through_json() {
        let doc = Document {
            schema: SCHEMA,
            version: "0.1.0".into(),
            routes: vec![Route {
                family: "ipv4".into(),
                source: "192.0.2.9".parse().unwrap(),
                group: "239.1.1.1".parse().unwrap(),
                input: "up0".into(),
                outputs: vec!["dn1".into()],
                accepted: true,
                packets: Some(7),
                ..Route::default()
            }],
            ..Document::default()
        };
        let text = serde_json::to_string(&doc).unwrap();
        assert!(text.contains("\"packets\":7"), "{text}");
        assert_eq!(serde_json::from_str::<Document>(&text).unwrap(), doc);
    }
}
