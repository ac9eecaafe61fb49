//! Upstream host membership through the kernel: many groups (D21), source filters, limits.

mod common;

use common::{Topology, run_in};
use mrproxy_linux::{Error, UpstreamMembership};
use mrproxy_types::FilterMode;
use netlab::{Lab, igmp_memberships};
use std::net::{Ipv4Addr, Ipv6Addr};

fn v4(s: &str) -> Ipv4Addr {
    s.parse().expect("IPv4 literal")
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("IPv6 literal")
}

fn groups_on(t: &Topology, ifname: &str) -> Vec<Ipv4Addr> {
    igmp_memberships(&t.rtr)
        .unwrap()
        .into_iter()
        .find(|i| i.name == ifname)
        .map(|i| i.groups)
        .unwrap_or_default()
}

/// `/proc/net/mcfilter` rows (interface, group, source) of this namespace.
fn source_filters(t: &Topology, file: &str) -> Vec<String> {
    t.rtr
        .read_proc(file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn fifty_groups_on_one_interface_spread_over_sockets() {
    if !Lab::require_root() {
        return;
    }
    let t = Topology::new("lx-memb50");
    let up0 = t.ifindex("up0");
    let groups: Vec<Ipv4Addr> = (0..50).map(|i| Ipv4Addr::new(239, 2, 0, i)).collect();
    run_in(&t.rtr, || async {
        let mut m = UpstreamMembership::new();
        for &g in &groups {
            m.set(up0, g, FilterMode::Exclude, &[]).unwrap();
        }
        // igmp_max_memberships is 20 per socket in a fresh namespace.
        assert_eq!(m.socket_count(), 3);
        let joined = groups_on(&t, "up0");
        for g in &groups {
            assert!(joined.contains(g), "{g} not joined");
        }
        // Idempotent, and forgetting the interface leaves everything.
        m.set(up0, groups[0], FilterMode::Exclude, &[]).unwrap();
        m.forget_interface(up0);
        assert!(
            groups_on(&t, "up0")
                .iter()
                .all(|g| !g.octets().starts_with(&[239, 2]))
        );
        assert_eq!(m.get(up0, groups[0]), None);
        // Empty sockets are closed; 50 joins take 3 sockets again.
        assert_eq!(m.socket_count(), 0);
        for &g in &groups {
            m.set(up0, g, FilterMode::Exclude, &[]).unwrap();
        }
        assert_eq!(m.socket_count(), 3);
        // Leaving one by one closes each socket when its last group goes.
        for &g in &groups[..20] {
            m.set(up0, g, FilterMode::Include, &[]).unwrap();
        }
        assert_eq!(m.socket_count(), 2);
        for &g in &groups[20..] {
            m.set(up0, g, FilterMode::Include, &[]).unwrap();
        }
        assert_eq!(m.socket_count(), 0);
        // The closed slots are reused: 21 joins, 2 sockets.
        for &g in &groups[..21] {
            m.set(up0, g, FilterMode::Exclude, &[]).unwrap();
        }
        assert_eq!(m.socket_count(), 2);
    });
}

#[test]
fn a_raised_igmp_max_memberships_still_puts_at_most_256_groups_on_a_socket() {
    if !Lab::require_root() {
        return;
    }
    let t = Topology::new("lx-memb600");
    // As igmpproxy users are told to do; the pool reads it when it starts.
    t.rtr
        .sysctl("net/ipv4/igmp_max_memberships", "100000")
        .unwrap();
    let up0 = t.ifindex("up0");
    let groups: Vec<Ipv4Addr> = (0..600u32)
        .map(|i| Ipv4Addr::from(u32::from(Ipv4Addr::new(239, 3, 0, 0)) + i))
        .collect();
    run_in(&t.rtr, || async {
        let mut m = UpstreamMembership::new();
        for &g in &groups {
            m.set(up0, g, FilterMode::Exclude, &[]).unwrap();
        }
        // 256 + 256 + 88: the kernel's per-socket list stays short.
        assert_eq!(m.socket_count(), 3);
        assert_eq!(
            groups_on(&t, "up0")
                .iter()
                .filter(|g| g.octets().starts_with(&[239, 3]))
                .count(),
            600
        );
        // A slot freed on the first socket is taken again before any new socket is opened:
        // after one leave and one join, the third socket still has room for exactly 168.
        m.set(up0, groups[0], FilterMode::Include, &[]).unwrap();
        let late = Ipv4Addr::new(239, 4, 0, 1);
        m.set(up0, late, FilterMode::Exclude, &[]).unwrap();
        let more = |i: u32| Ipv4Addr::from(u32::from(Ipv4Addr::new(239, 3, 0, 0)) + i);
        for i in 600..768 {
            m.set(up0, more(i), FilterMode::Exclude, &[]).unwrap();
        }
        assert_eq!(m.socket_count(), 3);
        m.set(up0, more(768), FilterMode::Exclude, &[]).unwrap();
        assert_eq!(m.socket_count(), 4);
    });
}

#[test]
fn source_filters_are_applied_whole_and_kept_on_error() {
    if !Lab::require_root() {
        return;
    }
    let t = Topology::new("lx-msf");
    let up0 = t.ifindex("up0");
    let group = v4("232.1.1.1");
    let two = [v4("198.51.100.3"), v4("198.51.100.2")];
    run_in(&t.rtr, || async {
        let mut m = UpstreamMembership::new();
        m.set(up0, group, FilterMode::Include, &two).unwrap();
        assert_eq!(
            m.get(up0, group),
            Some((FilterMode::Include, &[two[1], two[0]][..]))
        );
        let rows = source_filters(&t, "net/mcfilter");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows.iter()
                .all(|r| r.contains("up0") && r.contains("0xe8010101")),
            "{rows:?}"
        );

        // net.ipv4.igmp_max_msf is 10: eleven INCLUDE sources are split over two sockets;
        // the interface's state is the union (RFC 3376 §3.2), all eleven in mcfilter.
        let eleven: Vec<Ipv4Addr> = (10..21).map(|i| Ipv4Addr::new(198, 51, 100, i)).collect();
        m.set(up0, group, FilterMode::Include, &eleven).unwrap();
        assert_eq!(source_filters(&t, "net/mcfilter").len(), 11);
        assert_eq!(m.socket_count(), 2);
        assert_eq!(
            m.get(up0, group).map(|(mode, s)| (mode, s.len())),
            Some((FilterMode::Include, 11))
        );

        // EXCLUDE cannot be split (the interface state would be the intersection): refused,
        // and the old filter stays.
        let err = m.set(up0, group, FilterMode::Exclude, &eleven).unwrap_err();
        assert!(
            matches!(err, Error::TooManySources { count: 11, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("raise sysctl net.ipv4.igmp_max_msf"),
            "{err}"
        );
        assert_eq!(
            m.get(up0, group).map(|(mode, s)| (mode, s.len())),
            Some((FilterMode::Include, 11))
        );
        assert_eq!(source_filters(&t, "net/mcfilter").len(), 11);

        // Switch to EXCLUDE {one source}, then leave with INCLUDE {}.
        m.set(up0, group, FilterMode::Exclude, &two[..1]).unwrap();
        let rows = source_filters(&t, "net/mcfilter");
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(m.socket_count(), 1, "the second part's socket is closed");
        m.set(up0, group, FilterMode::Include, &[]).unwrap();
        assert_eq!(m.socket_count(), 0);
        assert!(!groups_on(&t, "up0").contains(&Ipv4Addr::new(232, 1, 1, 1)));
        assert!(source_filters(&t, "net/mcfilter").is_empty());
        assert_eq!(m.get(up0, group), None);

        // A new EXCLUDE membership with too many sources leaves nothing behind.
        assert!(m.set(up0, group, FilterMode::Exclude, &eleven).is_err());
        assert!(!groups_on(&t, "up0").contains(&Ipv4Addr::new(232, 1, 1, 1)));
        assert_eq!(m.get(up0, group), None);
        assert_eq!(m.socket_count(), 0);
    });
}

#[test]
fn a_lowered_igmp_max_msf_is_learnt_and_include_lists_split_further() {
    if !Lab::require_root() {
        return;
    }
    let t = Topology::new("lx-msf2");
    let up0 = t.ifindex("up0");
    let group = v4("232.1.1.2");
    let five: Vec<Ipv4Addr> = (1..6).map(|i| Ipv4Addr::new(198, 51, 100, i)).collect();
    run_in(&t.rtr, || async {
        // The pool reads 10 when it is made; the sysctl is lowered afterwards.
        let mut m = UpstreamMembership::new();
        // This thread is in the namespace: /proc/sys/net is the namespace's.
        std::fs::write("/proc/sys/net/ipv4/igmp_max_msf", "2\n").unwrap();
        m.set(up0, group, FilterMode::Include, &five[..1]).unwrap();
        m.set(up0, group, FilterMode::Include, &five).unwrap();
        let rows = source_filters(&t, "net/mcfilter");
        assert_eq!(rows.len(), 5, "{rows:?}");
        for s in ["0xc6336401", "0xc6336405"] {
            assert!(rows.iter().any(|r| r.contains(s)), "{s} in {rows:?}");
        }
        assert_eq!(m.socket_count(), 3, "2 + 2 + 1 sources");
        // Back to two sources: one socket.
        m.set(up0, group, FilterMode::Include, &five[..2]).unwrap();
        assert_eq!(source_filters(&t, "net/mcfilter").len(), 2);
        assert_eq!(m.socket_count(), 1);
        m.set(up0, group, FilterMode::Include, &[]).unwrap();
        assert_eq!(m.socket_count(), 0);
        assert!(source_filters(&t, "net/mcfilter").is_empty());
    });
}

#[test]
fn ipv6_membership_with_sources() {
    if !Lab::require_root() {
        return;
    }
    let t = Topology::new("lx-msf6");
    let up0 = t.ifindex("up0");
    let group = v6("ff3e::1234");
    run_in(&t.rtr, || async {
        let mut m = UpstreamMembership::new();
        m.set(
            up0,
            group,
            FilterMode::Include,
            &[v6("2001:db8:1::2"), v6("2001:db8:1::3")],
        )
        .unwrap();
        let rows = source_filters(&t, "net/mcfilter6");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows.iter()
                .all(|r| r.contains("up0") && r.contains("ff3e0000000000000000000000001234"))
        );
        // An IPv4 source for an IPv6 group does not compile (the compile_fail example of
        // `UpstreamMembership`).
        m.set(up0, group, FilterMode::Include, &[]).unwrap();
        assert!(source_filters(&t, "net/mcfilter6").is_empty());
    });
}
