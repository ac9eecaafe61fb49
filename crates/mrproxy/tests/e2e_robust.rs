//! End to end: the daemon among other routers and through operational events. Querier
//! election against a lower-addressed router, a PPP uplink going down and up, SIGKILL and
//! restart, SIGHUP reloads, an interface that appears after start and an unnumbered upstream.

mod common;
use common::*;
use netlab::{
    Capture, CaptureFilter, Direction, Lab, Receiver, Signal, Snooping, Source, SourceSpec,
};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(20);

/// A stream long enough for any test here (30 s at 100 packets/s); dropped at the test's end.
fn stream(ifname: &str, group: &str) -> SourceSpec {
    SourceSpec::new(ifname, ip(group), 5000)
        .interval(Duration::from_millis(10))
        .count(3000)
}

/// Whether the daemon is the querier on `ifname` (IPv4), and who it thinks the querier is.
fn querier_state(proxy: &Proxy, ifname: &str) -> (Option<bool>, Option<String>) {
    let status = proxy.status();
    let port = port_status(&status, ifname, "V4");
    let is_querier = port.and_then(|p| p["querier"].as_bool());
    let address = port.and_then(|p| p["querier_address"].as_str().map(str::to_owned));
    (is_querier, address)
}

/// Queries the router itself sent out of `ifname` from `address`.
fn own_queries(capture: &Capture, address: &str) -> usize {
    capture.count(|p| {
        p.direction == Direction::Outgoing
            && packet_source(p) == Some(ip(address))
            && matches!(
                igmp_message(p),
                Some(mrproxy_wire::igmp::Repr::QueryV3 { .. })
            )
    })
}

/// D23: igmpproxy dropped received queries, so it queried and forwarded on LANs where another
/// router was the querier. RFC 9776 §6.6.2: a query from a lower address makes mrproxy a
/// non-querier until the Other Querier Present timer expires; RFC 4605 §4.2: a proxy forwards
/// onto a LAN only where it is the querier.
#[test]
fn lower_addressed_querier_takes_the_lan_and_mrproxy_takes_it_back() {
    if !Lab::require_root() {
        return;
    }
    // src ─ rtr ═ (br0 in sw) ═ h1, q (the other router, 192.0.2.5 < 192.0.2.10).
    let lab = Lab::new("election").unwrap();
    let [src, rtr, sw, h1, q] = ["src", "rtr", "sw", "h1", "q"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    lab.bridge(&sw, "br0", Snooping::Off).unwrap();
    for (ns, port) in [(&rtr, "p1"), (&h1, "p2"), (&q, "p3")] {
        let ifname = if ns == &rtr { "dn1" } else { "e0" };
        lab.veth((ns, ifname), (&sw, port)).unwrap();
        lab.enslave(&sw, port, "br0").unwrap();
    }
    rtr.add_addr("dn1", "192.0.2.10/24").unwrap();
    h1.add_addr("e0", "192.0.2.20/24").unwrap();
    q.add_addr("e0", "192.0.2.5/24").unwrap();
    h1.add_route("default via 192.0.2.10").unwrap();
    // Other Querier Present Interval = RV × QI + QRI / 2 = 4.5 s (RFC 9776 §8.5).
    let config = "queryinterval 2 queryresponseinterval 1 lastmemberqueryinterval 0.5\n\
                  phyint up0 upstream\n  altnet 198.51.100.0/24\nphyint dn1 downstream\n";
    let proxy = Proxy::start(&lab, &rtr, config);
    let queries = Capture::start(&rtr, "dn1", CaptureFilter::Igmp).unwrap();
    let wire = Capture::start(&h1, "e0", CaptureFilter::Udp { group: ip(GROUP) }).unwrap();
    let _rx = Receiver::join(&h1, "e0", ip(GROUP), 5000).unwrap();
    let source = Source::start(&src, stream("s0", GROUP)).unwrap();
    let forwarding =
        netlab::wait_until(Duration::from_secs(5), POLL, || wire.count(|_| true) >= 10);
    assert!(
        forwarding,
        "no stream before the election:\n{}",
        proxy.log()
    );
    assert_eq!(
        querier_state(&proxy, "dn1").0,
        Some(true),
        "not the querier alone on the LAN"
    );
    let queried = netlab::wait_until(Duration::from_secs(5), POLL, || {
        own_queries(&queries, "192.0.2.10") > 0
    });
    assert!(queried, "no query of its own on dn1:\n{}", proxy.log());

    let mut other = OtherQuerier::start(
        &q,
        "e0",
        "192.0.2.5".parse().unwrap(),
        Duration::from_secs(1),
    );
    let lost = netlab::wait_until(Duration::from_secs(5), POLL, || {
        querier_state(&proxy, "dn1") == (Some(false), Some("192.0.2.5".to_owned()))
    });
    assert!(
        lost,
        "still querier: {:?}\n{}",
        querier_state(&proxy, "dn1"),
        proxy.log()
    );
    let unrouted = netlab::wait_until(Duration::from_secs(3), POLL, || {
        route_oifs(&rtr, SOURCE, GROUP) == Some(vec![])
    });
    assert!(
        unrouted,
        "still forwarding onto dn1: {:?}\n{}",
        kernel_oifs(&rtr, GROUP),
        proxy.log()
    );

    // While the other router queries (longer than one own query interval), mrproxy neither
    // queries nor forwards there, yet keeps the LAN's membership from the host's answers.
    queries.clear();
    wire.clear();
    let sent_then = source.sent();
    let observed = netlab::wait_until(Duration::from_secs(10), POLL, || {
        source.sent() >= sent_then + 300
    });
    assert!(observed, "source stalled");
    assert_eq!(
        own_queries(&queries, "192.0.2.10"),
        0,
        "queried as a non-querier"
    );
    assert_eq!(
        wire.count(|_| true),
        0,
        "forwarded onto a LAN it is not the querier of"
    );
    let status = proxy.status();
    let groups = &port_status(&status, "dn1", "V4").expect("dn1 port")["groups"];
    let knows_group = groups
        .as_array()
        .is_some_and(|g| g.iter().any(|g| g["group"] == GROUP));
    assert!(knows_group, "membership lost while not querier: {status:#}");

    // The other router goes away: after the Other Querier Present Interval mrproxy queries
    // and forwards again.
    other.stop();
    let back = netlab::wait_until(Duration::from_secs(10), POLL, || {
        querier_state(&proxy, "dn1").0 == Some(true)
    });
    assert!(back, "did not take the LAN back:\n{}", proxy.log());
    let resumed = netlab::wait_until(Duration::from_secs(5), POLL, || {
        own_queries(&queries, "192.0.2.10") > 0 && wire.count(|_| true) >= 10
    });
    assert!(
        resumed,
        "no query or no stream after taking over:\n{}",
        proxy.log()
    );
}

/// D20, D13, D19: a PPP uplink (flags 0x10d1) whose only source is the ISP's peer address, with
/// no `altnet`: the peer prefix is the link's network, so the stream is accepted (igmpproxy
/// matched the exact flags value). When PPP goes down the daemon survives (igmpproxy exited on
/// the failing ioctl), and when it comes back forwarding resumes without a restart.
#[test]
fn ppp_upstream_peer_source_accepted_and_survives_link_down_and_up() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("ppp").unwrap();
    let [isp, rtr, h1] = ["isp", "rtr", "h1"].map(|n| lab.ns(n).unwrap());
    let ppp = lab
        .tun_link(
            (&isp, "ppp-isp", "198.51.100.1"),
            (&rtr, "ppp0", "198.51.100.2"),
        )
        .unwrap();
    isp.add_route("224.0.0.0/4 dev ppp-isp").unwrap();
    lan(&lab, &rtr, "dn1", &h1, "192.0.2");
    assert_eq!(
        rtr.link_flags("ppp0").unwrap() & 0xffff,
        0x10d1,
        "not PPP-like"
    );
    let config = format!("{FAST_TIMERS}\nphyint ppp0 upstream\nphyint dn1 downstream\n");
    let proxy = Proxy::start(&lab, &rtr, &config);
    let rx = Receiver::join(&h1, "e0", ip(GROUP), 5000).unwrap();
    let source = Source::start(&isp, stream("ppp-isp", GROUP)).unwrap();
    assert!(
        rx.wait_for_packets(20, Duration::from_secs(5)),
        "peer source not forwarded:\n{}",
        proxy.log()
    );
    assert_eq!(
        route_oifs(&rtr, "198.51.100.1", GROUP),
        Some(vec!["dn1".to_owned()])
    );
    assert!(
        netlab::is_member(&rtr, "ppp0", ip(GROUP)).unwrap(),
        "group not joined on ppp0"
    );

    // PPP goes down: the device and its VIF vanish; the daemon keeps running and answering.
    drop(source);
    ppp.cut();
    let detached = netlab::wait_until(Duration::from_secs(5), POLL, || {
        proxy
            .try_status()
            .is_some_and(|s| interface_status(&s, "ppp0").is_none())
    });
    assert!(
        detached,
        "ppp0 still in use after it vanished:\n{}",
        proxy.log()
    );
    assert!(
        proxy.child.is_running(),
        "daemon died when PPP went down:\n{}",
        proxy.log()
    );

    // PPP comes back (a new device with a new ifindex): upstream role, join and forwarding.
    ppp.restore().unwrap();
    isp.add_route("224.0.0.0/4 dev ppp-isp").unwrap();
    let rejoined = netlab::wait_until(Duration::from_secs(5), POLL, || {
        netlab::is_member(&rtr, "ppp0", ip(GROUP)).unwrap_or(false)
    });
    assert!(
        rejoined,
        "group not joined again on the new ppp0:\n{}",
        proxy.log()
    );
    let resumed_at = Instant::now();
    let _source = Source::start(&isp, stream("ppp-isp", GROUP)).unwrap();
    let resumed = netlab::wait_until(Duration::from_secs(5), POLL, || {
        rx.stats_since(resumed_at).count >= 20
    });
    assert!(
        resumed,
        "no forwarding after PPP came back:\n{}",
        proxy.log()
    );
    assert!(proxy.child.is_running());
}

/// After `kill -9` nothing is cleaned up by the daemon: the kernel drops the VIFs and MFC with
/// the mroute socket, but the status socket file stays. A new daemon with the same files
/// starts (no "address in use") and the still-joined host gets the stream again.
#[test]
fn restart_after_sigkill_reuses_the_stale_control_socket_and_forwards_again() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("sigkill");
    let config = Basic::config(FAST_TIMERS);
    let first = Proxy::start(&t.lab, &t.rtr, &config);
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _source = Source::start(&t.src, stream("s0", GROUP)).unwrap();
    assert!(
        rx.wait_for_packets(20, Duration::from_secs(5)),
        "no stream:\n{}",
        first.log()
    );

    first.child.signal(Signal::SIGKILL).unwrap();
    let status = first.child.wait_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        status.is_some_and(|s| !s.success()),
        "not killed: {status:?}"
    );
    let released = netlab::wait_until(Duration::from_secs(5), POLL, || {
        netlab::vifs_v4(&t.rtr).is_ok_and(|v| v.is_empty())
    });
    assert!(
        released,
        "kernel kept the VIFs: {:?}",
        netlab::vifs_v4(&t.rtr)
    );
    assert!(
        first.control.exists(),
        "the killed daemon's socket file is the point of this test"
    );

    let second = Proxy::start(&t.lab, &t.rtr, &config);
    let restarted_at = Instant::now();
    let resumed = netlab::wait_until(Duration::from_secs(10), POLL, || {
        rx.stats_since(restarted_at).count >= 20
    });
    assert!(resumed, "no stream after the restart:\n{}", second.log());
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP),
        Some(vec!["dn1".to_owned()])
    );
    assert_eq!(second.stop(), Some(0), "{}", second.log());
}

/// D30: igmpproxy died on SIGHUP. Here a reload applies the new file (a whitelist on dn1 that
/// keeps the flowing group and drops another) without a gap in the kept stream, and a broken
/// file keeps the running configuration.
#[test]
fn sighup_reload_keeps_the_stream_and_a_broken_file_keeps_the_old_config() {
    if !Lab::require_root() {
        return;
    }
    const OTHER: &str = "239.5.5.5";
    let t = Basic::new("sighup");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let kept = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let dropped = Receiver::join(&t.h1, "e0", ip(OTHER), 5000).unwrap();
    let _sources = [
        Source::start(&t.src, stream("s0", GROUP)).unwrap(),
        Source::start(&t.src, stream("s0", OTHER)).unwrap(),
    ];
    let flowing = netlab::wait_until(Duration::from_secs(5), POLL, || {
        kept.count() >= 20 && dropped.count() >= 20
    });
    assert!(flowing, "streams not flowing:\n{}", proxy.log());

    let reload_at = Instant::now();
    let whitelisted = Basic::config(FAST_TIMERS).replace(
        "phyint dn1 downstream ratelimit 0 threshold 1",
        "phyint dn1 downstream ratelimit 0 threshold 1\n  whitelist 239.1.2.0/24",
    );
    std::fs::write(&proxy.config, whitelisted).unwrap();
    proxy.child.signal(Signal::SIGHUP).unwrap();
    assert!(
        proxy.wait_log("configuration reloaded", Duration::from_secs(5)),
        "{}",
        proxy.log()
    );
    let applied = netlab::wait_until(Duration::from_secs(5), POLL, || {
        route_oifs(&t.rtr, SOURCE, OTHER) == Some(vec![])
    });
    assert!(
        applied,
        "the whitelist did not stop {OTHER}: {:?}\n{}",
        kernel_oifs(&t.rtr, OTHER),
        proxy.log()
    );
    assert_unbroken(&kept, reload_at, &proxy);

    let broken_at = Instant::now();
    std::fs::write(&proxy.config, "phyint dn1 downstream threshold x\n").unwrap();
    proxy.child.signal(Signal::SIGHUP).unwrap();
    assert!(
        proxy.wait_log("keeping the running configuration", Duration::from_secs(5)),
        "{}",
        proxy.log()
    );
    assert_unbroken(&kept, broken_at, &proxy);
    assert!(
        proxy.child.is_running(),
        "daemon died on a broken reload:\n{}",
        proxy.log()
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, OTHER),
        Some(vec![]),
        "the old whitelist was lost"
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP),
        Some(vec!["dn1".to_owned()])
    );
}

/// The stream at `rx` since `since` goes on (another 50 datagrams) without a lost sequence
/// number and without a pause longer than a few packet intervals.
fn assert_unbroken(rx: &Receiver, since: Instant, proxy: &Proxy) {
    let more = netlab::wait_until(Duration::from_secs(5), POLL, || {
        rx.stats_since(since).count >= 50
    });
    assert!(more, "stream stopped:\n{}", proxy.log());
    let stats = rx.stats_since(since);
    assert!(
        stats.missing().is_empty(),
        "lost datagrams {:?}:\n{}",
        stats.missing(),
        proxy.log()
    );
    assert!(
        stats.max_gap < Some(Duration::from_millis(300)),
        "gap {:?}",
        stats.max_gap
    );
}

/// D19: an interface named in a `phyint` block that appears after start (first without, then
/// with an address) gets that block's role and settings (here threshold 3, visible in the
/// MFC), its report groups are joined, and a host there joins and receives.
#[test]
fn interface_created_after_start_gets_its_phyint_role_and_forwards() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("lateif").unwrap();
    let [src, rtr, h1, h3] = ["src", "rtr", "h1", "h3"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    lan(&lab, &rtr, "dn1", &h1, "192.0.2");
    let config = format!(
        "{FAST_TIMERS}\nphyint up0 upstream\n  altnet 198.51.100.0/24\nphyint dn1 downstream\n\
         phyint dn3 downstream threshold 3\n"
    );
    let proxy = Proxy::start(&lab, &rtr, &config);
    assert!(interface_status(&proxy.status(), "dn3").is_none());

    lab.veth((&rtr, "dn3"), (&h3, "e0")).unwrap();
    let attached = netlab::wait_until(Duration::from_secs(5), POLL, || {
        let status = proxy.status();
        interface_status(&status, "dn3").is_some_and(|i| i["role"] == "Downstream")
            && port_status(&status, "dn3", "V4").is_some()
    });
    assert!(
        attached,
        "dn3 not attached: {:#}\n{}",
        proxy.status(),
        proxy.log()
    );
    rtr.add_addr("dn3", "203.0.113.1/24").unwrap();
    h3.add_addr("e0", "203.0.113.2/24").unwrap();
    let numbered = netlab::wait_until(Duration::from_secs(5), POLL, || {
        proxy.status()["interfaces"].as_array().is_some_and(|a| {
            a.iter()
                .filter(|i| i["name"] == "dn3")
                .flat_map(|i| i["families"].as_array().cloned().unwrap_or_default())
                .any(|f| f["query_source"] == "203.0.113.1")
        })
    });
    assert!(
        numbered,
        "dn3's address not taken as query source: {:#}",
        proxy.status()
    );
    for report_group in ["224.0.0.2", "224.0.0.22"] {
        assert!(
            netlab::is_member(&rtr, "dn3", ip(report_group)).unwrap(),
            "{report_group} not joined on dn3"
        );
    }

    let rx = Receiver::join(&h3, "e0", ip(GROUP), 5000).unwrap();
    let _source = Source::start(&src, stream("s0", GROUP)).unwrap();
    assert!(
        rx.wait_for_packets(20, Duration::from_secs(5)),
        "no stream on the late interface:\n{}",
        proxy.log()
    );
    let vifs = netlab::vifs_v4(&rtr).unwrap();
    let entry = netlab::mfc_v4(&rtr)
        .unwrap()
        .into_iter()
        .find(|e| e.group == ip(GROUP))
        .expect("MFC entry");
    let dn3 = entry
        .oifs
        .iter()
        .find(|(vif, _)| netlab::vif_name(&vifs, *vif).as_deref() == Some("dn3"));
    assert_eq!(
        dn3.map(|(_, threshold)| *threshold),
        Some(3),
        "dn3's phyint threshold not applied: {entry:?}"
    );
}

/// D17: igmpproxy refused to start without an IPv4 address on the upstream ("There must be at
/// least 1 Vif as upstream"). An unnumbered up0 (VIF by ifindex) starts, joins and forwards.
#[test]
fn unnumbered_upstream_starts_joins_and_forwards() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("unnumbered");
    t.rtr.del_addr("up0", "198.51.100.1/24").unwrap();
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let upstream = Capture::start(&t.rtr, "up0", CaptureFilter::Igmp).unwrap();
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _source = Source::start(&t.src, stream("s0", GROUP)).unwrap();
    assert!(
        rx.wait_for_packets(20, Duration::from_secs(5)),
        "no stream via an unnumbered upstream:\n{}",
        proxy.log()
    );
    let status = proxy.status();
    let up0 = interface_status(&status, "up0").expect("up0 in use");
    assert_eq!(up0["families"][0]["role"], "Upstream", "{status:#}");
    assert!(
        netlab::is_member(&t.rtr, "up0", ip(GROUP)).unwrap(),
        "group not joined on up0"
    );
    let group: Ipv4Addr = GROUP.parse().unwrap();
    let report = upstream.wait_for(
        |p| {
            p.direction == Direction::Outgoing
                && match igmp_message(p) {
                    Some(mrproxy_wire::igmp::Repr::ReportV3 { records }) => {
                        records.iter().any(|r| r.group == group)
                    }
                    _ => false,
                }
        },
        Duration::from_secs(5),
    );
    assert!(
        report.is_some(),
        "no report for {GROUP} out of up0: {:?}",
        upstream.packets()
    );
}
