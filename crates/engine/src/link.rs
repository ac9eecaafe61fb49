//! The networks that count as "on" one link: its own prefixes and the configured `altnet`s.

use ipnet::IpNet;
use mrproxy_types::Family;
use serde::Serialize;
use std::net::IpAddr;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LinkNets {
    /// The interface's own prefixes (and point-to-point peer prefixes), host bits cleared.
    pub subnets: Vec<IpNet>,
    /// `altnet` prefixes from the configuration.
    pub altnets: Vec<IpNet>,
}

impl LinkNets {
    pub fn new(subnets: Vec<IpNet>, altnets: &[IpNet]) -> Self {
        LinkNets {
            subnets,
            altnets: altnets.iter().map(IpNet::trunc).collect(),
        }
    }

    /// Inside one of the link's prefixes or altnets.
    pub fn covers(&self, ip: IpAddr) -> bool {
        self.subnets
            .iter()
            .chain(&self.altnets)
            .any(|net| net.contains(&ip))
    }

    /// Inside one of the link's own prefixes (altnets not counted): on the link itself.
    pub fn on_link(&self, ip: IpAddr) -> bool {
        self.subnets.iter().any(|net| net.contains(&ip))
    }

    pub fn has_subnets_of(&self, family: Family) -> bool {
        self.subnets.iter().any(|n| family_of(n) == family)
    }

    pub fn has_altnets_of(&self, family: Family) -> bool {
        self.altnets.iter().any(|n| family_of(n) == family)
    }
}

fn family_of(net: &IpNet) -> Family {
    match net {
        IpNet::V4(_) => Family::V4,
        IpNet::V6(_) => Family::V6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn covers_subnets_and_altnets_of_both_families() {
        let link = LinkNets::new(
            vec![net("192.0.2.0/24")],
            &[net("198.51.100.0/25"), net("2001:db8::/32")],
        );
        assert!(link.covers("192.0.2.77".parse().unwrap()));
        assert!(link.covers("198.51.100.1".parse().unwrap()));
        assert!(!link.covers("198.51.100.200".parse().unwrap()));
        assert!(link.covers("2001:db8::9".parse().unwrap()));
        assert!(!link.covers("203.0.113.1".parse().unwrap()));
        assert!(link.has_subnets_of(Family::V4));
        assert!(!link.has_subnets_of(Family::V6));
        assert!(link.has_altnets_of(Family::V6));
    }

    #[test]
    fn altnets_with_host_bits_are_masked() {
        // igmpproxy's D28: `altnet 10.1.2.3/8` must mean 10.0.0.0/8.
        let link = LinkNets::new(Vec::new(), &[net("198.51.100.7/24")]);
        assert!(link.covers("198.51.100.200".parse().unwrap()));
    }
}
