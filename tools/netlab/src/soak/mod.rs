//! A soak of a multicast proxy: simulated IGMPv2 and IGMPv3 hosts on two LANs join and leave
//! random groups (some IGMPv3 hosts with INCLUDE source lists) for a while, answering the
//! proxy's queries, while sources behind the upstream send to every group; then, after the
//! proxy's timers have had time to act, what the hosts hold is compared with what the kernel
//! forwards, per (S,G) and LAN, and with the upstream membership. See docs/soak.md.
//!
//! The hosts are spoofed: one packet socket per LAN sends their reports from distinct on-link
//! addresses, and a capture of the LAN hands the proxy's queries to the model, which answers
//! them in the hosts' names. A real kernel host on each LAN (a socket joined to a few groups)
//! answers for itself and checks that the streams arrive.

pub mod check;
pub mod model;
pub mod records;
mod run;
pub mod sweep;

pub use run::{Report, run};

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::lab::Lab;
use crate::netns::Netns;
use model::Behaviour;

/// The upstream interface of the router.
pub const UPSTREAM: &str = "up0";
/// The LANs: router interface, router address, kernel host address, first simulated host.
/// Each LAN is a /22 of 198.18.0.0/15 (RFC 2544 benchmarking range, only inside the lab), so
/// that its 500 hosts are on-link.
pub const LANS: [(&str, &str, &str, Ipv4Addr); 2] = [
    (
        "dn1",
        "198.18.0.1/22",
        "198.18.0.2/22",
        Ipv4Addr::new(198, 18, 0, 10),
    ),
    (
        "dn2",
        "198.18.4.1/22",
        "198.18.4.2/22",
        Ipv4Addr::new(198, 18, 4, 10),
    ),
];
/// The sources, on the source namespace's `s0` (TEST-NET-2).
pub const SOURCES: [Ipv4Addr; 3] = [
    Ipv4Addr::new(198, 51, 100, 2),
    Ipv4Addr::new(198, 51, 100, 3),
    Ipv4Addr::new(198, 51, 100, 4),
];
/// UDP port of the streams.
pub const PORT: u16 = 5000;

/// The proxy's query timers for a soak (RFC 9776 §8), written into its configuration and used
/// to derive how long to wait for convergence.
#[derive(Clone, Debug)]
pub struct Timers {
    /// Query Interval, seconds.
    pub query_interval: u32,
    /// Query Response Interval, tenths of a second.
    pub query_response_tenths: u32,
    /// Last Member Query Interval, tenths of a second.
    pub last_member_tenths: u32,
    /// Robustness Variable (also the Last Member Query Count).
    pub robustness: u32,
}

impl Timers {
    /// The configuration keywords (mrproxy.conf(5)).
    pub fn config(&self) -> String {
        format!(
            "robustness {}\nqueryinterval {}\nqueryresponseinterval {}.{}\nlastmemberqueryinterval {}.{}\n",
            self.robustness,
            self.query_interval,
            self.query_response_tenths / 10,
            self.query_response_tenths % 10,
            self.last_member_tenths / 10,
            self.last_member_tenths % 10,
        )
    }

    /// Last Member Query Interval.
    pub fn lmqi(&self) -> Duration {
        Duration::from_millis(u64::from(self.last_member_tenths) * 100)
    }

    /// Last Member Query Time (§8.9): after the last member's leave, the group or source ends
    /// this long later.
    pub fn lmqt(&self) -> Duration {
        self.lmqi() * self.robustness
    }

    /// Query Interval plus Query Response Interval: one round of general query and answers.
    pub fn query_round(&self) -> Duration {
        Duration::from_secs(u64::from(self.query_interval))
            + Duration::from_millis(u64::from(self.query_response_tenths) * 100)
    }

    /// Group Membership Interval (§8.4): a membership nobody refreshes ends this long after
    /// its last report.
    pub fn gmi(&self) -> Duration {
        Duration::from_secs(u64::from(self.query_interval)) * self.robustness
            + Duration::from_millis(u64::from(self.query_response_tenths) * 100)
    }
}

/// What a soak does.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Simulated hosts per LAN (every other one IGMPv2).
    pub hosts_per_lan: usize,
    /// The first group; the catalogue is consecutive addresses from it.
    pub first_group: Ipv4Addr,
    /// Groups in the catalogue.
    pub groups: usize,
    /// How long hosts join and leave.
    pub churn: Duration,
    /// Hosts picked per second (both LANs together); each may act (see [`Behaviour`]).
    pub picks_per_second: f64,
    /// How a picked host behaves.
    pub behaviour: Behaviour,
    /// The proxy's timers.
    pub timers: Timers,
    /// Groups the kernel host of each LAN holds throughout (the first ones of the catalogue
    /// that IGMPv2 hosts also use, different per LAN).
    pub kernel_groups: usize,
    /// Each source sends to each group once per period.
    pub stream_period: Duration,
    /// Random seed (printed in the report; the same seed gives the same host decisions).
    pub seed: u64,
    /// The daemon's resident memory is sampled this often.
    pub rss_every: Duration,
}

impl Spec {
    /// 500 hosts per LAN, 64 groups in 239.20.0.0/26, 3 sources, for `churn`.
    pub fn new(churn: Duration, timers: Timers, seed: u64) -> Spec {
        Spec {
            hosts_per_lan: 500,
            first_group: Ipv4Addr::new(239, 20, 0, 0),
            groups: 64,
            churn,
            picks_per_second: 400.0,
            behaviour: Behaviour::default(),
            timers,
            kernel_groups: 2,
            stream_period: Duration::from_millis(250),
            seed,
            rss_every: Duration::from_secs(1),
        }
    }

    /// How long after the last host's change the kernel must match: the last member query
    /// time, plus one last member query interval of slack for a slow (emulated) machine.
    pub fn settle(&self) -> Duration {
        self.timers.lmqt() + self.timers.lmqi()
    }

    /// The proxy's configuration: the timers, the upstream and both LANs downstream.
    pub fn config(&self) -> String {
        let mut text = self.timers.config();
        text.push_str(&format!(
            "phyint {UPSTREAM} upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n"
        ));
        for (ifname, ..) in LANS {
            text.push_str(&format!(
                "phyint {ifname} downstream ratelimit 0 threshold 1\n"
            ));
        }
        text
    }
}

/// The soak's network: `src` (s0: the three sources) — `rtr` (up0; dn1, dn2) — `lan1`, `lan2`
/// (e0 each: the LAN's kernel host, and the simulated hosts behind it).
pub struct SoakLab {
    /// The lab (deleted with it).
    pub lab: Lab,
    /// The sources' namespace.
    pub src: Netns,
    /// The router's namespace, where the proxy runs.
    pub rtr: Netns,
    /// The LANs' namespaces, in the order of [`LANS`].
    pub lans: Vec<Netns>,
}

impl SoakLab {
    /// Builds the network in a new lab tagged `tag`.
    pub fn new(tag: &str) -> io::Result<SoakLab> {
        let lab = Lab::new(tag)?;
        let src = lab.ns("src")?;
        let rtr = lab.ns("rtr")?;
        lab.veth((&rtr, UPSTREAM), (&src, "s0"))?;
        rtr.add_addr(UPSTREAM, "198.51.100.1/24")?;
        for s in SOURCES {
            src.add_addr("s0", &format!("{s}/24"))?;
        }
        src.add_route("default via 198.51.100.1")?;
        let mut lans = Vec::new();
        for (i, (ifname, router, host, _)) in LANS.iter().enumerate() {
            let ns = lab.ns(&format!("lan{}", i + 1))?;
            lab.veth((&rtr, ifname), (&ns, "e0"))?;
            rtr.add_addr(ifname, router)?;
            ns.add_addr("e0", host)?;
            let gateway = router.split('/').next().unwrap_or_default();
            ns.add_route(&format!("default via {gateway}"))?;
            lans.push(ns);
        }
        Ok(SoakLab {
            lab,
            src,
            rtr,
            lans,
        })
    }
}
