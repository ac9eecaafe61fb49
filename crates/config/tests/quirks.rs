//! igmpproxy's lexical and value quirks: what mrproxy reads, and what it warns about.

mod common;

use common::{ok, warning_table, warnings};
use ipnet::IpNet;
use mrproxy_config::Role;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn glued_comment_ends_the_token_with_a_warning() {
    let text = "phyint eth0 upstream# the uplink\n  altnet 198.51.100.0/24#sources\nphyint eth1 downstream";
    let c = ok(text);
    assert_eq!(c.interface("eth0").0, Role::Upstream);
    assert_eq!(c.interface("eth0").1.altnets, vec![net("198.51.100.0/24")]);
    assert_eq!(c.interface("eth1").0, Role::Downstream);
    let positions: Vec<(u32, u32)> = c
        .warnings
        .iter()
        .map(|w| (w.position.line, w.position.column))
        .collect();
    assert_eq!(positions, vec![(1, 21), (2, 25)]);
    insta::assert_json_snapshot!("glued_comment", c);
}

#[test]
fn long_tokens_are_kept_whole() {
    // igmpproxy cuts tokens at 29 characters (D29): this chroot failed there.
    let dir = "/srv/chroots/igmp-multicast-proxy/with/a/long/path";
    let c = ok(&format!(
        "chroot {dir}\nuser a-rather-long-service-account-name"
    ));
    assert_eq!(c.chroot.as_deref(), Some(std::path::Path::new(dir)));
    assert_eq!(
        c.user.as_deref(),
        Some("a-rather-long-service-account-name")
    );
}

#[test]
fn keywords_spread_over_lines_and_separators() {
    let text =
        "phyint\n\n\teth0\r\n\r\nupstream\tratelimit\n0\nthreshold\n\n2 altnet\n198.51.100.0/24";
    let c = ok(text);
    let (role, s) = c.interface("eth0");
    assert_eq!((role, s.ratelimit, s.threshold), (Role::Upstream, 0, 2));
    assert_eq!(s.altnets, vec![net("198.51.100.0/24")]);
    assert_eq!(
        (
            c.interfaces[0].position.line,
            c.interfaces[0].position.column
        ),
        (1, 1)
    );
}

#[test]
fn defaultdown_applies_to_later_blocks_and_to_unlisted_interfaces() {
    let text = "phyint eth0\nphyint eth1 upstream\ndefaultdown\nphyint eth2\nphyint eth3 disabled";
    let c = ok(text);
    let roles: Vec<(&str, Role)> = c
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.role))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("eth0", Role::Disabled),
            ("eth1", Role::Upstream),
            ("eth2", Role::Downstream),
            ("eth3", Role::Disabled)
        ]
    );
    assert_eq!(c.default_role, Role::Downstream);
    assert_eq!(c.interface("eth9").0, Role::Downstream);
    insta::assert_json_snapshot!("defaultdown_order", c);
}

#[test]
fn duplicate_phyint_keeps_the_first_and_warns() {
    let text = "phyint eth0 upstream\nphyint eth1 downstream\nphyint eth0 downstream threshold 9";
    let c = ok(text);
    assert_eq!(c.interfaces.len(), 2);
    let (role, s) = c.interface("eth0");
    assert_eq!((role, s.threshold), (Role::Upstream, 1));
    assert_eq!(c.warnings.len(), 1);
    insta::assert_snapshot!("duplicate_phyint", warnings(text).join("\n"));
}

#[test]
fn alias_labels_are_their_own_blocks_and_match_the_base_name() {
    let c = ok("phyint eth0:1 downstream phyint eth1 upstream");
    assert_eq!(c.interfaces[0].name, "eth0:1");
    assert_eq!(c.interface("eth0").0, Role::Downstream);
}

#[test]
fn legacy_address_forms_are_read_like_inet_addr() {
    let cases = [
        ("10.1", "10.0.0.1/32"),
        ("10.1.2", "10.1.0.2/32"),
        ("0x0a000001", "10.0.0.1/32"),
        ("0x0a.0.0.1/32", "10.0.0.1/32"),
        ("010.0.0.0/8", "8.0.0.0/8"),
        ("192.0.2.010", "192.0.2.8/32"),
        ("3221225985", "192.0.2.1/32"),
    ];
    for (written, read) in cases {
        let c = ok(&format!("phyint eth0 altnet {written}"));
        assert_eq!(c.interface("eth0").1.altnets, vec![net(read)], "{written}");
        assert_eq!(c.warnings.len(), 1, "{written}: {:?}", c.warnings);
    }
    insta::assert_snapshot!(
        "legacy_address_forms",
        warning_table(&[
            "phyint eth0 altnet 10.1",
            "phyint eth0 whitelist 010.0.0.0/8"
        ])
    );
}

#[test]
fn host_bits_are_masked_with_a_warning() {
    let c = ok("phyint eth0 altnet 10.1.2.3/8 whitelist 239.1.2.3/16 blacklist ff3e::1:2/112");
    let (_, s) = c.interface("eth0");
    assert_eq!(s.altnets, vec![net("10.0.0.0/8")]);
    assert_eq!(s.group_filters[0].prefix, net("239.1.0.0/16"));
    assert_eq!(s.group_filters[1].prefix, net("ff3e::1:0/112"));
    // igmpproxy matched nothing with such a prefix (D28); masked, it matches the network.
    assert!(s.allows_group("239.1.200.1".parse().unwrap()));
    insta::assert_snapshot!(
        "host_bits",
        warning_table(&[
            "phyint eth0 altnet 10.1.2.3/8 whitelist 239.1.2.3/16 blacklist ff3e::1:2/112"
        ])
    );
}

#[test]
fn non_numeric_prefix_lengths_read_as_igmpproxy_reads_them() {
    // atoi("abc") = 0: igmpproxy silently made this a /0.
    let c = ok("phyint eth0 altnet 10.0.0.0/abc");
    assert_eq!(c.interface("eth0").1.altnets, vec![net("0.0.0.0/0")]);
    // Host bits are then masked too; both facts are told.
    assert_eq!(c.warnings.len(), 2);
    let c = ok("phyint eth0 altnet 198.51.100.0/24x");
    assert_eq!(c.interface("eth0").1.altnets, vec![net("198.51.100.0/24")]);
    // strtok skips doubled slashes; a trailing slash leaves the /32.
    let c = ok("phyint eth0 altnet 198.51.100.0//24 altnet 198.51.100.7/");
    assert_eq!(
        c.interface("eth0").1.altnets,
        vec![net("198.51.100.0/24"), net("198.51.100.7/32")]
    );
    insta::assert_snapshot!(
        "prefix_length_quirks",
        warning_table(&[
            "phyint eth0 altnet 10.0.0.0/abc",
            "phyint eth0 altnet 198.51.100.0/24x",
            "phyint eth0 altnet 198.51.100.0//24 altnet 198.51.100.7/",
        ])
    );
}

#[test]
fn igmpproxy_numbers_are_read_with_atoi() {
    let c = ok("phyint eth0 threshold 5x ratelimit abc");
    let (_, s) = c.interface("eth0");
    assert_eq!((s.threshold, s.ratelimit), (5, 0));
    let c = ok("quickleave hashtablesize 64k");
    assert_eq!(c.hashtablesize, Some(64));
    insta::assert_snapshot!(
        "atoi_numbers",
        warning_table(&[
            "phyint eth0 threshold 5x ratelimit abc",
            "quickleave hashtablesize 64k"
        ])
    );
}

#[test]
fn ratelimit_is_warned_about_once() {
    let text = "phyint eth0 ratelimit 100\nphyint eth1 ratelimit 0\nphyint eth2 ratelimit 5";
    let c = ok(text);
    assert_eq!(c.interface("eth2").1.ratelimit, 5);
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(c.warnings[0].position.line, 1);
    insta::assert_snapshot!("ratelimit_once", warnings(text).join("\n"));
}

#[test]
fn extension_keyword_after_a_block_belongs_to_the_block() {
    // A block ends at the first token that is not one of its options; extension keywords are
    // options, so this queryinterval is eth0's.
    let c = ok("phyint eth0 upstream\nqueryinterval 60\n");
    assert_eq!(c.interface("eth0").1.timers.query_interval.as_secs(), 60);
    assert_eq!(c.defaults.timers.query_interval.as_secs(), 125);
    // After a global keyword it is top level again.
    let c = ok("phyint eth0 upstream\nquickleave\nqueryinterval 60\n");
    assert_eq!(c.defaults.timers.query_interval.as_secs(), 60);
}

#[test]
fn a_keyword_can_be_an_interface_name() {
    // igmpproxy takes the token after phyint as the name, whatever it is.
    let c = ok("phyint upstream downstream");
    assert_eq!(c.interfaces[0].name, "upstream");
    assert_eq!(c.interfaces[0].role, Role::Downstream);
}

#[test]
fn form_feed_is_part_of_a_token() {
    // Only space, tab, CR and LF separate tokens (docs/igmpproxy-differences.md §3.1).
    let e = common::err("quickleave\x0c");
    assert!(e.contains("unknown keyword 'quickleave\\u{c}'"), "{e}");
}

#[test]
fn quirk_warnings_overview() {
    insta::assert_snapshot!(
        "quirk_warnings",
        warning_table(&[
            "robustness 1",
            "robustness 8",
            "igmpversion 1 queryresponseinterval 5",
            "phyint eth0 downstream igmpversion 1\nphyint eth1 downstream igmpversion 1\nqueryresponseinterval 5",
            "phyint eth0 downstream ipv4 off ipv6 off",
            "phyint eth0 disabled ipv4 off ipv6 off",
            "phyint eth0 upstream rereport 60\nphyint eth1 downstream rereport 60",
        ])
    );
}
