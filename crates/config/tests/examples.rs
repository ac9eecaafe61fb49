//! Real configuration files: they must load unchanged, with igmpproxy's meaning.

mod common;

use common::ok;
use ipnet::IpNet;
use mrproxy_config::Role;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// The two-upstream router configuration of docs/igmpproxy-differences.md §3.8, verbatim
/// (Chinese comments included).
#[test]
fn seed_000_example_loads_as_is() {
    let config = ok(include_str!("fixtures/seed000.conf"));

    assert!(config.quickleave);
    assert_eq!(config.default_role, Role::Disabled);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let summary: Vec<(&str, Role, u8, u32, Vec<IpNet>)> = config
        .interfaces
        .iter()
        .map(|i| {
            let s = &i.settings;
            (
                i.name.as_str(),
                i.role,
                s.threshold,
                s.ratelimit,
                s.altnets.clone(),
            )
        })
        .collect();
    let any = vec![net("0.0.0.0/0")];
    assert_eq!(
        summary,
        vec![
            ("ppp0", Role::Upstream, 1, 0, any.clone()),
            ("eth0", Role::Upstream, 1, 0, any.clone()),
            ("br0", Role::Downstream, 1, 0, any),
        ]
    );
    // Blocks start where their `phyint` is: after 8 lines of header and comments.
    assert_eq!(
        (
            config.interfaces[0].position.line,
            config.interfaces[0].position.column
        ),
        (9, 1)
    );
    assert_eq!(config.interfaces[2].position.line, 16);
    insta::assert_json_snapshot!("seed000", config);
}

/// igmpproxy's shipped example (docs/igmpproxy-differences.md §3.8).
#[test]
fn igmpproxy_shipped_example_loads() {
    let config = ok(include_str!("fixtures/igmpproxy-shipped.conf"));

    assert!(config.quickleave);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let (role, eth0) = config.interface("eth0");
    assert_eq!(role, Role::Upstream);
    assert_eq!(eth0.altnets, vec![net("10.0.0.0/8"), net("192.168.0.0/24")]);
    assert_eq!(config.interface("eth1").0, Role::Downstream);
    assert_eq!(config.interface("eth2").0, Role::Disabled);
    // Interfaces not listed keep the default role: disabled without `defaultdown`.
    assert_eq!(config.interface("eth3").0, Role::Disabled);
    insta::assert_json_snapshot!("igmpproxy_shipped", config);
}

/// The altnet lines on their own lines still belong to the block: line breaks mean nothing.
#[test]
fn shipped_example_on_one_line_is_the_same_config() {
    let flat = "quickleave phyint eth0 upstream ratelimit 0 threshold 1 altnet 10.0.0.0/8 \
                altnet 192.168.0.0/24 phyint eth1 downstream ratelimit 0 threshold 1 phyint eth2 disabled";
    let a = ok(flat);
    let b = ok(include_str!("fixtures/igmpproxy-shipped.conf"));
    let strip = |c: &mrproxy_config::Config| {
        c.interfaces
            .iter()
            .map(|i| (i.name.clone(), i.role, i.settings.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(a.quickleave, b.quickleave);
}
