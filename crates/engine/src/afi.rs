//! What differs between IPv4/IGMP and IPv6/MLD, so that the rest of the engine is written once.

use crate::action::{Action, RejectReason};
use crate::convert;
use crate::joined::JoinedGroups;
use crate::link::LinkNets;
use crate::rereport;
use ipnet::IpNet;
use mrproxy_config::InterfaceSettings;
use mrproxy_membership::{Address, Mode, Outgoing, PortConfig};
use mrproxy_types::{Family, IfIndex, InterfaceAddress, InterfaceInfo, IpFamily};
use mrproxy_wire::record::WireAddr;
use mrproxy_wire::{GroupRecord, igmp, mld};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address family as the engine needs it: the membership crate's [`Address`] and the
/// shared [`IpFamily`] (family, conversions) plus the family's scoping rules, settings,
/// interface addresses and wire format.
pub trait Afi: Address + IpFamily + WireAddr {
    fn is_multicast_group(&self) -> bool {
        self.into_ip().is_multicast()
    }
    /// Link-local scope is never proxied: 224.0.0.0/24 (RFC 5771 §4: "not forwarded by
    /// routers"), IPv6 multicast scopes 0, 1 and 2 (RFC 4291 §2.7).
    fn is_link_local_group(&self) -> bool;

    /// `ipv4 on|off` / `ipv6 on|off`.
    fn enabled_in(settings: &InterfaceSettings) -> bool;
    /// The version the router part runs on a downstream link.
    fn port_version(settings: &InterfaceSettings) -> Mode;
    /// The version number operators know ("IGMPv2", "MLDv1") for a membership [`Mode`].
    fn version_number(mode: Mode) -> u8;

    /// The address our queries are sent from: the primary IPv4 address, or the first IPv6
    /// link-local address (RFC 9777 §5: MLD messages are sent from a link-local source).
    fn query_source(info: &InterfaceInfo) -> Option<Self>;
    /// The interface's addresses of this family.
    fn addresses(info: &InterfaceInfo) -> &[InterfaceAddress<Self>];
    /// Whether an address of the interface names one of the link's networks: every IPv4
    /// address; every IPv6 address but the link-local ones (fe80::/10 is on every link).
    fn names_link_network(&self) -> bool;
    /// The networks that are "on" this link: its subnets, and on point-to-point links the peer
    /// prefix (IFA_ADDRESS), whatever the other link flags are (igmpproxy's D20).
    fn link_networks(info: &InterfaceInfo) -> Vec<IpNet> {
        let mut nets = Vec::new();
        for a in Self::addresses(info)
            .iter()
            .filter(|a| a.address.names_link_network())
        {
            // `ip addr add L peer P/n`: the far end and its prefix are the link's network.
            for ip in std::iter::once(a.address).chain(a.peer) {
                if let Ok(net) = IpNet::new(ip.into_ip(), a.prefix_len) {
                    nets.push(net.trunc());
                }
            }
        }
        nets
    }

    /// Source rules for a message received on a link (before any protocol processing).
    fn check_source(&self, is_query: bool, link: &LinkNets) -> Result<(), RejectReason>;
    /// The stricter rule for a query on a downstream, where it takes part in the querier
    /// election: only a router on the link may become its querier.
    fn check_querier(&self, link: &LinkNets) -> Result<(), RejectReason>;
    /// Whether `self` can be the source of multicast traffic named in a group record (a
    /// unicast address; the caller also refuses our own).
    fn is_unicast_source(&self) -> bool;
    /// Whether traffic from `self` arriving on an upstream with these networks is accepted.
    fn upstream_source_accepted(&self, link: &LinkNets) -> bool;

    /// An IGMP or MLD message.
    type Message;
    /// All IGMPv3 / MLDv2 routers (224.0.0.22, ff02::16), where reports go (RFC 9776
    /// §4.2.14, RFC 9777 §5.2.14).
    const REPORT_DESTINATION: Self;
    /// The action sending `message` from `source` on `ifindex` to `destination`.
    fn send_action(
        ifindex: IfIndex,
        source: Self,
        destination: Self,
        message: Self::Message,
    ) -> Action;
    /// The query a port asked for.
    fn query_message(outgoing: &Outgoing<Self>, config: &PortConfig) -> Self::Message;
    /// An IGMPv3 / MLDv2 report of `records`.
    fn report_message(records: Vec<GroupRecord<Self>>) -> Self::Message;

    /// The action sending a query a port asked for, from `source` on `ifindex`.
    fn query_action(
        ifindex: IfIndex,
        source: Self,
        outgoing: &Outgoing<Self>,
        config: &PortConfig,
    ) -> Action {
        let message = Self::query_message(outgoing, config);
        Self::send_action(ifindex, source, outgoing.destination, message)
    }

    /// The source of a report sent on a link whose address is `address`; `None` when the
    /// family cannot send one without an address.
    fn report_source(address: Option<Self>) -> Option<Self>;

    /// The action sending an IGMPv3 / MLDv2 report with `records` from `source` on `ifindex`
    /// to all IGMPv3 / MLDv2 routers.
    fn report_action(ifindex: IfIndex, source: Self, records: Vec<GroupRecord<Self>>) -> Action {
        let message = Self::report_message(records);
        Self::send_action(ifindex, source, Self::REPORT_DESTINATION, message)
    }

    /// The `rereport` keep-alive: current-state reports of everything `joined` on an upstream,
    /// from `source` (the link's address; none available = what the family allows, or nothing).
    fn rereport_actions(
        ifindex: IfIndex,
        source: Option<Self>,
        joined: &JoinedGroups<Self>,
    ) -> Vec<Action> {
        Self::report_source(source)
            .map_or_else(Vec::new, |s| rereport::reports(ifindex, s, joined.iter()))
    }
}

impl Afi for Ipv4Addr {
    fn is_link_local_group(&self) -> bool {
        let [a, b, c, _] = self.octets();
        a == 224 && b == 0 && c == 0
    }
    fn enabled_in(settings: &InterfaceSettings) -> bool {
        settings.ipv4
    }
    fn port_version(settings: &InterfaceSettings) -> Mode {
        match settings.igmp_version {
            1 => Mode::V1,
            2 => Mode::V2,
            _ => Mode::V3,
        }
    }
    fn version_number(mode: Mode) -> u8 {
        match mode {
            Mode::V1 => 1,
            Mode::V2 => 2,
            Mode::V3 => 3,
        }
    }
    fn query_source(info: &InterfaceInfo) -> Option<Self> {
        info.ipv4.first().map(|a| a.address)
    }
    fn addresses(info: &InterfaceInfo) -> &[InterfaceAddress<Self>] {
        &info.ipv4
    }
    fn names_link_network(&self) -> bool {
        true
    }
    fn check_source(&self, is_query: bool, link: &LinkNets) -> Result<(), RejectReason> {
        if is_query {
            // A query from 0.0.0.0 (a snooping switch's proxy query) must not win the
            // election (RFC 4541 §2.1.1); querier election needs a real address.
            if self.is_unspecified() {
                return Err(RejectReason::BadSource);
            }
            return Ok(());
        }
        // RFC 9776 §4.2.13: routers MUST accept reports from 0.0.0.0. Otherwise the sender must
        // be on the link (RFC 9776 §9); a link without IPv4 addresses cannot judge that.
        if self.is_unspecified()
            || !link.has_subnets_of(Family::V4)
            || link.covers(IpAddr::V4(*self))
        {
            Ok(())
        } else {
            Err(RejectReason::OffLinkSource)
        }
    }
    fn check_querier(&self, link: &LinkNets) -> Result<(), RejectReason> {
        // 0.0.0.0/8 is "this network" (RFC 1122 §3.2.1.3): never a router's source address.
        if self.octets()[0] == 0 {
            return Err(RejectReason::BadSource);
        }
        // A link without IPv4 subnets cannot tell an on-link router from a forged source. The
        // network and broadcast addresses of a subnet are no router's address either.
        let ip = IpAddr::V4(*self);
        let reserved = link
            .subnets
            .iter()
            .any(|net| net.prefix_len() < 31 && (net.network() == ip || net.broadcast() == ip));
        if !reserved && link.on_link(ip) {
            Ok(())
        } else {
            Err(RejectReason::OffLinkQuerier)
        }
    }
    fn is_unicast_source(&self) -> bool {
        // RFC 1122 §3.2.1.3 (0/8, 127/8), RFC 1112 §4 (224/4), RFC 1112 §7 and RFC 919 (240/4
        // reserved, 255.255.255.255 broadcast).
        let first = self.octets()[0];
        first != 0 && first != 127 && first < 224
    }
    fn upstream_source_accepted(&self, link: &LinkNets) -> bool {
        link.covers(IpAddr::V4(*self))
    }
    type Message = igmp::Repr;
    const REPORT_DESTINATION: Self = igmp::ALL_IGMPV3_ROUTERS;
    fn send_action(
        ifindex: IfIndex,
        source: Self,
        destination: Self,
        message: igmp::Repr,
    ) -> Action {
        Action::SendIgmp {
            ifindex,
            source,
            destination,
            message,
        }
    }
    fn query_message(outgoing: &Outgoing<Self>, config: &PortConfig) -> igmp::Repr {
        convert::igmp_query(outgoing, config)
    }
    fn report_source(address: Option<Self>) -> Option<Self> {
        // RFC 9776 §4.2.13: a report may come from 0.0.0.0 (an unnumbered upstream).
        Some(address.unwrap_or(Ipv4Addr::UNSPECIFIED))
    }
    fn report_message(records: Vec<GroupRecord<Self>>) -> igmp::Repr {
        igmp::Repr::ReportV3 { records }
    }
}

impl Afi for Ipv6Addr {
    fn is_link_local_group(&self) -> bool {
        // RFC 4291 §2.7: the scope is the low nibble of the second octet.
        self.is_multicast() && (self.octets()[1] & 0x0f) <= 2
    }
    fn enabled_in(settings: &InterfaceSettings) -> bool {
        settings.ipv6
    }
    fn port_version(settings: &InterfaceSettings) -> Mode {
        match settings.mld_version {
            1 => Mode::V2,
            _ => Mode::V3,
        }
    }
    fn version_number(mode: Mode) -> u8 {
        match mode {
            Mode::V1 | Mode::V2 => 1,
            Mode::V3 => 2,
        }
    }
    fn query_source(info: &InterfaceInfo) -> Option<Self> {
        info.ipv6
            .iter()
            .map(|a| a.address)
            .find(is_unicast_link_local)
    }
    fn addresses(info: &InterfaceInfo) -> &[InterfaceAddress<Self>] {
        &info.ipv6
    }
    fn names_link_network(&self) -> bool {
        !is_unicast_link_local(self)
    }
    fn check_source(&self, _is_query: bool, _link: &LinkNets) -> Result<(), RejectReason> {
        // RFC 9777 §5: MLD messages come from a link-local source; `::` is a host doing DAD
        // and is silently dropped (RFC 9777 §5.2.13).
        if is_unicast_link_local(self) {
            Ok(())
        } else {
            Err(RejectReason::BadSource)
        }
    }
    fn check_querier(&self, _link: &LinkNets) -> Result<(), RejectReason> {
        // RFC 9777 §5: a query from a non-link-local source is dropped, which `check_source`
        // already did; a link-local source is on the link by definition, and hop limit 1 and
        // Router Alert are checked by the caller.
        Ok(())
    }
    fn is_unicast_source(&self) -> bool {
        !self.is_multicast() && !self.is_unspecified() && !self.is_loopback()
    }
    fn upstream_source_accepted(&self, link: &LinkNets) -> bool {
        // igmpproxy never had IPv6, so no existing configuration restricts IPv6 sources: an
        // upstream without IPv6 altnets accepts every IPv6 source. Listing one IPv6 altnet
        // switches to the IPv4 rule (on-link prefixes plus altnets).
        !link.has_altnets_of(Family::V6) || link.covers(IpAddr::V6(*self))
    }
    type Message = mld::Repr;
    const REPORT_DESTINATION: Self = mld::ALL_MLDV2_ROUTERS;
    fn send_action(
        ifindex: IfIndex,
        source: Self,
        destination: Self,
        message: mld::Repr,
    ) -> Action {
        Action::SendMld {
            ifindex,
            source,
            destination,
            message,
        }
    }
    fn query_message(outgoing: &Outgoing<Self>, config: &PortConfig) -> mld::Repr {
        convert::mld_query(outgoing, config)
    }
    fn report_source(address: Option<Self>) -> Option<Self> {
        // RFC 9777 §5: MLD is sent from a link-local address; without one, nothing can be sent.
        address
    }
    fn report_message(records: Vec<GroupRecord<Self>>) -> mld::Repr {
        mld::Repr::ReportV2 { records }
    }
}

/// fe80::/10.
pub(crate) fn is_unicast_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let s = |igmp_version, mld_version| InterfaceSettings {
            igmp_version,
            mld_version,
            ..InterfaceSettings::default()
        };
        assert_eq!(Ipv4Addr::port_version(&s(2, 2)), Mode::V2);
        assert_eq!(Ipv4Addr::port_version(&s(3, 2)), Mode::V3);
        assert_eq!(Ipv6Addr::port_version(&s(3, 1)), Mode::V2);
        assert_eq!(Ipv6Addr::port_version(&s(3, 2)), Mode::V3);
    }
}
