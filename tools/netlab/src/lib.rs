//! netlab: network-namespace test labs for mrproxy.
//!
//! Builds small topologies of namespaces joined by veth pairs, bridges and tun point-to-point
//! links; runs processes inside them; and provides kernel hosts (multicast receivers and
//! sources as sockets living in a namespace), packet captures and injection, and readers for
//! the kernel's multicast routing state. Used by the daemon's end-to-end tests, `mrproxy lab`
//! and the benchmarks. Needs root; see [`Lab::require_root`].
//!
//! Everything a [`Lab`] creates is removed when it is dropped, also when a test panics.
//! Rules for tests (docs/test-strategy.md §2): only TEST-NET addresses
//! (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), groups in 239/8, 232/8,
//! ff3e::/16, ff0e::/16, ff15::/16, and every wait bounded ([`wait_until`], [`wait_for`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use netlab::{Capture, CaptureFilter, Lab, Receiver, Source, SourceSpec, mfc_v4};
//!
//! if !Lab::require_root() { return; }
//! let lab = Lab::new("doc").unwrap();
//! let (src, rtr, h1) = (lab.ns("src").unwrap(), lab.ns("rtr").unwrap(), lab.ns("h1").unwrap());
//! lab.veth((&rtr, "up0"), (&src, "s0")).unwrap();
//! lab.veth((&rtr, "dn1"), (&h1, "e0")).unwrap();
//! src.add_addr("s0", "198.51.100.2/24").unwrap();
//! rtr.add_addr("up0", "198.51.100.1/24").unwrap();
//! rtr.add_addr("dn1", "192.0.2.1/24").unwrap();
//! h1.add_addr("e0", "192.0.2.2/24").unwrap();
//!
//! let daemon = lab.spawn(&rtr, "/usr/sbin/mrproxy", &["-d", "conf"], "mrproxy.log").unwrap();
//! let upstream = Capture::start(&rtr, "up0", CaptureFilter::Igmp).unwrap();
//! let group = "239.1.2.3".parse().unwrap();
//! let rx = Receiver::join(&h1, "e0", group, 5000).unwrap();
//! let _tx = Source::start(&src, SourceSpec::new("s0", group, 5000).count(200)).unwrap();
//! assert!(rx.wait_for_packets(10, Duration::from_secs(5)), "log: {}", daemon.log().unwrap());
//! assert!(upstream.wait_for(|p| p.message_type() == Some(0x22), Duration::from_secs(2)).is_some());
//! assert!(mfc_v4(&rtr).unwrap().iter().any(|e| e.group == group && e.is_resolved()));
//! ```

#![warn(missing_docs)]

mod capture;
pub mod igmp;
mod kernel;
mod lab;
mod netns;
pub mod packet;
pub mod payload;
mod process;
mod receiver;
pub mod soak;
mod sockopt;
mod source;
mod stats;
mod tun;
mod wait;

pub use capture::{
    Capture, CaptureFilter, CapturedPacket, Direction, Injector, inject_ipv4, inject_ipv6,
};
pub use kernel::{
    IgmpInterface, MfcEntry, Vif, igmp_memberships, is_member, mfc_v4, mfc_v6, mld_memberships,
    mroute_json, parse_igmp, parse_igmp6, parse_mfc, parse_vifs, vif_name, vifs_v4, vifs_v6,
};
pub use lab::{KEEP_DIR_ENV, Lab, SKIP_ENV, Snooping, sweep_orphans};
pub use netns::Netns;
pub use nix::sys::signal::Signal;
pub use process::{ChildHandle, TERM_GRACE};
pub use receiver::{Membership, Receiver};
pub use sockopt::{FilterMode, MAX_FILTER_SOURCES};
pub use source::{Source, SourceSpec};
pub use stats::{Datagram, ReceiverStats};
pub use tun::{TunEnd, TunLink};
pub use wait::{DEFAULT_POLL, wait_for, wait_until};
