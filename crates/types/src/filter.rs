//! Source filters: the full state of one membership (RFC 3678 §4.2, MCAST_MSFILTER).

use crate::family::{IpFamily, PerFamily};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// RFC 3376 §3.2 / RFC 3810 §4.2 filter mode of a membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FilterMode {
    Include,
    Exclude,
}

/// The membership of `group` as (mode, sources), all addresses of family `A`. INCLUDE with no
/// sources means "not a member".
///
/// A source of the other family cannot be listed:
/// ```compile_fail
/// use mrproxy_types::{FilterMode, SourceFilter};
/// use std::net::{Ipv4Addr, Ipv6Addr};
/// let mixed = SourceFilter {
///     group: "ff3e::1".parse::<Ipv6Addr>().unwrap(),
///     mode: FilterMode::Include,
///     sources: vec![Ipv4Addr::new(198, 51, 100, 2)],
/// };
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourceFilter<A> {
    pub group: A,
    pub mode: FilterMode,
    pub sources: Vec<A>,
}

impl<A> SourceFilter<A> {
    /// INCLUDE {}: leaving the group.
    pub fn is_leave(&self) -> bool {
        self.mode == FilterMode::Include && self.sources.is_empty()
    }
}

/// A source filter of either family.
pub type AnySourceFilter = PerFamily<SourceFilter<Ipv4Addr>, SourceFilter<Ipv6Addr>>;

impl AnySourceFilter {
    pub fn group(&self) -> IpAddr {
        match self {
            PerFamily::V4(f) => f.group.into(),
            PerFamily::V6(f) => f.group.into(),
        }
    }

    pub fn sources(&self) -> Vec<IpAddr> {
        match self {
            PerFamily::V4(f) => f.sources.iter().map(|&s| s.into()).collect(),
            PerFamily::V6(f) => f.sources.iter().map(|&s| s.into()).collect(),
        }
    }

    pub fn mode(&self) -> FilterMode {
        match self {
            PerFamily::V4(f) => f.mode,
            PerFamily::V6(f) => f.mode,
        }
    }

    pub fn is_leave(&self) -> bool {
        match self {
            PerFamily::V4(f) => f.is_leave(),
            PerFamily::V6(f) => f.is_leave(),
        }
    }
}

impl<A: IpFamily> From<SourceFilter<A>> for AnySourceFilter {
    fn from(filter: SourceFilter<A>) -> Self {
        A::tag_source_filter(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Family;

    #[test]
    fn filters_are_tagged_and_leaves_recognised() {
        let group = Ipv4Addr::new(239, 1, 2, 3);
        let leave = SourceFilter {
            group,
            mode: FilterMode::Include,
            sources: vec![],
        };
        assert!(leave.is_leave());
        let any = AnySourceFilter::from(leave);
        assert_eq!(any.family(), Family::V4);
        assert_eq!(any.group(), IpAddr::V4(group));
        assert!(any.is_leave());
        let join = AnySourceFilter::from(SourceFilter {
            group: "ff3e::1".parse::<Ipv6Addr>().unwrap(),
            mode: FilterMode::Exclude,
            sources: vec![],
        });
        assert_eq!(
            (join.family(), join.mode()),
            (Family::V6, FilterMode::Exclude)
        );
        assert!(!join.is_leave());
    }
}
