//! Builds the status document from the engine's snapshot and what the daemon keeps beside it:
//! interface names, message counters per interface, the kernel's route counters and when each
//! route was installed.

use super::model::{self, Document, snake_case};
use mrproxy_engine::{Family, FamilyStatus, KernelObject, PortStatus, Status};
use mrproxy_membership::{Address, Mode, PortSnapshot};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The kernel's counters of one forwarding entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteCounters {
    pub packets: u64,
    pub bytes: u64,
    pub wrong_interface: u64,
}

/// What the daemon adds to the engine's snapshot.
pub struct Extras<'a> {
    /// An interface's name from its index.
    pub name: &'a dyn Fn(u32) -> String,
    /// The kernel's counters of (source, group), `None` when it cannot tell.
    pub route_counters: &'a dyn Fn(IpAddr, IpAddr) -> Option<RouteCounters>,
    /// Seconds since (source, group) was installed.
    pub route_age: &'a dyn Fn(IpAddr, IpAddr) -> u64,
    pub counters: model::Stats,
}

pub fn family_name(family: Family) -> &'static str {
    match family {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

fn family_of(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "ipv4" } else { "ipv6" }
}

/// The version number operators know: IGMPv1–3, MLDv1–2 (RFC 9777 §8: MLDv1 is the
/// membership tables' version-2 mode).
fn version_number(family: Family, mode: Mode) -> u8 {
    match (family, mode) {
        (Family::V4, Mode::V1) => 1,
        (Family::V4, Mode::V2) => 2,
        (Family::V4, Mode::V3) => 3,
        (Family::V6, Mode::V1 | Mode::V2) => 1,
        (Family::V6, Mode::V3) => 2,
    }
}

pub fn document(status: Status, extras: Extras<'_>) -> Document {
    let name = extras.name;
    let mut doc = Document {
        schema: model::SCHEMA,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_seconds: status.uptime_ms / 1000,
        ..Document::default()
    };
    for i in &status.interfaces {
        let mut families = Vec::new();
        for f in &i.families {
            families.push(interface_family(f));
            match &f.port {
                Some(PortStatus::V4(p)) => port(&mut doc, &i.name, f.family, p),
                Some(PortStatus::V6(p)) => port(&mut doc, &i.name, f.family, p),
                None => {}
            }
        }
        doc.interfaces.push(model::Interface {
            name: i.name.clone(),
            ifindex: i.ifindex.0,
            role: snake_case(&format!("{:?}", i.role)),
            up: i.flags.up && i.flags.running,
            multicast: i.flags.multicast,
            point_to_point: i.flags.point_to_point,
            families,
        });
    }
    for u in &status.upstreams {
        for g in &u.groups {
            doc.upstream.push(model::UpstreamGroup {
                interface: u.name.clone(),
                family: family_name(u.family).to_owned(),
                group: g.group,
                mode: snake_case(&format!("{:?}", g.mode)),
                sources: g.sources.clone(),
            });
        }
    }
    for r in &status.pending_retries {
        doc.pending_retries.push(model::PendingRetry {
            what: operation(&r.what),
            object: object(&r.what, name),
            interface: r.interface.clone(),
            error: r.error.name.clone(),
            attempts: r.attempts,
            next_retry_in_ms: r.next_retry_in_ms,
        });
    }
    for r in &status.routes {
        let counters = (extras.route_counters)(r.source, r.group);
        doc.routes.push(model::Route {
            family: family_of(r.group).to_owned(),
            source: r.source,
            group: r.group,
            input: name(r.iif.0),
            outputs: r.oifs.iter().map(|o| name(o.0)).collect(),
            accepted: r.accepted,
            packets: counters.map(|c| c.packets),
            bytes: counters.map(|c| c.bytes),
            wrong_interface: counters.map(|c| c.wrong_interface),
            age_seconds: (extras.route_age)(r.source, r.group),
        });
    }
    doc.stats = extras.counters;
    for k in &status.kernel_failures {
        doc.stats.kernel_failures.push(model::KernelFailures {
            interface: k.interface.clone(),
            operation: operation_name(&k.operation),
            reason: k.reason.clone(),
            count: k.count,
        });
    }
    doc
}

fn interface_family(f: &FamilyStatus) -> model::InterfaceFamily {
    let (querier, querier_address, version) = match &f.port {
        Some(PortStatus::V4(p)) => querier(f, p),
        Some(PortStatus::V6(p)) => querier(f, p),
        None => (None, None, None),
    };
    model::InterfaceFamily {
        family: family_name(f.family).to_owned(),
        role: snake_case(&format!("{:?}", f.role)),
        address: f.query_source,
        querier,
        querier_address,
        version,
    }
}

fn querier<A: Address + Into<IpAddr>>(
    f: &FamilyStatus,
    p: &PortSnapshot<A>,
) -> (Option<String>, Option<IpAddr>, Option<u8>) {
    let (who, address) = if f.query_source.is_none() {
        ("none", p.querier_address.map(Into::into))
    } else if p.querier {
        ("self", f.query_source)
    } else {
        ("other", p.querier_address.map(Into::into))
    };
    (
        Some(who.to_owned()),
        address,
        Some(version_number(f.family, p.version)),
    )
}

/// The groups and hosts of one downstream port.
fn port<A: Address + Into<IpAddr>>(
    doc: &mut Document,
    interface: &str,
    family: Family,
    p: &PortSnapshot<A>,
) {
    let mut hosts: BTreeMap<IpAddr, Vec<IpAddr>> = BTreeMap::new();
    for g in &p.groups {
        let group: IpAddr = g.group.into();
        let excluded = g.filter_mode == "exclude";
        doc.groups.push(model::Group {
            interface: interface.to_owned(),
            family: family_name(family).to_owned(),
            group,
            mode: g.filter_mode.to_owned(),
            version: version_number(family, g.compat),
            expires_in_ms: g.group_timer_ms,
            sources: g
                .sources
                .iter()
                .map(|(s, ms)| model::Source {
                    address: (*s).into(),
                    // In EXCLUDE mode a source with no time left is an excluded one.
                    expires_in_ms: (!(excluded && *ms == 0)).then_some(*ms),
                })
                .collect(),
            hosts: g.hosts.iter().map(|h| (*h).into()).collect(),
        });
        for h in &g.hosts {
            hosts.entry((*h).into()).or_default().push(group);
        }
    }
    doc.hosts
        .extend(hosts.into_iter().map(|(host, groups)| model::Host {
            interface: interface.to_owned(),
            family: family_name(family).to_owned(),
            host,
            groups,
        }));
}

fn operation(what: &KernelObject) -> String {
    operation_name(what.operation())
}

/// The engine's operation names in the document's spelling.
fn operation_name(operation: &str) -> String {
    match operation {
        "AttachInterface" => "interface".to_owned(),
        other => snake_case(other),
    }
}

fn object(what: &KernelObject, name: &dyn Fn(u32) -> String) -> String {
    match what {
        KernelObject::Interface { family, ifindex } => {
            format!("{} {}", name(ifindex.0), family_name(*family))
        }
        KernelObject::UpstreamMembership { ifindex, group } => {
            format!("{group} on {}", name(ifindex.0))
        }
        KernelObject::Route { source, group } => format!("({source}, {group})"),
    }
}
