//! One interface as rtnetlink reports it: flags and addresses (docs/kernel-interface.md §9).

use crate::IfIndex;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Interface flags that matter to a multicast router.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LinkFlags {
    pub up: bool,
    pub running: bool,
    pub multicast: bool,
    pub loopback: bool,
    pub point_to_point: bool,
}

/// An address on an interface. On point-to-point links `peer` is the far end (netlink
/// IFA_ADDRESS when it differs from IFA_LOCAL); its prefix is the link's network
/// (docs/igmpproxy-differences.md D20).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InterfaceAddress<A> {
    pub address: A,
    pub prefix_len: u8,
    pub peer: Option<A>,
}

pub type V4Address = InterfaceAddress<Ipv4Addr>;
pub type V6Address = InterfaceAddress<Ipv6Addr>;

/// The complete current state of one interface (reported whole on every change).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InterfaceInfo {
    pub ifindex: IfIndex,
    pub name: String,
    pub flags: LinkFlags,
    /// Primary addresses first (secondaries after), in kernel order otherwise.
    pub ipv4: Vec<V4Address>,
    /// Usable addresses only: tentative (DAD in progress) and DAD-failed ones are left out,
    /// since the kernel refuses them as source; a change follows when DAD completes.
    pub ipv6: Vec<V6Address>,
}
