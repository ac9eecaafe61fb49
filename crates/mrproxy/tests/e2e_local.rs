//! D34 (docs/igmpproxy-differences.md §6, pali/igmpproxy#67): a receiver on the router itself,
//! such as a udpxy that joins a group on the LAN's address. Its kernel sends the reports from the router's own address on that LAN;
//! igmpproxy drops them as "from myself", so the group is never pulled from upstream unless a
//! LAN host also watches. mrproxy counts them as a host of that LAN.

mod common;
use common::*;
use netlab::{Capture, CaptureFilter, Lab, Receiver};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// The receiver in the router's namespace joins on dn1 while no LAN host wants the group: the
/// proxy joins upstream and the stream reaches the receiver. With the short timers (GMI 12 s)
/// it keeps flowing over 16 s, so the router's own host part answered our queries (they are
/// looped back to it), and the leave ends the upstream membership after the last-member
/// queries. The receiver gets each datagram once.
#[test]
fn receiver_on_the_router_itself_pulls_the_group_from_upstream() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("localrx");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let dn1 = Capture::start(&t.rtr, "dn1", CaptureFilter::Igmp).unwrap();
    let rx = Receiver::join(&t.rtr, "dn1", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 40);
    assert!(
        rx.wait_for_packets(20, WAIT),
        "the router's own receiver got no stream:\n{}\n{}",
        describe_igmp(&dn1),
        proxy.log()
    );
    let group: Ipv4Addr = GROUP.parse().unwrap();
    let status = proxy.status();
    assert!(
        port_groups(&status, "dn1").contains(&GROUP.to_owned()),
        "dn1 must hold the group for the router's own receiver: {status}"
    );
    assert_eq!(
        upstream_request(&status, "up0", GROUP),
        Some(("Exclude".to_owned(), vec![]))
    );
    assert!(host_groups(&t.rtr, "up0").contains(&group));

    // Past the group membership interval: only answered queries keep the group.
    let since = Instant::now();
    std::thread::sleep(Duration::from_secs(16));
    let held = rx.stats_since(since);
    let mut seqs = held.seqs.clone();
    seqs.sort_unstable();
    let distinct = {
        let mut d = seqs.clone();
        d.dedup();
        d.len()
    };
    // The LAN is forwarded to as well (the receiver made it a member): the kernel must still
    // deliver each datagram once to the local socket, not once per interface.
    assert_eq!(
        distinct,
        seqs.len(),
        "the router's own receiver got duplicates"
    );
    assert!(
        held.count >= 1000 && held.max_gap.is_some_and(|gap| gap < Duration::from_secs(1)),
        "the stream stopped or paused after GMI ({held:?}): our queries were not answered:\n{}\n{}",
        describe_igmp(&dn1),
        proxy.log()
    );
    let answered = dn1.packets().iter().any(|p| {
        outgoing(p)
            && packet_source(p) == Some(ip("192.0.2.1"))
            && reports_group(p, GROUP)
            && p.at > since
    });
    assert!(
        answered,
        "no report from the router itself for {GROUP} on dn1 while waiting past GMI:\n{}",
        describe_igmp(&dn1)
    );

    rx.leave().unwrap();
    let left = netlab::wait_for(Duration::from_secs(5), || {
        let status = proxy.status();
        (upstream_request(&status, "up0", GROUP).is_none()
            && !host_groups(&t.rtr, "up0").contains(&group))
        .then_some(())
    });
    assert!(
        left.is_some(),
        "still joined upstream after the router's own receiver left:\n{}",
        proxy.log()
    );
}
