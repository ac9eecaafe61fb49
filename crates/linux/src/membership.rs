//! Host-side group membership through the kernel.
//!
//! RFC 4605 §2 makes the proxy a *host* on its upstream interface. We let the kernel play that
//! host: it sends the reports, retransmits them, answers the upstream querier and follows its
//! version. Each (interface, group) gets its whole source filter set at once with MCAST_MSFILTER
//! (RFC 3678 full-state API), so the kernel computes the IGMPv3/MLDv2 state changes.
//!
//! The kernel caps memberships per socket (`net.ipv4.igmp_max_memberships`, 20 by default),
//! which is why igmpproxy failed at the 21st group (docs/igmpproxy-differences.md D21). We spread memberships over
//! as many unbound UDP sockets as needed; unbound, they never receive, so no queue fills up.

use crate::error::{Family, Result};
use crate::join_pool::JoinPool;
use std::net::IpAddr;

/// RFC 3376 §3.2 / RFC 3810 §4.2 filter mode of a membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilterMode {
    Include,
    Exclude,
}

/// Memberships of both families, spread over pools of sockets. `set` is idempotent.
#[derive(Debug, Default)]
pub struct UpstreamMembership {
    v4: Option<JoinPool>,
    v6: Option<JoinPool>,
}

impl UpstreamMembership {
    pub fn new() -> UpstreamMembership {
        UpstreamMembership::default()
    }

    /// Sizes both families' pools now (they read `net.ipv4.igmp_max_memberships` from /proc),
    /// instead of at the first join: after a `chroot` /proc is out of reach and the pool would
    /// fall back to the kernel's default of 20 groups per socket. Opens no socket.
    pub fn prepare(&mut self) {
        self.pool(Family::V4);
        self.pool(Family::V6);
    }

    /// Makes the membership of `group` on `ifindex` exactly (mode, sources). INCLUDE with no
    /// sources leaves the group. On error the previous state is kept, except for a refused
    /// leave: the membership is forgotten all the same (the error is still returned).
    pub fn set(
        &mut self,
        ifindex: u32,
        group: IpAddr,
        mode: FilterMode,
        sources: &[IpAddr],
    ) -> Result<()> {
        self.pool(family_of(group))
            .set(ifindex, group, mode, sources)
    }

    /// The state held for (ifindex, group), if joined.
    pub fn get(&self, ifindex: u32, group: IpAddr) -> Option<(FilterMode, &[IpAddr])> {
        let pool = match family_of(group) {
            Family::V4 => self.v4.as_ref(),
            Family::V6 => self.v6.as_ref(),
        };
        pool?.get(ifindex, group)
    }

    /// Drops every membership on `ifindex` (the interface went away or stopped being upstream).
    pub fn forget_interface(&mut self, ifindex: u32) {
        for pool in [&mut self.v4, &mut self.v6].into_iter().flatten() {
            pool.forget_interface(ifindex);
        }
    }

    /// Leaves every group (also done by the kernel when the sockets close).
    pub fn clear(&mut self) {
        for pool in [&mut self.v4, &mut self.v6].into_iter().flatten() {
            pool.clear();
        }
    }

    /// How many sockets hold memberships (for status output and tests).
    pub fn socket_count(&self) -> usize {
        [&self.v4, &self.v6]
            .into_iter()
            .flatten()
            .map(|p| p.socket_count())
            .sum()
    }

    fn pool(&mut self, family: Family) -> &mut JoinPool {
        let slot = match family {
            Family::V4 => &mut self.v4,
            Family::V6 => &mut self.v6,
        };
        slot.get_or_insert_with(|| JoinPool::new(family))
    }
}

pub(crate) fn family_of(a: IpAddr) -> Family {
    if a.is_ipv4() { Family::V4 } else { Family::V6 }
}
