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

pub use action::{Action, FilterMode, Family, RejectReason};
pub use event::{Event, IfIndex, InterfaceInfo, LinkFlags, V4Address, V6Address};
pub use mrproxy_membership::Timestamp;
