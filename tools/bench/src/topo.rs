//! Namespace networks of the scenarios, built with netlab. Every scenario gets a fresh lab per
//! proxy, so nothing one daemon left in the kernel (memberships, forwarding entries, a host's
//! IGMP compatibility mode) can influence the other's figures.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlab::{Lab, Netns};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

/// The source side of the upstream link (TEST-NET-2).
pub const SOURCE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const SOURCE_CIDR: &str = "198.51.100.2/24";
const UPSTREAM_CIDR: &str = "198.51.100.1/24";

/// Option memory per IPv4 membership, with room to spare (an `ip_mc_socklist` is 48 bytes).
const OPTMEM_PER_MEMBERSHIP: usize = 128;
const DEFAULT_OPTMEM: usize = 128 * 1024;

/// A lab with a source namespace behind the router's `up0`.
pub struct Base {
    pub lab: Lab,
    pub src: Netns,
    pub rtr: Netns,
}

impl Base {
    pub fn new(tag: &str) -> io::Result<Base> {
        let lab = Lab::new(tag)?;
        let src = lab.ns("src")?;
        let rtr = lab.ns("rtr")?;
        lab.veth((&rtr, "up0"), (&src, "s0"))?;
        src.add_addr("s0", SOURCE_CIDR)?;
        rtr.add_addr("up0", UPSTREAM_CIDR)?;
        src.add_route("default via 198.51.100.1")?;
        Ok(Base { lab, src, rtr })
    }

    /// A point-to-point LAN: `rtr_if` in the router, `host_if` in `host`, addresses in CIDR form
    /// (the host's default route points at the router, for strict reverse-path filters).
    pub fn lan(
        &self,
        rtr_if: &str,
        rtr_cidr: &str,
        host: &Netns,
        host_if: &str,
        host_cidr: &str,
    ) -> io::Result<()> {
        self.lab.veth((&self.rtr, rtr_if), (host, host_if))?;
        self.rtr.add_addr(rtr_if, rtr_cidr)?;
        host.add_addr(host_if, host_cidr)
    }

    /// Lets the namespace's sockets hold `n` IPv4 memberships each (the default is 20). Raised
    /// in the router namespace for igmpproxy only, which joins every upstream group on its
    /// one mroute socket and fails at the 21st otherwise (docs/igmpproxy-differences.md D21); mrproxy spreads
    /// its joins over as many sockets as the default needs, and runs with the default.
    /// Each membership is also charged to the socket's option memory (`net.core.optmem_max`,
    /// 128 KiB: about 2 300 memberships), which is raised along.
    pub fn allow_memberships(ns: &Netns, n: usize) -> io::Result<()> {
        ns.sysctl("net.ipv4.igmp_max_memberships", &n.to_string())?;
        let optmem = (n * OPTMEM_PER_MEMBERSHIP).max(DEFAULT_OPTMEM);
        match ns.sysctl("net.core.optmem_max", &optmem.to_string()) {
            // Before Linux 6.9 optmem_max is one value for the whole system, absent from other
            // namespaces (Debian 12's 6.1, the kernel of scripts/kernel-vm.sh's guest).
            Err(e) if e.kind() == io::ErrorKind::NotFound => raise_global_optmem(optmem),
            other => other,
        }
    }
}

/// Raises the system-wide `net.core.optmem_max` (this process runs in the initial namespace) to
/// at least `value`, saying so, since it outlives the benchmark.
fn raise_global_optmem(value: usize) -> io::Result<()> {
    const PATH: &str = "/proc/sys/net/core/optmem_max";
    let current: usize = std::fs::read_to_string(PATH)?.trim().parse().unwrap_or(0);
    if current < value {
        eprintln!(
            "bench: net.core.optmem_max is system-wide on this kernel (before 6.9): raised from \
             {current} to {value}"
        );
        std::fs::write(PATH, format!("{value}\n"))?;
    }
    Ok(())
}

/// A host-side socket whose memberships make the namespace's kernel report and leave, like an
/// application joining a group. Unbound, so it receives nothing and needs no reader: the
/// benchmark observes traffic on the wire instead.
pub struct Member {
    socket: Socket,
}

impl Member {
    pub fn open(ns: &Netns) -> io::Result<Member> {
        let socket = ns.run(|| Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)))??;
        Ok(Member { socket })
    }

    pub fn join(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        self.socket
            .join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))
    }

    pub fn leave(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        self.socket
            .leave_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))
    }
}

/// The `n`-th address after `base` (groups and simulated hosts are numbered).
pub fn nth(base: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base).wrapping_add(n))
}

/// Number of groups the router's kernel has joined on `ifname` (its upstream membership, as
/// the proxy asked for it), not counting the all-systems group 224.0.0.1 and other link-local
/// groups.
pub fn upstream_groups(rtr: &Netns, ifname: &str) -> io::Result<usize> {
    let interfaces = netlab::igmp_memberships(rtr)?;
    Ok(interfaces
        .iter()
        .filter(|i| i.name == ifname)
        .flat_map(|i| i.groups.iter())
        .filter(|g| !is_link_local(IpAddr::V4(**g)))
        .count())
}

fn is_link_local(group: IpAddr) -> bool {
    match group {
        IpAddr::V4(g) => g.octets()[..3] == [224, 0, 0],
        IpAddr::V6(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_walks_across_octets() {
        let base = Ipv4Addr::new(239, 10, 0, 0);
        assert_eq!(nth(base, 9_999), Ipv4Addr::new(239, 10, 39, 15));
        assert_eq!(
            nth(Ipv4Addr::new(198, 18, 1, 0), 999),
            Ipv4Addr::new(198, 18, 4, 231)
        );
    }

    #[test]
    fn only_224_0_0_x_is_link_local() {
        assert!(is_link_local("224.0.0.22".parse().unwrap()));
        assert!(!is_link_local("239.10.0.1".parse().unwrap()));
    }
}
