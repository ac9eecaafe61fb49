//! The input side of conformance scenarios: one JSON object per line, read like a protocol
//! trace. Every IGMP/MLD message is encoded to bytes with mrproxy-wire and decoded again, so
//! the engine sees exactly what the daemon would hand it.
//!
//! ```text
//! {"at": 0, "interface": {"if": 1, "name": "up0", "ipv4": ["192.0.2.1/24"], "ipv6": ["fe80::1/64"]}}
//! {"at": 0, "interface": {"if": 4, "name": "ppp0", "ipv4": ["203.0.113.1 peer 203.0.113.2/32"], "flags": ["up", "pointopoint", "multicast"]}}
//! {"at": 5, "removed": 4}
//! {"at": 10, "igmp": {"if": 2, "from": "198.51.100.10", "report": "239.1.2.3"}}
//! {"at": 10, "igmp": {"if": 2, "from": "198.51.100.10", "records": [["to_ex", "239.1.2.3", []]]}}
//! {"at": 10, "igmp": {"if": 2, "from": "198.51.100.2", "query": {"version": 3}, "ttl": 1, "ra": true}}
//! {"at": 10, "igmp": {"if": 2, "from": "198.51.100.2", "hex": "1164ee9b00000000"}}
//! {"at": 10, "mld": {"if": 2, "from": "fe80::10", "leave": "ff15::1"}}
//! {"at": 20, "upcall": {"iif": 1, "source": "192.0.2.99", "group": "239.1.2.3"}}
//! {"at": 20, "counters": {"source": "192.0.2.99", "group": "239.1.2.3", "packets": 0}}   (the kernel's counter from now on)
//! {"at": 99000, "advance": true}      (only fires the timers due until then)
//! {"at": 99000, "config": "phyint up0 upstream\n..."}
//! {"at": 99000, "check": "routes"}   (or "upstreams", "rejected", "kernel"): status, as an expected line
//! {"at": 10, "refused": {"what": {"UpstreamMembership": {"ifindex": 1, "group": "239.1.2.3"}},
//!            "error": {"errno": 105, "name": "ENOBUFS", "kind": "PerSocketLimit", "message": "…"}}}
//! {"at": 10, "confirmed": {"UpstreamMembership": {"ifindex": 1, "group": "239.1.2.3"}}}
//! ```
//! Messages: `v1_report`, `report` (IGMPv2 / MLDv1), `leave` (IGMPv2 leave / MLD done),
//! `records` (IGMPv3 / MLDv2 report; types is_in, is_ex, to_in, to_ex, allow, block),
//! `query` ({version, group, max_resp_ms, s, qrv, qqi_s, sources}), `hex` (raw message bytes).

use mrproxy_engine::{
    AnySourceGroup, Event, IfIndex, InterfaceInfo, KernelError, KernelObject, LinkFlags, V4Address,
    V6Address,
};
use mrproxy_wire::{RecordType, code, igmp, mld};
use serde::Deserialize;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// What one input line asks the harness to do.
pub enum Step {
    Event(Event),
    /// Only let time pass (timers fire).
    Advance,
    /// Record a part of the engine's status as an output line.
    Check(String),
    /// Set the kernel's packet counter of a forwarding entry (read at its next samples).
    Counters {
        source: IpAddr,
        group: IpAddr,
        packets: u64,
    },
}

pub fn parse_step(line: &Value) -> Result<Step, String> {
    let obj = line
        .as_object()
        .ok_or("an input line must be a JSON object")?;
    let field = |k: &str| obj.get(k).cloned();
    if let Some(v) = field("interface") {
        return Ok(Step::Event(Event::InterfaceChanged(interface(
            from_value(v)?,
        )?)));
    }
    if let Some(v) = field("removed") {
        return Ok(Step::Event(Event::InterfaceRemoved {
            ifindex: IfIndex(from_value(v)?),
        }));
    }
    if let Some(v) = field("igmp") {
        return igmp_event(from_value(v)?).map(Step::Event);
    }
    if let Some(v) = field("mld") {
        return mld_event(from_value(v)?).map(Step::Event);
    }
    if let Some(v) = field("upcall") {
        let u: Upcall = from_value(v)?;
        return Ok(Step::Event(Event::NoCache {
            iif: IfIndex(u.iif),
            sg: u.sg,
        }));
    }
    if let Some(v) = field("counters") {
        let c: Counters = from_value(v)?;
        return Ok(Step::Counters {
            source: c.source,
            group: c.group,
            packets: c.packets,
        });
    }
    if let Some(v) = field("refused") {
        let r: Refused = from_value(v)?;
        return Ok(Step::Event(Event::KernelRefused {
            what: r.what,
            error: r.error,
        }));
    }
    if let Some(v) = field("confirmed") {
        return Ok(Step::Event(Event::KernelConfirmed {
            what: from_value(v)?,
        }));
    }
    if let Some(v) = field("config") {
        let text: String = from_value(v)?;
        let config = mrproxy_config::parse(&text, "reload.conf").map_err(|e| e.to_string())?;
        return Ok(Step::Event(Event::ConfigReplaced(Box::new(config))));
    }
    if field("advance").is_some() {
        return Ok(Step::Advance);
    }
    if let Some(v) = field("check") {
        return Ok(Step::Check(from_value(v)?));
    }
    Err(format!("unknown input line {line}"))
}

fn from_value<T: for<'de> Deserialize<'de>>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct Upcall {
    iif: u32,
    /// "source" and "group", both of one family.
    #[serde(flatten)]
    sg: AnySourceGroup,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    what: KernelObject,
    error: KernelError,
}

#[derive(Deserialize)]
struct Counters {
    source: IpAddr,
    group: IpAddr,
    packets: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Interface {
    #[serde(rename = "if")]
    ifindex: u32,
    name: String,
    #[serde(default)]
    ipv4: Vec<String>,
    #[serde(default)]
    ipv6: Vec<String>,
    /// Default: up, running, multicast.
    flags: Option<Vec<String>>,
}

fn interface(i: Interface) -> Result<InterfaceInfo, String> {
    let flags = match i.flags {
        None => LinkFlags {
            up: true,
            running: true,
            multicast: true,
            loopback: false,
            point_to_point: false,
        },
        Some(list) => {
            let has = |f: &str| list.iter().any(|x| x == f);
            LinkFlags {
                up: has("up"),
                running: has("running"),
                multicast: has("multicast"),
                loopback: has("loopback"),
                point_to_point: has("pointopoint"),
            }
        }
    };
    let ipv4 = i
        .ipv4
        .iter()
        .map(|s| {
            address(s).map(|(address, prefix_len, peer)| V4Address {
                address,
                prefix_len,
                peer,
            })
        })
        .collect::<Result<_, _>>()?;
    let ipv6 = i
        .ipv6
        .iter()
        .map(|s| {
            address(s).map(|(address, prefix_len, peer)| V6Address {
                address,
                prefix_len,
                peer,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(InterfaceInfo {
        ifindex: IfIndex(i.ifindex),
        name: i.name,
        flags,
        ipv4,
        ipv6,
    })
}

/// "A/len" or "A peer P/len".
fn address<T: std::str::FromStr>(s: &str) -> Result<(T, u8, Option<T>), String> {
    let bad = || format!("bad interface address {s:?}");
    let (local, rest) = match s.split_once(" peer ") {
        Some((local, peer)) => (local, peer),
        None => ("", s),
    };
    let (addr, len) = rest.split_once('/').ok_or_else(bad)?;
    let addr: T = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    if local.is_empty() {
        Ok((addr, len, None))
    } else {
        Ok((local.parse().map_err(|_| bad())?, len, Some(addr)))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound = "A: Deserialize<'de>")]
struct Packet<A> {
    #[serde(rename = "if")]
    ifindex: u32,
    from: A,
    to: Option<A>,
    #[serde(default = "one")]
    ttl: u8,
    #[serde(default = "yes")]
    ra: bool,
    query: Option<QuerySpec<A>>,
    v1_report: Option<A>,
    report: Option<A>,
    leave: Option<A>,
    records: Option<Vec<(String, A, Vec<A>)>>,
    hex: Option<String>,
}

fn one() -> u8 {
    1
}
fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound = "A: Deserialize<'de>")]
struct QuerySpec<A> {
    version: u8,
    group: Option<A>,
    max_resp_ms: Option<u64>,
    #[serde(default)]
    s: bool,
    qrv: Option<u8>,
    qqi_s: Option<u64>,
    #[serde(default)]
    sources: Vec<A>,
}

fn record_type(name: &str) -> Result<RecordType, String> {
    Ok(match name {
        "is_in" => RecordType::ModeIsInclude,
        "is_ex" => RecordType::ModeIsExclude,
        "to_in" => RecordType::ChangeToInclude,
        "to_ex" => RecordType::ChangeToExclude,
        "allow" => RecordType::AllowNewSources,
        "block" => RecordType::BlockOldSources,
        other => RecordType::Unknown(
            other
                .parse()
                .map_err(|_| format!("unknown record type {other}"))?,
        ),
    })
}

fn hex_bytes(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or(format!("bad hex {s}"))
        })
        .collect()
}

fn igmp_event(p: Packet<Ipv4Addr>) -> Result<Event, String> {
    let all_routers = Ipv4Addr::new(224, 0, 0, 2);
    let v3_reports = Ipv4Addr::new(224, 0, 0, 22);
    let (repr, default_to) = if let Some(hex) = &p.hex {
        let bytes = hex_bytes(hex)?;
        let to = p.to.unwrap_or(v3_reports);
        return Ok(match igmp::Repr::parse_bytes(&bytes) {
            Ok(message) => Event::Igmp {
                ifindex: IfIndex(p.ifindex),
                source: p.from,
                destination: to,
                ttl: p.ttl,
                router_alert: p.ra,
                message,
            },
            Err(reason) => Event::Malformed {
                ifindex: IfIndex(p.ifindex),
                source: IpAddr::V4(p.from),
                reason,
            },
        });
    } else if let Some(q) = p.query {
        let group = q.group.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let max_resp = Duration::from_millis(q.max_resp_ms.unwrap_or(10_000));
        let repr = match q.version {
            1 => igmp::Repr::QueryV1 { group },
            2 => igmp::Repr::QueryV2 {
                max_resp_time: (max_resp.as_millis() / 100) as u8,
                group,
            },
            _ => igmp::Repr::QueryV3 {
                max_resp_code: code::igmp_max_resp_code(max_resp),
                group,
                s_flag: q.s,
                qrv: q.qrv.unwrap_or(2),
                qqic: code::igmp_qqic(Duration::from_secs(q.qqi_s.unwrap_or(125))),
                sources: q.sources,
            },
        };
        (
            repr,
            if group.is_unspecified() {
                Ipv4Addr::new(224, 0, 0, 1)
            } else {
                group
            },
        )
    } else if let Some(group) = p.v1_report {
        (igmp::Repr::ReportV1 { group }, group)
    } else if let Some(group) = p.report {
        (igmp::Repr::ReportV2 { group }, group)
    } else if let Some(group) = p.leave {
        (igmp::Repr::LeaveV2 { group }, all_routers)
    } else if let Some(records) = p.records {
        let records = records
            .into_iter()
            .map(|(t, group, sources)| {
                Ok(igmp::GroupRecord {
                    record_type: record_type(&t)?,
                    group,
                    sources,
                    aux_data: vec![],
                })
            })
            .collect::<Result<_, String>>()?;
        (igmp::Repr::ReportV3 { records }, v3_reports)
    } else {
        return Err("an igmp line needs a message".into());
    };
    // Through the codec and back, as the daemon would receive it.
    let message =
        igmp::Repr::parse_bytes(&repr.to_bytes()).map_err(|e| format!("wire round trip: {e}"))?;
    Ok(Event::Igmp {
        ifindex: IfIndex(p.ifindex),
        source: p.from,
        destination: p.to.unwrap_or(default_to),
        ttl: p.ttl,
        router_alert: p.ra,
        message,
    })
}

fn mld_event(p: Packet<Ipv6Addr>) -> Result<Event, String> {
    let all_routers: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
    let v2_reports: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
    let (repr, default_to) = if let Some(q) = p.query {
        let group = q.group.unwrap_or(Ipv6Addr::UNSPECIFIED);
        let max_resp = Duration::from_millis(q.max_resp_ms.unwrap_or(10_000));
        let repr = match q.version {
            1 => mld::Repr::QueryV1 {
                max_resp_delay: max_resp.as_millis() as u16,
                group,
            },
            _ => mld::Repr::QueryV2 {
                max_resp_code: code::mld_max_resp_code(max_resp),
                group,
                s_flag: q.s,
                qrv: q.qrv.unwrap_or(2),
                qqic: code::mld_qqic(Duration::from_secs(q.qqi_s.unwrap_or(125))),
                sources: q.sources,
            },
        };
        (
            repr,
            if group.is_unspecified() {
                Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
            } else {
                group
            },
        )
    } else if let Some(group) = p.report {
        (mld::Repr::ReportV1 { group }, group)
    } else if let Some(group) = p.leave {
        (mld::Repr::DoneV1 { group }, all_routers)
    } else if let Some(records) = p.records {
        let records = records
            .into_iter()
            .map(|(t, group, sources)| {
                Ok(mld::AddressRecord {
                    record_type: record_type(&t)?,
                    group,
                    sources,
                    aux_data: vec![],
                })
            })
            .collect::<Result<_, String>>()?;
        (mld::Repr::ReportV2 { records }, v2_reports)
    } else {
        return Err("an mld line needs a message (hex is IGMP only)".into());
    };
    let to = p.to.unwrap_or(default_to);
    let bytes = repr.to_bytes(&p.from, &to);
    let message = mld::Repr::parse_bytes(&bytes, &p.from, &to)
        .map_err(|e| format!("wire round trip: {e}"))?;
    Ok(Event::Mld {
        ifindex: IfIndex(p.ifindex),
        source: p.from,
        destination: to,
        hop_limit: p.ttl,
        router_alert: p.ra,
        message,
    })
}
