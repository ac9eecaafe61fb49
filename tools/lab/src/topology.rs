//! The lab network (all in namespaces this process creates and deletes):
//!
//! ```text
//!  src ── s0 ═══ up0 ── [rtr: mrproxy] ── dn1 ═══ p0 ─ br0 (sw, IGMP snooping) ─┬─ alice (192.0.2.10)
//!  198.51.100.2         198.51.100.1        192.0.2.1                          └─ bob   (192.0.2.11)
//!                                      └── dn2 ═══ carol (203.0.113.10, an IGMPv2 host)
//! ```

use netlab::{Lab, Netns, Snooping};
use std::io;

pub struct Topology {
    pub lab: Lab,
    pub src: Netns,
    pub rtr: Netns,
    /// The switch namespace (kept so its bridge lives as long as the lab).
    pub _sw: Netns,
    pub alice: Netns,
    pub bob: Netns,
    pub carol: Netns,
}

pub const CONFIG: &str = "\
# The lab's mrproxy.conf: igmpproxy syntax, unchanged.
# quickleave: leave upstream as soon as the last tracked viewer is gone (never before).
quickleave
phyint up0 upstream ratelimit 0 threshold 1
  altnet 198.51.100.0/24
phyint dn1 downstream ratelimit 0 threshold 1
phyint dn2 downstream ratelimit 0 threshold 1
";

impl Topology {
    pub fn build() -> io::Result<Topology> {
        let lab = Lab::new("lab")?;
        let src = lab.ns("src")?;
        let rtr = lab.ns("rtr")?;
        let sw = lab.ns("sw")?;
        let alice = lab.ns("alice")?;
        let bob = lab.ns("bob")?;
        let carol = lab.ns("carol")?;
        lab.veth((&rtr, "up0"), (&src, "s0"))?;
        lab.veth((&rtr, "dn1"), (&sw, "p0"))?;
        lab.veth((&rtr, "dn2"), (&carol, "e0"))?;
        lab.veth((&sw, "p1"), (&alice, "e0"))?;
        lab.veth((&sw, "p2"), (&bob, "e0"))?;
        // A snooping switch forwards reports only to router ports, which it learns from the
        // queries mrproxy sends (RFC 4541 §2.1.1).
        lab.bridge(&sw, "br0", Snooping::On { querier: false })?;
        for port in ["p0", "p1", "p2"] {
            lab.enslave(&sw, port, "br0")?;
            sw.set_up(port)?;
        }
        sw.set_up("br0")?;
        src.add_addr("s0", "198.51.100.2/24")?;
        rtr.add_addr("up0", "198.51.100.1/24")?;
        rtr.add_addr("dn1", "192.0.2.1/24")?;
        rtr.add_addr("dn2", "203.0.113.1/24")?;
        alice.add_addr("e0", "192.0.2.10/24")?;
        bob.add_addr("e0", "192.0.2.11/24")?;
        carol.add_addr("e0", "203.0.113.10/24")?;
        for (ns, ifname) in [(&src, "s0"), (&rtr, "up0"), (&rtr, "dn1"), (&rtr, "dn2")] {
            ns.set_up(ifname)?;
        }
        for ns in [&alice, &bob, &carol] {
            ns.set_up("e0")?;
        }
        src.add_route("default via 198.51.100.1")?;
        alice.add_route("default via 192.0.2.1")?;
        bob.add_route("default via 192.0.2.1")?;
        carol.add_route("default via 203.0.113.1")?;
        carol.sysctl("net/ipv4/conf/e0/force_igmp_version", "2")?;
        Ok(Topology {
            lab,
            src,
            rtr,
            _sw: sw,
            alice,
            bob,
            carol,
        })
    }
}
