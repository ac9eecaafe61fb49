//! Interface names for log lines (`iface=dn1` reads better than an index).

use mrproxy_engine::IfIndex;
use std::collections::HashMap;

#[derive(Default)]
pub struct Names(HashMap<IfIndex, String>);

impl Names {
    pub fn set(&mut self, ifindex: IfIndex, name: &str) {
        self.0.insert(ifindex, name.to_owned());
    }
    pub fn remove(&mut self, ifindex: IfIndex) {
        self.0.remove(&ifindex);
    }
    /// Every interface the engine was told of and not told is gone.
    pub fn ifindexes(&self) -> impl Iterator<Item = IfIndex> + '_ {
        self.0.keys().copied()
    }
    pub fn of(&self, ifindex: IfIndex) -> String {
        self.0
            .get(&ifindex)
            .cloned()
            .unwrap_or_else(|| ifindex.to_string())
    }
    pub fn list(&self, list: &[IfIndex]) -> String {
        if list.is_empty() {
            return "(none)".to_owned();
        }
        list.iter()
            .map(|i| self.of(*i))
            .collect::<Vec<_>>()
            .join(",")
    }
}
