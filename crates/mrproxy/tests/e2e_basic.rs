//! End-to-end behaviour of the real daemon on the basic topology (a source behind `up0`, one
//! host on each of `dn1` and `dn2`): upstream joins, leave timing with the RFC defaults, group
//! filters, link-local groups, reports from 0.0.0.0, IGMPv2 hosts and query versions, and the
//! general-query schedule. Each test names the igmpproxy defect (igmpproxy.md §6) it guards.

mod common;
use common::*;
use mrproxy_wire::RecordType;
use mrproxy_wire::igmp::{self, GroupRecord, Repr};
use netlab::{
    Capture, CaptureFilter, CapturedPacket, Direction, Lab, Receiver, Source, SourceSpec,
};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(5);

fn outgoing(p: &CapturedPacket) -> bool {
    p.direction == Direction::Outgoing
}

fn incoming(p: &CapturedPacket) -> bool {
    p.direction == Direction::Incoming
}

/// A stream from the source namespace: 100 datagrams a second for `seconds`.
fn stream(t: &Basic, group: &str, port: u16, seconds: u64) -> Source {
    let spec = SourceSpec::new("s0", ip(group), port)
        .interval(Duration::from_millis(10))
        .count(seconds * 100);
    Source::start(&t.src, spec).expect("source")
}

fn udp_to(group: &str) -> CaptureFilter {
    CaptureFilter::Udp { group: ip(group) }
}

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
fn d2_d5_leave_queries_only_that_lan_and_stops_after_lmqt_with_rfc_defaults() {
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

/// A `whitelist` on a downstream: a group outside it is neither forwarded there nor joined
/// upstream (igmpproxy.md §3.5); a group inside works normally; the same group requested on
/// another downstream without a filter is served there only.
#[test]
fn whitelist_forwards_only_listed_groups_and_joins_only_those_upstream() {
    if !Lab::require_root() {
        return;
    }
    const OUTSIDE: &str = "239.2.0.1";
    let t = Basic::new("whitelist");
    let config = format!(
        "{FAST_TIMERS}\nphyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n\
         phyint dn1 downstream ratelimit 0 threshold 1\n  whitelist 239.1.0.0/16\n\
         phyint dn2 downstream ratelimit 0 threshold 1\n"
    );
    let proxy = Proxy::start(&t.lab, &t.rtr, &config);
    let up = Capture::start(&t.rtr, "up0", CaptureFilter::Igmp).unwrap();
    let dn1 = Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap();
    let inside = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let outside = Receiver::join(&t.h1, "e0", ip(OUTSIDE), 5000).unwrap();
    let _src_in = stream(&t, GROUP, 5000, 10);
    let _src_out = stream(&t, OUTSIDE, 5000, 10);

    assert!(
        inside.wait_for_packets(20, WAIT),
        "whitelisted group not forwarded:\n{}",
        proxy.log()
    );
    assert!(
        dn1.wait_for(|p| incoming(p) && reports_group(p, OUTSIDE), WAIT)
            .is_some(),
        "h1 never reported {OUTSIDE}"
    );
    // The source of the filtered group is flowing: its entry exists, without outputs.
    let installed = netlab::wait_until(WAIT, Duration::from_millis(20), || {
        route_oifs(&t.rtr, SOURCE, OUTSIDE).is_some()
    });
    assert!(
        installed,
        "no kernel entry for the filtered group's source:\n{}",
        proxy.log()
    );
    assert!(
        inside.wait_for_packets(inside.count() + 50, WAIT),
        "stream stalled"
    );

    assert_eq!(
        route_oifs(&t.rtr, SOURCE, OUTSIDE),
        Some(vec![]),
        "filtered group forwarded"
    );
    assert_eq!(outside.count(), 0, "h1 received the filtered group");
    assert!(
        up.count(|p| reports_group(p, GROUP)) > 0,
        "whitelisted group not joined upstream"
    );
    assert_eq!(
        up.count(|p| reports_group(p, OUTSIDE)),
        0,
        "filtered group reported upstream"
    );
    let group_out: Ipv4Addr = OUTSIDE.parse().unwrap();
    assert!(!host_groups(&t.rtr, "up0").contains(&group_out));
    let status = proxy.status();
    assert_eq!(upstream_request(&status, "up0", OUTSIDE), None);
    assert_eq!(port_groups(&status, "dn1"), vec![GROUP.to_owned()]);
    assert!(
        status["rejected"]["GroupFiltered"].as_u64().unwrap_or(0) >= 1,
        "{}",
        status["rejected"]
    );

    // The filter belongs to dn1 alone: a host on dn2 gets the group, joined upstream for dn2,
    // and h1's request on dn1 still does not count.
    let other_lan = Receiver::join(&t.h2, "e0", ip(OUTSIDE), 5000).unwrap();
    assert!(
        other_lan.wait_for_packets(20, WAIT),
        "{OUTSIDE} not forwarded to dn2:\n{}",
        proxy.log()
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, OUTSIDE),
        Some(vec!["dn2".to_owned()])
    );
    assert!(
        host_groups(&t.rtr, "up0").contains(&group_out),
        "{OUTSIDE} not joined upstream for dn2"
    );
    assert_eq!(outside.count(), 0, "h1 received the group filtered on dn1");
}

/// D22/D26: link-local groups (224.0.0.0/24, here mDNS 224.0.0.251) are never proxied, even
/// when a host reports them; SSDP 239.255.255.250 is an ordinary admin-scoped group and is
/// proxied by default (igmpproxy 0.4 behaviour).
#[test]
fn d22_d26_link_local_groups_are_never_proxied_but_ssdp_is() {
    if !Lab::require_root() {
        return;
    }
    const LINK_LOCAL: &str = "224.0.0.251";
    const SSDP: &str = "239.255.255.250";
    let t = Basic::new("linklocal");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let up = Capture::start(&t.rtr, "up0", CaptureFilter::Igmp).unwrap();
    let dn1 = Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap();
    let _mdns = Receiver::join(&t.h1, "e0", ip(LINK_LOCAL), 5353).unwrap();
    let ssdp = Receiver::join(&t.h1, "e0", ip(SSDP), 1900).unwrap();
    let _src = stream(&t, SSDP, 1900, 10);

    assert!(
        ssdp.wait_for_packets(20, WAIT),
        "SSDP not forwarded:\n{}",
        proxy.log()
    );
    assert!(
        up.wait_for(|p| outgoing(p) && reports_group(p, SSDP), WAIT)
            .is_some(),
        "SSDP not joined upstream:\n{}",
        proxy.log()
    );
    // The kernel host reports link-local groups (igmp_llm_reports) twice (robustness 2):
    // both reached the router, and neither went upstream.
    let heard = netlab::wait_until(WAIT, Duration::from_millis(20), || {
        dn1.count(|p| incoming(p) && reports_group(p, LINK_LOCAL)) >= 2
    });
    assert!(heard, "h1's reports for {LINK_LOCAL} did not reach dn1");
    assert!(wait_quiet(
        &up,
        |p| reports_group(p, SSDP),
        Duration::from_millis(300),
        WAIT
    ));

    assert_eq!(
        up.count(|p| reports_group(p, LINK_LOCAL)),
        0,
        "link-local group reported upstream (D22)"
    );
    let link_local: Ipv4Addr = LINK_LOCAL.parse().unwrap();
    assert!(!host_groups(&t.rtr, "up0").contains(&link_local));
    assert!(host_groups(&t.rtr, "up0").contains(&SSDP.parse().unwrap()));
    let status = proxy.status();
    assert_eq!(upstream_request(&status, "up0", LINK_LOCAL), None);
    assert_eq!(
        port_groups(&status, "dn1"),
        vec![SSDP.to_owned()],
        "dn1 must track SSDP only"
    );
    assert!(
        status["rejected"]["LinkLocalGroup"].as_u64().unwrap_or(0) >= 2,
        "{}",
        status["rejected"]
    );
}

/// D16: RFC 9776 §4.2.13 allows reports from 0.0.0.0 (hosts without an address yet) and routers
/// must accept them; the receive interface comes from the packet, not the source subnet. An
/// IGMPv3 TO_EX and an IGMPv2 report, both from 0.0.0.0, each lead to an upstream join and to
/// forwarding onto dn1.
#[test]
fn d16_reports_from_unspecified_source_are_accepted() {
    if !Lab::require_root() {
        return;
    }
    const V3_GROUP: &str = "239.1.8.1";
    const V2_GROUP: &str = "239.1.8.2";
    let t = Basic::new("zerosource");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let up = Capture::start(&t.rtr, "up0", CaptureFilter::Igmp).unwrap();
    let wire_v3 = Capture::start(&t.h1, "e0", udp_to(V3_GROUP)).unwrap();
    let wire_v2 = Capture::start(&t.h1, "e0", udp_to(V2_GROUP)).unwrap();

    let v3_group: Ipv4Addr = V3_GROUP.parse().unwrap();
    let v2_group: Ipv4Addr = V2_GROUP.parse().unwrap();
    let to_ex = Repr::ReportV3 {
        records: vec![GroupRecord {
            record_type: RecordType::ChangeToExclude,
            group: v3_group,
            sources: vec![],
            aux_data: vec![],
        }],
    };
    let v2_report = Repr::ReportV2 { group: v2_group };
    let unspecified = Ipv4Addr::UNSPECIFIED;
    netlab::inject_ipv4(
        &t.h1,
        "e0",
        &netlab::packet::igmp_packet(unspecified, igmp::ALL_IGMPV3_ROUTERS, &to_ex.to_bytes()),
    )
    .unwrap();
    netlab::inject_ipv4(
        &t.h1,
        "e0",
        &netlab::packet::igmp_packet(unspecified, v2_group, &v2_report.to_bytes()),
    )
    .unwrap();
    let _src_v3 = stream(&t, V3_GROUP, 5000, 10);
    let _src_v2 = stream(&t, V2_GROUP, 5000, 10);

    for (group, wire) in [(V3_GROUP, &wire_v3), (V2_GROUP, &wire_v2)] {
        assert!(
            up.wait_for(|p| outgoing(p) && reports_group(p, group), WAIT)
                .is_some(),
            "report from 0.0.0.0 for {group} not joined upstream:\n{}",
            proxy.log()
        );
        let flowing = netlab::wait_until(WAIT, Duration::from_millis(20), || {
            wire.count(incoming) >= 20
        });
        assert!(flowing, "{group} not forwarded onto dn1:\n{}", proxy.log());
        assert_eq!(
            route_oifs(&t.rtr, SOURCE, group),
            Some(vec!["dn1".to_owned()])
        );
    }
    let status = proxy.status();
    let groups = port_groups(&status, "dn1");
    assert!(
        groups.contains(&V3_GROUP.to_owned()) && groups.contains(&V2_GROUP.to_owned()),
        "dn1 groups: {groups:?}"
    );
    assert!(
        port_groups(&status, "dn2").is_empty(),
        "reports on dn1 must not count on dn2"
    );
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
/// forwarded and joined upstream past any leftover LMQT (igmpproxy lost the stream here, #47).
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

#[test]
fn d8_quick_rejoins_within_lmqt_keep_the_stream() {
    if Lab::require_root() {
        quick_rejoins_keep_the_stream("rejoin", false);
    }
}

#[test]
fn d8_quick_rejoins_keep_the_stream_with_quickleave() {
    if Lab::require_root() {
        quick_rejoins_keep_the_stream("rejoinql", true);
    }
}

/// D24: queries are IGMPv3 by default (igmpproxy always sent v2, pulling every host down to
/// v2); `igmpversion 2` on an interface sends IGMPv2 queries there, and the host on that link
/// falls back to v2 while the host on the default link stays at v3.
#[test]
fn d24_queries_are_v3_by_default_and_v2_with_igmpversion_2() {
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
fn d1_general_queries_keep_the_configured_interval() {
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
