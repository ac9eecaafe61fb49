//! End to end over IPv6 (D36: igmpproxy has no MLD at all): the basic topology with
//! 2001:db8::/32 addresses next to the IPv4 ones, MLDv2 and MLDv1 kernel hosts, an ASM group in
//! ff0e::/16 (global scope) and an SSM group in ff3e::/32 (RFC 4607).

mod common;
use common::*;
use netlab::{Capture, CaptureFilter, Lab, Receiver, Source, SourceSpec};
use std::time::Duration;

const SOURCE6: &str = "2001:db8:1::2";
const SOURCE6_B: &str = "2001:db8:1::3";
const ASM_GROUP6: &str = "ff0e::1:3";
const SSM_GROUP6: &str = "ff3e::8000:1";
const POLL: Duration = Duration::from_millis(20);
/// ICMPv6 types of MLD (RFC 2710 §3, RFC 9777 §5).
const MLDV1_REPORT: u8 = 131;
const MLDV1_DONE: u8 = 132;
const MLDV2_REPORT: u8 = 143;

/// The basic topology with IPv6 added: s0/up0 on 2001:db8:1::/64, dn1/h1 on 2001:db8:2::/64,
/// dn2/h2 on 2001:db8:3::/64 (netlab turns DAD off, so the addresses work at once).
fn dual_stack(tag: &str) -> Basic {
    let t = Basic::new(tag);
    for (ns, ifname, cidr) in [
        (&t.src, "s0", "2001:db8:1::2/64"),
        (&t.rtr, "up0", "2001:db8:1::1/64"),
        (&t.rtr, "dn1", "2001:db8:2::1/64"),
        (&t.h1, "e0", "2001:db8:2::2/64"),
        (&t.rtr, "dn2", "2001:db8:3::1/64"),
        (&t.h2, "e0", "2001:db8:3::2/64"),
    ] {
        ns.add_addr(ifname, cidr).unwrap();
    }
    t
}

/// A stream with hop limit 8 (the kernel forwards only hop limit > 1), 30 s at most.
fn stream6(group: &str) -> SourceSpec {
    SourceSpec::new("s0", ip(group), 5000)
        .ttl(8)
        .interval(Duration::from_millis(10))
        .count(3000)
}

/// Join → stream → leave → stop for one host on `dn` (its downstream), checking the kernel
/// MFC, the upstream membership and the hop limit; returns the MLD types the host sent.
fn join_receive_leave(t: &Basic, proxy: &Proxy, host: &netlab::Netns, dn: &str) -> Vec<u8> {
    let mld = Capture::start(&t.rtr, dn, CaptureFilter::Mld).unwrap();
    let rx = Receiver::join(host, "e0", ip(ASM_GROUP6), 5000).unwrap();
    let _source = Source::start(&t.src, stream6(ASM_GROUP6)).unwrap();
    assert!(
        rx.wait_for_packets(20, Duration::from_secs(5)),
        "no IPv6 stream at the host:\n{}",
        proxy.log()
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE6, ASM_GROUP6),
        Some(vec![dn.to_owned()])
    );
    assert_eq!(
        rx.stats().ttls.iter().copied().collect::<Vec<_>>(),
        [7],
        "hop limit after one router"
    );
    assert_eq!(
        upstream_request(&proxy.status(), "up0", ASM_GROUP6),
        Some(("Exclude".to_owned(), vec![])),
        "{:#}",
        proxy.status()
    );
    assert!(
        netlab::is_member(&t.rtr, "up0", ip(ASM_GROUP6)).unwrap(),
        "not joined upstream"
    );

    rx.leave().unwrap();
    // Last-listener queries: 2 × 0.5 s (FAST_TIMERS), then the entry loses its output.
    let stopped = netlab::wait_until(Duration::from_secs(5), POLL, || {
        route_oifs(&t.rtr, SOURCE6, ASM_GROUP6).is_some_and(|oifs| oifs.is_empty())
            && !netlab::is_member(&t.rtr, "up0", ip(ASM_GROUP6)).unwrap_or(true)
    });
    assert!(
        stopped,
        "still forwarded or joined after the leave:\n{}",
        proxy.log()
    );
    let mut types: Vec<u8> = mld
        .packets()
        .iter()
        .filter(|p| p.direction == netlab::Direction::Incoming && p.message_type() != Some(130))
        .filter_map(netlab::CapturedPacket::message_type)
        .collect();
    types.dedup();
    types
}

/// An MLDv2 host (the kernel's default) joins an ASM group, gets the stream through the
/// router, and its leave stops forwarding and the upstream membership (RFC 9777 §7.4).
#[test]
fn mldv2_host_receives_an_ipv6_stream_until_it_leaves() {
    if !Lab::require_root() {
        return;
    }
    let t = dual_stack("mldv2");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let types = join_receive_leave(&t, &proxy, &t.h1, "dn1");
    assert!(
        types.iter().all(|&m| m == MLDV2_REPORT),
        "MLD from an MLDv2 host: {types:?}"
    );
    assert!(!types.is_empty(), "no MLDv2 report seen on dn1");
}

/// An MLDv1 host (`force_mld_version=1`) is served in compatibility mode (RFC 9777 §8.3.2):
/// its Report starts and its Done stops forwarding.
#[test]
fn mldv1_host_receives_an_ipv6_stream_until_done() {
    if !Lab::require_root() {
        return;
    }
    let t = dual_stack("mldv1");
    t.h2.sysctl("net/ipv6/conf/e0/force_mld_version", "1")
        .unwrap();
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let types = join_receive_leave(&t, &proxy, &t.h2, "dn2");
    assert!(
        types.contains(&MLDV1_REPORT),
        "no MLDv1 report seen on dn2: {types:?}"
    );
    assert!(
        types.contains(&MLDV1_DONE),
        "no MLDv1 Done seen on dn2: {types:?}"
    );
    assert!(
        !types.contains(&MLDV2_REPORT),
        "the MLDv1 host sent MLDv2: {types:?}"
    );
}

/// SSM over IPv6 (D25 for MLD): a host with INCLUDE {S1} on an ff3e::/32 group gets S1 only,
/// on the wire as well as at its socket, and the upstream asks for S1 only.
#[test]
fn mld_ssm_include_forwards_only_the_requested_source() {
    if !Lab::require_root() {
        return;
    }
    let t = dual_stack("mldssm");
    t.src.add_addr("s0", &format!("{SOURCE6_B}/64")).unwrap();
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let wire = Capture::start(
        &t.h1,
        "e0",
        CaptureFilter::Udp {
            group: ip(SSM_GROUP6),
        },
    )
    .unwrap();
    let _rx = Receiver::join_source(&t.h1, "e0", ip(SSM_GROUP6), ip(SOURCE6), 5000).unwrap();
    // Both bound: with two global addresses on s0 the kernel may pick either for an unbound one.
    let _sources = [
        Source::start(&t.src, stream6(SSM_GROUP6).bind(ip(SOURCE6))).unwrap(),
        Source::start(&t.src, stream6(SSM_GROUP6).bind(ip(SOURCE6_B))).unwrap(),
    ];
    let converged = netlab::wait_until(Duration::from_secs(5), POLL, || {
        route_oifs(&t.rtr, SOURCE6, SSM_GROUP6) == Some(vec!["dn1".to_owned()])
            && route_oifs(&t.rtr, SOURCE6_B, SSM_GROUP6) == Some(vec![])
    });
    assert!(
        converged,
        "MFC: {:?}\n{}",
        kernel_oifs6(&t.rtr, SSM_GROUP6),
        proxy.log()
    );
    wire.clear();
    let flowing = netlab::wait_until(Duration::from_secs(5), POLL, || {
        wire.count(|p| packet_source(p) == Some(ip(SOURCE6))) >= 50
    });
    assert!(flowing, "S1 not forwarded to h1:\n{}", proxy.log());
    assert_eq!(
        wire.count(|p| packet_source(p) == Some(ip(SOURCE6_B))),
        0,
        "S2 forwarded"
    );

    assert_eq!(
        upstream_request(&proxy.status(), "up0", SSM_GROUP6),
        Some(("Include".to_owned(), vec![SOURCE6.to_owned()])),
        "{:#}",
        proxy.status()
    );
    let filters: Vec<SourceFilter> = source_filters(&t.rtr)
        .into_iter()
        .filter(|f| f.ifname == "up0" && f.group == ip(SSM_GROUP6))
        .collect();
    assert_eq!(filters.len(), 1, "upstream source filters: {filters:?}");
    assert!(
        filters
            .iter()
            .all(|f| f.source == ip(SOURCE6) && f.include > 0 && f.exclude == 0),
        "{filters:?}"
    );
}
