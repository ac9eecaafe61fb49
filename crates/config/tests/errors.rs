//! Every way a file is rejected, with the message an operator gets. Positions are file:line:column
//! with columns in characters.

mod common;

use common::{FILE, err, error_table};
use mrproxy_config::parse;

#[test]
fn empty_files() {
    insta::assert_snapshot!(
        "empty",
        error_table(&[
            "",
            "   \n\t\r\n",
            "# only a comment\n# and another",
            "\n\n  # x\n  "
        ])
    );
}

#[test]
fn unknown_keywords() {
    insta::assert_snapshot!(
        "unknown_keywords",
        error_table(&[
            "quickleave\nbogus",
            "phyin eth0 upstream",
            "Quickleave",
            "PHYINT eth0",
            "quickleave\nfilter 239.255.255.250",
            "phyint eth0 upstream altnet 10.0.0.0/8 192.168.0.0/24",
            "phyint eth0 whitelist 239.1.0.0/16 239.2.0.0/16",
            "ssmrange 232.0.0.0/8 232.1.0.0/16",
            "phyint eth0 threshold 1 2",
            "设置 eth0",
        ])
    );
}

/// igmpproxy's example at commit 72293bf still had a `filter` line, which igmpproxy 0.4 rejects
/// too ("Unknown token 'filter' in configfile").
#[test]
fn old_example_with_filter_keyword_is_rejected_with_a_hint() {
    let e = err("quickleave\n\nfilter 239.255.255.250\n\nphyint eth0 upstream");
    assert!(
        e.starts_with("igmpproxy.conf:3:1: unknown keyword 'filter'"),
        "{e}"
    );
    assert!(e.contains("blacklist PREFIX"), "{e}");
}

#[test]
fn phyint_options_at_top_level() {
    insta::assert_snapshot!(
        "phyint_option_at_top_level",
        error_table(&[
            "upstream",
            "quickleave threshold 2",
            "phyint eth0\nquickleave\naltnet 10.0.0.0/8"
        ])
    );
}

#[test]
fn missing_arguments_at_end_of_file() {
    insta::assert_snapshot!(
        "missing_arguments",
        error_table(&[
            "phyint",
            "chroot",
            "user",
            "quickleave hashtablesize",
            "ssmrange",
            "phyint eth0 ratelimit",
            "phyint eth0 threshold",
            "phyint eth0 altnet",
            "phyint eth0 whitelist",
            "phyint eth0 blacklist",
            "queryinterval",
            "phyint eth0 igmpversion",
            "phyint eth0 ipv6",
            "robustness",
            "routeralert",
        ])
    );
}

#[test]
fn interface_names() {
    insta::assert_snapshot!(
        "interface_names",
        error_table(&[
            "phyint a-very-long-ifname upstream",
            "phyint éééééééé upstream"
        ])
    );
    // 15 bytes is the limit and accepted.
    assert!(parse("phyint abcdefghijklmno upstream", FILE).is_ok());
}

#[test]
fn igmpproxy_numbers() {
    insta::assert_snapshot!(
        "igmpproxy_numbers",
        error_table(&[
            "hashtablesize 64",
            "phyint eth0\nhashtablesize 64\nquickleave",
            "quickleave hashtablesize x",
            "quickleave hashtablesize 0",
            "quickleave hashtablesize 536870913",
            "quickleave hashtablesize -5",
            "phyint eth0 threshold x",
            "phyint eth0 threshold 0",
            "phyint eth0 threshold 256",
            "phyint eth0 threshold -1",
            "phyint eth0 threshold 99999999999999999999",
            "phyint eth0 ratelimit -1",
            "phyint eth0 ratelimit 4294967296",
        ])
    );
}

#[test]
fn prefixes() {
    insta::assert_snapshot!(
        "prefixes",
        error_table(&[
            "phyint eth0 altnet x",
            "phyint eth0 altnet 10.0.0.0/33",
            "phyint eth0 altnet 10.0.0.0/-1",
            "phyint eth0 whitelist 255.255.255.255",
            "phyint eth0 blacklist 0xffffffff/32",
            "phyint eth0 altnet 256.1.1.1",
            "phyint eth0 altnet /8",
            "phyint eth0 altnet 2001:db8::/129",
            "phyint eth0 altnet 2001:db8::/abc",
            "phyint eth0 altnet 2001:db8::zz/64",
            "ssmrange 232.1",
            "ssmrange 232.0.0.0/abc",
            "ssmrange 10.0.0.0/8",
            "ssmrange 224.0.0.0/3",
            "ssmrange 2001:db8::/32",
        ])
    );
}

#[test]
fn extension_values() {
    insta::assert_snapshot!(
        "extension_values",
        error_table(&[
            "igmpversion 4",
            "mldversion 3",
            "ipv4 yes",
            "phyint eth0 fastleave 1",
            "routeralert always",
            "robustness 0",
            "robustness 256",
            "robustness two",
            "lastmemberquerycount 0",
            "startupquerycount 1000",
            "maxgroups 0",
            "maxsources 4294967296",
            "maxgroupsperhost 99999999999999999999999",
            "maxgroups -1",
            "queryinterval 0",
            "queryinterval 0.5",
            "queryinterval 31745",
            "queryinterval 10s",
            "queryinterval 1.2345",
            "queryresponseinterval 0.05",
            "queryresponseinterval 3174.5",
            "lastmemberqueryinterval 0",
            "lastmemberqueryinterval 3175",
            "startupqueryinterval 0",
            "startupqueryinterval 40000",
            "rereport 0.5",
            "rereport never",
            "rereport 86401",
            "queryonupstreamquery enabled",
            "querier never",
            "forwardnonquerier yes",
            "maxhosts 0",
            "maxrecords x",
            "upcallrate 0",
            "maxroutes 4294967296",
            "maxtotalroutes 0",
            "maxtotalroutes many",
        ])
    );
}

#[test]
fn query_response_interval_must_be_below_query_interval() {
    insta::assert_snapshot!(
        "timer_relations",
        error_table(&[
            // At top level: the defaults for unlisted interfaces are checked too.
            "queryinterval 10",
            "queryresponseinterval 125",
            "queryinterval 20\nqueryresponseinterval 20",
            // In a block, the block's keyword is blamed.
            "phyint eth0 downstream\n  queryinterval 5",
            "queryresponseinterval 20\nphyint eth0 downstream\n  queryinterval 15",
            // A block's QRI against the top-level QI: the block's keyword.
            "queryinterval 30\nphyint eth0 downstream queryresponseinterval 40",
        ])
    );
}

#[test]
fn columns_count_characters_in_multibyte_text() {
    // A CJK keyword is one column per character; so are the CJK comment before a line and the
    // CJK value after a keyword, and 'é' (two bytes) before a bad value.
    let e = parse("# 设置 ppp0\n设置 x", FILE).unwrap_err();
    assert_eq!((e.position.line, e.position.column), (2, 1));
    let e = parse("phyint ppp0 upstream # 上行\n  threshold 零", FILE).unwrap_err();
    assert_eq!((e.position.line, e.position.column), (2, 13));
    let e = parse("phyint ééé threshold x", FILE).unwrap_err();
    assert_eq!((e.position.line, e.position.column), (1, 22));
    assert_eq!(
        e.to_string(),
        "igmpproxy.conf:1:22: expected a number after 'threshold', found 'x'"
    );
}

#[test]
fn error_carries_file_name_line_and_column() {
    let e = parse(
        "quickleave\n\n  phyint eth0 threshold x\n",
        "/etc/igmpproxy.conf",
    )
    .unwrap_err();
    assert_eq!(e.position.file, "/etc/igmpproxy.conf");
    assert_eq!(
        e.to_string(),
        "/etc/igmpproxy.conf:3:25: expected a number after 'threshold', found 'x'"
    );
}
