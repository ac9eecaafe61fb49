//! The kernel-state readers against a router namespace forwarding a static (S,G): source →
//! rtr (up0 = VIF 0, dn1 = VIF 1) → host.

mod common {
    pub mod mroute;
}

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::mroute;
use netlab::{
    Lab, Netns, Receiver, Source, SourceSpec, igmp_memberships, mfc_v4, mfc_v6, mroute_json,
    vifs_v4, vifs_v6, wait_for,
};
use socket2::{Domain, Protocol, Socket, Type};

const WAIT: Duration = Duration::from_secs(5);
const PORT: u16 = 5003;

struct Topology {
    /// Kept for its Drop: the namespaces live as long as the topology.
    _lab: Lab,
    src: Netns,
    rtr: Netns,
    host: Netns,
}

fn topology(tag: &str) -> Option<Topology> {
    if !Lab::require_root() {
        return None;
    }
    let lab = Lab::new(tag).expect("lab");
    let (src, rtr, host) = (
        lab.ns("src").unwrap(),
        lab.ns("rtr").unwrap(),
        lab.ns("h1").unwrap(),
    );
    lab.veth((&rtr, "up0"), (&src, "s0")).unwrap();
    lab.veth((&rtr, "dn1"), (&host, "e0")).unwrap();
    for (ns, ifname, cidrs) in [
        (&src, "s0", ["198.51.100.2/24", "2001:db8:2::2/64"]),
        (&rtr, "up0", ["198.51.100.1/24", "2001:db8:2::1/64"]),
        (&rtr, "dn1", ["192.0.2.1/24", "2001:db8:1::1/64"]),
        (&host, "e0", ["192.0.2.2/24", "2001:db8:1::2/64"]),
    ] {
        for cidr in cidrs {
            ns.add_addr(ifname, cidr).unwrap();
        }
    }
    Some(Topology {
        _lab: lab,
        src,
        rtr,
        host,
    })
}

fn stream(t: &Topology, group: IpAddr, count: u64) -> Source {
    Source::start(
        &t.src,
        SourceSpec::new("s0", group, PORT)
            .interval(Duration::from_millis(2))
            .count(count),
    )
    .unwrap()
}

#[test]
fn ipv4_mfc_vifs_and_json_describe_a_forwarding_entry() {
    let Some(t) = topology("mfc4") else { return };
    let (up0, dn1) = (t.rtr.ifindex("up0").unwrap(), t.rtr.ifindex("dn1").unwrap());
    let origin = Ipv4Addr::new(198, 51, 100, 2);
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let unknown = Ipv4Addr::new(239, 9, 9, 9);
    let mroute_socket = t
        .rtr
        .run(|| -> std::io::Result<Socket> {
            let s = Socket::new(
                Domain::IPV4,
                Type::RAW,
                Some(Protocol::from(libc::IPPROTO_IGMP)),
            )?;
            mroute::init_v4(&s, &[up0, dn1])?;
            mroute::add_mfc_v4(&s, origin, group, 0, &[1])?;
            Ok(s)
        })
        .unwrap()
        .expect("mroute set-up");

    let rx = Receiver::join(&t.host, "e0", IpAddr::V4(group), PORT).unwrap();
    let _source = stream(&t, IpAddr::V4(group), 20);
    assert!(
        rx.wait_for_packets(20, WAIT),
        "forwarded {} of 20",
        rx.count()
    );
    assert_eq!(
        rx.stats().ttls.into_iter().collect::<Vec<_>>(),
        [7],
        "one router hop"
    );

    let vifs = vifs_v4(&t.rtr).unwrap();
    assert_eq!(
        vifs.iter()
            .map(|v| (v.index, v.name.as_str()))
            .collect::<Vec<_>>(),
        [(0, "up0"), (1, "dn1")]
    );
    let entry = wait_for(WAIT, || {
        mfc_v4(&t.rtr)
            .ok()?
            .into_iter()
            .find(|e| e.group == IpAddr::V4(group) && e.packets >= 20)
    })
    .expect("resolved entry with its counter");
    assert_eq!(
        (entry.origin, entry.iif, entry.oifs.as_slice()),
        (IpAddr::V4(origin), Some(0), &[(1, 1)][..])
    );
    assert_eq!(entry.oif_names(&vifs), ["dn1"]);
    assert!(vifs_v4(&t.rtr).unwrap()[1].pkts_out >= 20);

    let json = mroute_json(&t.rtr, false).unwrap();
    let routes = json.as_array().expect("array");
    let route = routes
        .iter()
        .find(|r| r["dst"] == "239.1.2.3")
        .expect("route in ip -j mroute");
    assert_eq!(
        (route["src"].as_str(), route["iif"].as_str()),
        (Some("198.51.100.2"), Some("up0"))
    );
    assert_eq!(route["multipath"][0]["oif"], "dn1");

    // Traffic without an entry leaves an unresolved one (Iif -1) while the upcall waits.
    let _stray = stream(&t, IpAddr::V4(unknown), 3);
    let unresolved = wait_for(WAIT, || {
        mfc_v4(&t.rtr)
            .ok()?
            .into_iter()
            .find(|e| e.group == IpAddr::V4(unknown))
    })
    .expect("unresolved entry");
    assert!(!unresolved.is_resolved() && unresolved.oifs.is_empty());
    drop(mroute_socket);
}

#[test]
fn ipv6_mfc_and_mifs_are_parsed_from_the_kernel() {
    let Some(t) = topology("mfc6") else { return };
    let (up0, dn1) = (t.rtr.ifindex("up0").unwrap(), t.rtr.ifindex("dn1").unwrap());
    let origin: Ipv6Addr = "2001:db8:2::2".parse().unwrap();
    let group: Ipv6Addr = "ff0e::1:3".parse().unwrap();
    let _mroute_socket = t
        .rtr
        .run(|| -> std::io::Result<Socket> {
            let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
            mroute::init_v6(&s, &[up0, dn1])?;
            mroute::add_mfc_v6(&s, origin, group, 0, &[1])?;
            Ok(s)
        })
        .unwrap()
        .expect("mroute6 set-up");
    let rx = Receiver::join(&t.host, "e0", IpAddr::V6(group), PORT).unwrap();
    let _source = stream(&t, IpAddr::V6(group), 10);
    assert!(
        rx.wait_for_packets(10, WAIT),
        "forwarded {} of 10",
        rx.count()
    );

    let mifs = vifs_v6(&t.rtr).unwrap();
    assert_eq!(
        mifs.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["up0", "dn1"]
    );
    let entry = wait_for(WAIT, || {
        mfc_v6(&t.rtr)
            .ok()?
            .into_iter()
            .find(|e| e.group == IpAddr::V6(group))
    })
    .expect("IPv6 entry");
    assert_eq!(
        (entry.origin, entry.iif, entry.oif_vifs()),
        (IpAddr::V6(origin), Some(0), vec![1])
    );
    assert!(entry.packets >= 10);
    let json = mroute_json(&t.rtr, true).unwrap();
    assert!(
        json.as_array()
            .is_some_and(|r| r.iter().any(|r| r["dst"] == "ff0e::1:3")),
        "{json}"
    );
}

#[test]
fn igmp_table_follows_joins_and_the_forced_version() {
    let Some(t) = topology("igmp") else { return };
    let group = IpAddr::V4(Ipv4Addr::new(239, 1, 2, 9));
    t.host
        .sysctl("net.ipv4.conf.e0.force_igmp_version", "2")
        .unwrap();
    let rx = Receiver::join(&t.host, "e0", group, PORT).unwrap();
    let e0 = igmp_memberships(&t.host)
        .unwrap()
        .into_iter()
        .find(|i| i.name == "e0")
        .expect("e0 listed");
    assert!(
        e0.groups.contains(&Ipv4Addr::new(239, 1, 2, 9))
            && e0.groups.contains(&Ipv4Addr::new(224, 0, 0, 1))
    );
    assert_eq!(e0.ifindex, t.host.ifindex("e0").unwrap());
    assert_eq!(e0.querier, "V2");
    rx.leave().unwrap();
    assert!(!netlab::is_member(&t.host, "e0", group).unwrap());
    assert_eq!(
        mroute_json(&t.rtr, false).unwrap(),
        serde_json::json!([]),
        "no mroute state yet"
    );
}
