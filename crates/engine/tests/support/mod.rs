//! Event builders shared by the engine's integration tests.
#![allow(dead_code)] // each test binary uses a different part

use mrproxy_engine::{Event, IfIndex, InterfaceInfo, LinkFlags, V4Address};
use std::net::Ipv4Addr;

/// An Ethernet-like interface that is up, running and multicast-capable.
pub const UP: LinkFlags = LinkFlags {
    up: true,
    running: true,
    multicast: true,
    loopback: false,
    point_to_point: false,
};

/// `name` (index `ifindex`) appears or changes: up, with one IPv4 address and no IPv6.
pub fn v4_interface(ifindex: IfIndex, name: &str, address: Ipv4Addr, prefix_len: u8) -> Event {
    Event::InterfaceChanged(InterfaceInfo {
        ifindex,
        name: name.into(),
        flags: UP,
        ipv4: vec![V4Address {
            address,
            prefix_len,
            peer: None,
        }],
        ipv6: Vec::new(),
    })
}
