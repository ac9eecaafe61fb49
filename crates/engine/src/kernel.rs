//! The kernel's answers to the engine's stateful actions (docs/kernel-faults.md).
//!
//! The daemon applies every action; for the ones that carry state in the kernel (a VIF, a
//! forwarding entry, an upstream membership) a refusal comes back as
//! [`crate::Event::KernelRefused`], and a success is told with [`crate::Event::KernelConfirmed`]
//! while the engine waits for one ([`crate::Engine::awaits_confirmation`]). The engine keeps
//! what it wants and asks again later (`retry`).
//!
//! The one thing the engine reads from the kernel, the packet counters of its forwarding
//! entries, it reads through [`RouteCounters`] while it handles a timeout.

use crate::action::Action;
use mrproxy_types::{AnySourceGroup, Family, IfIndex};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A kernel object that one stateful action changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KernelObject {
    /// The VIF/MIF of an interface (on a downstream with its report-group joins):
    /// [`Action::AttachInterface`].
    Interface { family: Family, ifindex: IfIndex },
    /// The host-side membership of `group` on upstream `ifindex`:
    /// [`Action::SetUpstreamMembership`].
    UpstreamMembership { ifindex: IfIndex, group: IpAddr },
    /// The forwarding entry of (source, group): [`Action::SetRoute`] and
    /// [`Action::DeleteRoute`].
    Route { source: IpAddr, group: IpAddr },
}

impl KernelObject {
    /// The object a stateful action changes; `None` for actions the engine does not follow up
    /// (detaching, sending).
    pub fn of_action(action: &Action) -> Option<KernelObject> {
        match action {
            Action::AttachInterface {
                family, ifindex, ..
            } => Some(KernelObject::Interface {
                family: *family,
                ifindex: *ifindex,
            }),
            Action::SetUpstreamMembership { ifindex, filter } => {
                Some(KernelObject::UpstreamMembership {
                    ifindex: *ifindex,
                    group: filter.group(),
                })
            }
            Action::SetRoute { sg, .. } | Action::DeleteRoute(sg) => Some(KernelObject::Route {
                source: sg.source(),
                group: sg.group(),
            }),
            _ => None,
        }
    }

    /// The operation's name, for counters and log lines.
    pub fn operation(&self) -> &'static str {
        match self {
            KernelObject::Interface { .. } => "AttachInterface",
            KernelObject::UpstreamMembership { .. } => "UpstreamMembership",
            KernelObject::Route { .. } => "Route",
        }
    }

    pub fn family(&self) -> Family {
        let ip = match self {
            KernelObject::Interface { family, .. } => return *family,
            KernelObject::UpstreamMembership { group, .. } | KernelObject::Route { group, .. } => {
                group
            }
        };
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }
}

/// Why the kernel refused, described without libc: the daemon fills it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelError {
    /// The errno value (0 when the refusal had none).
    pub errno: i32,
    /// Its symbolic name ("ENOBUFS"), for counters.
    pub name: String,
    pub kind: KernelErrorKind,
    /// The one-line message that names cause and fix.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KernelErrorKind {
    /// A per-socket limit of the kernel's host part: memberships per socket
    /// (`igmp_max_memberships`), sources per socket and group (`igmp_max_msf`, `mld_max_msf`)
    /// or socket option memory (`net.core.optmem_max`): ENOBUFS or ENOMEM on a membership.
    PerSocketLimit,
    /// Anything else (an interface in transition, a missing VIF, ...).
    Other,
}

/// The packet counters of the kernel's forwarding entries (SIOCGETSGCNT, SIOCGETSGCNT_IN6), which
/// [`crate::Engine::timeout`] reads for the idle expiry of entries (`routes.rs`).
pub trait RouteCounters {
    /// The packets the entry (source, group) has forwarded so far. `None`: there is no such
    /// entry or it cannot be read; that counts as 0 packets, an entry that forwards nothing.
    fn packets(&self, sg: AnySourceGroup) -> Option<u64>;
}

/// Any `Fn(AnySourceGroup) -> Option<u64>` reads counters (tests, benches).
impl<F: Fn(AnySourceGroup) -> Option<u64>> RouteCounters for F {
    fn packets(&self, sg: AnySourceGroup) -> Option<u64> {
        self(sg)
    }
}
