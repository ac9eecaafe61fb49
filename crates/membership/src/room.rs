//! Room in a full source table. A group holds at most `max_sources_per_group` sources; when it
//! is full, a source that a tracked host names in INCLUDE mode takes the place of one nobody
//! names, so that hosts filling the table cannot keep another tracked host from the source it
//! asked for:
//! 1. an excluded source (Y, EXCLUDE mode) goes first: deleting it forwards it again, which
//!    only widens what the link receives;
//! 2. then a running source no tracked host names (only the anonymous host, which stands for
//!    hosts that could not be tracked one by one, or nobody any more): in EXCLUDE mode it stays
//!    forwarded, in INCLUDE mode it stops.
//!
//! Otherwise (every slot named by a tracked host) the new source is dropped, as are sources
//! nobody tracked names. Finding a running source to give way costs one pass over the table;
//! a pass that finds none is made at most once per report, so a report costs O(table) at most.

use crate::Address;
use crate::group::{Effects, Group};

/// The bound of a group's source table and whether a pass over it may look for room.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Room {
    pub(crate) max: usize,
    /// False once a pass found nothing during this report.
    pub(crate) may_scan: bool,
}

impl<A: Address> Group<A> {
    /// Is there room for `source` (new to the table)? Makes room as described above when the
    /// table is exactly full and a tracked host names `source`.
    pub(crate) fn room_for(&mut self, source: &A, room: Room, fx: &mut Effects<A>) -> bool {
        let count = self.source_count();
        if count < room.max {
            return true;
        }
        if count > room.max || !self.hosts.named_by_a_host(source) {
            return false;
        }
        if self.excluded.pop_first().is_some() {
            fx.changed = true;
            return true;
        }
        if !room.may_scan || fx.room_scan_failed {
            return false;
        }
        let spare = self.running.keys().find(|s| !self.hosts.named_by_a_host(s));
        match spare {
            Some(spare) => {
                self.delete_source(&spare, fx);
                true
            }
            None => {
                fx.room_scan_failed = true;
                false
            }
        }
    }
}
