//! The daemon-side map between interface indexes and the kernel's VIF (IPv4) or MIF (IPv6)
//! slots. Linux has 32 slots per table (MAXVIFS / MAXMIFS) and leaves the choice of slot to the
//! caller; we take the lowest free one and reuse slots as interfaces go, so the VIF index never
//! depends on the (unbounded) ifindex.

use crate::sys::MAXVIFS;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VifEntry {
    pub ifindex: u32,
    /// Output threshold: the MFC copies a packet out of this VIF only when its TTL is greater.
    pub threshold: u8,
}

#[derive(Debug, Default)]
pub struct VifTable {
    slots: [Option<VifEntry>; MAXVIFS],
    by_ifindex: HashMap<u32, u16>,
}

impl VifTable {
    /// The VIF already given to `ifindex`.
    pub fn vif_of(&self, ifindex: u32) -> Option<u16> {
        self.by_ifindex.get(&ifindex).copied()
    }

    pub fn entry(&self, vif: u16) -> Option<VifEntry> {
        self.slots.get(usize::from(vif)).copied().flatten()
    }

    pub fn ifindex_of(&self, vif: u16) -> Option<u32> {
        self.entry(vif).map(|e| e.ifindex)
    }

    /// The lowest free slot, or `None` when all 32 are taken.
    pub fn free_slot(&self) -> Option<u16> {
        self.slots
            .iter()
            .position(Option::is_none)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// Records that the kernel accepted `entry` in slot `vif` (which must be free).
    pub fn insert(&mut self, vif: u16, entry: VifEntry) {
        if let Some(slot) = self.slots.get_mut(usize::from(vif)) {
            *slot = Some(entry);
            self.by_ifindex.insert(entry.ifindex, vif);
        }
    }

    /// Forgets `ifindex` and returns the slot it had.
    pub fn remove(&mut self, ifindex: u32) -> Option<u16> {
        let vif = self.by_ifindex.remove(&ifindex)?;
        if let Some(slot) = self.slots.get_mut(usize::from(vif)) {
            *slot = None;
        }
        Some(vif)
    }

    /// Every (vif, entry) in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, VifEntry)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((u16::try_from(i).ok()?, (*e)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ifindex: u32) -> VifEntry {
        VifEntry {
            ifindex,
            threshold: 1,
        }
    }

    #[test]
    fn allocates_lowest_free_and_reuses_freed_slots() {
        let mut t = VifTable::default();
        for ifindex in [10, 20, 30] {
            let vif = t.free_slot().unwrap();
            t.insert(vif, entry(ifindex));
        }
        assert_eq!(
            (t.vif_of(10), t.vif_of(20), t.vif_of(30)),
            (Some(0), Some(1), Some(2))
        );
        assert_eq!(t.remove(20), Some(1));
        assert_eq!(t.vif_of(20), None);
        assert_eq!(t.ifindex_of(1), None);
        assert_eq!(t.free_slot(), Some(1));
        t.insert(1, entry(40));
        assert_eq!(t.ifindex_of(1), Some(40));
        assert_eq!(t.free_slot(), Some(3));
        assert_eq!(
            t.iter().map(|(v, e)| (v, e.ifindex)).collect::<Vec<_>>(),
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
        assert_eq!(t.ifindex_of(31), Some(1031));
        assert_eq!(t.ifindex_of(32), None);
        assert_eq!(t.remove(5), None);
    }
}
