//! End to end: source lists (SSM INCLUDE and EXCLUDE), many groups, upstream queries, sources
//! without listeners and TTL, with the real daemon between kernel hosts.
//!
//! A receiving socket filters sources itself, so "a host does not get S2" is checked on the
//! wire (an `AF_PACKET` capture on the host's link) and in the router's kernel MFC, never only
//! at the socket.

mod common;
use common::*;
use mrproxy_wire::RecordType;
use mrproxy_wire::igmp::Repr;
use netlab::{Capture, CaptureFilter, Direction, Lab, Receiver, Source, SourceSpec};
use std::time::Duration;

/// The second source, on the source's subnet too (an off-subnet one would need `lo` and
/// `altnet`, docs/test-strategy.md §3).
const SOURCE2: &str = "198.51.100.3";
const SSM_GROUP: &str = "232.1.1.1";
const ASM_GROUP: &str = "239.2.2.2";
const POLL: Duration = Duration::from_millis(20);

fn stream(ifname: &str, group: &str, port: u16) -> SourceSpec {
    SourceSpec::new(ifname, ip(group), port)
        .interval(Duration::from_millis(10))
        .count(3000)
}

/// Packets on a captured link sent by `source`.
fn from_source(capture: &Capture, source: &str) -> usize {
    capture.count(|p| packet_source(p) == Some(ip(source)))
}

/// D25: igmpproxy served INCLUDE requests as (*,G) and ignored BLOCK. Here a host with
/// INCLUDE {S1} on an SSM group gets only S1, a host with EXCLUDE {S2} on an ASM group gets S1
/// but not S2, and the upstream requests exactly these source lists.
#[test]
fn include_and_exclude_source_lists_reach_the_wire_and_the_upstream() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("ssmlists");
    t.src.add_addr("s0", &format!("{SOURCE2}/24")).unwrap();
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let wire1 = Capture::start(
        &t.h1,
        "e0",
        CaptureFilter::Udp {
            group: ip(SSM_GROUP),
        },
    )
    .unwrap();
    let wire2 = Capture::start(
        &t.h2,
        "e0",
        CaptureFilter::Udp {
            group: ip(ASM_GROUP),
        },
    )
    .unwrap();
    let rx_include = Receiver::join_source(&t.h1, "e0", ip(SSM_GROUP), ip(SOURCE), 5001).unwrap();
    let rx_exclude = Receiver::exclude(&t.h2, "e0", ip(ASM_GROUP), &[ip(SOURCE2)], 5002).unwrap();
    let _sources = [
        Source::start(&t.src, stream("s0", SSM_GROUP, 5001)).unwrap(),
        Source::start(&t.src, stream("s0", SSM_GROUP, 5001).bind(ip(SOURCE2))).unwrap(),
        Source::start(&t.src, stream("s0", ASM_GROUP, 5002)).unwrap(),
        Source::start(&t.src, stream("s0", ASM_GROUP, 5002).bind(ip(SOURCE2))).unwrap(),
    ];

    // Converged: S2 has an entry for each group (the router saw it) with no way to either host.
    // Under EXCLUDE a BLOCK first makes S2 wanted until its group-and-source queries go
    // unanswered (RFC 9776 §6.4.2), so this takes about one LMQT.
    let converged = netlab::wait_until(Duration::from_secs(10), POLL, || {
        route_oifs(&t.rtr, SOURCE, SSM_GROUP) == Some(vec!["dn1".to_owned()])
            && route_oifs(&t.rtr, SOURCE, ASM_GROUP) == Some(vec!["dn2".to_owned()])
            && route_oifs(&t.rtr, SOURCE2, SSM_GROUP) == Some(vec![])
            && route_oifs(&t.rtr, SOURCE2, ASM_GROUP) == Some(vec![])
    });
    assert!(
        converged,
        "MFC did not converge: {:?} {:?}\n{}",
        kernel_oifs(&t.rtr, SSM_GROUP),
        kernel_oifs(&t.rtr, ASM_GROUP),
        proxy.log()
    );

    // From now on nothing of S2 may reach either link, while S1 keeps flowing to both.
    wire1.clear();
    wire2.clear();
    let flowing = netlab::wait_until(Duration::from_secs(5), POLL, || {
        from_source(&wire1, SOURCE) >= 50 && from_source(&wire2, SOURCE) >= 50
    });
    assert!(flowing, "S1 not forwarded to both hosts:\n{}", proxy.log());
    assert_eq!(
        from_source(&wire1, SOURCE2),
        0,
        "S2 forwarded to the INCLUDE {{S1}} host"
    );
    assert_eq!(
        from_source(&wire2, SOURCE2),
        0,
        "S2 forwarded to the EXCLUDE {{S2}} host"
    );
    for rx in [&rx_include, &rx_exclude] {
        let senders: Vec<_> = rx
            .datagrams()
            .iter()
            .filter_map(|d| d.from.map(|a| a.ip()))
            .collect();
        assert!(
            senders.contains(&ip(SOURCE)),
            "host socket got nothing from S1"
        );
    }

    // The upstream asks for exactly the merged source lists (RFC 4605 §4.1), in the daemon's
    // view and in the kernel's host part that sends the reports.
    let status = proxy.status();
    assert_eq!(
        upstream_request(&status, "up0", SSM_GROUP),
        Some(("Include".to_owned(), vec![SOURCE.to_owned()])),
        "status: {status:#}"
    );
    assert_eq!(
        upstream_request(&status, "up0", ASM_GROUP),
        Some(("Exclude".to_owned(), vec![SOURCE2.to_owned()])),
        "status: {status:#}"
    );
    let filters: Vec<_> = source_filters(&t.rtr)
        .into_iter()
        .filter(|f| f.ifname == "up0")
        .collect();
    let filter = |group: &str, source: &str| {
        filters
            .iter()
            .find(|f| f.group == ip(group) && f.source == ip(source))
    };
    assert!(
        filter(SSM_GROUP, SOURCE).is_some_and(|f| f.include > 0 && f.exclude == 0),
        "{filters:?}"
    );
    assert!(
        filter(SSM_GROUP, SOURCE2).is_none(),
        "S2 requested upstream: {filters:?}"
    );
    assert!(
        filter(ASM_GROUP, SOURCE2).is_some_and(|f| f.exclude > 0 && f.include == 0),
        "{filters:?}"
    );
    assert!(
        filter(ASM_GROUP, SOURCE).is_none(),
        "S1 listed upstream for the ASM group: {filters:?}"
    );
}

/// D21: igmpproxy joined every group upstream on its one mroute socket and hit the kernel's
/// `igmp_max_memberships` (20) with ENOBUFS. One host joins 100 groups: all are joined upstream
/// and forwarded.
#[test]
fn hundred_groups_are_joined_upstream_and_forwarded() {
    if !Lab::require_root() {
        return;
    }
    const GROUPS: usize = 100;
    let t = Basic::new("hundred");
    // The per-socket limit igmpproxy ran into is in force in the router's namespace.
    assert_eq!(
        t.rtr.sysctl_get("net.ipv4.igmp_max_memberships").unwrap(),
        "20"
    );
    let groups: Vec<String> = (1..=GROUPS)
        .map(|i| format!("239.10.{}.{}", i / 250, i % 250))
        .collect();
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    // One socket per group on the host, so the host itself stays below its own limit.
    let receivers: Vec<Receiver> = groups
        .iter()
        .map(|g| Receiver::join(&t.h1, "e0", ip(g), 6000).unwrap())
        .collect();
    let _sources: Vec<Source> = groups
        .iter()
        .map(|g| {
            let spec = SourceSpec::new("s0", ip(g), 6000)
                .interval(Duration::from_millis(100))
                .count(200);
            Source::start(&t.src, spec).unwrap()
        })
        .collect();

    let all_received =
        netlab::wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            receivers.iter().all(|rx| rx.count() >= 2)
        });
    let starved: Vec<&String> = groups
        .iter()
        .zip(&receivers)
        .filter(|(_, rx)| rx.count() < 2)
        .map(|(g, _)| g)
        .collect();
    assert!(
        all_received,
        "{} groups not forwarded, e.g. {:?}:\n{}",
        starved.len(),
        starved.first(),
        proxy.log()
    );

    let status = proxy.status();
    for g in &groups {
        assert_eq!(
            upstream_request(&status, "up0", g),
            Some(("Exclude".to_owned(), vec![])),
            "{g} not requested"
        );
        assert_eq!(
            route_oifs(&t.rtr, SOURCE, g),
            Some(vec!["dn1".to_owned()]),
            "{g} not in the MFC"
        );
    }
    let up0 = netlab::igmp_memberships(&t.rtr)
        .unwrap()
        .into_iter()
        .find(|i| i.name == "up0")
        .expect("up0 in /proc/net/igmp");
    let missing: Vec<&String> = groups
        .iter()
        .filter(|g| !up0.groups.contains(&g.parse().unwrap()))
        .collect();
    assert!(
        missing.is_empty(),
        "not joined upstream: {missing:?}\n{}",
        proxy.log()
    );
    let log = proxy.log();
    assert!(
        !log.contains("ENOBUFS") && !log.contains("No buffer space"),
        "join failures logged:\n{log}"
    );
}

/// D22: the upstream router's queries are answered for the joined groups (the router's
/// kernel is the host on the upstream link). An IGMPv3 general query gets a Current-State
/// record MODE_IS_EXCLUDE (RFC 9776 §5.2), which no unsolicited report carries; an IGMPv2
/// query then turns the upstream to IGMPv2 and gets a v2 report (RFC 9776 §7.2.1).
#[test]
fn upstream_general_queries_are_answered_in_the_queriers_version() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("upquery");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let _rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let joined = netlab::wait_until(Duration::from_secs(5), POLL, || {
        netlab::is_member(&t.rtr, "up0", ip(GROUP)).unwrap_or(false)
    });
    assert!(joined, "group not joined on up0:\n{}", proxy.log());
    let upstream = Capture::start(&t.rtr, "up0", CaptureFilter::Igmp).unwrap();
    let querier = SOURCE.parse().unwrap();

    // Max Resp Code 10: answered within a second.
    netlab::inject_ipv4(&t.src, "s0", &igmpv3_general_query(querier, 10, 2, 125)).unwrap();
    let current_state = upstream.wait_for(
        |p| {
            p.direction == Direction::Outgoing
                && has_igmpv3_record(p, RecordType::ModeIsExclude, GROUP)
        },
        Duration::from_secs(5),
    );
    assert!(
        current_state.is_some(),
        "no IS_EX record for {GROUP} on up0: {:?}",
        upstream.packets()
    );

    netlab::inject_ipv4(&t.src, "s0", &igmpv2_general_query(querier, 10)).unwrap();
    let group = GROUP.parse().unwrap();
    let v2_report = upstream.wait_for(
        |p| p.direction == Direction::Outgoing && igmp_message(p) == Some(Repr::ReportV2 { group }),
        Duration::from_secs(5),
    );
    assert!(
        v2_report.is_some(),
        "no IGMPv2 report for {GROUP} on up0: {:?}",
        upstream.packets()
    );
    let up0 = netlab::igmp_memberships(&t.rtr)
        .unwrap()
        .into_iter()
        .find(|i| i.name == "up0")
        .expect("up0");
    assert_eq!(
        up0.querier, "V2",
        "the upstream host part did not follow the v2 querier"
    );
    assert!(
        proxy.child.is_running(),
        "daemon died on upstream queries:\n{}",
        proxy.log()
    );
}

/// D35: igmpproxy left a source without listeners unresolved, so the kernel re-raised upcalls
/// and queued packets that reached the first receiver seconds old. Here the (S,G) entry is
/// installed with no outputs at once, and a host joining later gets only fresh packets.
#[test]
fn source_without_listeners_gets_an_empty_entry_and_a_late_host_fresh_packets() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("stale");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let source = Source::start(&t.src, stream("s0", GROUP, 5000)).unwrap();
    let resolved_empty = netlab::wait_until(Duration::from_secs(5), POLL, || {
        let mfc = netlab::mfc_v4(&t.rtr).unwrap_or_default();
        let entries: Vec<_> = mfc.iter().filter(|e| e.group == ip(GROUP)).collect();
        entries.len() == 1
            && entries
                .iter()
                .all(|e| e.is_resolved() && e.oifs.is_empty() && e.packets > 0)
    });
    assert!(
        resolved_empty,
        "no resolved empty entry: {:?}\n{}",
        netlab::mfc_v4(&t.rtr),
        proxy.log()
    );

    // Join only after the kernel could have queued stale packets (its unresolved queue takes
    // the first few); they carry the lowest sequence numbers.
    assert!(
        netlab::wait_until(Duration::from_secs(5), POLL, || source.sent() >= 100),
        "source stalled"
    );
    let sent_before_join = source.sent();
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    assert!(
        rx.wait_for_packets(20, Duration::from_secs(5)),
        "no stream after the join:\n{}",
        proxy.log()
    );
    let stats = rx.stats();
    let oldest_seq = stats.seqs.iter().min().copied().unwrap_or(0);
    // One datagram may be in flight while the join takes effect.
    assert!(
        oldest_seq + 1 >= sent_before_join,
        "stale packet seq {oldest_seq} delivered; {sent_before_join} were sent before the join"
    );
    assert!(
        stats.max_age < Some(Duration::from_millis(500)),
        "packet age {:?}",
        stats.max_age
    );
    assert!(
        stats.is_increasing(),
        "reordered or duplicated: {:?}",
        stats.seqs
    );
}

/// D32: the kernel forwards only packets whose TTL is greater than the VIF threshold (1), so a
/// TTL-1 source is never forwarded while a TTL-8 source of the same group is, arriving with
/// TTL 7. The TTL-1 source's entry counts its packets: the router saw and dropped them.
#[test]
fn ttl_one_source_is_not_forwarded_but_a_ttl_eight_source_is() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("ttl");
    t.src.add_addr("s0", &format!("{SOURCE2}/24")).unwrap();
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let wire = Capture::start(&t.h1, "e0", CaptureFilter::Udp { group: ip(GROUP) }).unwrap();
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _ttl8 = Source::start(&t.src, stream("s0", GROUP, 5000).ttl(8)).unwrap();
    let _ttl1 = Source::start(&t.src, stream("s0", GROUP, 5000).ttl(1).bind(ip(SOURCE2))).unwrap();

    // Both sources have an entry with dn1 as output; only the TTL-8 one comes out.
    let both = netlab::wait_until(Duration::from_secs(5), POLL, || {
        route_oifs(&t.rtr, SOURCE, GROUP) == Some(vec!["dn1".to_owned()])
            && route_oifs(&t.rtr, SOURCE2, GROUP) == Some(vec!["dn1".to_owned()])
    });
    assert!(
        both,
        "entries: {:?}\n{}",
        kernel_oifs(&t.rtr, GROUP),
        proxy.log()
    );
    wire.clear();
    let counted = |origin: &str| {
        netlab::mfc_v4(&t.rtr)
            .unwrap_or_default()
            .iter()
            .find(|e| e.group == ip(GROUP) && e.origin == ip(origin))
            .map_or(0, |e| e.packets)
    };
    let ttl1_before = counted(SOURCE2);
    let forwarded = netlab::wait_until(Duration::from_secs(5), POLL, || {
        from_source(&wire, SOURCE) >= 50
    });
    assert!(forwarded, "TTL-8 stream not forwarded:\n{}", proxy.log());
    assert!(
        counted(SOURCE2) > ttl1_before,
        "the TTL-1 source's packets did not reach the router"
    );
    assert_eq!(
        from_source(&wire, SOURCE2),
        0,
        "a TTL-1 packet was forwarded"
    );
    let stats = rx.stats();
    assert_eq!(
        stats.ttls.iter().copied().collect::<Vec<_>>(),
        [7],
        "TTL after one router"
    );
}
