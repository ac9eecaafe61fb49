//! End-to-end behaviour of the real daemon with shared LANs and several upstreams: an unchanged
//! igmpproxy.conf on a PPP + Ethernet + bridge router (docs/igmpproxy-differences.md §3.8), two
//! viewers on one bridged LAN (with and without snooping, with and without quickleave), and two
//! LANs leaving in turn. Each test's doc comment names the igmpproxy defect
//! (docs/igmpproxy-differences.md §6) it guards.

mod common;
use common::*;
use mrproxy_wire::RecordType;
use mrproxy_wire::igmp::Repr;
use netlab::{
    Capture, CaptureFilter, CapturedPacket, Direction, Lab, Netns, Receiver, Snooping, Source,
    SourceSpec,
};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(5);

/// The two-upstream router configuration of docs/igmpproxy-differences.md §3.8, verbatim
/// (comments included); the configuration tests load the same file.
const SEED_000_CONFIG: &str = include_str!("../../config/tests/fixtures/seed000.conf");

fn outgoing(p: &CapturedPacket) -> bool {
    p.direction == Direction::Outgoing
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The input interface of the kernel's (source, group) entry (`ip -j mroute`).
fn route_iif(rtr: &Netns, source: &str, group: &str) -> Option<String> {
    let entries = netlab::mroute_json(rtr, false).ok()?;
    let entry = entries
        .as_array()?
        .iter()
        .find(|e| e["src"] == source && e["dst"] == group)?;
    entry["iif"].as_str().map(str::to_owned)
}

/// seed000.conf (docs/igmpproxy-differences.md §3.8) runs unchanged on the router it was written
/// for. ppp0 is a PPP-like
/// tun link to an ISP with a source at the peer address, eth0 a second upstream with its own
/// source, br0 a bridge with two host ports. The sources start first; a host that joins later
/// gets both streams, each entry with its own upstream as input; the group is joined on both
/// upstreams, and with quickleave the leave ends both memberships (D9) and stops forwarding at
/// once, although the entries were created by the sources (D7).
#[test]
fn seed_000_config_proxies_from_ppp_and_ethernet_upstreams_to_the_bridge() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("seed000").unwrap();
    let [isp, src2, rtr, h1, h2] = ["isp", "src2", "rtr", "h1", "h2"].map(|n| lab.ns(n).unwrap());
    let _ppp = lab
        .tun_link(
            (&isp, "ppp-isp", "198.51.100.1"),
            (&rtr, "ppp0", "198.51.100.2"),
        )
        .unwrap();
    isp.add_route("224.0.0.0/4 dev ppp-isp").unwrap();
    lab.veth((&rtr, "eth0"), (&src2, "s0")).unwrap();
    rtr.add_addr("eth0", "203.0.113.1/24").unwrap();
    src2.add_addr("s0", "203.0.113.2/24").unwrap();
    src2.add_route("default via 203.0.113.1").unwrap();
    lab.bridge(&rtr, "br0", Snooping::Off).unwrap();
    rtr.add_addr("br0", "192.0.2.1/24").unwrap();
    for (port, host, addr) in [("p1", &h1, "192.0.2.2/24"), ("p2", &h2, "192.0.2.3/24")] {
        lab.veth((&rtr, port), (host, "e0")).unwrap();
        lab.enslave(&rtr, port, "br0").unwrap();
        host.add_addr("e0", addr).unwrap();
        host.add_route("default via 192.0.2.1").unwrap();
    }
    let proxy = Proxy::start(&lab, &rtr, SEED_000_CONFIG);

    // Sources first (igmpproxy's phantom-host case, D7): entries without outputs, no listener.
    let spec = |ifname| SourceSpec::new(ifname, ip(GROUP), 5000).count(1000);
    let _from_isp = Source::start(&isp, spec("ppp-isp")).unwrap();
    let _from_eth = Source::start(&src2, spec("s0")).unwrap();
    let installed = netlab::wait_until(WAIT, Duration::from_millis(20), || {
        ["198.51.100.1", "203.0.113.2"]
            .iter()
            .all(|s| route_oifs(&rtr, s, GROUP) == Some(vec![]))
    });
    assert!(
        installed,
        "no entries for the sources: {:?}\n{}",
        kernel_oifs(&rtr, GROUP),
        proxy.log()
    );

    let br0 = Capture::start(&rtr, "br0", CaptureFilter::All).unwrap();
    let rx = Receiver::join(&h1, "e0", ip(GROUP), 5000).unwrap();
    let sources_seen = || -> Vec<IpAddr> {
        let mut seen: Vec<IpAddr> = rx
            .datagrams()
            .iter()
            .filter_map(|d| d.from.map(|a| a.ip()))
            .collect();
        seen.sort();
        seen.dedup();
        seen
    };
    let both = netlab::wait_until(WAIT, Duration::from_millis(20), || {
        sources_seen().len() == 2
    });
    assert!(
        both,
        "h1 got streams from {:?} only:\n{}",
        sources_seen(),
        proxy.log()
    );
    assert_eq!(sources_seen(), vec![ip("198.51.100.1"), ip("203.0.113.2")]);
    assert_eq!(
        route_oifs(&rtr, "198.51.100.1", GROUP),
        Some(vec!["br0".to_owned()])
    );
    assert_eq!(
        route_oifs(&rtr, "203.0.113.2", GROUP),
        Some(vec!["br0".to_owned()])
    );
    assert_eq!(
        route_iif(&rtr, "198.51.100.1", GROUP).as_deref(),
        Some("ppp0")
    );
    assert_eq!(
        route_iif(&rtr, "203.0.113.2", GROUP).as_deref(),
        Some("eth0")
    );
    for upstream in ["ppp0", "eth0"] {
        assert!(
            host_groups(&rtr, upstream).contains(&v4(GROUP)),
            "{GROUP} not joined on {upstream}"
        );
    }

    rx.leave().unwrap();
    let left = netlab::wait_until(WAIT, Duration::from_millis(20), || {
        ["ppp0", "eth0"]
            .iter()
            .all(|u| !host_groups(&rtr, u).contains(&v4(GROUP)))
    });
    assert!(
        left,
        "upstream memberships after the leave (D9): {:?}\n{}",
        netlab::igmp_memberships(&rtr),
        proxy.log()
    );
    let stream = |p: &CapturedPacket| {
        outgoing(p)
            && p.ip()
                .is_some_and(|h| h.dst == ip(GROUP) && h.protocol == netlab::packet::PROTO_UDP)
    };
    assert!(
        wait_quiet(&br0, stream, Duration::from_millis(500), WAIT),
        "still forwarding onto br0:\n{}",
        proxy.log()
    );
    // quickleave with the only tracked IGMPv3 host gone: forwarding stops at once, well before
    // the 2-s last-member query time of the defaults (D7: igmpproxy kept a phantom host here).
    let leave = br0
        .packets()
        .into_iter()
        .find(|p| {
            p.direction == Direction::Incoming
                && has_igmpv3_record(p, RecordType::ChangeToInclude, GROUP)
        })
        .expect("h1's leave crossed br0");
    let stopped_after = last_seen(&br0, stream)
        .unwrap()
        .saturating_duration_since(leave.at);
    assert!(
        stopped_after < Duration::from_secs(1),
        "quickleave stopped {stopped_after:?} after the leave"
    );
    assert!(
        kernel_oifs(&rtr, GROUP)
            .iter()
            .all(|(_, oifs)| oifs.is_empty()),
        "{:?}",
        kernel_oifs(&rtr, GROUP)
    );
}

/// A router whose downstream dn1 goes to a bridge `br0` in a switch namespace, with hosts h1
/// (192.0.2.2) and h2 (192.0.2.3) on two more bridge ports; the source is behind up0.
struct SharedLan {
    lab: Lab,
    src: Netns,
    rtr: Netns,
    sw: Netns,
    h1: Netns,
    h2: Netns,
}

impl SharedLan {
    fn new(tag: &str, snooping: Snooping) -> SharedLan {
        let lab = Lab::new(tag).unwrap();
        let [src, rtr, sw, h1, h2] = ["src", "rtr", "sw", "h1", "h2"].map(|n| lab.ns(n).unwrap());
        lab.veth((&rtr, "up0"), (&src, "s0")).unwrap();
        src.add_addr("s0", "198.51.100.2/24").unwrap();
        rtr.add_addr("up0", "198.51.100.1/24").unwrap();
        src.add_route("default via 198.51.100.1").unwrap();
        lab.bridge(&sw, "br0", snooping).unwrap();
        lab.veth((&rtr, "dn1"), (&sw, "rp")).unwrap();
        lab.enslave(&sw, "rp", "br0").unwrap();
        rtr.add_addr("dn1", "192.0.2.1/24").unwrap();
        for (port, host, addr) in [("p1", &h1, "192.0.2.2/24"), ("p2", &h2, "192.0.2.3/24")] {
            lab.veth((&sw, port), (host, "e0")).unwrap();
            lab.enslave(&sw, port, "br0").unwrap();
            host.add_addr("e0", addr).unwrap();
            host.add_route("default via 192.0.2.1").unwrap();
        }
        SharedLan {
            lab,
            src,
            rtr,
            sw,
            h1,
            h2,
        }
    }

    fn config(extra: &str) -> String {
        format!(
            "{extra}\nphyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n\
             phyint dn1 downstream ratelimit 0 threshold 1\n"
        )
    }

    /// The bridge ports the switch's snooping has marked as router ports.
    fn router_ports(&self) -> Vec<String> {
        let out = self.sw.exec("bridge", &["-j", "-d", "mdb", "show"]);
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        // [{"mdb": [...], "router": {"br0": [{"port": "rp", ...}]}}]
        let entries = json.as_array().cloned().unwrap_or_default();
        let lists = entries
            .iter()
            .filter_map(|e| e["router"].as_object())
            .flat_map(|o| o.values());
        let ports = lists.filter_map(|l| l.as_array()).flatten();
        ports
            .filter_map(|p| p["port"].as_str().map(str::to_owned))
            .collect()
    }
}

/// D4/D6: two viewers of one group on one bridged LAN; h2 leaves, h1 must not lose a single
/// packet. With quickleave the proxy tracks both IGMPv3 hosts and keeps forwarding; without it
/// the group-specific queries are answered by h1 in time. The largest gap h1 sees stays far
/// below the last-member query time (igmpproxy cut the remaining viewer for 0.7 s, or for good
/// with quickleave).
fn remaining_viewer_keeps_the_stream(tag: &str, snooping: Snooping, quickleave: bool) {
    let t = SharedLan::new(tag, snooping);
    let extra = if quickleave {
        format!("quickleave\n{FAST_TIMERS}")
    } else {
        FAST_TIMERS.to_owned()
    };
    let proxy = Proxy::start(&t.lab, &t.rtr, &SharedLan::config(&extra));
    if snooping != Snooping::Off {
        // Only mrproxy's queries can tell the bridge where the router is (its querier is off).
        let learned = netlab::wait_until(WAIT, Duration::from_millis(20), || {
            t.router_ports().contains(&"rp".to_owned())
        });
        assert!(
            learned,
            "the snooping bridge never learned the router port:\n{}",
            proxy.log()
        );
    }
    let dn1 = Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap();
    let rx1 = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let rx2 = Receiver::join(&t.h2, "e0", ip(GROUP), 5000).unwrap();
    let _src = Source::start(&t.src, SourceSpec::new("s0", ip(GROUP), 5000).count(1000)).unwrap();
    assert!(
        rx1.wait_for_packets(20, WAIT) && rx2.wait_for_packets(20, WAIT),
        "no stream:\n{}",
        proxy.log()
    );
    let tracked = netlab::wait_until(WAIT, Duration::from_millis(20), || {
        port_status(&proxy.status(), "dn1", "V4").is_some_and(|p| {
            p["groups"][0]["hosts"]
                .as_array()
                .is_some_and(|h| h.len() == 2)
        })
    });
    assert!(
        tracked,
        "both hosts must be tracked: {:?}",
        port_status(&proxy.status(), "dn1", "V4")
    );

    let before_leave = Instant::now();
    let at_leave = rx1.count();
    rx2.leave().unwrap();
    assert!(
        dn1.wait_for(|p| outgoing(p) && is_group_query(p, GROUP), WAIT)
            .is_some(),
        "no group-specific query after h2's leave:\n{}\n{}",
        describe_igmp(&dn1),
        proxy.log()
    );
    // 200 more datagrams (2 s at 100/s) span the last-member query time (2 × 0.5 s) and more.
    assert!(
        rx1.wait_for_packets(at_leave + 200, WAIT),
        "h1's stream stopped:\n{}",
        proxy.log()
    );

    let h1 = rx1.stats_since(before_leave);
    assert!(
        h1.max_gap.is_some_and(|g| g < Duration::from_millis(250)),
        "h1 was cut (D4/D6): {h1:?}\n{}",
        proxy.log()
    );
    assert!(
        h1.missing().is_empty(),
        "h1 lost datagrams {:?}:\n{}",
        h1.missing(),
        proxy.log()
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP),
        Some(vec!["dn1".to_owned()])
    );
    assert_eq!(
        upstream_request(&proxy.status(), "up0", GROUP),
        Some(("Exclude".to_owned(), vec![]))
    );
    let hosts = port_status(&proxy.status(), "dn1", "V4").map(|p| p["groups"][0]["hosts"].clone());
    assert_eq!(
        hosts,
        Some(serde_json::json!(["192.0.2.2"])),
        "h2's leave must remove h2 only"
    );
}

/// D4, D6 (`remaining_viewer_keeps_the_stream`): behind a snooping bridge, without quickleave.
#[test]
fn snooping_lan_remaining_viewer_keeps_the_stream() {
    if Lab::require_root() {
        remaining_viewer_keeps_the_stream("lansnoop", Snooping::On { querier: false }, false);
    }
}

/// D4, D6 (`remaining_viewer_keeps_the_stream`): behind a snooping bridge, with quickleave.
#[test]
fn snooping_lan_remaining_viewer_keeps_the_stream_with_quickleave() {
    if Lab::require_root() {
        remaining_viewer_keeps_the_stream("lansnoopql", Snooping::On { querier: false }, true);
    }
}

/// D4, D6 (`remaining_viewer_keeps_the_stream`): on a flooding bridge, without quickleave.
#[test]
fn flooding_lan_remaining_viewer_keeps_the_stream() {
    if Lab::require_root() {
        remaining_viewer_keeps_the_stream("lanflood", Snooping::Off, false);
    }
}

/// D4, D6 (`remaining_viewer_keeps_the_stream`): on a flooding bridge, with quickleave.
#[test]
fn flooding_lan_remaining_viewer_keeps_the_stream_with_quickleave() {
    if Lab::require_root() {
        remaining_viewer_keeps_the_stream("lanfloodql", Snooping::Off, true);
    }
}

/// D6, the hard case: two IGMPv2 viewers on a flooding LAN, joined before the proxy starts.
/// They answer its one general query with report suppression (RFC 2236 §3), so the proxy hears
/// only one of them. That reporter leaves (a v2 Leave); with quickleave the proxy must not cut
/// the silent viewer: in v2 compatibility mode it falls back to group-specific queries
/// (docs/protocol-rules.md §4.9), the silent viewer answers, and its stream never pauses. igmpproxy's
/// quickleave stopped the stream for the other viewers here (pali/igmpproxy#39, pali/igmpproxy#87).
#[test]
fn silent_igmpv2_viewer_is_not_cut_by_quickleave() {
    if !Lab::require_root() {
        return;
    }
    let t = SharedLan::new("silentv2", Snooping::Off);
    let hosts = [(&t.h1, "192.0.2.2"), (&t.h2, "192.0.2.3")];
    for (host, _) in hosts {
        host.sysctl("net/ipv4/conf/e0/force_igmp_version", "2")
            .unwrap();
        // One unsolicited report per join: a repeat, randomly up to 10 s later, could reach
        // the proxy and change which viewer it has heard.
        host.sysctl("net/ipv4/igmp_qrv", "1").unwrap();
    }
    let dn1 = Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap();
    // Joined one after the other, so neither suppresses the other's unsolicited report; these
    // go out before the proxy runs, so only the answers to its query count.
    let receivers = hosts.map(|(host, addr)| {
        let rx = Receiver::join(host, "e0", ip(GROUP), 5000).unwrap();
        let sent = netlab::wait_until(WAIT, Duration::from_millis(10), || {
            dn1.count(|p| packet_source(p) == Some(ip(addr))) > 0
        });
        assert!(
            sent,
            "no unsolicited report from {addr}:\n{}",
            describe_igmp(&dn1)
        );
        rx
    });
    dn1.clear();
    // One startup query: a second query round could change which viewer reported last.
    let config = SharedLan::config(&format!("quickleave\n{FAST_TIMERS}\nstartupquerycount 1"));
    let proxy = Proxy::start(&t.lab, &t.rtr, &config);
    let _src = Source::start(&t.src, SourceSpec::new("s0", ip(GROUP), 5000).count(1000)).unwrap();
    let report_from = |p: &CapturedPacket, from: &str| {
        p.direction == Direction::Incoming
            && packet_source(p) == Some(ip(from))
            && matches!(igmp_message(p), Some(Repr::ReportV2 { .. }))
    };
    let first = dn1
        .wait_for(|p| hosts.iter().any(|(_, a)| report_from(p, a)), WAIT)
        .unwrap_or_else(|| {
            panic!(
                "no v2 report answered the query:\n{}\n{}",
                describe_igmp(&dn1),
                proxy.log()
            )
        });
    let reporter = hosts
        .iter()
        .position(|(_, a)| report_from(&first, a))
        .unwrap();
    let (silent, silent_addr) = (&receivers[1 - reporter], hosts[1 - reporter].1);
    assert!(
        silent.wait_for_packets(20, WAIT),
        "the silent viewer gets no stream:\n{}",
        proxy.log()
    );
    assert_eq!(
        dn1.count(|p| report_from(p, silent_addr)),
        0,
        "precondition: the other viewer's report was suppressed\n{}",
        describe_igmp(&dn1)
    );

    let before_leave = Instant::now();
    let at_leave = silent.count();
    receivers[reporter].leave().unwrap();
    let leave = |p: &CapturedPacket| matches!(igmp_message(p), Some(Repr::LeaveV2 { .. }));
    assert!(
        dn1.wait_for(leave, WAIT).is_some(),
        "the last reporter sent no Leave:\n{}",
        describe_igmp(&dn1)
    );
    let asked = dn1.wait_for(|p| outgoing(p) && is_group_query(p, GROUP), WAIT);
    assert!(
        asked.is_some(),
        "no group-specific query after the Leave:\n{}\n{}",
        describe_igmp(&dn1),
        proxy.log()
    );
    let answered = dn1.wait_for(|p| report_from(p, silent_addr), WAIT);
    assert!(
        answered.is_some(),
        "the silent viewer was never asked (Q(G)):\n{}\n{}",
        describe_igmp(&dn1),
        proxy.log()
    );
    assert!(
        silent.wait_for_packets(at_leave + 200, WAIT),
        "the silent viewer's stream stopped:\n{}",
        proxy.log()
    );

    let stats = silent.stats_since(before_leave);
    assert!(
        stats
            .max_gap
            .is_some_and(|g| g < Duration::from_millis(250)),
        "the silent viewer was cut (D6): {stats:?}\n{}\n{}",
        describe_igmp(&dn1),
        proxy.log()
    );
    assert!(
        stats.missing().is_empty(),
        "the silent viewer lost datagrams {:?}",
        stats.missing()
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP),
        Some(vec!["dn1".to_owned()])
    );
}

/// D4 + D3: receivers on two LANs. When h1 leaves, h2 on the other LAN keeps its stream
/// without a gap; when h2 leaves too, forwarding stops on both links and the upstream
/// membership ends with a TO_IN {} report (igmpproxy kept forwarding and stayed joined forever
/// in this sequence). With quickleave the first leave must not leave upstream either, since
/// the group is still wanted on another interface.
fn two_lans_leave_in_turn(tag: &str, quickleave: bool) {
    let t = Basic::new(tag);
    let extra = if quickleave {
        format!("quickleave\n{FAST_TIMERS}")
    } else {
        FAST_TIMERS.to_owned()
    };
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(&extra));
    let up = Capture::start(&t.rtr, "up0", CaptureFilter::Igmp).unwrap();
    let wire1 = Capture::start(&t.rtr, "dn1", CaptureFilter::Udp { group: ip(GROUP) }).unwrap();
    let wire2 = Capture::start(&t.rtr, "dn2", CaptureFilter::Udp { group: ip(GROUP) }).unwrap();
    let rx1 = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let rx2 = Receiver::join(&t.h2, "e0", ip(GROUP), 5000).unwrap();
    let src = Source::start(&t.src, SourceSpec::new("s0", ip(GROUP), 5000).count(1000)).unwrap();
    assert!(
        rx1.wait_for_packets(20, WAIT) && rx2.wait_for_packets(20, WAIT),
        "no stream:\n{}",
        proxy.log()
    );
    let mut both = kernel_oifs(&t.rtr, GROUP);
    both.iter_mut().for_each(|(_, oifs)| oifs.sort());
    assert_eq!(
        both,
        vec![(SOURCE.to_owned(), vec!["dn1".to_owned(), "dn2".to_owned()])]
    );

    let first_leave = Instant::now();
    rx1.leave().unwrap();
    let quiet = Duration::from_millis(700);
    assert!(
        wait_quiet(&wire1, outgoing, quiet, WAIT),
        "dn1 kept forwarding after h1 left:\n{}",
        proxy.log()
    );
    assert!(
        rx2.wait_for_packets(rx2.count() + 50, WAIT),
        "h2's stream stopped with h1's leave (D4)"
    );
    let h2 = rx2.stats_since(first_leave);
    assert!(
        h2.max_gap.is_some_and(|g| g < Duration::from_millis(250)),
        "h2 was cut (D4): {h2:?}\n{}",
        proxy.log()
    );
    assert!(
        h2.missing().is_empty(),
        "h2 lost datagrams {:?}",
        h2.missing()
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP),
        Some(vec!["dn2".to_owned()])
    );
    let upstream_leave = |p: &CapturedPacket| {
        outgoing(p) && has_igmpv3_record(p, RecordType::ChangeToInclude, GROUP)
    };
    assert_eq!(
        up.count(upstream_leave),
        0,
        "left upstream while h2 still watches:\n{}",
        describe_igmp(&up)
    );
    assert!(
        host_groups(&t.rtr, "up0").contains(&v4(GROUP)),
        "upstream left while h2 still watches"
    );

    up.clear();
    rx2.leave().unwrap();
    assert!(
        wait_quiet(&wire2, outgoing, quiet, WAIT),
        "dn2 kept forwarding after the last leave (D3):\n{}",
        proxy.log()
    );
    assert!(
        !src.is_done(),
        "the source must still be sending, or the quiet links prove nothing"
    );
    assert!(
        up.wait_for(upstream_leave, WAIT).is_some(),
        "no upstream leave (TO_IN {{}}) for {GROUP}:\n{}",
        proxy.log()
    );
    assert!(
        !host_groups(&t.rtr, "up0").contains(&v4(GROUP)),
        "still joined upstream (D3)"
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP).unwrap_or_default(),
        Vec::<String>::new(),
        "MFC still has outputs"
    );
    let status = proxy.status();
    assert_eq!(upstream_request(&status, "up0", GROUP), None);
    assert!(port_groups(&status, "dn1").is_empty() && port_groups(&status, "dn2").is_empty());
}

/// D3, D4 (`two_lans_leave_in_turn`): without quickleave.
#[test]
fn two_lans_leave_in_turn_and_forwarding_stops_completely() {
    if Lab::require_root() {
        two_lans_leave_in_turn("twolans", false);
    }
}

/// D3, D4 (`two_lans_leave_in_turn`): with quickleave.
#[test]
fn two_lans_leave_in_turn_with_quickleave() {
    if Lab::require_root() {
        two_lans_leave_in_turn("twolansql", true);
    }
}
