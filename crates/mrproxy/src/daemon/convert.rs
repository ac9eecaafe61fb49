//! Linux-layer types to engine events. Decoding failures become `Event::Malformed`, so the
//! engine counts and logs them like every other rejected input.

use mrproxy_engine::{Event, IfIndex, InterfaceInfo, LinkFlags, V4Address, V6Address};
use mrproxy_linux::{Link, LinkEvent, Received4, Received6, UpcallKind};
use std::net::IpAddr;

pub fn link(link: Link) -> InterfaceInfo {
    let f = link.flags;
    InterfaceInfo {
        ifindex: IfIndex(link.ifindex),
        name: link.name,
        flags: LinkFlags {
            up: f.up,
            running: f.running,
            multicast: f.multicast,
            loopback: f.loopback,
            point_to_point: f.point_to_point,
        },
        ipv4: link
            .ipv4
            .iter()
            .map(|a| V4Address {
                address: a.address,
                prefix_len: a.prefix_len,
                peer: a.peer,
            })
            .collect(),
        ipv6: link
            .ipv6
            .iter()
            .map(|a| V6Address {
                address: a.address,
                prefix_len: a.prefix_len,
                peer: a.peer,
            })
            .collect(),
    }
}

pub fn link_event(event: LinkEvent) -> Event {
    match event {
        LinkEvent::Changed(l) => Event::InterfaceChanged(link(l)),
        LinkEvent::Removed(ifindex) => Event::InterfaceRemoved {
            ifindex: IfIndex(ifindex),
        },
    }
}

/// `None` for upcalls the proxy does not act on (WRONGVIF and PIM kinds are never enabled).
pub fn received4(received: Received4) -> Option<Event> {
    match received {
        Received4::Igmp {
            ifindex,
            header,
            message,
        } => Some(match message {
            Ok(message) => Event::Igmp {
                ifindex: IfIndex(ifindex),
                source: header.src,
                destination: header.dst,
                ttl: header.ttl,
                router_alert: header.router_alert,
                message,
            },
            Err(reason) => Event::Malformed {
                ifindex: IfIndex(ifindex),
                source: IpAddr::V4(header.src),
                reason,
            },
        }),
        Received4::Upcall(u) => match (u.kind, u.iif) {
            (UpcallKind::NoCache, Some(iif)) => Some(Event::NoCache {
                iif: IfIndex(iif),
                source: IpAddr::V4(u.source),
                group: IpAddr::V4(u.group),
            }),
            _ => None,
        },
    }
}

pub fn received6(received: Received6) -> Option<Event> {
    match received {
        Received6::Mld {
            ifindex,
            source,
            destination,
            hop_limit,
            router_alert,
            message,
        } => Some(match message {
            Ok(message) => Event::Mld {
                ifindex: IfIndex(ifindex),
                source,
                destination,
                hop_limit,
                router_alert,
                message,
            },
            Err(reason) => Event::Malformed {
                ifindex: IfIndex(ifindex),
                source: IpAddr::V6(source),
                reason,
            },
        }),
        Received6::Upcall(u) => match (u.kind, u.iif) {
            (UpcallKind::NoCache, Some(iif)) => Some(Event::NoCache {
                iif: IfIndex(iif),
                source: IpAddr::V6(u.source),
                group: IpAddr::V6(u.group),
            }),
            _ => None,
        },
    }
}
