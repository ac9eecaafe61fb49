//! The values every layer of mrproxy shares, defined once: the configuration parser, the
//! engine, the Linux layer and the daemon all use these types, so nothing is copied field by
//! field between layers.
//!
//! - [`IfIndex`], [`VifIndex`] and [`MAX_VIFS`]: kernel interfaces and the multicast routing
//!   table's slots (docs/kernel-interface.md §2, §3).
//! - [`Family`], [`IpFamily`]: the two address families, as a value and as a type.
//! - [`SourceGroup`], [`SourceFilter`] and [`PerFamily`]: what the kernel is asked to change,
//!   typed so that one command never mixes addresses of both families.
//! - [`FilterMode`]: INCLUDE or EXCLUDE (RFC 3376 §3.2, RFC 3810 §4.2).
//! - [`InterfaceInfo`]: one interface's flags and addresses, as rtnetlink reports them.
//!
//! Pure: no I/O, no libc. Serde derives are behind the `serde` feature.

#![forbid(unsafe_code)]

mod family;
mod filter;
mod index;
mod interface;

pub use family::{AnySourceGroup, Family, IpFamily, PerFamily, SourceGroup};
pub use filter::{AnySourceFilter, FilterMode, SourceFilter};
pub use index::{IfIndex, MAX_VIFS, VifIndex};
pub use interface::{InterfaceAddress, InterfaceInfo, LinkFlags, V4Address, V6Address};
