//! rtnetlink messages to [`InterfaceInfo`] states: flags, names and addresses.

use mrproxy_types::{IfIndex, InterfaceAddress, InterfaceInfo, LinkFlags};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags as NlLinkFlags, LinkMessage};
use std::net::IpAddr;

/// What one notification means to the monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Notification {
    /// Re-read this interface.
    Concerns(IfIndex),
    /// The kernel dropped notifications (ENOBUFS on the socket, surfaced by netlink-proto as an
    /// `NLMSG_OVERRUN` message): what changed is unknown, everything must be re-read.
    Overrun,
    /// Nothing the monitor acts on.
    Other,
}

pub(super) fn classify(msg: &NetlinkMessage<RouteNetlinkMessage>) -> Notification {
    match &msg.payload {
        NetlinkPayload::Overrun(_) => Notification::Overrun,
        NetlinkPayload::InnerMessage(
            RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l),
        ) => Notification::Concerns(IfIndex(l.header.index)),
        NetlinkPayload::InnerMessage(
            RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a),
        ) => Notification::Concerns(IfIndex(a.header.index)),
        _ => Notification::Other,
    }
}
pub(super) fn link_from(msg: &LinkMessage) -> InterfaceInfo {
    let f = msg.header.flags;
    let name = msg
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_default();
    InterfaceInfo {
        ifindex: IfIndex(msg.header.index),
        name,
        flags: LinkFlags {
            up: f.contains(NlLinkFlags::Up),
            running: f.contains(NlLinkFlags::Running),
            multicast: f.contains(NlLinkFlags::Multicast),
            loopback: f.contains(NlLinkFlags::Loopback),
            point_to_point: f.contains(NlLinkFlags::Pointopoint),
        },
        ipv4: Vec::new(),
        ipv6: Vec::new(),
    }
}

/// One address as netlink describes it, before it is attached to its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct NetlinkAddress {
    ifindex: IfIndex,
    address: IpAddr,
    prefix_len: u8,
    peer: Option<IpAddr>,
    secondary: bool,
    /// IPv6 DAD not finished or failed: the kernel will not send from it.
    unusable: bool,
}

/// Local address: IFA_LOCAL when present, else IFA_ADDRESS. Peer: IFA_ADDRESS when it differs
/// from IFA_LOCAL (point-to-point links).
pub(super) fn parse_address(msg: &AddressMessage) -> Option<NetlinkAddress> {
    let mut local = None;
    let mut address = None;
    let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            // IFA_FLAGS carries all 32 bits; the header only the low 8.
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    let own = local.or(address)?;
    Some(NetlinkAddress {
        ifindex: IfIndex(msg.header.index),
        address: own,
        prefix_len: msg.header.prefix_len,
        peer: address.filter(|a| local.is_some() && *a != own && a.is_ipv4() == own.is_ipv4()),
        secondary: flags.contains(AddressFlags::Secondary),
        unusable: flags.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed),
    })
}

/// Attaches `addresses` (in kernel order) to their links: IPv4 primaries before secondaries,
/// unusable IPv6 addresses left out.
pub(super) fn attach_addresses(links: &mut [InterfaceInfo], addresses: &[NetlinkAddress]) {
    for secondary_pass in [false, true] {
        for a in addresses
            .iter()
            .filter(|a| a.secondary == secondary_pass && !a.unusable)
        {
            let Some(link) = links.iter_mut().find(|l| l.ifindex == a.ifindex) else {
                continue;
            };
            match (a.address, a.peer) {
                (IpAddr::V4(address), peer) => link.ipv4.push(InterfaceAddress {
                    address,
                    prefix_len: a.prefix_len,
                    peer: match peer {
                        Some(IpAddr::V4(p)) => Some(p),
                        _ => None,
                    },
                }),
                (IpAddr::V6(address), peer) => link.ipv6.push(InterfaceAddress {
                    address,
                    prefix_len: a.prefix_len,
                    peer: match peer {
                        Some(IpAddr::V6(p)) => Some(p),
                        _ => None,
                    },
                }),
            }
        }
    }
}
