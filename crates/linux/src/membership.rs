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

use crate::error::Result;
use crate::join_pool::JoinPool;
use mrproxy_types::{FilterMode, IfIndex, IpFamily};

/// One family's memberships (`A`: `Ipv4Addr` or `Ipv6Addr`), spread over a pool of sockets.
/// `set` is idempotent.
///
/// Group and sources are of the pool's family; a source of the other family does not compile:
/// ```compile_fail
/// use mrproxy_linux::UpstreamMembership;
/// use mrproxy_types::{FilterMode, IfIndex};
/// use std::net::{Ipv4Addr, Ipv6Addr};
/// let mut m = UpstreamMembership::new();
/// let group: Ipv6Addr = "ff3e::1234".parse().unwrap();
/// let mixed = [Ipv4Addr::new(198, 51, 100, 2)];
/// let _ = m.set(IfIndex(2), group, FilterMode::Include, &mixed);
/// ```
#[derive(Debug)]
pub struct UpstreamMembership<A: IpFamily> {
    pool: JoinPool<A>,
}

impl<A: IpFamily> UpstreamMembership<A> {
    /// Sizes the pool from the calling thread's network namespace now (it reads
    /// `net.ipv4.igmp_max_memberships` and `igmp_max_msf` / `mld_max_msf` from /proc): after a
    /// `chroot` /proc is out of reach and the pool would fall back to the kernel's defaults of
    /// 20 groups and 10 sources per socket. Opens no socket.
    pub fn new() -> UpstreamMembership<A> {
        UpstreamMembership {
            pool: JoinPool::new(),
        }
    }

    /// Makes the membership of `group` on `ifindex` exactly (mode, sources). INCLUDE with no
    /// sources leaves the group. On error the previous state is kept, except for a refused
    /// leave: the membership is forgotten all the same (the error is still returned).
    pub fn set(
        &mut self,
        ifindex: IfIndex,
        group: A,
        mode: FilterMode,
        sources: &[A],
    ) -> Result<()> {
        self.pool.set(ifindex, group, mode, sources)
    }

    /// The state held for (ifindex, group), if joined.
    pub fn get(&self, ifindex: IfIndex, group: A) -> Option<(FilterMode, &[A])> {
        self.pool.get(ifindex, group)
    }

    /// Drops every membership on `ifindex` (the interface went away or stopped being upstream).
    pub fn forget_interface(&mut self, ifindex: IfIndex) {
        self.pool.forget_interface(ifindex);
    }

    /// Leaves every group (also done by the kernel when the sockets close).
    pub fn clear(&mut self) {
        self.pool.clear();
    }

    /// How many sockets hold memberships (for status output and tests).
    pub fn socket_count(&self) -> usize {
        self.pool.socket_count()
    }
}

impl<A: IpFamily> Default for UpstreamMembership<A> {
    fn default() -> Self {
        Self::new()
    }
}
