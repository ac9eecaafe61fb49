//! The address family abstraction: IPv4 for IGMP, IPv6 for MLD.

use serde::Serialize;
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};

pub trait Address:
    Copy + Ord + Eq + Hash + Debug + Display + Serialize + Send + Sync + 'static
{
    /// 0.0.0.0 or ::
    const UNSPECIFIED: Self;
    /// Destination of general queries: 224.0.0.1 (RFC 9776 §4.1.12) or ff02::1 (RFC 9777 §5.1.15).
    const ALL_NODES: Self;
    /// Most sources one group-and-source-specific query may carry without fragmentation:
    /// IPv4 on a 1500-octet link ((1500 - 24 IP with Router Alert - 12) / 4), IPv6 on the
    /// minimum 1280-octet link ((1280 - 40 - 8 hop-by-hop - 28) / 16). Longer lists are split
    /// over several queries.
    const MAX_QUERY_SOURCES: usize;
    fn is_unspecified(&self) -> bool {
        *self == Self::UNSPECIFIED
    }
}

impl Address for Ipv4Addr {
    const UNSPECIFIED: Self = Ipv4Addr::UNSPECIFIED;
    const ALL_NODES: Self = Ipv4Addr::new(224, 0, 0, 1);
    const MAX_QUERY_SOURCES: usize = 366;
}

impl Address for Ipv6Addr {
    const UNSPECIFIED: Self = Ipv6Addr::UNSPECIFIED;
    const ALL_NODES: Self = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    const MAX_QUERY_SOURCES: usize = 75;
}
