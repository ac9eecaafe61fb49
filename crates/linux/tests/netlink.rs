//! Interfaces and addresses from rtnetlink: dump, point-to-point peers, change events.

mod common;

use common::{SECOND, run_in};
use mrproxy_linux::{InterfaceAddress, Link, LinkEvent, LinkEvents, LinkMonitor};
use netlab::Lab;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

fn find<'a>(links: &'a [Link], name: &str) -> &'a Link {
    links
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("{name} in {links:?}"))
}

#[test]
fn dump_sees_veth_addresses_and_tun_peer() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("lx-nldump").unwrap();
    let rtr = lab.ns("rtr").unwrap();
    let isp = lab.ns("isp").unwrap();
    lab.veth((&rtr, "dn1"), (&isp, "e0")).unwrap();
    rtr.add_addr("dn1", "192.0.2.1/24").unwrap();
    rtr.add_addr("dn1", "192.0.2.9/24").unwrap(); // secondary
    rtr.add_addr("dn1", "2001:db8:2::1/64").unwrap();
    let _ppp = lab
        .tun_link(
            (&isp, "ppp-isp", "198.51.100.1"),
            (&rtr, "ppp0", "198.51.100.2"),
        )
        .unwrap();
    let links = run_in(&rtr, || async {
        LinkMonitor::new().unwrap().dump().await.unwrap()
    });

    let dn1 = find(&links, "dn1");
    assert_eq!(dn1.ifindex, rtr.ifindex("dn1").unwrap());
    assert!(dn1.flags.up && dn1.flags.running && dn1.flags.multicast);
    assert!(!dn1.flags.point_to_point && !dn1.flags.loopback);
    assert_eq!(
        dn1.ipv4,
        [
            InterfaceAddress {
                address: Ipv4Addr::new(192, 0, 2, 1),
                prefix_len: 24,
                peer: None
            },
            InterfaceAddress {
                address: Ipv4Addr::new(192, 0, 2, 9),
                prefix_len: 24,
                peer: None
            },
        ]
    );
    let global: Ipv6Addr = "2001:db8:2::1".parse().unwrap();
    assert!(
        dn1.ipv6.contains(&InterfaceAddress {
            address: global,
            prefix_len: 64,
            peer: None
        }),
        "{dn1:?}"
    );

    let ppp = find(&links, "ppp0");
    assert!(ppp.flags.point_to_point && ppp.flags.up, "{ppp:?}");
    assert_eq!(
        ppp.ipv4,
        [InterfaceAddress {
            address: Ipv4Addr::new(198, 51, 100, 2),
            prefix_len: 32,
            peer: Some(Ipv4Addr::new(198, 51, 100, 1))
        }]
    );
    assert!(find(&links, "lo").flags.loopback);
}

/// Collects events until `want` is satisfied or `limit` passes.
async fn wait_event(
    monitor: &mut LinkEvents,
    limit: Duration,
    want: impl Fn(&LinkEvent) -> bool,
) -> Option<LinkEvent> {
    let deadline = Instant::now() + limit;
    loop {
        let events = timeout_at(deadline, monitor.recv()).await.ok()?.unwrap();
        if let Some(e) = events.into_iter().find(|e| want(e)) {
            return Some(e);
        }
    }
}

#[test]
fn address_and_link_changes_produce_events() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("lx-nlev").unwrap();
    let rtr = lab.ns("rtr").unwrap();
    let h1 = lab.ns("h1").unwrap();
    lab.veth((&rtr, "dn1"), (&h1, "e0")).unwrap();
    let dn1 = rtr.ifindex("dn1").unwrap();
    run_in(&rtr, || async {
        let monitor = LinkMonitor::new().unwrap();
        assert!(find(&monitor.dump().await.unwrap(), "dn1").ipv4.is_empty());
        let mut monitor = monitor.watch();

        rtr.add_addr("dn1", "203.0.113.1/24").unwrap();
        let added = wait_event(
            &mut monitor,
            5 * SECOND,
            |e| matches!(e, LinkEvent::Changed(l) if l.ifindex == dn1 && !l.ipv4.is_empty()),
        )
        .await
        .expect("an event for the new address");
        let LinkEvent::Changed(link) = added else {
            unreachable!()
        };
        assert_eq!(link.name, "dn1");
        assert_eq!(
            link.ipv4,
            [InterfaceAddress {
                address: Ipv4Addr::new(203, 0, 113, 1),
                prefix_len: 24,
                peer: None
            }]
        );

        rtr.set_down("dn1").unwrap();
        let down = wait_event(
            &mut monitor,
            5 * SECOND,
            |e| matches!(e, LinkEvent::Changed(l) if l.ifindex == dn1 && !l.flags.up),
        )
        .await;
        assert!(down.is_some(), "link down is reported");

        rtr.ip(&["link", "del", "dn1"]).unwrap();
        let removed = wait_event(&mut monitor, 5 * SECOND, |e| *e == LinkEvent::Removed(dn1)).await;
        assert!(removed.is_some(), "removal is reported");
    });
}

/// The receiver is polled in a `select!` next to a timer that fires every millisecond, far
/// more often than the 20 ms debounce: the change still arrives, because the debounce runs in
/// the monitor's own task and the receive is a plain channel receive.
#[test]
fn changes_arrive_while_the_receiver_is_woken_every_millisecond() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("lx-nlbusy").unwrap();
    let rtr = lab.ns("rtr").unwrap();
    let h1 = lab.ns("h1").unwrap();
    run_in(&rtr, || async {
        let monitor = LinkMonitor::new().unwrap();
        monitor.dump().await.unwrap();
        let mut events = monitor.watch();
        lab.veth((&rtr, "dn1"), (&h1, "e0")).unwrap();
        let mut ticks = tokio::time::interval(Duration::from_millis(1));
        let deadline = Instant::now() + 5 * SECOND;
        let mut woken = 0u32;
        let seen = loop {
            tokio::select! {
                _ = ticks.tick() => woken += 1,
                batch = events.recv() => {
                    let batch = batch.unwrap();
                    if batch.iter().any(|e| matches!(e, LinkEvent::Changed(l) if l.name == "dn1")) {
                        break true;
                    }
                }
                () = tokio::time::sleep_until(deadline) => break false,
            }
        };
        assert!(seen, "no event for dn1 in 5 s ({woken} timer wake-ups)");
    });
}
