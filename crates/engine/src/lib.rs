//! mrproxy's protocol engine: a pure state machine. The daemon feeds it [`Event`]s with an explicit
//! `now` and executes the [`Action`]s it returns; it sleeps until [`Engine::next_deadline`] and then
//! feeds [`Event::Timeout`]. No sockets, no clock, no libc here.
//!
//! ```text
//!   netlink ─┐                       ┌─► AttachInterface / DetachInterface  (VIFs, report-group joins)
//!   IGMP/MLD ┼─► Event ─► Engine ────┼─► SendIgmp / SendMld                   (queries)
//!   upcalls ─┤     (now)             ├─► SetRoute / DeleteRoute / SampleRoute (kernel MFC)
//!   timers  ─┘                       └─► SetUpstreamMembership               (kernel host part)
//! ```

#![forbid(unsafe_code)]

pub mod action;
pub mod event;

mod afi;
mod convert;
mod engine;
mod family;
mod input;
mod interfaces;
mod link;
mod merge;
mod policy;
mod routes;
mod status;
mod timers;

pub use action::{Action, Family, FilterMode, RejectReason};
pub use afi::Afi;
pub use engine::Engine;
pub use event::{Event, IfIndex, InterfaceInfo, LinkFlags, V4Address, V6Address};
pub use link::LinkNets;
pub use merge::{Membership, merge};
pub use mrproxy_membership::Timestamp;
pub use routes::ROUTE_SAMPLE_INTERVAL;
pub use status::{
    FamilyStatus, InterfaceStatus, PortStatus, RouteStatus, Status, UpstreamGroup, UpstreamStatus,
};
