//! End-to-end group policy of the real daemon on the basic topology: per-downstream whitelists,
//! link-local groups never proxied, SSDP proxied by default, and reports from 0.0.0.0 accepted.
//! Each test names the igmpproxy defect (docs/igmpproxy-differences.md §6) it guards.

mod common;
use common::*;
use mrproxy_wire::RecordType;
use mrproxy_wire::igmp::{self, GroupRecord, Repr};
use netlab::{Capture, CaptureFilter, Lab, Receiver};
use std::net::Ipv4Addr;
use std::time::Duration;

/// A `whitelist` on a downstream: a group outside it is neither forwarded there nor joined
/// upstream (docs/igmpproxy-differences.md §3.5); a group inside works normally; the same group requested on
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
fn link_local_groups_are_never_proxied_but_ssdp_is() {
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
fn reports_from_unspecified_source_are_accepted() {
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
