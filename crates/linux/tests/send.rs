//! Queries leave through the exact interface, from the exact source, with TTL / hop limit 1,
//! Router Alert, TOS 0xC0 (IPv4) and a correct checksum, as seen by a capture on the link.

mod common;

use common::{SECOND, Topology, ip, run_in};
use mrproxy_linux::{IgmpSender, MldSender};
use netlab::packet::{fix_icmpv6_checksum, internet_checksum};
use netlab::{Capture, CaptureFilter, Lab};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// IGMPv2 general query, Max Resp Code 10 (docs/test-strategy.md §5 vector).
const V2_GENERAL_QUERY: [u8; 8] = [0x11, 0x0a, 0xee, 0xf5, 0, 0, 0, 0];

#[test]
fn igmp_query_has_ttl_1_tos_c0_router_alert_and_a_valid_checksum() {
    if !Lab::require_root() {
        return;
    }
    let t = Topology::new("lx-sendq4");
    let dn1 = t.ifindex("dn1");
    // A second address on dn1 shows the source is chosen per packet, not by the kernel.
    t.rtr.add_addr("dn1", "192.0.2.9/24").unwrap();
    let on_h1 = Capture::start(&t.h1, "e0", CaptureFilter::Igmp).unwrap();
    let on_h2 = Capture::start(&t.h2, "e0", CaptureFilter::Igmp).unwrap();
    let query_from = Ipv4Addr::new(192, 0, 2, 9);
    run_in(&t.rtr, || async {
        let sender = IgmpSender::open().unwrap();
        sender
            .send(
                dn1,
                query_from,
                Ipv4Addr::new(224, 0, 0, 1),
                &V2_GENERAL_QUERY,
            )
            .unwrap();
    });
    let from_router =
        |p: &netlab::CapturedPacket| p.ip().is_some_and(|ip| ip.src == IpAddr::V4(query_from));
    let got = on_h1
        .wait_for(from_router, 3 * SECOND)
        .expect("query captured on dn1's link");
    let view = got.ip().unwrap();
    assert_eq!(view.dst, ip("224.0.0.1"));
    assert_eq!(view.ttl, 1);
    assert!(view.router_alert);
    assert_eq!(got.data[1], 0xc0, "TOS");
    assert_eq!(view.payload, V2_GENERAL_QUERY);
    assert_eq!(internet_checksum(view.payload), 0, "IGMP checksum verifies");
    assert_eq!(
        internet_checksum(&got.data[..24]),
        0,
        "IPv4 header checksum verifies"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(on_h2.count(from_router), 0, "nothing left through dn2");
}

#[test]
fn mld_query_has_hop_limit_1_router_alert_and_the_kernel_checksum() {
    if !Lab::require_root() {
        return;
    }
    let t = Topology::new("lx-sendq6");
    let dn1 = t.ifindex("dn1");
    t.rtr.add_addr("dn1", "fe80::1/64").unwrap();
    let on_h1 = Capture::start(&t.h1, "e0", CaptureFilter::Mld).unwrap();
    let on_h2 = Capture::start(&t.h2, "e0", CaptureFilter::Mld).unwrap();
    let source: Ipv6Addr = "fe80::1".parse().unwrap();
    let all_nodes: Ipv6Addr = "ff02::1".parse().unwrap();
    // MLDv1 general query, Maximum Response Delay 1000 ms, checksum left 0 for the kernel.
    let mut query = [0u8; 24];
    query[0] = 130;
    query[4..6].copy_from_slice(&1000u16.to_be_bytes());
    run_in(&t.rtr, || async {
        let sender = MldSender::open().unwrap();
        sender.send(dn1, source, all_nodes, &query).unwrap();
    });
    let from_router =
        |p: &netlab::CapturedPacket| p.ip().is_some_and(|ip| ip.src == IpAddr::V6(source));
    let got = on_h1
        .wait_for(from_router, 3 * SECOND)
        .expect("query captured on dn1's link");
    let view = got.ip().unwrap();
    assert_eq!(view.dst, IpAddr::V6(all_nodes));
    assert_eq!(view.ttl, 1);
    assert!(view.router_alert);
    let mut expected = query;
    fix_icmpv6_checksum(source, all_nodes, &mut expected);
    assert_ne!(expected[2..4], [0, 0]);
    assert_eq!(
        view.payload, expected,
        "the kernel filled in the ICMPv6 checksum"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(on_h2.count(from_router), 0, "nothing left through dn2");
}
