//! IPv4 mroute socket against a real kernel, in private network namespaces.

mod common;

use common::mroute::{
    names, nocache_upcall_then_route, open_with_vifs, recv_until, second_open_is_refused,
};
use common::{SECOND, Topology, ip, run_in};
use mrproxy_linux::{Error, Mroute4, Received4};
use mrproxy_types::{IfIndex, SourceGroup, VifIndex};
use mrproxy_wire::igmp;
use netlab::{Lab, Receiver, mfc_v4, vifs_v4};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tokio::time::Instant;

const SOURCE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
const SG: SourceGroup<Ipv4Addr> = SourceGroup {
    source: SOURCE,
    group: GROUP,
};

#[test]
fn second_mrt_init_in_the_same_namespace_names_the_other_router() {
    if !Lab::require_root() {
        return;
    }
    second_open_is_refused::<Ipv4Addr>("lx-init4", |second| {
        assert_eq!(
            second.to_string(),
            "another multicast router (igmpproxy, smcroute, pimd or a second mrproxy) already owns the \
             IPv4 multicast routing table of this network namespace; stop it first"
        );
        // Another table (MRT_TABLE before MRT_INIT) is free.
        Mroute4::open(Some(100)).unwrap();
    });
}

#[test]
fn vifs_routes_and_counters_show_in_the_kernel_tables() {
    let Some(t) = Topology::with_root("lx-mfc4") else {
        return;
    };
    let [up0, dn1, dn2] = t.ifindexes(["up0", "dn1", "dn2"]);
    // An interface without any IPv4 address (D17).
    t.lab.veth((&t.rtr, "bare0"), (&t.h2, "bare1")).unwrap();
    let bare = t.ifindex("bare0");
    run_in(&t.rtr, || async {
        let mut mr = Mroute4::open(None).unwrap();
        assert_eq!(mr.add_vif(up0, 1, 0).unwrap(), VifIndex(0));
        assert_eq!(mr.add_vif(dn1, 1, 0).unwrap(), VifIndex(1));
        assert_eq!(mr.add_vif(dn2, 5, 0).unwrap(), VifIndex(2));
        assert_eq!(mr.add_vif(bare, 1, 0).unwrap(), VifIndex(3));
        assert_eq!(
            mr.add_vif(dn1, 1, 0).unwrap(),
            VifIndex(1),
            "adding twice is a no-op"
        );
        assert_eq!(
            (mr.vif_of(dn2), mr.ifindex_of(VifIndex(3))),
            (Some(VifIndex(2)), Some(bare))
        );
        assert_eq!(
            names(&vifs_v4(&t.rtr).unwrap()),
            [
                (0, "up0".into()),
                (1, "dn1".into()),
                (2, "dn2".into()),
                (3, "bare0".into())
            ]
        );

        mr.set_route(SG, up0, &[dn1, dn2, bare]).unwrap();
        let mfc = mfc_v4(&t.rtr).unwrap();
        assert_eq!(mfc.len(), 1);
        assert_eq!(
            (mfc[0].origin, mfc[0].group),
            (IpAddr::V4(SOURCE), IpAddr::V4(GROUP))
        );
        assert_eq!(mfc[0].iif, Some(0));
        // Each output carries its VIF's threshold.
        assert_eq!(mfc[0].oifs, [(1, 1), (2, 5), (3, 1)]);

        // Replaced in place; the input interface is never an output.
        mr.set_route(SG, up0, &[up0, dn2]).unwrap();
        let mfc = mfc_v4(&t.rtr).unwrap();
        assert_eq!(
            (mfc.len(), mfc[0].iif, mfc[0].oifs.clone()),
            (1, Some(0), vec![(2, 5)])
        );
        assert_eq!(mr.route_packets(SG).unwrap(), Some(0));
        assert_eq!(
            mr.route_packets(SourceGroup {
                source: SOURCE,
                group: Ipv4Addr::new(239, 9, 9, 9)
            })
            .unwrap(),
            None
        );

        let unknown = mr.set_route(SG, up0, &[IfIndex(9999)]).unwrap_err();
        assert!(
            matches!(
                unknown,
                Error::NoVif {
                    ifindex: IfIndex(9999),
                    ..
                }
            ),
            "{unknown:?}"
        );

        mr.delete_route(SG).unwrap();
        assert!(mfc_v4(&t.rtr).unwrap().is_empty());
        mr.delete_route(SG).unwrap(); // ENOENT is not an error

        // A freed slot is reused.
        mr.del_vif(dn2).unwrap();
        assert_eq!(mr.vif_of(dn2), None);
        assert!(!names(&vifs_v4(&t.rtr).unwrap()).contains(&(2, "dn2".into())));
        assert_eq!(mr.add_vif(dn2, 1, 0).unwrap(), VifIndex(2));

        mr.set_route(SG, up0, &[dn1]).unwrap();
        mr.flush().unwrap();
        assert!(mfc_v4(&t.rtr).unwrap().is_empty());
        assert!(vifs_v4(&t.rtr).unwrap().is_empty());
        assert_eq!(mr.routes().count(), 0);
    });
}

#[test]
fn vif_of_a_vanished_interface_is_deleted_quietly() {
    let Some(t) = Topology::with_root("lx-gone4") else {
        return;
    };
    t.lab.veth((&t.rtr, "tmp0"), (&t.h2, "tmp1")).unwrap();
    let tmp = t.ifindex("tmp0");
    run_in(&t.rtr, || async {
        let mut mr = Mroute4::open(None).unwrap();
        assert_eq!(mr.add_vif(tmp, 1, 0).unwrap(), VifIndex(0));
        t.rtr.ip(&["link", "del", "tmp0"]).unwrap();
        // The kernel removed the VIF with the device; deleting it again is not an error.
        mr.del_vif(tmp).unwrap();
        assert_eq!(mr.vif_of(tmp), None);
        assert!(vifs_v4(&t.rtr).unwrap().is_empty());
    });
}

#[test]
fn nocache_upcall_names_input_interface_and_route_forwards() {
    if !Lab::require_root() {
        return;
    }
    nocache_upcall_then_route::<Ipv4Addr>("lx-up4", SG, Received4::Upcall, |r| {
        matches!(r, Received4::Upcall(_))
    });
}

fn is_igmp_from(r: &Received4, source: Ipv4Addr, kind: fn(&igmp::Repr) -> bool) -> bool {
    matches!(r, Received4::Igmp { header, message: Ok(m), .. } if header.src == source && kind(m))
}

fn is_v2_report(m: &igmp::Repr) -> bool {
    matches!(m, igmp::Repr::ReportV2 { .. })
}

fn is_v3_report(m: &igmp::Repr) -> bool {
    matches!(m, igmp::Repr::ReportV3 { .. })
}

#[test]
fn igmpv2_report_arrives_with_its_interface_and_header() {
    let Some(t) = Topology::with_root("lx-v2rep") else {
        return;
    };
    let [up0, dn1, dn2] = t.ifindexes(["up0", "dn1", "dn2"]);
    t.h1.sysctl("net/ipv4/conf/e0/force_igmp_version", "2")
        .unwrap();
    let host = Ipv4Addr::new(192, 0, 2, 2);
    run_in(&t.rtr, || async {
        let mr = open_with_vifs::<Ipv4Addr>(&[up0, dn1, dn2]);
        let _r = Receiver::join(&t.h1, "e0", IpAddr::V4(GROUP), 5000).unwrap();
        let (got, _) = recv_until(&mr, 5 * SECOND, |r, _| is_igmp_from(r, host, is_v2_report))
            .await
            .expect("v2 report");
        let Received4::Igmp {
            ifindex,
            header,
            message,
        } = got
        else {
            unreachable!()
        };
        assert_eq!(ifindex, dn1);
        assert_eq!(
            (header.dst, header.ttl, header.router_alert),
            (GROUP, 1, true)
        );
        assert_eq!(header.payload_len, 8);
        assert_eq!(message, Ok(igmp::Repr::ReportV2 { group: GROUP }));
    });
}

#[test]
fn igmpv3_report_arrives_only_after_joining_the_report_groups() {
    let Some(t) = Topology::with_root("lx-v3rep") else {
        return;
    };
    let [up0, dn1] = t.ifindexes(["up0", "dn1"]);
    let host = Ipv4Addr::new(192, 0, 2, 2);
    run_in(&t.rtr, || async {
        let mut mr = open_with_vifs::<Ipv4Addr>(&[up0, dn1]);
        // The kernel host sends its unsolicited v3 report twice within about a second.
        let _first = Receiver::join(&t.h1, "e0", IpAddr::V4(GROUP), 5000).unwrap();
        let early = recv_until(&mr, 2 * SECOND, |r, _| is_igmp_from(r, host, is_v3_report))
            .await
            .map(|(received, _)| received);
        assert!(
            early.is_none(),
            "a v3 report arrived without the 224.0.0.22 join: {early:?}"
        );

        mr.join_report_groups(dn1).unwrap();
        mr.join_report_groups(dn1).unwrap(); // idempotent
        let _second = Receiver::join(&t.h1, "e0", ip("239.1.2.4"), 5000).unwrap();
        let (got, _) = recv_until(&mr, 5 * SECOND, |r, _| is_igmp_from(r, host, is_v3_report))
            .await
            .expect("v3 report");
        let Received4::Igmp {
            ifindex, header, ..
        } = got
        else {
            unreachable!()
        };
        assert_eq!((ifindex, header.dst), (dn1, Ipv4Addr::new(224, 0, 0, 22)));
        assert!(netlab::is_member(&t.rtr, "dn1", ip("224.0.0.22")).unwrap());
        assert!(netlab::is_member(&t.rtr, "dn1", ip("224.0.0.2")).unwrap());

        mr.leave_report_groups(dn1);
        assert!(!netlab::is_member(&t.rtr, "dn1", ip("224.0.0.22")).unwrap());
    });
}

/// An IGMPv2 membership report for `group` (RFC 2236 §2), as a host on dn1 sends it.
fn v2_report(host: Ipv4Addr, group: Ipv4Addr) -> Vec<u8> {
    let mut igmp = vec![0x16, 0, 0, 0];
    igmp.extend_from_slice(&group.octets());
    netlab::packet::fix_igmp_checksum(&mut igmp);
    netlab::packet::igmp_packet(host, group, &igmp)
}

/// The group of an IGMPv2 report; any other IGMP message is unexpected.
fn reported_group(r: &Received4) -> Option<Ipv4Addr> {
    match r {
        Received4::Igmp {
            message: Ok(igmp::Repr::ReportV2 { group }),
            ..
        } => Some(*group),
        Received4::Igmp { message, .. } => panic!("not a v2 report: {message:?}"),
        Received4::Upcall(_) => None,
    }
}

#[test]
fn try_recv_drains_the_queue_then_recv_waits_for_new_data() {
    let Some(t) = Topology::with_root("lx-drain4") else {
        return;
    };
    let [up0, dn1] = t.ifindexes(["up0", "dn1"]);
    let host = Ipv4Addr::new(192, 0, 2, 2);
    let groups: Vec<Ipv4Addr> = (1..=20).map(|i| Ipv4Addr::new(239, 7, 0, i)).collect();
    run_in(&t.rtr, || async {
        let mr = open_with_vifs::<Ipv4Addr>(&[up0, dn1]);
        let mut buf = vec![0u8; 9000];
        // Nothing queued yet: no wait, no datagram.
        assert_eq!(mr.try_recv(&mut buf).unwrap(), None);
        for g in &groups {
            netlab::inject_ipv4(&t.h1, "e0", &v2_report(host, *g)).unwrap();
        }
        let mut seen = Vec::new();
        let first = tokio::time::timeout(5 * SECOND, mr.recv(&mut buf))
            .await
            .expect("the first report")
            .unwrap();
        seen.extend(reported_group(&first));
        // The rest is already queued (injection is synchronous): drained without waiting.
        let deadline = Instant::now() + 5 * SECOND;
        while seen.len() < groups.len() {
            assert!(Instant::now() < deadline, "only {seen:?} arrived");
            match mr.try_recv(&mut buf).unwrap() {
                Some(r) => seen.extend(reported_group(&r)),
                None => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        assert_eq!(seen, groups, "every report once, in order");
        assert_eq!(mr.try_recv(&mut buf).unwrap(), None, "the queue is empty");
        // The empty queue cleared the readiness: recv waits rather than failing or spinning,
        // and wakes for the next datagram.
        let idle = tokio::time::timeout(Duration::from_millis(200), mr.recv(&mut buf)).await;
        assert!(idle.is_err(), "recv returned without data: {idle:?}");
        let late = Ipv4Addr::new(239, 7, 1, 1);
        netlab::inject_ipv4(&t.h1, "e0", &v2_report(host, late)).unwrap();
        let next = tokio::time::timeout(5 * SECOND, mr.recv(&mut buf))
            .await
            .expect("the next report")
            .unwrap();
        assert_eq!(reported_group(&next), Some(late));
        assert!(matches!(next, Received4::Igmp { ifindex, .. } if ifindex == dn1));
    });
}
