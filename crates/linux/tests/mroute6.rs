//! IPv6 mroute socket against a real kernel, in private network namespaces.

mod common;

use common::mroute::{
    names, nocache_upcall_then_route, open_with_vifs, recv_until, second_open_is_refused,
};
use common::{SECOND, Topology, run_in};
use mrproxy_linux::{Mroute6, Received6};
use mrproxy_types::{IfIndex, SourceGroup, VifIndex};
use mrproxy_wire::mld;
use netlab::{Lab, Receiver, mfc_v6, vifs_v6};
use std::net::{IpAddr, Ipv6Addr};

fn source() -> Ipv6Addr {
    "2001:db8:1::2".parse().unwrap()
}

fn group() -> Ipv6Addr {
    "ff3e::4321".parse().unwrap()
}

fn sg() -> SourceGroup<Ipv6Addr> {
    SourceGroup {
        source: source(),
        group: group(),
    }
}

#[test]
fn second_mrt6_init_is_refused_with_the_one_line_message() {
    if !Lab::require_root() {
        return;
    }
    second_open_is_refused::<Ipv6Addr>("lx-init6", |second| {
        assert!(
            second
                .to_string()
                .contains("IPv6 multicast routing table of this network namespace; stop it first")
        );
    });
}

#[test]
fn mifs_and_routes_show_in_the_kernel_tables() {
    let Some(t) = Topology::with_root("lx-mfc6") else {
        return;
    };
    let [up0, dn1, dn2] = t.ifindexes(["up0", "dn1", "dn2"]);
    run_in(&t.rtr, || async {
        let mut mr = Mroute6::open(None).unwrap();
        assert_eq!(mr.add_vif(up0, 1, 0).unwrap(), VifIndex(0));
        assert_eq!(mr.add_vif(dn1, 1, 0).unwrap(), VifIndex(1));
        assert_eq!(mr.add_vif(dn2, 1, 0).unwrap(), VifIndex(2));
        assert_eq!(
            names(&vifs_v6(&t.rtr).unwrap()),
            [(0, "up0".into()), (1, "dn1".into()), (2, "dn2".into())]
        );

        mr.set_route(sg(), up0, &[dn1, dn2]).unwrap();
        let mfc = mfc_v6(&t.rtr).unwrap();
        assert_eq!(mfc.len(), 1);
        assert_eq!(
            (mfc[0].origin, mfc[0].group),
            (IpAddr::V6(source()), IpAddr::V6(group()))
        );
        assert_eq!((mfc[0].iif, mfc[0].oif_vifs()), (Some(0), vec![1, 2]));
        mr.set_route(sg(), up0, &[dn2]).unwrap();
        assert_eq!(mfc_v6(&t.rtr).unwrap()[0].oif_vifs(), [2]);
        assert_eq!(mr.route_packets(sg()).unwrap(), Some(0));

        mr.delete_route(sg()).unwrap();
        assert!(mfc_v6(&t.rtr).unwrap().is_empty());
        assert_eq!(mr.route_packets(sg()).unwrap(), None);
        mr.delete_route(sg()).unwrap();

        mr.del_vif(dn1).unwrap();
        assert_eq!(
            mr.add_vif(dn1, 1, 0).unwrap(),
            VifIndex(1),
            "freed slot reused"
        );
        mr.flush().unwrap();
        assert!(vifs_v6(&t.rtr).unwrap().is_empty());
    });
}

#[test]
fn nocache_upcall_passes_the_icmpv6_filter_and_route_forwards() {
    if !Lab::require_root() {
        return;
    }
    nocache_upcall_then_route::<Ipv6Addr>("lx-up6", sg(), Received6::Upcall, |r| {
        matches!(r, Received6::Upcall(_))
    });
}

/// Where and how an MLD message arrived: interface, destination, hop limit, Router Alert.
fn arrival(r: Received6) -> (IfIndex, Ipv6Addr, u8, bool) {
    let Received6::Mld {
        ifindex,
        destination,
        hop_limit,
        router_alert,
        ..
    } = r
    else {
        unreachable!()
    };
    (ifindex, destination, hop_limit, router_alert)
}

fn is_mld(r: &Received6, kind: impl Fn(&mld::Repr) -> bool) -> bool {
    matches!(r, Received6::Mld { message: Ok(m), source, .. }
        if kind(m) && source.segments()[0] == 0xfe80)
}

#[test]
fn mld_reports_arrive_with_interface_hop_limit_and_router_alert() {
    let Some(t) = Topology::with_root("lx-mld") else {
        return;
    };
    let [up0, dn1, dn2] = t.ifindexes(["up0", "dn1", "dn2"]);
    // h2 speaks MLDv1 (the `all` value takes precedence over the interface's).
    t.h2.sysctl("net/ipv6/conf/all/force_mld_version", "1")
        .unwrap();
    run_in(&t.rtr, || async {
        let mut mr = open_with_vifs::<Ipv6Addr>(&[up0, dn1, dn2]);
        mr.join_report_groups(dn1).unwrap();

        let _v2 = Receiver::join(&t.h1, "e0", IpAddr::V6(group()), 5000).unwrap();
        let v2_report_of_group = |m: &mld::Repr| match m {
            mld::Repr::ReportV2 { records } => records.iter().any(|r| r.group == group()),
            _ => false,
        };
        let (got, _) = recv_until(&mr, 5 * SECOND, |r, _| is_mld(r, v2_report_of_group))
            .await
            .expect("MLDv2 report");
        let (ifindex, destination, hop_limit, router_alert) = arrival(got);
        assert_eq!((ifindex, hop_limit, router_alert), (dn1, 1, true));
        assert_eq!(destination, "ff02::16".parse::<Ipv6Addr>().unwrap());

        let _v1 = Receiver::join(&t.h2, "e0", IpAddr::V6(group()), 5000).unwrap();
        let (got, _) = recv_until(&mr, 5 * SECOND, |r, _| {
            is_mld(r, |m| matches!(m, mld::Repr::ReportV1 { .. }))
        })
        .await
        .expect("MLDv1 report");
        let (ifindex, destination, hop_limit, router_alert) = arrival(got);
        assert_eq!(
            (ifindex, destination, hop_limit, router_alert),
            (dn2, group(), 1, true)
        );
    });
}
