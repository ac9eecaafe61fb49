//! End-to-end behaviour of the real daemon on the basic topology (a source behind `up0`, one
//! host on each of `dn1` and `dn2`): upstream joins, leave timing with the RFC defaults, IGMPv2
//! hosts and query versions, fast channel changes, and the general-query schedule (group policy:
//! e2e_policy.rs). Each test names the igmpproxy defect (docs/igmpproxy-differences.md §6) it guards.

mod common;
use common::*;
use mrproxy_wire::RecordType;
use mrproxy_wire::igmp::Repr;
use netlab::{Capture, CaptureFilter, CapturedPacket, Lab, Receiver};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// RFC 4605 §4.1: a downstream join makes the proxy's host part join upstream. The kernel
/// sends the IGMPv3 report (TO_EX {} for an any-source join, RFC 9776 §5.1) from up0's address
/// to 224.0.0.22, and /proc/net/igmp lists the group on up0 only.
#[test]
fn join_forwards_and_reports_the_group_upstream() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("joinreport");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let up = Capture::start(&t.rtr, "up0", CaptureFilter::Igmp).unwrap();
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 10);
    assert!(
        rx.wait_for_packets(20, WAIT),
        "no stream at h1:\n{}",
        proxy.log()
    );

    let report = up
        .wait_for(
            |p| outgoing(p) && has_igmpv3_record(p, RecordType::ChangeToExclude, GROUP),
            WAIT,
        )
        .unwrap_or_else(|| {
            panic!(
                "no IGMPv3 TO_EX report for {GROUP} on up0:\n{}",
                proxy.log()
            )
        });
    let header = report.ip().unwrap();
    assert_eq!(
        (header.src, header.dst),
        (ip("198.51.100.1"), ip("224.0.0.22")),
        "report addressing"
    );
    assert!(
        header.router_alert && header.ttl == 1,
        "RFC 9776 §4: TTL 1 with Router Alert"
    );

    let group: Ipv4Addr = GROUP.parse().unwrap();
    assert!(
        host_groups(&t.rtr, "up0").contains(&group),
        "/proc/net/igmp: {:?}",
        netlab::igmp_memberships(&t.rtr)
    );
    for downstream in ["dn1", "dn2"] {
        assert!(
            !host_groups(&t.rtr, downstream).contains(&group),
            "the group must be joined upstream only"
        );
    }
    let status = proxy.status();
    assert_eq!(
        upstream_request(&status, "up0", GROUP),
        Some(("Exclude".to_owned(), vec![]))
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP),
        Some(vec!["dn1".to_owned()])
    );
}

/// D5 + D2: with no timer keywords at all (RFC defaults LMQI 1 s, LMQC 2, so LMQT 2 s), a leave
/// on dn1 triggers group-specific queries on dn1 only, never on dn2 where the group is still
/// wanted; forwarding onto dn1 stops once LMQT has passed (igmpproxy: 10-s queries, median
/// 9.5 s) and the member on dn2 keeps its stream (D4).
#[test]
fn leave_queries_only_that_lan_and_stops_after_lmqt_with_rfc_defaults() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("leavedefaults");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(""));
    let (igmp1, igmp2) = (
        Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap(),
        Capture::start(&t.rtr, "dn2", CaptureFilter::Igmp).unwrap(),
    );
    let wire1 = Capture::start(&t.rtr, "dn1", udp_to(GROUP)).unwrap();
    let rx1 = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let rx2 = Receiver::join(&t.h2, "e0", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 10);
    assert!(
        rx1.wait_for_packets(20, WAIT) && rx2.wait_for_packets(20, WAIT),
        "no stream:\n{}",
        proxy.log()
    );
    let before_leave = Instant::now();

    rx1.leave().unwrap();
    let leave = igmp1
        .wait_for(
            |p| incoming(p) && has_igmpv3_record(p, RecordType::ChangeToInclude, GROUP),
            WAIT,
        )
        .unwrap_or_else(|| panic!("h1's leave (TO_IN {{}}) not seen on dn1:\n{}", proxy.log()));
    let quiet = wait_quiet(
        &wire1,
        outgoing,
        Duration::from_millis(700),
        Duration::from_secs(5),
    );
    assert!(
        quiet,
        "forwarding onto dn1 never stopped after the leave (D3):\n{}",
        proxy.log()
    );

    let last = last_seen(&wire1, outgoing).expect("the stream was on dn1 before the leave");
    let lmqt = Duration::from_secs(2);
    let stopped_after = last.saturating_duration_since(leave.at);
    assert!(
        stopped_after >= lmqt - Duration::from_millis(200)
            && stopped_after <= lmqt + Duration::from_secs(1),
        "dn1 forwarding stopped {stopped_after:?} after the leave, expected LMQT = {lmqt:?} (D2):\n{}",
        proxy.log()
    );

    let queries: Vec<CapturedPacket> = igmp1
        .packets()
        .into_iter()
        .filter(|p| outgoing(p) && is_group_query(p, GROUP))
        .collect();
    assert!(
        queries.len() >= 2,
        "LMQC = 2 group-specific queries on dn1, saw {}:\n{}",
        queries.len(),
        proxy.log()
    );
    for q in &queries {
        // Max Resp Code 10 = LMQI 1 s (RFC 9776 §4.1.1, §8.8).
        assert!(
            matches!(
                igmp_message(q),
                Some(Repr::QueryV3 {
                    max_resp_code: 10,
                    ..
                })
            ),
            "Q(G) must be IGMPv3 with Max Resp = LMQI: {:?}",
            igmp_message(q)
        );
    }
    // The kernel host sends its TO_IN twice (robustness 2); each is a "Send Q(G)" table action
    // answered at once (RFC 9776 §6.6.3.1). Every other Q(G) is a retransmission LMQI after
    // the previous one, never sooner (D1/D2).
    let leaves: Vec<Instant> = igmp1
        .packets()
        .iter()
        .filter(|p| incoming(p) && has_igmpv3_record(p, RecordType::ChangeToInclude, GROUP))
        .map(|p| p.at)
        .collect();
    for pair in queries.windows(2) {
        let answers_a_leave = leaves
            .iter()
            .any(|l| *l <= pair[1].at && pair[1].at - *l < Duration::from_millis(100));
        let gap = pair[1].at - pair[0].at;
        assert!(
            answers_a_leave || gap >= Duration::from_millis(900),
            "Q(G) retransmitted after {gap:?}, LMQI is 1 s:\n{}",
            proxy.log()
        );
    }
    assert!(
        queries.len() <= 2 * leaves.len(),
        "{} Q(G) for {} leaves (LMQC 2)",
        queries.len(),
        leaves.len()
    );
    assert_eq!(
        igmp2.count(|p| is_group_query(p, GROUP)),
        0,
        "Q(G) leaked onto dn2 (D5):\n{}",
        proxy.log()
    );

    let h2 = rx2.stats_since(before_leave);
    assert!(
        h2.max_gap.is_some_and(|g| g < Duration::from_millis(300)),
        "h2 was cut (D4): {h2:?}"
    );
    assert!(
        h2.last_rx.is_some_and(|l| l > last),
        "h2 must keep receiving after dn1 stopped"
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP),
        Some(vec!["dn2".to_owned()])
    );
    assert!(!port_groups(&proxy.status(), "dn1").contains(&GROUP.to_owned()));
}

/// A host forced to IGMPv2 (`force_igmp_version=2`) joins with a v2 report and gets the
/// stream; its v2 Leave (to 224.0.0.2) makes the router query the group and stop forwarding
/// after LMQT (0.5 s × 2 here), and the upstream membership ends with it.
#[test]
fn igmpv2_host_joins_and_its_leave_stops_the_stream() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("v2host");
    t.h1.sysctl("net/ipv4/conf/e0/force_igmp_version", "2")
        .unwrap();
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let dn1 = Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap();
    let wire = Capture::start(&t.rtr, "dn1", udp_to(GROUP)).unwrap();
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 10);
    assert!(
        rx.wait_for_packets(20, WAIT),
        "no stream at the IGMPv2 host:\n{}",
        proxy.log()
    );
    assert!(
        dn1.packets()
            .iter()
            .any(|p| incoming(p) && matches!(igmp_message(p), Some(Repr::ReportV2 { .. }))),
        "the host did not join with an IGMPv2 report"
    );
    let status = proxy.status();
    let group = port_status(&status, "dn1", "V4")
        .and_then(|p| p["groups"].as_array())
        .and_then(|g| g.first())
        .cloned();
    assert_eq!(
        group.as_ref().map(|g| g["compat"].clone()),
        Some("V2".into()),
        "RFC 9776 §7.3.2 compatibility: {group:?}"
    );

    rx.leave().unwrap();
    let leave = dn1
        .wait_for(
            |p| incoming(p) && matches!(igmp_message(p), Some(Repr::LeaveV2 { .. })),
            WAIT,
        )
        .unwrap_or_else(|| panic!("no IGMPv2 Leave on dn1:\n{}", proxy.log()));
    assert_eq!(
        leave.ip().map(|h| h.dst),
        Some(ip("224.0.0.2")),
        "RFC 2236 §9: leaves go to all-routers"
    );
    assert!(
        dn1.wait_for(|p| outgoing(p) && is_group_query(p, GROUP), WAIT)
            .is_some(),
        "no group-specific query after the v2 leave:\n{}",
        proxy.log()
    );
    assert!(
        wait_quiet(&wire, outgoing, Duration::from_millis(500), WAIT),
        "stream kept flowing:\n{}",
        proxy.log()
    );
    let stopped_after = last_seen(&wire, outgoing)
        .unwrap()
        .saturating_duration_since(leave.at);
    assert!(
        stopped_after <= Duration::from_secs(2),
        "stopped {stopped_after:?} after the leave (LMQT 1 s)"
    );
    let left = netlab::wait_until(WAIT, Duration::from_millis(20), || {
        upstream_request(&proxy.status(), "up0", GROUP).is_none()
    });
    assert!(
        left,
        "upstream membership kept after the last leave:\n{}",
        proxy.log()
    );
    assert!(!host_groups(&t.rtr, "up0").contains(&GROUP.parse().unwrap()));
}

/// D8: fast channel changes. Five times, h1 leaves and joins again 100 ms later, well within
/// the last-member query time; afterwards the stream runs steadily and the group stays
/// forwarded and joined upstream past any leftover LMQT (igmpproxy lost the stream here, pali/igmpproxy#47).
fn quick_rejoins_keep_the_stream(tag: &str, quickleave: bool) {
    let t = Basic::new(tag);
    let extra = if quickleave {
        format!("quickleave\n{FAST_TIMERS}")
    } else {
        FAST_TIMERS.to_owned()
    };
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(&extra));
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 10);
    assert!(rx.wait_for_packets(20, WAIT), "no stream:\n{}", proxy.log());
    for _ in 0..5 {
        rx.leave().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        rx.rejoin().unwrap();
        assert!(
            rx.wait_for_packets(rx.count() + 10, WAIT),
            "no stream after a rejoin:\n{}",
            proxy.log()
        );
    }
    let settled = Instant::now();
    // 200 datagrams = 2 s, twice the LMQT of FAST_TIMERS (2 × 0.5 s).
    assert!(
        rx.wait_for_packets(rx.count() + 200, WAIT),
        "stream lost after the rejoins (D8):\n{}",
        proxy.log()
    );
    let after = rx.stats_since(settled);
    assert!(
        after
            .max_gap
            .is_some_and(|g| g < Duration::from_millis(250)),
        "stream paused: {after:?}\n{}",
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
    assert!(host_groups(&t.rtr, "up0").contains(&GROUP.parse().unwrap()));
}

/// D8 (`quick_rejoins_keep_the_stream`): without quickleave.
#[test]
fn quick_rejoins_within_lmqt_keep_the_stream() {
    if Lab::require_root() {
        quick_rejoins_keep_the_stream("rejoin", false);
    }
}

/// D8 (`quick_rejoins_keep_the_stream`): with quickleave.
#[test]
fn quick_rejoins_keep_the_stream_with_quickleave() {
    if Lab::require_root() {
        quick_rejoins_keep_the_stream("rejoinql", true);
    }
}

/// D24: queries are IGMPv3 by default (igmpproxy always sent v2, pulling every host down to
/// v2); `igmpversion 2` on an interface sends IGMPv2 queries there, and the host on that link
/// falls back to v2 while the host on the default link stays at v3.
#[test]
fn queries_are_v3_by_default_and_v2_with_igmpversion_2() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("queryversion");
    let config = format!(
        "{FAST_TIMERS}\nphyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n\
         phyint dn1 downstream ratelimit 0 threshold 1\n\
         phyint dn2 downstream ratelimit 0 threshold 1 igmpversion 2\n"
    );
    let (dn1, dn2) = (
        Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap(),
        Capture::start(&t.rtr, "dn2", CaptureFilter::Igmp).unwrap(),
    );
    let proxy = Proxy::start(&t.lab, &t.rtr, &config);
    let q1 = dn1
        .wait_for(|p| outgoing(p) && is_general_query(p), WAIT)
        .and_then(|p| igmp_message(&p));
    let q2 = dn2
        .wait_for(|p| outgoing(p) && is_general_query(p), WAIT)
        .and_then(|p| igmp_message(&p));
    // FAST_TIMERS: Query Response Interval 2 s = 20 tenths; QQIC 5 s.
    assert!(
        matches!(
            q1,
            Some(Repr::QueryV3 {
                max_resp_code: 20,
                qqic: 5,
                qrv: 2,
                ..
            })
        ),
        "dn1 query: {q1:?}\n{}",
        proxy.log()
    );
    assert_eq!(
        q2,
        Some(Repr::QueryV2 {
            max_resp_time: 20,
            group: Ipv4Addr::UNSPECIFIED
        }),
        "dn2 query\n{}",
        proxy.log()
    );

    let _rx1 = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _rx2 = Receiver::join(&t.h2, "e0", ip(GROUP), 5000).unwrap();
    let host_version = |ns: &netlab::Netns| {
        netlab::igmp_memberships(ns)
            .unwrap_or_default()
            .into_iter()
            .find(|i| i.name == "e0")
            .map(|i| i.querier)
    };
    let fell_back = netlab::wait_until(WAIT, Duration::from_millis(20), || {
        host_version(&t.h2).as_deref() == Some("V2")
    });
    assert!(
        fell_back,
        "h2 heard a v2 query and must fall back: {:?}",
        host_version(&t.h2)
    );
    assert_eq!(
        host_version(&t.h1).as_deref(),
        Some("V3"),
        "h1 must stay IGMPv3"
    );
    assert!(
        dn2.wait_for(
            |p| incoming(p) && matches!(igmp_message(p), Some(Repr::ReportV2 { .. })),
            WAIT
        )
        .is_some(),
        "h2 did not report with IGMPv2 on the v2 link"
    );
    assert!(
        dn1.wait_for(
            |p| incoming(p) && has_igmpv3_record(p, RecordType::ChangeToExclude, GROUP),
            WAIT
        )
        .is_some()
    );
    assert_eq!(
        dn1.count(|p| outgoing(p)
            && matches!(
                igmp_message(p),
                Some(Repr::QueryV2 { .. } | Repr::QueryV1 { .. })
            )),
        0,
        "a v1/v2 query went out on the default (v3) link"
    );
    assert_eq!(
        dn2.count(|p| outgoing(p) && matches!(igmp_message(p), Some(Repr::QueryV3 { .. }))),
        0
    );
}

/// D1: with `queryinterval 2` the general queries on dn1 come every 2 s after the startup
/// queries, never faster (igmpproxy's clock ran ahead: 6–22 s instead of 125 s).
#[test]
fn general_queries_keep_the_configured_interval() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("queryinterval");
    let dn1 = Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap();
    let proxy = Proxy::start(
        &t.lab,
        &t.rtr,
        &Basic::config("queryinterval 2\nqueryresponseinterval 1"),
    );
    let general = |p: &CapturedPacket| outgoing(p) && is_general_query(p);
    // Startup Query Count 2 (= robustness) queries, then three regular ones.
    let enough = netlab::wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        dn1.count(general) >= 5
    });
    assert!(
        enough,
        "only {} general queries on dn1:\n{}",
        dn1.count(general),
        proxy.log()
    );
    let times: Vec<Instant> = dn1
        .packets()
        .iter()
        .filter(|p| general(p))
        .map(|p| p.at)
        .collect();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // RFC 9776 §8.6: the startup queries are Startup Query Interval = QI / 4 apart.
    assert!(
        gaps[0] >= Duration::from_millis(400),
        "startup queries {:?} apart",
        gaps[0]
    );
    for gap in &gaps[1..4] {
        assert!(
            *gap >= Duration::from_millis(1900) && *gap <= Duration::from_millis(2500),
            "general queries {gap:?} apart with queryinterval 2 (all gaps {gaps:?}):\n{}",
            proxy.log()
        );
    }
    let first = dn1
        .packets()
        .into_iter()
        .find(|p| general(p))
        .and_then(|p| igmp_message(&p));
    assert!(
        matches!(
            first,
            Some(Repr::QueryV3 {
                qqic: 2,
                max_resp_code: 10,
                ..
            })
        ),
        "QQIC/MRC: {first:?}"
    );
}
