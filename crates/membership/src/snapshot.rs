//! The serialisable view of a port for status output and tests.

use crate::group::FilterMode;
use crate::port::Port;
use crate::{Address, GroupSnapshot, PortSnapshot, Timestamp};

pub(crate) fn port_snapshot<A: Address>(port: &Port<A>, now: Timestamp) -> PortSnapshot<A> {
    let version = port.config.version;
    let remaining = |at: Timestamp| at.as_millis().saturating_sub(now.as_millis());
    let groups = port
        .groups
        .iter()
        .filter(|(_, group)| group.is_active())
        .map(|(address, group)| {
            let mut sources: Vec<(A, u64)> = group
                .running
                .iter()
                .map(|(s, at)| (s, remaining(at)))
                .collect();
            sources.extend(group.excluded.iter().map(|s| (*s, 0)));
            sources.sort_unstable();
            GroupSnapshot {
                group: *address,
                filter_mode: match group.mode() {
                    FilterMode::Include => "include",
                    FilterMode::Exclude => "exclude",
                },
                compat: group.older_hosts.mode(version),
                group_timer_ms: group.group_timer().map(remaining),
                sources,
                hosts: group.hosts.hosts(),
            }
        })
        .collect();
    PortSnapshot {
        querier: port.querier.is_querier(),
        querier_address: port.querier.querier_address(),
        version,
        groups,
        counters: port.counters.clone(),
    }
}
