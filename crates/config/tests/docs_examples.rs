//! The examples in docs/mrproxy.conf.5.md must load as documented, without warnings.

mod common;

use mrproxy_config::Role;

const MANUAL: &str = include_str!("../../../docs/mrproxy.conf.5.md");

/// The fenced code blocks of one `## SECTION` of the manual.
fn code_blocks(section: &str) -> Vec<String> {
    let heading = format!("## {section}\n");
    let start = MANUAL.find(&heading).expect("section exists") + heading.len();
    let body = &MANUAL[start..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    body.split("```")
        .skip(1)
        .step_by(2)
        .map(|b| b.trim_start_matches('\n').to_owned())
        .collect()
}

#[test]
fn every_example_loads_without_warnings() {
    let examples = code_blocks("EXAMPLES");
    assert_eq!(examples.len(), 4);
    for example in &examples {
        let c = common::ok(example);
        assert!(c.warnings.is_empty(), "{example}\n{:?}", c.warnings);
        assert!(
            c.interfaces.iter().any(|i| i.role == Role::Upstream),
            "{example}"
        );
    }
    // The third example's global keywords come before the blocks, so both interfaces get them.
    let c = common::ok(&examples[2]);
    for name in ["eth0.4", "br-lan"] {
        assert_eq!(
            c.interface(name)
                .1
                .timers
                .last_member_query_interval
                .as_millis(),
            500
        );
    }
    assert_eq!(
        c.interface("eth0.4").1.rereport.map(|d| d.as_secs()),
        Some(60)
    );
}

#[test]
fn the_block_example_means_what_the_manual_says() {
    let blocks = code_blocks("DESCRIPTION");
    let example = blocks
        .iter()
        .find(|b| b.contains("queryinterval 60"))
        .expect("example");
    let c = common::ok(example);
    assert_eq!(c.interface("eth0").1.timers.query_interval.as_secs(), 60);
    assert_eq!(c.defaults.timers.query_interval.as_secs(), 125);
}

#[test]
fn diagnostics_shown_in_the_manual_are_real() {
    let shown = code_blocks("DIAGNOSTICS").join("");
    let cases = [
        "quickleave\n\n\nphyint eth0 threshold x",
        "quickleave\n\n\n\n\n\n\n\nphyin eth0",
        "queryinterval 20\nqueryresponseinterval 20",
    ];
    for case in cases {
        let message = mrproxy_config::parse(case, "/etc/igmpproxy.conf")
            .unwrap_err()
            .to_string();
        assert!(shown.contains(&message), "manual lacks: {message}");
    }
}
