//! From the configuration and an interface's link state to what the interface should be.

use crate::afi::{Afi, is_unicast_link_local};
use crate::family::Desired;
use mrproxy_config::{Config, InterfaceSettings, Role};
use mrproxy_membership::{PortConfig, intervals};
use mrproxy_types::{IfIndex, InterfaceInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};

/// The interface's role and settings in family `A`, or `None` when it is not used there: a
/// disabled role, a link that is down, not multicast-capable or loopback, or the family
/// switched off in its settings. Interfaces appearing after start-up get their `phyint`
/// settings like any other (igmpproxy's D19).
pub fn desired<A: Afi>(config: &Config, info: &InterfaceInfo) -> Option<Desired> {
    let (role, settings) = config.interface(&info.name);
    let flags = &info.flags;
    let usable = role != Role::Disabled
        && flags.up
        && flags.multicast
        && !flags.loopback
        && A::enabled_in(settings);
    usable.then(|| Desired {
        role,
        settings: settings.clone(),
        port_config: port_config(A::port_version(settings), settings, config.quickleave),
    })
}

/// The router part's configuration from an interface's settings, with the RFC 9776 §8 defaults
/// for what is not given ([`intervals`]): Startup Query Interval = QI / 4 (§8.6), Startup Query
/// Count = RV (§8.7), LMQC = RV (§8.9).
pub fn port_config(
    version: mrproxy_membership::Mode,
    settings: &InterfaceSettings,
    quickleave: bool,
) -> PortConfig {
    let timers = &settings.timers;
    let startup_query_interval = timers
        .startup_query_interval
        .unwrap_or_else(|| intervals::startup_query_interval(timers.query_interval));
    let startup_query_count = timers
        .startup_query_count
        .unwrap_or_else(|| intervals::startup_query_count(timers.robustness));
    let last_member_query_count = timers
        .last_member_query_count
        .unwrap_or_else(|| intervals::last_member_query_count(timers.robustness));
    PortConfig {
        version,
        // RFC 9776 §8.1: the Robustness Variable MUST NOT be 0 (the parser rejects it too).
        robustness: timers.robustness.max(1),
        query_interval: timers.query_interval,
        query_response_interval: timers.query_response_interval,
        startup_query_interval,
        startup_query_count: startup_query_count.max(1),
        last_member_query_interval: timers.last_member_query_interval,
        last_member_query_count: last_member_query_count.max(1),
        // `quickleave` turns tracked fast leave on where `fastleave` is not set explicitly.
        fast_leave: settings.effective_fast_leave(quickleave),
        max_groups: settings.max_groups,
        max_sources_per_group: settings.max_sources,
        max_groups_per_host: settings.max_groups_per_host,
        max_hosts: settings.max_hosts,
        max_sources_per_host: settings.max_sources_per_host,
        max_host_entries: settings.max_host_entries,
        max_records: settings.max_records,
        querier_policy: if settings.querier_always {
            mrproxy_membership::QuerierPolicy::Always
        } else {
            mrproxy_membership::QuerierPolicy::Auto
        },
    }
}

/// Our own addresses: a query from one of these is our own, looped back; a report from one of
/// these on a downstream comes from a receiver on the router itself (docs/igmpproxy-differences.md D34).
#[derive(Debug, Default)]
pub struct OwnAddresses {
    /// IPv4 and non-link-local IPv6 addresses of every interface (unique on the system).
    global: BTreeSet<IpAddr>,
    /// IPv6 link-local addresses are unique only per link (RFC 4291 §2.5.6): a host on one LAN
    /// may use the link-local address we have on another.
    link_local: BTreeSet<(IfIndex, Ipv6Addr)>,
}

impl OwnAddresses {
    pub fn new<'a>(interfaces: impl IntoIterator<Item = &'a InterfaceInfo>) -> Self {
        let mut own = OwnAddresses::default();
        for info in interfaces {
            own.global
                .extend(info.ipv4.iter().map(|a| IpAddr::V4(a.address)));
            for a in &info.ipv6 {
                if is_unicast_link_local(&a.address) {
                    own.link_local.insert((info.ifindex, a.address));
                } else {
                    own.global.insert(IpAddr::V6(a.address));
                }
            }
        }
        own
    }

    /// Whether a packet received on `ifindex` from `source` is one we sent.
    pub fn is_own(&self, ifindex: IfIndex, source: IpAddr) -> bool {
        match source {
            IpAddr::V6(v6) if is_unicast_link_local(&v6) => {
                self.link_local.contains(&(ifindex, v6))
            }
            _ => self.global.contains(&source),
        }
    }
}

/// The known interfaces, by index.
pub type InterfaceTable = BTreeMap<IfIndex, InterfaceInfo>;

#[cfg(test)]
mod tests {
    use super::*;
    use mrproxy_config::{Interface, Position, Timers};
    use mrproxy_membership::Mode;
    use mrproxy_types::{LinkFlags, V4Address};
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    fn config(interfaces: Vec<Interface>, quickleave: bool) -> Config {
        Config {
            quickleave,
            hashtablesize: None,
            max_total_routes: mrproxy_config::DEFAULT_MAX_TOTAL_ROUTES,
            metrics: None,
            rescanvif: false,
            chroot: None,
            user: None,
            default_role: Role::Disabled,
            defaults: InterfaceSettings::default(),
            interfaces,
            ssm_ranges: vec![],
            warnings: vec![],
        }
    }

    fn phyint(name: &str, role: Role, settings: InterfaceSettings) -> Interface {
        Interface {
            name: name.into(),
            role,
            settings,
            position: Position {
                file: "t".into(),
                line: 1,
                column: 1,
            },
        }
    }

    fn info(name: &str, flags: LinkFlags) -> InterfaceInfo {
        InterfaceInfo {
            ifindex: IfIndex(3),
            name: name.into(),
            flags,
            ipv4: vec![V4Address {
                address: Ipv4Addr::new(192, 0, 2, 1),
                prefix_len: 24,
                peer: None,
            }],
            ipv6: vec![],
        }
    }

    const UP: LinkFlags = LinkFlags {
        up: true,
        running: true,
        multicast: true,
        loopback: false,
        point_to_point: false,
    };

    #[test]
    fn activation_rules() {
        let v4_only = InterfaceSettings {
            ipv6: false,
            ..InterfaceSettings::default()
        };
        let c = config(
            vec![
                phyint("dn0", Role::Downstream, v4_only),
                phyint("off0", Role::Disabled, Default::default()),
            ],
            false,
        );
        assert!(desired::<Ipv4Addr>(&c, &info("dn0", UP)).is_some());
        assert!(
            desired::<Ipv6Addr>(&c, &info("dn0", UP)).is_none(),
            "ipv6 off"
        );
        assert!(
            desired::<Ipv4Addr>(&c, &info("off0", UP)).is_none(),
            "disabled"
        );
        assert!(
            desired::<Ipv4Addr>(&c, &info("other", UP)).is_none(),
            "default role disabled"
        );
        assert!(
            desired::<Ipv4Addr>(&c, &info("dn0", LinkFlags { up: false, ..UP })).is_none(),
            "down"
        );
        assert!(
            desired::<Ipv4Addr>(
                &c,
                &info(
                    "dn0",
                    LinkFlags {
                        multicast: false,
                        ..UP
                    }
                )
            )
            .is_none()
        );
        assert!(
            desired::<Ipv4Addr>(
                &c,
                &info(
                    "dn0",
                    LinkFlags {
                        loopback: true,
                        ..UP
                    }
                )
            )
            .is_none()
        );
    }

    #[test]
    fn port_config_defaults_follow_robustness_and_query_interval() {
        let settings = InterfaceSettings {
            timers: Timers {
                robustness: 3,
                query_interval: Duration::from_secs(60),
                ..Timers::default()
            },
            ..InterfaceSettings::default()
        };
        let pc = port_config(Mode::V3, &settings, true);
        assert_eq!(pc.last_member_query_count, 3);
        assert_eq!(pc.startup_query_count, 3);
        assert_eq!(pc.startup_query_interval, Duration::from_secs(15));
        assert!(pc.fast_leave, "quickleave implies fast leave");
        let off = InterfaceSettings {
            fast_leave: Some(false),
            ..settings
        };
        assert!(
            !port_config(Mode::V3, &off, true).fast_leave,
            "fastleave off wins over quickleave"
        );
    }

    #[test]
    fn effective_values_derive_from_robustness_and_query_interval() {
        let c = mrproxy_config::parse(
            "robustness 3 queryinterval 100 phyint eth0 startupquerycount 1 lastmemberquerycount 5",
            "timers.conf",
        )
        .unwrap();
        let pc = port_config(Mode::V3, &c.defaults, false);
        assert_eq!(pc.last_member_query_count, 3);
        assert_eq!(pc.startup_query_count, 3);
        assert_eq!(pc.startup_query_interval, Duration::from_secs(25));
        assert_eq!(pc.group_membership_interval(), Duration::from_secs(310));
        assert_eq!(
            pc.other_querier_present_interval(),
            Duration::from_secs(305)
        );
        assert_eq!(pc.last_member_query_time(), Duration::from_secs(3));
        let pc = port_config(Mode::V3, c.interface("eth0").1, false);
        assert_eq!(pc.startup_query_count, 1);
        assert_eq!(pc.last_member_query_count, 5);
        // RFC defaults.
        let pc = port_config(Mode::V3, &InterfaceSettings::default(), false);
        assert_eq!(pc.startup_query_interval, Duration::from_millis(31_250));
        assert_eq!(pc.group_membership_interval(), Duration::from_secs(260));
        assert_eq!(pc.last_member_query_time(), Duration::from_secs(2));
    }

    #[test]
    fn link_local_addresses_are_ours_only_on_their_link() {
        let mut dn = info("dn0", UP);
        dn.ipv6 = vec![
            mrproxy_types::V6Address {
                address: "fe80::1".parse().unwrap(),
                prefix_len: 64,
                peer: None,
            },
            mrproxy_types::V6Address {
                address: "2001:db8::1".parse().unwrap(),
                prefix_len: 64,
                peer: None,
            },
        ];
        let own = OwnAddresses::new([&dn]);
        assert!(own.is_own(IfIndex(3), "fe80::1".parse().unwrap()));
        assert!(
            !own.is_own(IfIndex(4), "fe80::1".parse().unwrap()),
            "a host on another link"
        );
        assert!(own.is_own(IfIndex(4), "2001:db8::1".parse().unwrap()));
        assert!(own.is_own(IfIndex(4), "192.0.2.1".parse().unwrap()));
        assert!(!own.is_own(IfIndex(3), "192.0.2.2".parse().unwrap()));
    }
}
