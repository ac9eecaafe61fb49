//! The report-processing tables of RFC 9776 §6.4 (RFC 9777 §7.4 for MLD, identical rules):
//! one arm per row. `A` is the record's source list, `X`/`Y` the requested/excluded sources of
//! an EXCLUDE-mode group, `GMI` the Group Membership Interval from now and `GT` the group
//! timer. The "Send Q(..)" actions are handed back in [`Effects`]; only the querier performs
//! them (see `specific.rs`).

use crate::group::{Effects, FilterMode, Group};
use crate::room::Room;
use crate::{Address, RecordKind, Timestamp};
use std::collections::BTreeSet;

/// What a record is evaluated against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordContext {
    /// Now + Group Membership Interval.
    pub(crate) gmi: Timestamp,
    pub(crate) room: Room,
}

impl<A: Address> Group<A> {
    /// Applies one (already compatibility-translated) record.
    pub(crate) fn apply_record(
        &mut self,
        kind: RecordKind,
        sources: &BTreeSet<A>,
        ctx: RecordContext,
        fx: &mut Effects<A>,
    ) {
        use RecordKind::*;
        let RecordContext { gmi, room } = ctx;
        match (self.mode(), kind) {
            // §6.4.1 INCLUDE(A) IS_IN(B) → INCLUDE(A+B); (B)=GMI
            // §6.4.2 INCLUDE(A) ALLOW(B) → INCLUDE(A+B); (B)=GMI
            // §6.4.1 EXCLUDE(X,Y) IS_IN(A) → EXCLUDE(X+A, Y-A); (A)=GMI
            // §6.4.2 EXCLUDE(X,Y) ALLOW(A) → EXCLUDE(X+A, Y-A); (A)=GMI
            (_, IsInclude | Allow) => {
                for source in sources {
                    self.set_source_timer(*source, gmi, room, fx);
                }
            }
            // §6.4.2 INCLUDE(A) BLOCK(B) → INCLUDE(A); Send Q(G,A*B)
            (FilterMode::Include, Block) => {
                fx.query_sources
                    .extend(sources.iter().filter(|s| self.running.contains(s)));
            }
            // §6.4.1 INCLUDE(A) IS_EX(B) → EXCLUDE(A*B, B-A); (B-A)=0; Delete(A-B); GT=GMI
            // §6.4.2 INCLUDE(A) TO_EX(B) → the same, and Send Q(G,A*B)
            (FilterMode::Include, IsExclude | ToExclude) => {
                let a_minus_b: Vec<A> = self
                    .running
                    .keys()
                    .filter(|s| !sources.contains(s))
                    .collect();
                for source in &a_minus_b {
                    self.delete_source(source, fx);
                }
                let a_times_b: Vec<A> = sources
                    .iter()
                    .copied()
                    .filter(|s| self.running.contains(s))
                    .collect();
                self.switch_to_exclude(gmi, fx);
                let b_minus_a: Vec<A> = sources
                    .iter()
                    .copied()
                    .filter(|s| !self.running.contains(s))
                    .collect();
                for source in b_minus_a {
                    self.exclude_source(source, room.max, fx);
                }
                if kind == ToExclude {
                    fx.query_sources.extend(a_times_b);
                }
            }
            // §6.4.2 INCLUDE(A) TO_IN(B) → INCLUDE(A+B); (B)=GMI; Send Q(G,A-B)
            (FilterMode::Include, ToInclude) => {
                let a_minus_b: Vec<A> = self
                    .running
                    .keys()
                    .filter(|s| !sources.contains(s))
                    .collect();
                for source in sources {
                    self.set_source_timer(*source, gmi, room, fx);
                }
                fx.query_sources.extend(a_minus_b);
            }
            // §6.4.1 EXCLUDE(X,Y) IS_EX(A) → EXCLUDE(A-Y, Y*A); (A-X-Y)=GMI; Delete(X-A);
            // Delete(Y-A); GT=GMI
            (FilterMode::Exclude, IsExclude) => {
                self.replace_exclude_list(sources, fx);
                for source in sources {
                    if !self.running.contains(source) && !self.excluded.contains(source) {
                        self.set_source_timer(*source, gmi, room, fx);
                    }
                }
                self.set_group_timer(gmi);
            }
            // §6.4.2 EXCLUDE(X,Y) TO_EX(A) → EXCLUDE(A-Y, Y*A); (A-X-Y)=GT; Delete(X-A);
            // Delete(Y-A); Send Q(G,A-Y); GT=GMI
            (FilterMode::Exclude, ToExclude) => {
                let group_timer = self.group_timer().unwrap_or(gmi);
                let a_minus_y: Vec<A> = sources
                    .iter()
                    .copied()
                    .filter(|s| !self.excluded.contains(s))
                    .collect();
                self.replace_exclude_list(sources, fx);
                for source in &a_minus_y {
                    if !self.running.contains(source) {
                        self.set_source_timer(*source, group_timer, room, fx);
                    }
                }
                fx.query_sources.extend(a_minus_y);
                self.set_group_timer(gmi);
            }
            // §6.4.2 EXCLUDE(X,Y) BLOCK(A) → EXCLUDE(X+(A-Y), Y); (A-X-Y)=GT; Send Q(G,A-Y)
            (FilterMode::Exclude, Block) => {
                let group_timer = self.group_timer().unwrap_or(gmi);
                let a_minus_y: Vec<A> = sources
                    .iter()
                    .copied()
                    .filter(|s| !self.excluded.contains(s))
                    .collect();
                for source in &a_minus_y {
                    if !self.running.contains(source) {
                        self.set_source_timer(*source, group_timer, room, fx);
                    }
                }
                fx.query_sources.extend(a_minus_y);
            }
            // §6.4.2 EXCLUDE(X,Y) TO_IN(A) → EXCLUDE(X+A, Y-A); (A)=GMI; Send Q(G,X-A);
            // Send Q(G)
            (FilterMode::Exclude, ToInclude) => {
                let x_minus_a: Vec<A> = self
                    .running
                    .keys()
                    .filter(|s| !sources.contains(s))
                    .collect();
                for source in sources {
                    self.set_source_timer(*source, gmi, room, fx);
                }
                fx.query_sources.extend(x_minus_a);
                fx.query_group = true;
            }
        }
    }

    /// Delete(X-A) and Delete(Y-A) of the EXCLUDE-mode IS_EX/TO_EX rows.
    fn replace_exclude_list(&mut self, sources: &BTreeSet<A>, fx: &mut Effects<A>) {
        let x_minus_a: Vec<A> = self
            .running
            .keys()
            .filter(|s| !sources.contains(s))
            .collect();
        let y_minus_a: Vec<A> = self
            .excluded
            .iter()
            .copied()
            .filter(|s| !sources.contains(s))
            .collect();
        for source in x_minus_a.iter().chain(&y_minus_a) {
            self.delete_source(source, fx);
        }
    }
}
