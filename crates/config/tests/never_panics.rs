//! parse must never panic, and whatever it accepts must satisfy the model's invariants.

use mrproxy_config::{Config, parse};
use proptest::prelude::*;

/// Words the grammar knows, and values of every kind, good and bad.
const SOUP: &[&str] = &[
    "phyint",
    "quickleave",
    "hashtablesize",
    "defaultdown",
    "rescanvif",
    "chroot",
    "user",
    "upstream",
    "downstream",
    "disabled",
    "ratelimit",
    "threshold",
    "altnet",
    "whitelist",
    "blacklist",
    "ssmrange",
    "igmpversion",
    "mldversion",
    "ipv4",
    "ipv6",
    "robustness",
    "queryinterval",
    "queryresponseinterval",
    "lastmemberqueryinterval",
    "lastmemberquerycount",
    "startupqueryinterval",
    "startupquerycount",
    "fastleave",
    "maxgroups",
    "maxsources",
    "maxgroupsperhost",
    "routeralert",
    "rereport",
    "queryonupstreamquery",
    "on",
    "off",
    "require",
    "optional",
    "eth0",
    "eth1",
    "br0",
    "eth0:1",
    "0",
    "1",
    "2",
    "3",
    "7",
    "10",
    "125",
    "255",
    "256",
    "-1",
    "0.5",
    "3174.4",
    "31744",
    "99999999999999999999",
    "x",
    "10.1",
    "0x0a.0.0.1",
    "010.0.0.1",
    "0.0.0.0/0",
    "198.51.100.0/24",
    "10.1.2.3/8",
    "10.0.0.0/abc",
    "10.0.0.0/",
    "10.0.0.0//8",
    "/8",
    "255.255.255.255",
    "232.0.0.0/8",
    "239.1.0.0/16",
    "ff3e::/32",
    "2001:db8::1/64",
    "2001:db8::/129",
    "设置",
    "é",
    "#",
    "#x",
    "\u{c}",
];

fn soup() -> impl Strategy<Value = String> {
    let word = prop::sample::select(SOUP);
    let separator = prop::sample::select(&[" ", "\n", "\t", "\r\n", "", "  "][..]);
    prop::collection::vec((word, separator), 0..40)
        .prop_map(|parts| parts.into_iter().flat_map(|(w, s)| [w, s]).collect())
}

/// Keyword and value pairs that are mostly valid, so that many generated files are accepted and
/// the invariants below get exercised.
fn statement() -> impl Strategy<Value = String> {
    let keyword_value = |k: &'static str, values: &'static [&'static str]| {
        prop::sample::select(values).prop_map(move |v| format!("{k} {v}"))
    };
    let phyint = (
        prop::sample::select(&["eth0", "eth1", "br0", "ppp0", "eth0:1"][..]),
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(&["upstream", "downstream", "disabled"][..])
                    .prop_map(String::from),
                keyword_value("threshold", &["1", "2", "255", "5x"]),
                keyword_value("ratelimit", &["0", "10", "abc"]),
                keyword_value(
                    "altnet",
                    &["0.0.0.0/0", "10.1.2.3/8", "10.1", "2001:db8::/32"]
                ),
                keyword_value("whitelist", &["239.0.0.0/8", "239.1.2.3/16/", "ff3e::/16"]),
                keyword_value("blacklist", &["239.255.255.250", "010.0.0.0/abc"]),
                keyword_value("queryinterval", &["5", "60", "125.5"]),
                keyword_value("queryresponseinterval", &["1", "9.9", "30"]),
                keyword_value("robustness", &["1", "2", "9"]),
                keyword_value("igmpversion", &["1", "2", "3"]),
                keyword_value("rereport", &["off", "30"]),
                keyword_value("ipv4", &["on", "off"]),
                keyword_value("ipv6", &["on", "off"]),
            ],
            0..6,
        ),
    )
        .prop_map(|(name, options)| format!("phyint {name} {}", options.join(" ")));
    prop_oneof![
        phyint,
        prop::sample::select(&["quickleave", "defaultdown", "rescanvif"][..])
            .prop_map(String::from),
        keyword_value("hashtablesize", &["1", "32", "0"]),
        keyword_value("chroot", &["/var/empty"]),
        keyword_value("ssmrange", &["232.0.0.0/8", "ff3e::/32", "239.232.0.0/16"]),
        keyword_value("queryinterval", &["30", "125"]),
        keyword_value("lastmemberquerycount", &["1", "3"]),
        keyword_value("fastleave", &["on", "off"]),
    ]
}

/// What every accepted configuration guarantees to its users.
fn check_invariants(text: &str, config: &Config) {
    let lines = u32::try_from(text.matches('\n').count() + 1).unwrap();
    for (i, a) in config.interfaces.iter().enumerate() {
        assert!(a.name.len() <= 15 && !a.name.is_empty(), "{:?}", a.name);
        assert!(
            config.interfaces[i + 1..].iter().all(|b| b.name != a.name),
            "duplicate {}",
            a.name
        );
    }
    let settings =
        std::iter::once(&config.defaults).chain(config.interfaces.iter().map(|i| &i.settings));
    for s in settings {
        let t = &s.timers;
        assert!(t.query_response_interval < t.query_interval);
        assert!(t.robustness >= 1);
        assert!((1..=255).contains(&s.threshold));
        for prefix in s
            .altnets
            .iter()
            .chain(s.group_filters.iter().map(|f| &f.prefix))
        {
            assert_eq!(*prefix, prefix.trunc(), "host bits left in {prefix}");
        }
    }
    for r in &config.ssm_ranges {
        assert_eq!(*r, r.trunc());
    }
    for w in &config.warnings {
        assert!(
            w.position.line >= 1 && w.position.line <= lines && w.position.column >= 1,
            "{w}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Ok(config) = parse(&text, "f") {
            check_invariants(&text, &config);
        }
    }

    #[test]
    fn mostly_valid_files_keep_the_invariants(statements in prop::collection::vec(statement(), 1..12)) {
        let text = statements.join("\n");
        if let Ok(config) = parse(&text, "f") {
            check_invariants(&text, &config);
        }
    }

    #[test]
    fn keyword_soup_never_panics(text in soup()) {
        match parse(&text, "f") {
            Ok(config) => check_invariants(&text, &config),
            Err(e) => {
                let lines = u32::try_from(text.matches('\n').count() + 1).unwrap();
                prop_assert!(e.position.line >= 1 && e.position.line <= lines, "{}", e);
                prop_assert!(e.position.column >= 1);
                prop_assert!(!e.message.contains('\n'), "{}", e);
            }
        }
    }
}
