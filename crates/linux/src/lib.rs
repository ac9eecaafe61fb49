//! The Linux layer of mrproxy: the only code that touches the kernel.
//!
//! - [`Mroute`] (`Mroute4` / `Mroute6`): the multicast routing socket of one family
//!   (MRT_* / MRT6_*, [`MrouteFamily`]): VIFs and MIFs by ifindex, forwarding entries, packet
//!   counters, received IGMP/MLD and kernel upcalls.
//! - [`IgmpSender`] / [`MldSender`]: queries out of an exact interface from an exact source.
//! - [`UpstreamMembership`]: the router's host-side membership, kept by the kernel.
//! - [`LinkMonitor`]: interfaces and addresses from rtnetlink; [`LinkEvents`]: their changes,
//!   debounced by a task of their own.
//! - [`Notifier`]: readiness notifications to systemd (`$NOTIFY_SOCKET`, sd_notify(3)).
//!
//! Everything acts on the calling thread's network namespace. Sockets that are polled
//! ([`Mroute4`], [`Mroute6`], [`LinkMonitor`]) must be created inside a tokio runtime.
//! All `unsafe` code is in `sys` (setsockopt/ioctl with hand-written `#[repr(C)]` bindings),
//! `io` (reactor registration) and `process` (fork, capget/capset, prctl).

mod error;
mod interfaces;
mod io;
mod join_pool;
mod membership;
mod mroute;
mod netlink;
mod notify;
pub mod packet;
mod process;
mod sender;
mod sys;
mod vif_table;

pub use error::{Error, Result, errno_name};
pub use interfaces::interface_names;
pub use membership::UpstreamMembership;
pub use mroute::{
    EntryCounters, IGMP_REPORT_GROUPS, MLD_REPORT_GROUPS, MLD_TYPES, Mroute, Mroute4, Mroute6,
    MrouteFamily, Received4, Received6, Upcall,
};
pub use netlink::{
    LinkEvent, LinkEvents, LinkMonitor, LinkUpdate, MonitorCounters, MonitorOptions, Resync,
    reconcile,
};
pub use notify::{Notifier, monotonic_usec};
pub use packet::UpcallKind;
pub use process::{
    Account, CapabilitySets, Detached, Inheritance, Outcome, Starting, StartupReport, SwitchError,
    bounding_set, capabilities, detach, drop_capabilities, enter_chroot, forbid_new_privileges,
    lookup_group, lookup_user, no_new_privileges, runs_as, set_umask, stderr_identity, switch_user,
    with_umask,
};
pub use sender::{IgmpSender, MldSender};
