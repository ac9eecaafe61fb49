//! Wire formats for mrproxy, in the style of smoltcp's `wire` module: for each protocol a
//! `Packet<T: AsRef<[u8]>>` view with `new_checked` (the only way in from untrusted bytes), a
//! private `field` table of byte ranges, and a `Repr` with `parse`, `buffer_len` and `emit`.
//! Every length is bounded against the buffer; malformed input is an [`Error`] with a reason,
//! never a panic.

#![forbid(unsafe_code)]

pub mod checksum;
pub mod code;
mod error;
pub mod igmp;
pub mod ipv4;
pub mod ipv6;
pub mod mld;
pub mod record;

pub use error::{Error, Result};
pub use record::{GroupRecord, RecordType};
