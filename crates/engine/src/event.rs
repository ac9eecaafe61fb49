//! What the outside world tells the engine.

use mrproxy_config::Config;
use mrproxy_types::{AnySourceGroup, IfIndex, InterfaceInfo};
use mrproxy_wire::{igmp, mld};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
    NoCache { iif: IfIndex, sg: AnySourceGroup },
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
