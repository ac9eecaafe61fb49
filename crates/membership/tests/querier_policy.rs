//! The querier role against other routers and forged queries: adopted QRV/QQI are bounded by our
//! own configuration (RFC 9776 §4.1.6, §4.1.7, §8.5), and `QuerierPolicy::Always` never yields
//! (RFC 4605 §4.2 trade-off, documented on `QuerierPolicy`).

mod common;
use common::*;
use mrproxy_membership::{
    Message, Mode, Output, PortConfig, PortEvent, QuerierPolicy, Query, RecordKind,
};
use std::time::Duration;

fn query_with(qrv: u8, qqi: Duration) -> Message<A> {
    Message::Query(Query {
        version: Mode::V3,
        group: None,
        max_response: secs(10),
        suppress: false,
        qrv,
        qqi,
        sources: vec![],
    })
}

fn always() -> Lab {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.querier_policy = QuerierPolicy::Always;
    Lab::new(config)
}

#[test]
fn a_forged_query_with_qrv_7_and_qqic_255_yields_the_role_only_for_our_own_oqpi() {
    let mut lab = Lab::v3();
    lab.advance(secs(40)); // past both startup queries
    // QQIC 255 encodes 31 744 s (RFC 9776 §4.1.7): RV × QI would be 7 × 31 744 s.
    let out = lab.receive(LOWER, query_with(7, secs(31_744)));
    assert!(out.querier_changed);
    assert!(!lab.port.is_querier());
    assert_eq!(lab.port.querier_address(), Some(LOWER));
    // Our own OQPI: 2 × 125 s + 10 s / 2 = 255 s, not 7 × 31 744 s.
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(255)));
    // Group timers keep our own GMI too.
    lab.report(host(1), vec![record(RecordKind::IsExclude, group(1), &[])]);
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(260_000)
    );
    let out = lab.advance(ms(254_999));
    assert!(out.send.is_empty() && !out.querier_changed);
    let out = lab.advance(ms(1));
    assert!(out.querier_changed, "the role is taken back at our OQPI");
    assert_eq!(out.send, vec![general(Mode::V3)]);
    assert!(lab.port.is_querier());
    let out = lab.advance(secs(125));
    assert_eq!(out.send, vec![general(Mode::V3)], "then every 125 s");
}

#[test]
fn a_forged_qrv_alone_cannot_lengthen_the_other_querier_present_interval() {
    let mut lab = Lab::v3();
    lab.receive(LOWER, query_with(7, Duration::ZERO));
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(255)));
    lab.receive(LOWER, query_with(0, secs(3_000)));
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(255)));
}

#[test]
fn adopted_smaller_values_are_still_honoured() {
    let mut lab = Lab::v3();
    lab.receive(LOWER, query_with(3, secs(60)));
    // OQPI = 3 × 60 + 10 / 2 = 185 s; GMI = 3 × 60 + 10 = 190 s.
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(185)));
    // A larger QRV with a shorter QQI stays within 2 × 125 s: honoured (7 × 30 + 5 = 215 s).
    lab.receive(LOWER, query_with(7, secs(30)));
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(215)));
    lab.receive(LOWER, query_with(3, secs(60)));
    lab.report(host(1), vec![record(RecordKind::IsExclude, group(1), &[])]);
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(190_000)
    );
}

#[test]
fn always_never_yields_to_a_lower_address() {
    let mut lab = always();
    let mut times = Vec::new();
    // A lower-addressed router queries every 10 s for ten minutes, with a forged QRV/QQI.
    for _ in 0..60 {
        let out = lab.receive(LOWER, query_with(7, secs(31_744)));
        assert!(!out.querier_changed);
        assert!(out.send.is_empty());
        let out = lab.advance(secs(10));
        assert!(!out.querier_changed);
        times.extend(out.send.iter().map(|sent| {
            assert_eq!(sent, &general(Mode::V3), "our own QRV 2 / QQI 125 s");
            lab.now.as_millis()
        }));
    }
    assert!(lab.port.is_querier());
    assert_eq!(lab.port.querier_address(), Some(ME));
    assert_eq!(lab.port.counters().queries_received, 60);
    // On schedule: the second startup query at 31.25 s, then every 125 s (at the next 10 s step).
    assert_eq!(times, vec![40_000, 160_000, 290_000, 410_000, 540_000]);
}

#[test]
fn always_still_lowers_timers_on_another_routers_group_specific_query() {
    let mut lab = always();
    lab.report(
        host(1),
        vec![
            record(RecordKind::IsExclude, group(1), &[]),
            record(RecordKind::Allow, group(1), &[1]),
        ],
    );
    let out = lab.receive(
        LOWER,
        heard_query(Mode::V3, Some(group(1)), secs(1), false, &[]),
    );
    assert!(!out.querier_changed);
    assert_eq!(
        lab.group_state(group(1)).and_then(|g| g.group_timer_ms),
        Some(2_000),
        "RFC 9776 §6.6.1: LMQC × Max Resp"
    );
    lab.receive(
        LOWER,
        heard_query(Mode::V3, Some(group(1)), ms(500), false, &[1]),
    );
    assert_eq!(lab.source_timer(group(1), source(1)), Some(1_000));
    assert!(lab.port.is_querier());
    assert_eq!(lab.advance(secs(1)).changed, vec![group(1)]);
    assert!(
        !lab.port.wants(&group(1), &source(1)),
        "source 1 ran out: in Y"
    );
    assert_eq!(
        lab.advance(secs(1)).changed,
        vec![group(1)],
        "group timer ran out"
    );
}

#[test]
fn always_still_reports_an_older_querier() {
    let mut lab = always();
    let out = lab.receive(LOWER, heard_query(Mode::V2, None, secs(10), false, &[]));
    assert_eq!(
        out.events,
        vec![PortEvent::OlderQuerier {
            from: LOWER,
            heard: Mode::V2
        }]
    );
    assert!(lab.port.is_querier());
}

#[test]
fn always_takes_the_role_when_an_address_comes_even_with_a_lower_querier_known() {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.querier_policy = QuerierPolicy::Always;
    let mut lab = Lab::without_address(config);
    lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
    assert_eq!(
        lab.port.querier_address(),
        Some(LOWER),
        "heard while silent"
    );
    let out = lab.set_address(Some(ME));
    assert!(out.querier_changed);
    assert_eq!(out.send, vec![general(Mode::V3)]);
    assert!(lab.port.is_querier());
}

#[test]
fn switching_to_always_takes_the_role_back_at_once() {
    let mut lab = Lab::v3();
    lab.receive(LOWER, query_with(3, secs(60)));
    assert!(!lab.port.is_querier());
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.querier_policy = QuerierPolicy::Always;
    let mut out = Output::new();
    lab.port.set_config(config.clone(), lab.now, &mut out);
    assert!(out.querier_changed);
    assert_eq!(out.send, vec![general(Mode::V3)], "our own values again");
    assert!(lab.port.is_querier());
    // Switching back to Auto changes nothing until another query is heard.
    config.querier_policy = QuerierPolicy::Auto;
    let mut out = Output::new();
    lab.port.set_config(config, lab.now, &mut out);
    assert!(out.is_empty());
    assert!(lab.port.is_querier());
}
