//! What the engine asks the outside world to do: commands, each to be executed (the notices
//! that come beside them are in `notice.rs`).

use mrproxy_config::Role;
use mrproxy_types::{AnySourceFilter, AnySourceGroup, Family, IfIndex};
use mrproxy_wire::{igmp, mld};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    /// Start using the interface for this family: create its VIF/MIF (with `threshold` and
    /// `ratelimit`); on a downstream also join the report groups (224.0.0.2 and 224.0.0.22, or
    /// ff02::2 and ff02::16) so that leaves and v3 reports arrive.
    AttachInterface {
        family: Family,
        ifindex: IfIndex,
        name: String,
        role: Role,
        threshold: u8,
        ratelimit: u32,
    },
    /// Stop using it: delete the VIF/MIF, leave the report groups. Routes using it were already
    /// updated or deleted by earlier actions.
    DetachInterface { family: Family, ifindex: IfIndex },
    /// Send an IGMP message on `ifindex` (TTL 1, TOS 0xC0, Router Alert) from `source`.
    SendIgmp {
        ifindex: IfIndex,
        source: Ipv4Addr,
        destination: Ipv4Addr,
        message: igmp::Repr,
    },
    /// Send an MLD message on `ifindex` (hop limit 1, Router Alert) from link-local `source`.
    SendMld {
        ifindex: IfIndex,
        source: Ipv6Addr,
        destination: Ipv6Addr,
        message: mld::Repr,
    },
    /// Install or replace the forwarding entry for (source, group): accept on `iif`, copy to `oifs`
    /// (sorted; may be empty, which drops the traffic without further upcalls).
    SetRoute {
        #[serde(flatten)]
        sg: AnySourceGroup,
        iif: IfIndex,
        oifs: Vec<IfIndex>,
    },
    /// Remove the forwarding entry.
    DeleteRoute(AnySourceGroup),
    /// Make the router's host-side membership of `group` on upstream `ifindex` equal to
    /// (mode, sources). INCLUDE with no sources means "not a member" (leave).
    SetUpstreamMembership {
        ifindex: IfIndex,
        #[serde(flatten)]
        filter: AnySourceFilter,
    },
}

/// Why an input was not acted on. Each names the rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum RejectReason {
    /// The packet could not be decoded.
    Malformed(mrproxy_wire::Error),
    /// IGMP/MLD on an interface that is not a configured downstream (or upstream, for queries).
    NotDownstream,
    /// TTL / hop limit other than 1 (RFC 9776 §9, RFC 9777 §5).
    BadTtl(u8),
    /// A query without Router Alert while `routeralert require` is set (RFC 9776 §9.1).
    MissingRouterAlert,
    /// MLD from a non-link-local source, or from :: (RFC 9777 §5).
    BadSource,
    /// A report from an off-link IPv4 source (RFC 9776 §9; 0.0.0.0 is accepted).
    OffLinkSource,
    /// A query on a downstream from a source outside the link's own subnets (and point-to-point
    /// peer prefix): only a router on the link can be its querier (RFC 9776 §6.6.2).
    OffLinkQuerier,
    /// A group record listing a source that cannot send multicast: a multicast, unspecified,
    /// loopback or broadcast address, or one of ours. The whole record is dropped.
    BadRecordSource { group: IpAddr, source: IpAddr },
    /// More upcalls from one input interface than its `upcallrate` per second: ignored.
    UpcallRate {
        source: IpAddr,
        group: IpAddr,
        per_second: u32,
    },
    /// Every forwarding entry of the family (`maxtotalroutes`) is in use and forwards traffic:
    /// no entry for this (S,G).
    RouteLimit {
        source: IpAddr,
        group: IpAddr,
        limit: usize,
    },
    /// Our own packet looped back.
    OwnPacket,
    /// Link-local scope groups are never proxied (224.0.0.0/24, ff0x::/16 scopes 0–2).
    LinkLocalGroup(IpAddr),
    /// Not a multicast group.
    NotMulticast(IpAddr),
    /// Denied by whitelist/blacklist on this interface.
    GroupFiltered(IpAddr),
    /// EXCLUDE-mode or v1/v2/MLDv1 request for an SSM group (RFC 4604 §2.2.1).
    SsmExclude(IpAddr),
    /// An upstream source outside the upstream's networks and altnets.
    SourceNotAccepted { source: IpAddr, group: IpAddr },
    /// A per-interface limit was reached.
    Limit(String),
    /// A lower-version querier is on the link (RFC 9776 §7.3.1): set the interface version.
    OlderQuerier { from: IpAddr, version: u8 },
    /// The interface is not used in `family`: all `limit` VIFs/MIFs of the kernel are taken by
    /// other interfaces (docs/igmpproxy-differences.md D11). It gets one when another interface leaves.
    NoFreeVif {
        family: Family,
        name: String,
        limit: usize,
    },
}

impl RejectReason {
    /// The reason's name without its data, for counters and log fields.
    pub fn kind(&self) -> &'static str {
        match self {
            RejectReason::Malformed(_) => "Malformed",
            RejectReason::NotDownstream => "NotDownstream",
            RejectReason::BadTtl(_) => "BadTtl",
            RejectReason::MissingRouterAlert => "MissingRouterAlert",
            RejectReason::BadSource => "BadSource",
            RejectReason::OffLinkSource => "OffLinkSource",
            RejectReason::OffLinkQuerier => "OffLinkQuerier",
            RejectReason::BadRecordSource { .. } => "BadRecordSource",
            RejectReason::UpcallRate { .. } => "UpcallRate",
            RejectReason::RouteLimit { .. } => "RouteLimit",
            RejectReason::OwnPacket => "OwnPacket",
            RejectReason::LinkLocalGroup(_) => "LinkLocalGroup",
            RejectReason::NotMulticast(_) => "NotMulticast",
            RejectReason::GroupFiltered(_) => "GroupFiltered",
            RejectReason::SsmExclude(_) => "SsmExclude",
            RejectReason::SourceNotAccepted { .. } => "SourceNotAccepted",
            RejectReason::Limit(_) => "Limit",
            RejectReason::OlderQuerier { .. } => "OlderQuerier",
            RejectReason::NoFreeVif { .. } => "NoFreeVif",
        }
    }
}
