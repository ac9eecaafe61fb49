//! A serialisable snapshot of the whole engine, for the control socket and for tests.

use crate::afi::Afi;
use crate::family::FamilyState;
use crate::kernel::{KernelError, KernelObject};
use mrproxy_config::Role;
use mrproxy_membership::{PortSnapshot, Timestamp};
use mrproxy_types::{Family, FilterMode, IfIndex, InterfaceInfo, LinkFlags};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub uptime_ms: u64,
    pub interfaces: Vec<InterfaceStatus>,
    /// What each upstream interface requests, per group.
    pub upstreams: Vec<UpstreamStatus>,
    pub routes: Vec<RouteStatus>,
    /// Rejected inputs by reason (the [`crate::RejectReason`] variant name).
    pub rejected: BTreeMap<String, u64>,
    /// Changes the kernel refused since start, per (interface, operation, reason).
    pub kernel_failures: Vec<KernelFailures>,
    /// Refused changes the engine asks for again (docs/kernel-faults.md).
    pub pending_retries: Vec<PendingRetry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KernelFailures {
    /// The interface concerned (a forwarding entry: its input), when known.
    pub ifindex: Option<IfIndex>,
    pub interface: Option<String>,
    /// `AttachInterface`, `UpstreamMembership` or `Route`.
    pub operation: String,
    /// The errno name (`ENOBUFS`, ...).
    pub reason: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingRetry {
    pub what: KernelObject,
    pub ifindex: Option<IfIndex>,
    pub interface: Option<String>,
    /// The latest refusal.
    pub error: KernelError,
    /// Refusals in a row so far.
    pub attempts: u32,
    /// When the engine asks again.
    pub next_retry_in_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceStatus {
    pub ifindex: IfIndex,
    pub name: String,
    /// The configured role.
    pub role: Role,
    pub flags: LinkFlags,
    /// One entry per family the interface is active in.
    pub families: Vec<FamilyStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FamilyStatus {
    pub family: Family,
    pub role: Role,
    /// Downstream: the address queries are sent from. `None` on a downstream means the link has
    /// no usable address (IPv4 / IPv6 link-local) and cannot query or be elected.
    pub query_source: Option<IpAddr>,
    /// Downstream: the router part (querier state, groups, hosts, counters).
    pub port: Option<PortStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PortStatus {
    V4(PortSnapshot<Ipv4Addr>),
    V6(PortSnapshot<Ipv6Addr>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamStatus {
    pub family: Family,
    pub ifindex: IfIndex,
    pub name: String,
    pub groups: Vec<UpstreamGroup>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamGroup {
    pub group: IpAddr,
    pub mode: FilterMode,
    pub sources: Vec<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteStatus {
    pub source: IpAddr,
    pub group: IpAddr,
    pub iif: IfIndex,
    pub oifs: Vec<IfIndex>,
    /// False: a source the upstream does not accept, installed with no outputs.
    pub accepted: bool,
}

/// How a family turns its port snapshot into the family-neutral enum.
pub trait SnapshotFamily: Afi {
    fn port_status(snapshot: PortSnapshot<Self>) -> PortStatus;
}

impl SnapshotFamily for Ipv4Addr {
    fn port_status(snapshot: PortSnapshot<Self>) -> PortStatus {
        PortStatus::V4(snapshot)
    }
}

impl SnapshotFamily for Ipv6Addr {
    fn port_status(snapshot: PortSnapshot<Self>) -> PortStatus {
        PortStatus::V6(snapshot)
    }
}

/// The family part of one interface's status, if the interface is active in that family.
pub fn family_status<A: SnapshotFamily>(
    family: &FamilyState<A>,
    now: Timestamp,
    info: &InterfaceInfo,
) -> Option<FamilyStatus> {
    if let Some(d) = family.downstreams.get(&info.ifindex) {
        return Some(FamilyStatus {
            family: A::FAMILY,
            role: Role::Downstream,
            query_source: d.address.map(A::into_ip),
            port: Some(A::port_status(d.port.snapshot(now))),
        });
    }
    family.upstreams.get(&info.ifindex).map(|_| FamilyStatus {
        family: A::FAMILY,
        role: Role::Upstream,
        query_source: None,
        port: None,
    })
}

pub fn upstreams<A: Afi>(family: &FamilyState<A>) -> Vec<UpstreamStatus> {
    family
        .upstreams
        .iter()
        .map(|(ifindex, u)| UpstreamStatus {
            family: A::FAMILY,
            ifindex: *ifindex,
            name: u.name.clone(),
            groups: u
                .joined
                .iter()
                .map(|(group, m)| UpstreamGroup {
                    group: group.into_ip(),
                    mode: m.mode,
                    sources: m.sources.iter().map(|s| s.into_ip()).collect(),
                })
                .collect(),
        })
        .collect()
}

pub fn routes<A: Afi>(family: &FamilyState<A>) -> Vec<RouteStatus> {
    family
        .routes
        .iter()
        .map(|((group, source), route)| RouteStatus {
            source: source.into_ip(),
            group: group.into_ip(),
            iif: route.iif,
            oifs: route.oifs.clone(),
            accepted: route.accepted,
        })
        .collect()
}

/// The pending retries of one family; `name` gives an interface's name.
pub fn pending_retries<A: Afi>(
    family: &FamilyState<A>,
    now: Timestamp,
    name: impl Fn(IfIndex) -> Option<String>,
) -> Vec<PendingRetry> {
    family
        .pending_retries()
        .map(|(what, ifindex, pending)| PendingRetry {
            what,
            ifindex,
            interface: ifindex.and_then(&name),
            error: pending.error.clone(),
            attempts: pending.attempts,
            next_retry_in_ms: pending.next_at.saturating_since(now).as_millis() as u64,
        })
        .collect()
}
