//! docs/igmpproxy-differences.md D11: igmpproxy documents one upstream, takes 7 and dies on the 8th. mrproxy has
//! no upstream limit of its own; the only limit is the kernel's 32 VIFs (IPv4) / MIFs (IPv6) per
//! family, shared by upstreams and downstreams. Interfaces over it are refused with a reason that
//! names them and the limit, and take a slot when another interface goes.

mod support;

use mrproxy_config::Role;
use mrproxy_engine::{
    Action, Engine, Event, Family, FilterMode, IfIndex, Notice, Output, PerFamily, RejectReason,
    SourceFilter, Timestamp,
};
use mrproxy_types::MAX_VIFS;
use mrproxy_wire::igmp;
use std::net::Ipv4Addr;
use support::v4_interface;

const UPSTREAMS: u32 = 8;
const LANS: u32 = 30;

/// up0..up7 are ifindex 1..=8 on 198.51.100.0/24 … ; lan0..lan29 are ifindex 9..=38.
fn lan_ifindex(lan: u32) -> u32 {
    UPSTREAMS + 1 + lan
}

fn attached(actions: &[Action], family: Family) -> Vec<(IfIndex, Role)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::AttachInterface {
                family: f,
                ifindex,
                role,
                ..
            } if *f == family => Some((*ifindex, *role)),
            _ => None,
        })
        .collect()
}

fn refused(notices: &[Notice], family: Family) -> Vec<(IfIndex, String)> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::Rejected {
                ifindex: Some(i),
                reason:
                    RejectReason::NoFreeVif {
                        family: f,
                        name,
                        limit,
                    },
                ..
            } if *f == family => {
                assert_eq!(*limit, MAX_VIFS);
                Some((*i, name.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn eight_upstreams_each_join_and_interfaces_over_the_kernel_vif_limit_wait_for_a_slot() {
    assert_eq!(MAX_VIFS, 32, "Linux MAXVIFS / MAXMIFS");
    // Eight upstream phyints; every other interface is downstream (`defaultdown`).
    let mut text = String::from("defaultdown\nquickleave\n");
    for u in 0..UPSTREAMS {
        text.push_str(&format!("phyint up{u} upstream\n"));
    }
    let config = mrproxy_config::parse(&text, "vif_limit.conf").unwrap();
    let mut engine = Engine::new(config, Timestamp(0));

    let mut output = Output::new();
    for u in 0..UPSTREAMS {
        let address = Ipv4Addr::new(198, 51, 100, u8::try_from(u + 1).unwrap());
        output.append(engine.handle(
            Timestamp(0),
            v4_interface(IfIndex(u + 1), &format!("up{u}"), address, 24),
        ));
    }
    for lan in 0..LANS {
        let address = Ipv4Addr::new(203, 0, 113, u8::try_from(lan + 1).unwrap());
        output.append(engine.handle(
            Timestamp(0),
            v4_interface(IfIndex(lan_ifindex(lan)), &format!("lan{lan}"), address, 24),
        ));
    }

    // Per family: all eight upstreams and the first 24 LANs get the 32 slots, in arrival order.
    for family in [Family::V4, Family::V6] {
        let got = attached(&output.actions, family);
        let mut want: Vec<(IfIndex, Role)> = (1..=UPSTREAMS)
            .map(|i| (IfIndex(i), Role::Upstream))
            .collect();
        let lans_with_a_slot = u32::try_from(MAX_VIFS).unwrap() - UPSTREAMS;
        want.extend((0..lans_with_a_slot).map(|l| (IfIndex(lan_ifindex(l)), Role::Downstream)));
        assert_eq!(got, want, "{family:?}");
        let want_refused: Vec<(IfIndex, String)> = (lans_with_a_slot..LANS)
            .map(|l| (IfIndex(lan_ifindex(l)), format!("lan{l}")))
            .collect();
        assert_eq!(refused(&output.notices, family), want_refused, "{family:?}");
    }
    let status = engine.status(Timestamp(0));
    assert_eq!(status.rejected.get("NoFreeVif"), Some(&12));
    assert_eq!(
        status
            .upstreams
            .iter()
            .filter(|u| u.family == Family::V4)
            .count(),
        8
    );

    // A join on lan0 is requested on every one of the eight upstreams (igmpproxy D9/D10 too).
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let join = engine.handle(
        Timestamp(100),
        Event::Igmp {
            ifindex: IfIndex(lan_ifindex(0)),
            source: Ipv4Addr::new(203, 0, 113, 200),
            destination: group,
            ttl: 1,
            router_alert: true,
            message: igmp::Repr::ReportV2 { group },
        },
    );
    let mut joined_on: Vec<IfIndex> = join
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::SetUpstreamMembership {
                ifindex,
                filter:
                    PerFamily::V4(SourceFilter {
                        group: g,
                        mode: FilterMode::Exclude,
                        ..
                    }),
            } if *g == group => Some(*ifindex),
            _ => None,
        })
        .collect();
    joined_on.sort();
    assert_eq!(
        joined_on,
        (1..=UPSTREAMS).map(IfIndex).collect::<Vec<_>>(),
        "{join:#?}"
    );

    // lan3 goes away: the first waiting interface (lan24) takes its slots, and only it.
    let gone = engine.handle(
        Timestamp(200),
        Event::InterfaceRemoved {
            ifindex: IfIndex(lan_ifindex(3)),
        },
    );
    for family in [Family::V4, Family::V6] {
        assert_eq!(
            attached(&gone.actions, family),
            vec![(IfIndex(lan_ifindex(24)), Role::Downstream)],
            "{family:?}: {gone:#?}"
        );
        assert!(refused(&gone.notices, family).is_empty(), "{gone:#?}");
    }
    let detached = gone
        .actions
        .iter()
        .filter(|a| matches!(a, Action::DetachInterface { .. }))
        .count();
    assert_eq!(detached, 2, "lan3 leaves both families");
}
