//! What the outside world tells the engine.

use mrproxy_config::Config;
use mrproxy_wire::{igmp, mld};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A kernel interface index (never a VIF index: the Linux layer maps between them).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct IfIndex(pub u32);

impl std::fmt::Display for IfIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "if{}", self.0)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LinkFlags {
    pub up: bool,
    pub running: bool,
    pub multicast: bool,
    pub loopback: bool,
    pub point_to_point: bool,
}

/// An IPv4 address on an interface. On point-to-point links `peer` is the far end
/// (netlink IFA_ADDRESS when it differs from IFA_LOCAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct V4Address {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub peer: Option<Ipv4Addr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct V6Address {
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    pub peer: Option<Ipv6Addr>,
}

/// The complete current state of one interface (sent on every change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct InterfaceInfo {
    pub ifindex: IfIndex,
    pub name: String,
    pub flags: LinkFlags,
    /// Primary first.
    pub ipv4: Vec<V4Address>,
    pub ipv6: Vec<V6Address>,
}

#[derive(Clone, Debug)]
pub enum Event {
    /// An interface appeared or changed (flags, addresses, name).
    InterfaceChanged(InterfaceInfo),
    /// An interface is gone.
    InterfaceRemoved { ifindex: IfIndex },
    /// An IGMP message received on `ifindex` (from IP_PKTINFO, never from the source subnet).
    /// `checksum_ok` is false when the IGMP checksum failed (the decoder still produced `message`
    /// only when it verified, so callers normally drop bad packets before; kept for counters).
    Igmp {
        ifindex: IfIndex,
        source: Ipv4Addr,
        destination: Ipv4Addr,
        ttl: u8,
        router_alert: bool,
        message: igmp::Repr,
    },
    /// An MLD message received on `ifindex`.
    Mld {
        ifindex: IfIndex,
        source: Ipv6Addr,
        destination: Ipv6Addr,
        hop_limit: u8,
        router_alert: bool,
        message: mld::Repr,
    },
    /// A packet the Linux layer could not decode (counted and logged by the engine).
    Malformed {
        ifindex: IfIndex,
        source: IpAddr,
        reason: mrproxy_wire::Error,
    },
    /// Kernel upcall: traffic for (source, group) arrived on `iif` and has no forwarding entry
    /// (IGMPMSG_NOCACHE / MRT6MSG_NOCACHE).
    NoCache {
        iif: IfIndex,
        source: IpAddr,
        group: IpAddr,
    },
    /// The kernel refused a stateful action on `what` (the daemon's answer to
    /// [`crate::Action::AttachInterface`], [`crate::Action::SetUpstreamMembership`],
    /// [`crate::Action::SetRoute`] or [`crate::Action::DeleteRoute`]). The engine counts it and
    /// asks again later (docs/kernel-faults.md).
    KernelRefused {
        what: crate::KernelObject,
        error: crate::KernelError,
    },
    /// The kernel took a stateful action on `what`; sent while
    /// [`crate::Engine::awaits_confirmation`] says the engine waits for it.
    KernelConfirmed { what: crate::KernelObject },
    /// The configuration was reloaded; apply the difference.
    ConfigReplaced(Box<Config>),
}
