//! The daemon-side map between interface indexes and the kernel's VIF (IPv4) or MIF (IPv6)
//! slots. Linux has 32 slots per table (MAXVIFS / MAXMIFS) and leaves the choice of slot to the
//! caller; we take the lowest free one and reuse slots as interfaces go, so the VIF index never
//! depends on the (unbounded) ifindex.

use mrproxy_types::{IfIndex, MAX_VIFS, VifIndex};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VifEntry {
    pub ifindex: IfIndex,
    /// Output threshold: the MFC copies a packet out of this VIF only when its TTL is greater.
    pub threshold: u8,
}

#[derive(Debug, Default)]
pub struct VifTable {
    slots: [Option<VifEntry>; MAX_VIFS],
    by_ifindex: HashMap<IfIndex, VifIndex>,
}

impl VifTable {
    /// The VIF already given to `ifindex`.
    pub fn vif_of(&self, ifindex: IfIndex) -> Option<VifIndex> {
        self.by_ifindex.get(&ifindex).copied()
    }

    pub fn entry(&self, vif: VifIndex) -> Option<VifEntry> {
        self.slots.get(usize::from(vif.0)).copied().flatten()
    }

    pub fn ifindex_of(&self, vif: VifIndex) -> Option<IfIndex> {
        self.entry(vif).map(|e| e.ifindex)
    }

    /// The lowest free slot, or `None` when all 32 are taken.
    pub fn free_slot(&self) -> Option<VifIndex> {
        self.slots
            .iter()
            .position(Option::is_none)
            .and_then(|i| u16::try_from(i).ok())
            .map(VifIndex)
    }

    /// Records that the kernel accepted `entry` in slot `vif` (which must be free).
    pub fn insert(&mut self, vif: VifIndex, entry: VifEntry) {
        if let Some(slot) = self.slots.get_mut(usize::from(vif.0)) {
            *slot = Some(entry);
            self.by_ifindex.insert(entry.ifindex, vif);
        }
    }

    /// Forgets `ifindex` and returns the slot it had.
    pub fn remove(&mut self, ifindex: IfIndex) -> Option<VifIndex> {
        let vif = self.by_ifindex.remove(&ifindex)?;
        if let Some(slot) = self.slots.get_mut(usize::from(vif.0)) {
            *slot = None;
        }
        Some(vif)
    }

    /// Every (vif, entry) in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (VifIndex, VifEntry)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((VifIndex(u16::try_from(i).ok()?), (*e)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ifindex: u32) -> VifEntry {
        VifEntry {
            ifindex: IfIndex(ifindex),
            threshold: 1,
        }
    }

    fn vif(n: u16) -> Option<VifIndex> {
        Some(VifIndex(n))
    }

    fn ifindex(n: u32) -> Option<IfIndex> {
        Some(IfIndex(n))
    }

    #[test]
    fn allocates_lowest_free_and_reuses_freed_slots() {
        let mut t = VifTable::default();
        for ifindex in [10, 20, 30] {
            let vif = t.free_slot().unwrap();
            t.insert(vif, entry(ifindex));
        }
        let [i10, i20, i30] = [10, 20, 30].map(IfIndex);
        assert_eq!(
            (t.vif_of(i10), t.vif_of(i20), t.vif_of(i30)),
            (vif(0), vif(1), vif(2))
        );
        assert_eq!(t.remove(i20), vif(1));
        assert_eq!(t.vif_of(i20), None);
        assert_eq!(t.ifindex_of(VifIndex(1)), None);
        assert_eq!(t.free_slot(), vif(1));
        t.insert(VifIndex(1), entry(40));
        assert_eq!(t.ifindex_of(VifIndex(1)), ifindex(40));
        assert_eq!(t.free_slot(), vif(3));
        assert_eq!(
            t.iter()
                .map(|(v, e)| (v.0, e.ifindex.0))
                .collect::<Vec<_>>(),
            [(0, 10), (1, 40), (2, 30)]
        );
    }

    #[test]
    fn thirty_two_slots_then_none() {
        let mut t = VifTable::default();
        for ifindex in 0..32 {
            let vif = t.free_slot().unwrap();
            t.insert(vif, entry(1000 + ifindex));
        }
        assert_eq!(t.free_slot(), None);
        assert_eq!(t.ifindex_of(VifIndex(31)), ifindex(1031));
        assert_eq!(t.ifindex_of(VifIndex(32)), None);
        assert_eq!(t.remove(IfIndex(5)), None);
    }
}
