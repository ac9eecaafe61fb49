//! Kernel interface indexes and the multicast routing table's slots.

use std::fmt;

/// A kernel interface index (never a VIF index: the Linux layer maps between them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
pub struct IfIndex(pub u32);

impl fmt::Display for IfIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "if{}", self.0)
    }
}

/// A slot of one multicast routing table: a VIF (IPv4, `vifi_t`) or a MIF (IPv6, `mifi_t`),
/// `0 .. MAX_VIFS`. The caller chooses it (docs/kernel-interface.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
pub struct VifIndex(pub u16);

impl fmt::Display for VifIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The slots of one multicast routing table: `MAXVIFS` (IPv4, `include/uapi/linux/mroute.h`)
/// and `MAXMIFS` (IPv6, `include/uapi/linux/mroute6.h`) are both 32 (docs/kernel-interface.md
/// §2, §3). Each upstream or downstream interface of a family takes one; upstreams and
/// downstreams share them (docs/igmpproxy-differences.md D11: igmpproxy died on its 8th
/// upstream).
pub const MAX_VIFS: usize = 32;
