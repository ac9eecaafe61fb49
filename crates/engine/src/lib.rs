//! mrproxy's protocol engine: a pure state machine. The daemon feeds it [`Event`]s with an explicit
//! `now` ([`Engine::handle`]) and calls [`Engine::timeout`] when [`Engine::next_deadline`] has
//! come. Each call returns an [`Output`]: the [`Action`]s to execute, in order, and beside them
//! the [`Notice`]s to log and count. The one thing the engine reads from the kernel, the packet
//! counters of its forwarding entries, it reads through [`RouteCounters`] during `timeout`. No
//! sockets, no clock, no libc here.
//!
//! ```text
//!   netlink ──┐                                Output
//!   IGMP/MLD ─┼─► handle(now, Event) ─────┐    actions: AttachInterface / DetachInterface  (VIFs)
//!   upcalls ──┘                           ├─►           SendIgmp / SendMld                 (queries)
//!   deadline ───► timeout(now, counters) ─┘             SetRoute / DeleteRoute             (MFC)
//!                              ▲                        SetUpstreamMembership              (host part)
//!   MFC counters ──────────────┘            notices: Rejected, QuerierChanged,         (logs, counters)
//!                 (RouteCounters)                    KernelRefusal, KernelRestored
//! ```
//!
//! # What the engine does
//! * **Interfaces** (`interfaces`, `family/attach`): an interface is used in a family when its
//!   `phyint` role is upstream or downstream, it is up, multicast-capable, not loopback, and the
//!   family is on in its settings; interfaces appearing later get their `phyint` settings too.
//!   Downstreams run the router part ([`mrproxy_membership::Port`]) from their primary IPv4 /
//!   first IPv6 link-local address; without one they keep state but cannot query
//!   ([`FamilyStatus::query_source`] is `None`). Upstreams may be unnumbered. Losing an
//!   interface updates the routes using it, leaves its upstream joins (INCLUDE {}) and detaches
//!   it; a changed `threshold`/`ratelimit` re-creates the VIF around unchanged protocol state.
//! * **Input checks** (`input`, `policy`): own packets, the receive interface's role, TTL /
//!   hop limit 1, source rules (on-link IPv4 reports or 0.0.0.0; link-local MLD; queries on a
//!   downstream only from an on-link router), Router Alert on queries when required, then per
//!   group record: multicast, never link-local scope, the interface's white/blacklist, no
//!   any-source requests in SSM ranges, and only unicast sources that are not ours.
//!   Each rejection is a [`Notice::Rejected`] and is counted in [`Status::rejected`].
//! * **Membership database** (`merge`, `family/upstream`): per group, the RFC 9776 §3.2 merge
//!   of every downstream's subscription (after that downstream's filter), then per upstream
//!   (after its filter) one [`Action::SetUpstreamMembership`] whenever its state changes.
//! * **Forwarding** (`family/forward`, `routes`): (S,G) entries on upcalls, always installed
//!   (with no outputs when nobody listens or the source is not accepted), updated in place on
//!   every change of membership, querier state, interfaces or configuration, and removed when
//!   their packet counter ([`RouteCounters`]) stands still for [`ROUTE_SAMPLE_INTERVAL`];
//!   bounded per input interface (`maxroutes`, `upcallrate`) and per family (`maxtotalroutes`).
//!   Upstream sources must be on the upstream's networks (for point-to-point links the peer
//!   prefix) or in its altnets; IPv6 sources are accepted from an upstream without IPv6
//!   altnets, because igmpproxy had no IPv6 rule to stay compatible with.
//!
//! * **Kernel refusals** (`retry`, `family/retry`): a refused VIF, forwarding entry or upstream
//!   membership comes back as [`Event::KernelRefused`]; the engine counts it per (interface,
//!   reason), tells it as a [`Notice::KernelRefusal`] and asks again for the object's current
//!   state after 500 ms, 1 s, 2 s, … up to 30 s, until [`Event::KernelConfirmed`] or until
//!   nothing is wanted of the object (docs/kernel-faults.md).
//!
//! Output order is deterministic: everything is kept in ordered maps.

#![forbid(unsafe_code)]

pub mod action;
pub mod event;

mod afi;
mod convert;
mod engine;
mod family;
mod input;
mod interfaces;
mod joined;
mod kernel;
mod link;
mod merge;
pub mod notice;
mod policy;
mod rereport;
mod retry;
mod routes;
mod status;
mod upcalls;

pub use action::{Action, RejectReason};
pub use engine::Engine;
pub use event::Event;
pub use kernel::{KernelError, KernelErrorKind, KernelObject, RouteCounters};
pub use merge::{Membership, merge};
pub use mrproxy_membership::Timestamp;
/// The shared types the engine's events and actions are made of.
pub use mrproxy_types::{
    AnySourceFilter, AnySourceGroup, Family, FilterMode, IfIndex, InterfaceInfo, LinkFlags,
    PerFamily, SourceFilter, SourceGroup, V4Address, V6Address,
};
pub use notice::{Notice, Output};
pub use retry::{FIRST_RETRY, MAX_RETRY, backoff};
pub use routes::ROUTE_SAMPLE_INTERVAL;
pub use status::{
    FamilyStatus, InterfaceStatus, KernelFailures, PendingRetry, PortStatus, RouteStatus, Status,
    UpstreamGroup, UpstreamStatus,
};
