//! The status snapshot: roles, families, querier state, an addressless downstream, counters.

use mrproxy_config::Role;
use mrproxy_engine::{
    Action, Engine, Event, Family, IfIndex, InterfaceInfo, LinkFlags, PortStatus, Timestamp,
    V4Address, V6Address,
};
use mrproxy_wire::igmp;
use std::net::{IpAddr, Ipv4Addr};

const UP: LinkFlags = LinkFlags {
    up: true,
    running: true,
    multicast: true,
    loopback: false,
    point_to_point: false,
};

fn interface(ifindex: u32, name: &str, ipv4: &[(&str, u8)], ipv6: &[(&str, u8)]) -> Event {
    Event::InterfaceChanged(InterfaceInfo {
        ifindex: IfIndex(ifindex),
        name: name.into(),
        flags: UP,
        ipv4: ipv4
            .iter()
            .map(|(a, p)| V4Address {
                address: a.parse().unwrap(),
                prefix_len: *p,
                peer: None,
            })
            .collect(),
        ipv6: ipv6
            .iter()
            .map(|(a, p)| V6Address {
                address: a.parse().unwrap(),
                prefix_len: *p,
                peer: None,
            })
            .collect(),
    })
}

#[test]
fn status_reports_roles_querier_state_and_unnumbered_links() {
    let text = "phyint up0 upstream\nphyint dn0 downstream ipv6 off\nphyint dn1 downstream\n";
    let mut engine = Engine::new(mrproxy_config::parse(text, "t.conf").unwrap(), Timestamp(0));
    // An unnumbered upstream works (D17); dn1 has no IPv4 address and no link-local address.
    let mut output = engine.handle(Timestamp(0), interface(1, "up0", &[], &[]));
    output.append(engine.handle(
        Timestamp(0),
        interface(2, "dn0", &[("198.51.100.5", 25)], &[]),
    ));
    output.append(engine.handle(
        Timestamp(0),
        interface(3, "dn1", &[], &[("2001:db8:3::1", 64)]),
    ));
    let attached: Vec<_> = output
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::AttachInterface {
                family,
                ifindex,
                role,
                ..
            } => Some((*family, *ifindex, *role)),
            _ => None,
        })
        .collect();
    assert_eq!(
        attached,
        vec![
            (Family::V4, IfIndex(1), Role::Upstream),
            (Family::V6, IfIndex(1), Role::Upstream),
            (Family::V4, IfIndex(2), Role::Downstream),
            (Family::V4, IfIndex(3), Role::Downstream),
            (Family::V6, IfIndex(3), Role::Downstream),
        ]
    );
    let queriers: Vec<_> = output
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::SendIgmp { ifindex, .. } => Some(*ifindex),
            Action::SendMld { ifindex, .. } => Some(*ifindex),
            _ => None,
        })
        .collect();
    assert_eq!(
        queriers,
        vec![IfIndex(2)],
        "only dn0 has an address to query from"
    );

    // A lower-addressed querier on dn0, and a rejected report.
    let query = igmp::Repr::QueryV2 {
        max_resp_time: 100,
        group: Ipv4Addr::UNSPECIFIED,
    };
    let from: Ipv4Addr = "198.51.100.2".parse().unwrap();
    let event = |source, message| Event::Igmp {
        ifindex: IfIndex(2),
        source,
        destination: Ipv4Addr::new(224, 0, 0, 1),
        ttl: 1,
        router_alert: true,
        message,
    };
    let _ = engine.handle(Timestamp(10), event(from, query));
    let _ = engine.handle(
        Timestamp(20),
        event(
            from,
            igmp::Repr::ReportV2 {
                group: Ipv4Addr::new(224, 0, 0, 9),
            },
        ),
    );

    let status = engine.status(Timestamp(1_000));
    assert_eq!(status.uptime_ms, 1_000);
    let dn0 = status.interfaces.iter().find(|i| i.name == "dn0").unwrap();
    assert_eq!(dn0.role, Role::Downstream);
    assert_eq!(dn0.families.len(), 1, "ipv6 off on dn0");
    assert_eq!(
        dn0.families[0].query_source,
        Some(IpAddr::V4("198.51.100.5".parse().unwrap()))
    );
    let Some(PortStatus::V4(port)) = &dn0.families[0].port else {
        panic!("dn0 runs the IGMP router part")
    };
    assert!(!port.querier);
    assert_eq!(port.querier_address, Some(from));
    let dn1 = status.interfaces.iter().find(|i| i.name == "dn1").unwrap();
    assert!(
        dn1.families.iter().all(|f| f.query_source.is_none()),
        "dn1 cannot query in either family"
    );
    let up0 = status.interfaces.iter().find(|i| i.name == "up0").unwrap();
    assert!(
        up0.families
            .iter()
            .all(|f| f.role == Role::Upstream && f.port.is_none())
    );
    assert_eq!(status.rejected.get("LinkLocalGroup"), Some(&1));
    assert_eq!(
        status.upstreams.len(),
        2,
        "one entry per upstream and family"
    );

    // The whole snapshot is what the control socket serves.
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(
        json["interfaces"][1]["families"][0]["port"]["querier_address"],
        "198.51.100.2"
    );
}
