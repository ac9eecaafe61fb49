//! Every keyword, with the meaning it must have.

mod common;

use common::{ok, warnings};
use ipnet::IpNet;
use mrproxy_config::{GroupFilter, InterfaceSettings, Role, Timers, default_ssm_ranges};
use std::path::PathBuf;
use std::time::Duration;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

const IGMPPROXY_KEYWORDS: &str = "\
quickleave
hashtablesize 64
rescanvif
chroot /var/empty
user nobody
phyint eth0 upstream ratelimit 0 threshold 3 altnet 198.51.100.0/24 whitelist 239.1.0.0/16
phyint eth1 downstream whitelist 239.0.0.0/8 blacklist 239.255.255.250/32
defaultdown
phyint eth2
phyint eth3 disabled
";

#[test]
fn igmpproxy_keywords() {
    let c = ok(IGMPPROXY_KEYWORDS);
    assert!(c.quickleave && c.rescanvif);
    assert_eq!(c.hashtablesize, Some(64));
    assert_eq!(c.chroot, Some(PathBuf::from("/var/empty")));
    assert_eq!(c.user.as_deref(), Some("nobody"));
    assert_eq!(c.default_role, Role::Downstream);

    let (role, eth0) = c.interface("eth0");
    assert_eq!(
        (role, eth0.ratelimit, eth0.threshold),
        (Role::Upstream, 0, 3)
    );
    assert_eq!(eth0.altnets, vec![net("198.51.100.0/24")]);
    assert_eq!(
        eth0.group_filters,
        vec![GroupFilter {
            allow: true,
            prefix: net("239.1.0.0/16")
        }]
    );

    let (role, eth1) = c.interface("eth1");
    assert_eq!(role, Role::Downstream);
    assert!(eth1.allows_group("239.1.2.3".parse().unwrap()));
    assert!(!eth1.allows_group("239.255.255.250".parse().unwrap()));
    // A whitelist exists, so a group matching nothing is denied
    // (docs/igmpproxy-differences.md §3.5).
    assert!(!eth1.allows_group("232.1.1.1".parse().unwrap()));

    // `defaultdown` came before eth2's block, which has no role.
    assert_eq!(c.interface("eth2").0, Role::Downstream);
    assert_eq!(c.interface("eth3").0, Role::Disabled);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    insta::assert_json_snapshot!("igmpproxy_keywords", c);
}

#[test]
fn role_last_one_wins() {
    let c = ok("phyint eth0 upstream disabled downstream threshold 2 upstream");
    assert_eq!(c.interface("eth0").0, Role::Upstream);
    let c = ok("phyint eth0 upstream downstream");
    assert_eq!(c.interface("eth0").0, Role::Downstream);
}

#[test]
fn several_upstreams_are_accepted_silently() {
    let text: String = (0..9).map(|i| format!("phyint up{i} upstream\n")).collect();
    let c = ok(&text);
    assert_eq!(
        c.interfaces
            .iter()
            .filter(|i| i.role == Role::Upstream)
            .count(),
        9
    );
    assert!(c.warnings.is_empty());
}

#[test]
fn no_upstream_is_not_a_parse_error() {
    let c = ok("phyint eth0 downstream");
    assert!(c.interfaces.iter().all(|i| i.role != Role::Upstream));
}

const EXTENSIONS_IN_BLOCK: &str = "\
phyint eth0 downstream
  igmpversion 2 mldversion 1 ipv4 on ipv6 off
  robustness 3 queryinterval 60 queryresponseinterval 5.5
  lastmemberqueryinterval 0.5 lastmemberquerycount 4
  startupqueryinterval 15 startupquerycount 5
  fastleave on maxgroups 100 maxsources 10 maxgroupsperhost 20
  routeralert require rereport 30 queryonupstreamquery on
  querier always forwardnonquerier on maxhosts 50 maxsourcesperhost 5 maxhostentries 500
  maxrecords 40 maxroutes 300 upcallrate 25
";

#[test]
fn every_extension_keyword_in_a_block() {
    let c = ok(EXTENSIONS_IN_BLOCK);
    let (_, s) = c.interface("eth0");
    let expected = InterfaceSettings {
        igmp_version: 2,
        mld_version: 1,
        ipv4: true,
        ipv6: false,
        timers: Timers {
            robustness: 3,
            query_interval: Duration::from_secs(60),
            query_response_interval: Duration::from_millis(5500),
            last_member_query_interval: Duration::from_millis(500),
            last_member_query_count: Some(4),
            startup_query_interval: Some(Duration::from_secs(15)),
            startup_query_count: Some(5),
        },
        fast_leave: Some(true),
        max_groups: 100,
        max_sources: 10,
        max_groups_per_host: 20,
        require_router_alert: true,
        rereport: Some(Duration::from_secs(30)),
        query_on_upstream_query: true,
        querier_always: true,
        forward_non_querier: true,
        max_hosts: 50,
        max_sources_per_host: 5,
        max_host_entries: 500,
        max_records: 40,
        max_routes: 300,
        upcall_rate: 25,
        ..InterfaceSettings::default()
    };
    assert_eq!(s, &expected);
    // Set in a block, they leave the defaults for other interfaces alone.
    assert_eq!(c.defaults, InterfaceSettings::default());
    // rereport on a downstream has no effect: said once.
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0]
            .message
            .contains("rereport has effect on upstream interfaces only")
    );
    insta::assert_json_snapshot!("extensions_in_block", c);
}

#[test]
fn extension_keywords_at_top_level_are_defaults_for_every_interface() {
    let text = "\
queryinterval 30
igmpversion 2
phyint eth0 upstream
phyint eth1 downstream queryinterval 90
quickleave
robustness 4
mldversion 1
rereport off
fastleave off
routeralert optional
querier always
maxtotalroutes 5000
";
    let c = ok(text);
    assert_eq!(c.max_total_routes, 5000);
    assert!(c.interface("eth1").1.querier_always);
    // Top-level keywords apply regardless of their place, also to blocks before them.
    let (_, eth0) = c.interface("eth0");
    assert_eq!(eth0.timers.query_interval, Duration::from_secs(30));
    assert_eq!(
        (eth0.timers.robustness, eth0.igmp_version, eth0.mld_version),
        (4, 2, 1)
    );
    assert_eq!(eth0.fast_leave, Some(false));
    // A block's own keyword wins over the top-level one.
    let (_, eth1) = c.interface("eth1");
    assert_eq!(eth1.timers.query_interval, Duration::from_secs(90));
    assert_eq!(eth1.timers.robustness, 4);
    // Unlisted interfaces get the same defaults.
    let (role, other) = c.interface("eth9");
    assert_eq!(role, Role::Disabled);
    assert_eq!(other, &c.defaults);
    assert_eq!(c.defaults.timers.query_interval, Duration::from_secs(30));
    assert_eq!(c.defaults.rereport, None);
    assert!(!c.defaults.require_router_alert);
    insta::assert_json_snapshot!("extensions_top_level", c);
}

#[test]
fn last_top_level_occurrence_wins() {
    let c = ok("robustness 3 quickleave robustness 5");
    assert_eq!(c.defaults.timers.robustness, 5);
    let c = ok("phyint eth0 robustness 3 robustness 6");
    assert_eq!(c.interface("eth0").1.timers.robustness, 6);
}

#[test]
fn ssmrange_replaces_the_default_list() {
    assert_eq!(ok("quickleave").ssm_ranges, default_ssm_ranges());
    let c = ok("ssmrange 232.0.0.0/8 ssmrange 239.232.0.0/16 ssmrange ff3e::/32 quickleave");
    assert_eq!(
        c.ssm_ranges,
        vec![net("232.0.0.0/8"), net("239.232.0.0/16"), net("ff3e::/32")]
    );
    assert!(c.warnings.is_empty());
    insta::assert_snapshot!(
        "ssmrange_family_warnings",
        warnings("ssmrange 239.232.0.0/16\nssmrange 232.0.0.0/8").join("\n")
            + "\n"
            + &warnings("ssmrange ff3e::/32").join("\n")
    );
}

#[test]
fn default_ssm_ranges_are_exactly_rfc_4607() {
    let ranges = default_ssm_ranges();
    let is_ssm = |g: &str| {
        let g: std::net::IpAddr = g.parse().unwrap();
        ranges.iter().any(|r| r.contains(&g))
    };
    assert!(is_ssm("232.1.2.3"));
    assert!(is_ssm("ff3e::8000:1"));
    assert!(is_ssm("ff35::1"));
    assert!(!is_ssm("239.1.2.3"));
    assert!(!is_ssm("ff0e::1"));
    // Unicast-prefix-based ASM (RFC 3306, plen 64) is not SSM.
    assert!(!is_ssm("ff3e:40:2001:db8::1"));
}

#[test]
fn ipv6_prefixes_in_altnet_and_filters() {
    let c = ok("phyint eth0 downstream altnet 2001:db8::/32 whitelist ff3e::/16 blacklist ff3e::1");
    let (_, s) = c.interface("eth0");
    assert_eq!(s.altnets, vec![net("2001:db8::/32")]);
    assert_eq!(s.altnets_v4().count(), 0);
    assert_eq!(s.group_filters[1].prefix, net("ff3e::1/128"));
    assert!(s.allows_group("ff3e::2".parse().unwrap()));
    assert!(!s.allows_group("ff3e::1".parse().unwrap()));
    // Only IPv6 entries: IPv4 groups see no whitelist, so they are allowed.
    assert!(s.allows_group("239.1.1.1".parse().unwrap()));
}

#[test]
fn fast_leave_follows_quickleave_unless_set() {
    let c = ok("quickleave phyint eth0 downstream phyint eth1 downstream fastleave off");
    assert!(c.interface("eth0").1.effective_fast_leave(c.quickleave));
    assert!(!c.interface("eth1").1.effective_fast_leave(c.quickleave));
    let c = ok("phyint eth0 downstream phyint eth1 downstream fastleave on");
    assert!(!c.interface("eth0").1.effective_fast_leave(c.quickleave));
    assert!(c.interface("eth1").1.effective_fast_leave(c.quickleave));
}

#[test]
fn value_range_edges_are_accepted() {
    let c = ok(
        "queryinterval 31744 queryresponseinterval 3174.4 lastmemberqueryinterval 0.1 \
                robustness 7 maxgroups 4294967295 startupqueryinterval 0.1 rereport 1",
    );
    let t = &c.defaults.timers;
    assert_eq!(t.query_interval, Duration::from_secs(31_744));
    assert_eq!(t.query_response_interval, Duration::from_millis(3_174_400));
    assert_eq!(t.last_member_query_interval, Duration::from_millis(100));
    assert_eq!(c.defaults.max_groups, 4_294_967_295);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = ok("queryinterval 1 queryresponseinterval 0.999 quickleave");
    assert_eq!(c.defaults.timers.query_interval, Duration::from_secs(1));
}

#[test]
fn metrics_takes_an_address_and_port_at_top_level() {
    assert_eq!(
        ok("metrics 127.0.0.1:9116").metrics,
        Some("127.0.0.1:9116".parse().unwrap())
    );
    assert_eq!(
        ok("metrics [::1]:9116").metrics,
        Some("[::1]:9116".parse().unwrap())
    );
    assert_eq!(ok("quickleave").metrics, None);
    for bad in ["metrics 127.0.0.1", "metrics localhost:9116", "metrics"] {
        let e = mrproxy_config::parse(bad, "t.conf")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.conf:1:"), "{bad}: {e}");
        assert!(e.contains("metrics"), "{bad}: {e}");
    }
}

#[test]
fn the_effective_configuration_reads_back_to_the_same_settings() {
    let text = "\
quickleave
metrics 127.0.0.1:9116
ssmrange 232.0.0.0/8
queryinterval 30
phyint eth0 upstream ratelimit 0 threshold 1
    altnet 198.51.100.0/24
    rereport 60
phyint eth1 downstream
    whitelist 239.0.0.0/8
    blacklist 239.255.255.250/32
    lastmemberqueryinterval 0.5
    igmpversion 2
phyint eth2 disabled
defaultdown
";
    let first = ok(text);
    let effective = first.effective();
    let second = ok(&effective);
    // The same text again: nothing was lost or changed on the way.
    assert_eq!(second.effective(), effective);
    for name in ["eth0", "eth1", "eth2", "eth9"] {
        let (role1, s1) = first.interface(name);
        let (role2, s2) = second.interface(name);
        assert_eq!(role1, role2, "{name}");
        // Settings left to their defaults come back resolved: compare what they resolve to.
        assert_eq!(s1.timers.query_interval, s2.timers.query_interval, "{name}");
        assert_eq!(s1.group_filters, s2.group_filters, "{name}");
        assert_eq!(s1.altnets, s2.altnets, "{name}");
        assert_eq!(s1.rereport, s2.rereport, "{name}");
        assert_eq!(s1.igmp_version, s2.igmp_version, "{name}");
        assert_eq!(
            s1.timers.last_member_query_interval, s2.timers.last_member_query_interval,
            "{name}"
        );
    }
    assert_eq!(second.metrics, first.metrics);
    assert_eq!(second.ssm_ranges, first.ssm_ranges);
    assert!(second.quickleave);
    assert!(
        effective.contains("\nphyint eth1 downstream ratelimit 0 threshold 1\n"),
        "{effective}"
    );
    assert!(effective.contains("    fastleave on\n"), "{effective}");
    assert!(
        effective.contains("    lastmemberqueryinterval 0.5\n"),
        "{effective}"
    );
}
