//! Interfaces and addresses from rtnetlink: dump, point-to-point peers, change events.

mod common;

use common::{SECOND, run_in};
use mrproxy_linux::{
    LinkEvent, LinkEvents, LinkMonitor, LinkUpdate, MonitorOptions, Resync, reconcile,
};
use mrproxy_types::{IfIndex, InterfaceAddress, InterfaceInfo};
use netlab::Lab;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

fn find<'a>(links: &'a [InterfaceInfo], name: &str) -> &'a InterfaceInfo {
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
    assert_eq!(dn1.ifindex, IfIndex(rtr.ifindex("dn1").unwrap()));
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

/// The events of an update, a snapshot read as news to a receiver that knew nothing.
fn events_of(update: LinkUpdate) -> Vec<LinkEvent> {
    match update {
        LinkUpdate::Changes(events) => events,
        LinkUpdate::Snapshot { links, .. } => reconcile(links, []),
    }
}

/// Collects events until `want` is satisfied or `limit` passes.
async fn wait_event(
    monitor: &mut LinkEvents,
    limit: Duration,
    want: impl Fn(&LinkEvent) -> bool,
) -> Option<LinkEvent> {
    let deadline = Instant::now() + limit;
    loop {
        let events = events_of(timeout_at(deadline, monitor.recv()).await.ok()?);
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
    let dn1 = IfIndex(rtr.ifindex("dn1").unwrap());
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
                update = events.recv() => {
                    let batch = events_of(update);
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

/// With a tiny receive buffer, a burst of 100 veth pairs created and deleted overruns the
/// notification socket (the kernel drops notifications): the monitor counts the overrun, dumps
/// again, and its last snapshot or changes leave exactly the interfaces that exist.
#[test]
fn an_overrun_is_counted_and_followed_by_a_snapshot_of_what_exists() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("lx-nlovr").unwrap();
    let rtr = lab.ns("rtr").unwrap();
    let batch = lab.path("burst.ip");
    let mut commands = String::new();
    for i in 0..100 {
        commands.push_str(&format!(
            "link add d{i} type veth peer name p{i}\nlink set d{i} up\n"
        ));
    }
    for i in 0..99 {
        commands.push_str(&format!("link del d{i}\n"));
    }
    std::fs::write(&batch, commands).unwrap();
    run_in(&rtr, || async {
        let options = MonitorOptions {
            receive_buffer: Some(1024),
        };
        let monitor = LinkMonitor::open(options).unwrap();
        let mut known: std::collections::BTreeMap<IfIndex, String> = monitor
            .dump()
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.ifindex, l.name))
            .collect();
        let mut events = monitor.watch();
        rtr.ip(&["-batch", batch.to_str().unwrap()]).unwrap();
        let want: std::collections::BTreeSet<String> =
            ["lo", "d99", "p99"].map(str::to_owned).into();
        let deadline = Instant::now() + 20 * SECOND;
        let mut snapshots = 0;
        loop {
            let update = timeout_at(deadline, events.recv())
                .await
                .unwrap_or_else(|_| panic!("state never settled: {known:?}"));
            let applied = match update {
                LinkUpdate::Changes(e) => e,
                LinkUpdate::Snapshot { links, cause } => {
                    assert_eq!(cause, Resync::Overrun);
                    snapshots += 1;
                    reconcile(links, known.keys().copied())
                }
            };
            for event in applied {
                match event {
                    LinkEvent::Changed(l) => known.insert(l.ifindex, l.name),
                    LinkEvent::Removed(i) => known.remove(&i),
                };
            }
            let names: std::collections::BTreeSet<String> = known.values().cloned().collect();
            if names == want && events.counters().overruns > 0 {
                break;
            }
        }
        let counters = events.counters();
        assert!(snapshots >= 1, "no snapshot after {counters:?}");
        assert_eq!(counters.redumps, snapshots, "{counters:?}");
        assert_eq!(counters.reconnects, 0, "{counters:?}");
        assert_eq!(
            known
                .get(&IfIndex(rtr.ifindex("d99").unwrap()))
                .map(String::as_str),
            Some("d99")
        );
    });
}
