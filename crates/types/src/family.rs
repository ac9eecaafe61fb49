//! The two address families, as a value ([`Family`]) and as a type ([`IpFamily`]), and the
//! family-typed (source, group) pair of a forwarding entry.

use std::fmt::{self, Debug, Display};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The address family of a multicast routing table, an interface's use or a membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Family {
    V4,
    V6,
}

impl Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for std::net::Ipv4Addr {}
    impl Sealed for std::net::Ipv6Addr {}
}

/// An address type that names its family: `Ipv4Addr` or `Ipv6Addr`. Code written once over
/// `A: IpFamily` handles both families; what it produces for the outside world it tags with
/// the family ([`PerFamily`]).
pub trait IpFamily:
    sealed::Sealed + Copy + Ord + Hash + Debug + Display + Send + Sync + 'static
{
    const FAMILY: Family;

    fn into_ip(self) -> IpAddr;
    /// The address if it is of this family.
    fn from_ip(ip: IpAddr) -> Option<Self>;

    /// `sg` tagged with this family (what `From<SourceGroup<A>>` calls).
    fn tag_source_group(sg: SourceGroup<Self>) -> AnySourceGroup;
    /// `filter` tagged with this family.
    fn tag_source_filter(filter: crate::SourceFilter<Self>) -> crate::AnySourceFilter;
}

impl IpFamily for Ipv4Addr {
    const FAMILY: Family = Family::V4;

    fn into_ip(self) -> IpAddr {
        IpAddr::V4(self)
    }
    fn from_ip(ip: IpAddr) -> Option<Self> {
        match ip {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }
    }
    fn tag_source_group(sg: SourceGroup<Self>) -> AnySourceGroup {
        PerFamily::V4(sg)
    }
    fn tag_source_filter(filter: crate::SourceFilter<Self>) -> crate::AnySourceFilter {
        PerFamily::V4(filter)
    }
}

impl IpFamily for Ipv6Addr {
    const FAMILY: Family = Family::V6;

    fn into_ip(self) -> IpAddr {
        IpAddr::V6(self)
    }
    fn from_ip(ip: IpAddr) -> Option<Self> {
        match ip {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }
    }
    fn tag_source_group(sg: SourceGroup<Self>) -> AnySourceGroup {
        PerFamily::V6(sg)
    }
    fn tag_source_filter(filter: crate::SourceFilter<Self>) -> crate::AnySourceFilter {
        PerFamily::V6(filter)
    }
}

/// A value of one of the two families, tagged with it: `V4` holds the IPv4 form, `V6` the
/// IPv6 one, so a consumer matches once on the family and then works on typed addresses.
/// Serialised as the value alone (untagged): the addresses say the family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(untagged)
)]
pub enum PerFamily<T4, T6> {
    V4(T4),
    V6(T6),
}

impl<T4, T6> PerFamily<T4, T6> {
    pub fn family(&self) -> Family {
        match self {
            PerFamily::V4(_) => Family::V4,
            PerFamily::V6(_) => Family::V6,
        }
    }
}

/// The key of a forwarding entry: traffic from `source` to `group`, both of family `A`.
///
/// A pair of mixed families cannot be built:
/// ```compile_fail
/// use mrproxy_types::SourceGroup;
/// use std::net::{Ipv4Addr, Ipv6Addr};
/// let mixed = SourceGroup { source: Ipv4Addr::LOCALHOST, group: Ipv6Addr::LOCALHOST };
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SourceGroup<A> {
    pub source: A,
    pub group: A,
}

impl<A: Display> Display for SourceGroup<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.source, self.group)
    }
}

/// A (source, group) pair of either family.
pub type AnySourceGroup = PerFamily<SourceGroup<Ipv4Addr>, SourceGroup<Ipv6Addr>>;

impl AnySourceGroup {
    /// The pair as one family's (S,G); `None` when the two addresses are of different families.
    pub fn from_ips(source: IpAddr, group: IpAddr) -> Option<AnySourceGroup> {
        match (source, group) {
            (IpAddr::V4(source), IpAddr::V4(group)) => Some(SourceGroup { source, group }.into()),
            (IpAddr::V6(source), IpAddr::V6(group)) => Some(SourceGroup { source, group }.into()),
            _ => None,
        }
    }

    pub fn source(&self) -> IpAddr {
        match self {
            PerFamily::V4(sg) => sg.source.into(),
            PerFamily::V6(sg) => sg.source.into(),
        }
    }

    pub fn group(&self) -> IpAddr {
        match self {
            PerFamily::V4(sg) => sg.group.into(),
            PerFamily::V6(sg) => sg.group.into(),
        }
    }
}

impl<A: IpFamily> From<SourceGroup<A>> for AnySourceGroup {
    fn from(sg: SourceGroup<A>) -> Self {
        A::tag_source_group(sg)
    }
}

impl Display for AnySourceGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PerFamily::V4(sg) => Display::fmt(sg, f),
            PerFamily::V6(sg) => Display::fmt(sg, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_tagged_with_its_family() {
        let sg = SourceGroup {
            source: Ipv4Addr::new(192, 0, 2, 9),
            group: Ipv4Addr::new(239, 1, 2, 3),
        };
        let any = AnySourceGroup::from(sg);
        assert_eq!(any, PerFamily::V4(sg));
        assert_eq!(any.family(), Family::V4);
        assert_eq!(any.source(), IpAddr::V4(sg.source));
        assert_eq!(any.group(), IpAddr::V4(sg.group));
        assert_eq!(any.to_string(), "(192.0.2.9, 239.1.2.3)");
        let v6 = SourceGroup {
            source: "2001:db8::5".parse::<Ipv6Addr>().unwrap(),
            group: "ff3e::1".parse::<Ipv6Addr>().unwrap(),
        };
        assert_eq!(AnySourceGroup::from(v6).family(), Family::V6);
    }

    /// Commands embed these pairs with `#[serde(flatten)]`: the JSON is the bare pair, as it
    /// was when commands carried two `IpAddr`s, and it reads back into the right family.
    #[cfg(feature = "serde")]
    #[test]
    fn serialised_as_the_bare_pair() {
        let sg = AnySourceGroup::from(SourceGroup {
            source: "2001:db8::5".parse::<Ipv6Addr>().unwrap(),
            group: "ff3e::1".parse::<Ipv6Addr>().unwrap(),
        });
        let json = serde_json::to_value(sg).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"source": "2001:db8::5", "group": "ff3e::1"})
        );
        assert_eq!(serde_json::from_value::<AnySourceGroup>(json).unwrap(), sg);
        let mixed = serde_json::json!({"source": "192.0.2.9", "group": "ff3e::1"});
        assert!(serde_json::from_value::<AnySourceGroup>(mixed).is_err());
    }

    #[test]
    fn addresses_convert_only_within_their_family() {
        let v4 = IpAddr::V4(Ipv4Addr::new(239, 1, 2, 3));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(Ipv4Addr::from_ip(v4).map(Ipv4Addr::into_ip), Some(v4));
        assert_eq!(Ipv4Addr::from_ip(v6), None);
        assert_eq!(Ipv6Addr::from_ip(v6).map(Ipv6Addr::into_ip), Some(v6));
        assert_eq!(Ipv6Addr::from_ip(v4), None);
        assert_eq!(Family::V4.to_string(), "IPv4");
        assert_eq!(Family::V6.to_string(), "IPv6");
    }
}
