//! Shared set-up for the namespace tests: every test builds its own netlab topology (unique
//! namespace names, deleted on drop, also after a failed assertion) and runs the code under
//! test on a thread inside the router namespace with a current-thread tokio runtime, the way
//! the daemon runs.
#![allow(dead_code)]

pub mod mroute;

use mrproxy_types::IfIndex;
use netlab::{Lab, Netns};
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

/// Runs `f` in a fresh current-thread runtime on a thread inside `ns`.
pub fn run_in<T: Send, Fut: Future<Output = T>>(ns: &Netns, f: impl FnOnce() -> Fut + Send) -> T {
    ns.run(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(f())
    })
    .expect("enter the namespace")
}

/// A router with one upstream and two downstream links:
/// src:s0 198.51.100.2 — up0 198.51.100.1 [rtr] dn1 192.0.2.1 — e0 192.0.2.2 :h1
///                                              dn2 203.0.113.1 — e0 203.0.113.2 :h2
/// IPv6: 2001:db8:1::/64 upstream, 2001:db8:2::/64 and 2001:db8:3::/64 downstream. DAD is off
/// in every namespace so that link-local addresses are usable at once.
pub struct Topology {
    pub lab: Lab,
    pub rtr: Netns,
    pub src: Netns,
    pub h1: Netns,
    pub h2: Netns,
}

impl Topology {
    pub fn new(tag: &str) -> Topology {
        let lab = Lab::new(tag).expect("lab");
        let [rtr, src, h1, h2] = ["rtr", "src", "h1", "h2"].map(|n| {
            let ns = lab.ns(n).expect("namespace");
            for key in [
                "net/ipv6/conf/all/accept_dad",
                "net/ipv6/conf/default/accept_dad",
            ] {
                ns.sysctl(key, "0").expect("sysctl");
            }
            ns
        });
        lab.veth((&rtr, "up0"), (&src, "s0")).expect("veth");
        lab.veth((&rtr, "dn1"), (&h1, "e0")).expect("veth");
        lab.veth((&rtr, "dn2"), (&h2, "e0")).expect("veth");
        for (ns, ifname, v4, v6) in [
            (&src, "s0", "198.51.100.2/24", "2001:db8:1::2/64"),
            (&rtr, "up0", "198.51.100.1/24", "2001:db8:1::1/64"),
            (&rtr, "dn1", "192.0.2.1/24", "2001:db8:2::1/64"),
            (&h1, "e0", "192.0.2.2/24", "2001:db8:2::2/64"),
            (&rtr, "dn2", "203.0.113.1/24", "2001:db8:3::1/64"),
            (&h2, "e0", "203.0.113.2/24", "2001:db8:3::2/64"),
        ] {
            ns.add_addr(ifname, v4).expect("address");
            ns.add_addr(ifname, v6).expect("address");
        }
        src.add_route("default via 198.51.100.1").expect("route");
        h1.add_route("default via 192.0.2.1").expect("route");
        h2.add_route("default via 203.0.113.1").expect("route");
        Topology {
            lab,
            rtr,
            src,
            h1,
            h2,
        }
    }

    /// The topology, or `None` when namespace tests cannot run and are skipped
    /// ([`Lab::require_root`]).
    pub fn with_root(tag: &str) -> Option<Topology> {
        Lab::require_root().then(|| Topology::new(tag))
    }

    /// The router's interfaces of these names.
    pub fn ifindexes<const N: usize>(&self, ifnames: [&str; N]) -> [IfIndex; N] {
        ifnames.map(|n| self.ifindex(n))
    }

    pub fn ifindex(&self, ifname: &str) -> IfIndex {
        IfIndex(self.rtr.ifindex(ifname).expect("ifindex"))
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("address literal")
}

pub const SECOND: Duration = Duration::from_secs(1);
