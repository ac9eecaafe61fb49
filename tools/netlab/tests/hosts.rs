//! Kernel hosts on one veth link: sources, receivers (ASM, SSM, EXCLUDE), captures of the
//! reports they cause, and injection of crafted IGMP/MLD.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use netlab::packet::{fix_icmpv6_checksum, fix_igmp_checksum, igmp_packet, mld_packet};
use netlab::{
    Capture, CaptureFilter, Direction, Lab, Membership, Netns, Receiver, Source, SourceSpec,
    inject_ipv4, inject_ipv6, is_member,
};

const WAIT: Duration = Duration::from_secs(5);
const PORT: u16 = 5001;

fn v4(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// Sender `s` (192.0.2.1, 2001:db8:1::1 on s0) and host `h` (192.0.2.2, 2001:db8:1::2 on e0).
fn link(tag: &str) -> Option<(Lab, Netns, Netns)> {
    if !Lab::require_root() {
        return None;
    }
    let lab = Lab::new(tag).expect("lab");
    let s = lab.ns("s").expect("ns s");
    let h = lab.ns("h").expect("ns h");
    lab.veth((&s, "s0"), (&h, "e0")).expect("veth");
    s.add_addr("s0", "192.0.2.1/24").unwrap();
    h.add_addr("e0", "192.0.2.2/24").unwrap();
    s.add_addr("s0", "2001:db8:1::1/64").unwrap();
    h.add_addr("e0", "2001:db8:1::2/64").unwrap();
    Some((lab, s, h))
}

fn quick(ifname: &str, group: IpAddr, count: u64) -> SourceSpec {
    SourceSpec::new(ifname, group, PORT)
        .interval(Duration::from_millis(2))
        .count(count)
}

#[test]
fn ipv4_source_reaches_a_joined_receiver_in_order() {
    let Some((_lab, s, h)) = link("v4rx") else {
        return;
    };
    let group = v4("239.1.2.3");
    let rx = Receiver::join(&h, "e0", group, PORT).expect("join");
    assert_eq!(rx.membership(), Membership::AnySource);
    let source = Source::start(&s, quick("s0", group, 30)).expect("source");
    assert!(source.wait_done(WAIT));
    assert_eq!((source.sent(), source.errors()), (30, 0));
    assert!(rx.wait_for_packets(30, WAIT), "got {}", rx.count());
    let stats = rx.stats();
    assert_eq!(stats.seqs, (0..30).collect::<Vec<u64>>());
    assert!(stats.is_increasing() && stats.missing().is_empty());
    // Same link, no router: the TTL arrives as sent.
    assert_eq!(stats.ttls.into_iter().collect::<Vec<_>>(), [8]);
    assert_eq!(stats.foreign, 0);
    let first = rx.datagrams().remove(0);
    assert_eq!(first.from.map(|a| a.ip()), Some(v4("192.0.2.1")));
}

#[test]
fn ipv6_source_reaches_a_joined_receiver() {
    let Some((_lab, s, h)) = link("v6rx") else {
        return;
    };
    let group: IpAddr = "ff0e::1:2".parse().unwrap();
    let rx = Receiver::join(&h, "e0", group, PORT).expect("join v6");
    let source = Source::start(&s, quick("s0", group, 20).ttl(5)).expect("source v6");
    assert!(
        rx.wait_for_packets(20, WAIT),
        "got {} (source errors: {:?})",
        rx.count(),
        source.last_error()
    );
    let stats = rx.stats();
    assert!(stats.is_increasing());
    assert_eq!(stats.ttls.into_iter().collect::<Vec<_>>(), [5]);
}

#[test]
fn ssm_and_exclude_filters_select_by_source() {
    let Some((_lab, s, h)) = link("ssm") else {
        return;
    };
    let group = v4("232.1.1.1");
    let from_s = Receiver::join_source(&h, "e0", group, v4("192.0.2.1"), PORT).unwrap();
    let from_other = Receiver::join_source(&h, "e0", group, v4("198.51.100.9"), PORT).unwrap();
    let excluding_s = Receiver::exclude(&h, "e0", group, &[v4("192.0.2.1")], PORT).unwrap();
    assert_eq!(
        excluding_s.membership(),
        Membership::Exclude(vec![v4("192.0.2.1")])
    );
    let source = Source::start(&s, quick("s0", group, 20)).unwrap();
    assert!(source.wait_done(WAIT));
    assert!(from_s.wait_for_packets(20, WAIT));
    // All 20 were delivered to the matching socket: the others had their chance.
    assert_eq!(
        from_other.count(),
        0,
        "(S,G) join of another source must not receive"
    );
    assert_eq!(
        excluding_s.count(),
        0,
        "EXCLUDE {{S}} must not receive from S"
    );
}

#[test]
fn filter_mode_change_is_reported_as_to_in() {
    let Some((_lab, s, h)) = link("toin") else {
        return;
    };
    let igmp = Capture::start(&s, "s0", CaptureFilter::Igmp).unwrap();
    let group = v4("239.1.2.7");
    let rx = Receiver::join(&h, "e0", group, PORT).unwrap();
    // Record type 4 = CHANGE_TO_EXCLUDE_MODE, 3 = CHANGE_TO_INCLUDE_MODE (RFC 9776 §4.2.12).
    let record_type = |p: &netlab::CapturedPacket| {
        (p.message_type() == Some(0x22))
            .then(|| p.payload().get(8).copied())
            .flatten()
    };
    assert!(
        igmp.wait_for(|p| record_type(p) == Some(4), WAIT).is_some(),
        "join = TO_EX {{}}"
    );
    rx.set_filter(netlab::FilterMode::Include, &[v4("192.0.2.1")])
        .unwrap();
    assert_eq!(rx.membership(), Membership::Include(vec![v4("192.0.2.1")]));
    let to_in = igmp
        .wait_for(|p| record_type(p) == Some(3), WAIT)
        .expect("TO_IN record");
    assert!(
        to_in.payload().windows(4).any(|w| w == [192, 0, 2, 1]),
        "source listed"
    );
    // Now INCLUDE {S}: traffic from S still arrives.
    let _source = Source::start(&s, quick("s0", group, 10)).unwrap();
    assert!(rx.wait_for_packets(10, WAIT));
}

#[test]
fn leave_stops_delivery_and_rejoin_resumes_it() {
    let Some((_lab, s, h)) = link("leave") else {
        return;
    };
    let group = v4("239.1.2.4");
    let rx = Receiver::join(&h, "e0", group, PORT).unwrap();
    let source = Source::start(&s, quick("s0", group, 1000)).unwrap();
    assert!(rx.wait_for_packets(5, WAIT));
    rx.leave().unwrap();
    assert_eq!(rx.membership(), Membership::None);
    // Datagrams already in the socket's receive queue (or on the veth) when the membership
    // went away are still delivered: leaving does not flush them. Let those drain before
    // counting, then demand silence while the source keeps sending.
    let sent_at_leave = source.sent();
    assert!(netlab::wait_until(
        WAIT,
        Duration::from_millis(5),
        || source.sent() >= sent_at_leave + 10
    ));
    rx.clear();
    let sent_after_drain = source.sent();
    assert!(netlab::wait_until(
        WAIT,
        Duration::from_millis(5),
        || source.sent() >= sent_after_drain + 20
    ));
    assert_eq!(rx.count(), 0, "nothing delivered while not a member");
    rx.rejoin().unwrap();
    assert!(
        rx.wait_for_packets(5, WAIT),
        "delivery resumes after rejoin"
    );
}

#[test]
fn capture_sees_the_kernels_reports_for_a_join() {
    let Some((_lab, s, h)) = link("report") else {
        return;
    };
    let igmp = Capture::start(&s, "s0", CaptureFilter::Igmp).unwrap();
    let mld = Capture::start(&s, "s0", CaptureFilter::Mld).unwrap();
    let own = Capture::start(&h, "e0", CaptureFilter::Igmp).unwrap();

    let group = v4("239.1.2.5");
    let _rx = Receiver::join(&h, "e0", group, PORT).unwrap();
    assert!(is_member(&h, "e0", group).unwrap());
    // IGMPv3 report (0x22) to 224.0.0.22 naming the group in its record.
    let report = igmp
        .wait_for(
            |p| {
                p.message_type() == Some(0x22)
                    && p.payload().windows(4).any(|w| w == [239, 1, 2, 5])
            },
            WAIT,
        )
        .expect("v3 report on the wire");
    let ip = report.ip().unwrap();
    assert_eq!(
        (ip.src, ip.dst, ip.ttl, ip.router_alert),
        (v4("192.0.2.2"), v4("224.0.0.22"), 1, true)
    );
    assert_eq!(report.direction, Direction::Incoming);
    assert!(
        own.wait_for(|p| p.direction == Direction::Outgoing, WAIT)
            .is_some()
    );

    // Forced to IGMPv2 the host sends a v2 report to the group itself.
    h.sysctl("net/ipv4/conf/e0/force_igmp_version", "2")
        .unwrap();
    let v2_group = v4("239.1.2.6");
    let _rx2 = Receiver::join(&h, "e0", v2_group, PORT).unwrap();
    let v2 = igmp
        .wait_for(|p| p.message_type() == Some(0x16), WAIT)
        .expect("v2 report");
    assert_eq!(v2.ip().unwrap().dst, v2_group);

    let group6: IpAddr = "ff0e::1:7".parse().unwrap();
    let _rx6 = Receiver::join(&h, "e0", group6, PORT).unwrap();
    let mld_report = mld
        .wait_for(|p| p.message_type() == Some(143), WAIT)
        .expect("MLDv2 report");
    let mld_ip = mld_report.ip().unwrap();
    assert!(mld_ip.router_alert);
    // The lab turned DAD off, so the link-local address is usable at once (not `::`).
    assert!(
        matches!(mld_ip.src, IpAddr::V6(a) if a.segments()[0] == 0xfe80),
        "MLD from {}",
        mld_ip.src
    );
    assert!(is_member(&h, "e0", group6).unwrap());
}

#[test]
fn injected_igmp_and_mld_arrive_byte_for_byte() {
    let Some((_lab, s, h)) = link("inject") else {
        return;
    };
    let capture = Capture::start(&s, "s0", CaptureFilter::Igmp).unwrap();
    let capture6 = Capture::start(&s, "s0", CaptureFilter::Mld).unwrap();

    // IGMPv3 report from 0.0.0.0 with one TO_EX record (docs/test-strategy.md §5 vector), bad checksum.
    let mut report = hex("220038f20000000204000000ef01020305000001e8010101c0000202");
    report[2] ^= 0xff;
    let packet = igmp_packet(Ipv4Addr::UNSPECIFIED, Ipv4Addr::new(224, 0, 0, 22), &report);
    inject_ipv4(&h, "e0", &packet).expect("inject v4");
    let got = capture
        .wait_for(|p| p.data == packet, WAIT)
        .expect("captured unchanged");
    assert_eq!(got.direction, Direction::Incoming);
    let mut fixed = report.clone();
    fix_igmp_checksum(&mut fixed);
    assert_eq!(
        fixed,
        hex("220038f20000000204000000ef01020305000001e8010101c0000202")
    );

    let src: Ipv6Addr = "fe80::2".parse().unwrap();
    let dst: Ipv6Addr = "ff02::16".parse().unwrap();
    let mut mld = vec![143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0];
    mld.extend_from_slice(&"ff0e::1:8".parse::<Ipv6Addr>().unwrap().octets());
    fix_icmpv6_checksum(src, dst, &mut mld);
    let packet6 = mld_packet(src, dst, &mld);
    inject_ipv6(&h, "e0", &packet6).expect("inject v6");
    let got6 = capture6
        .wait_for(|p| p.data == packet6, WAIT)
        .expect("MLD captured");
    assert_eq!(got6.payload(), mld.as_slice());

    assert!(
        inject_ipv4(&h, "e0", &[0x45, 0, 0]).is_err(),
        "too short to address"
    );
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}
