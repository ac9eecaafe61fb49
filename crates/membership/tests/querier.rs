//! Querier election and the general-query schedule (RFC 9776 §6.6.2, RFC 2236 §3), the
//! adoption of the querier's QRV/QQI (§4.1.6, §4.1.7) and the older-querier warning (§7.3.1).

mod common;
use common::*;
use mrproxy_membership::{
    Message, Mode, Output, Port, PortConfig, PortEvent, Query, RecordKind, Timestamp,
};
use std::time::Duration;

/// Runs the port by its own deadlines until `until_ms` and returns the send times of every
/// general query (ms).
fn general_query_times(lab: &mut Lab, until_ms: u64) -> Vec<u64> {
    let mut times = Vec::new();
    while let Some(next) = lab.port.next_deadline() {
        if next.as_millis() > until_ms {
            break;
        }
        let out = lab.advance_to(next.as_millis());
        for sent in &out.send {
            assert_eq!(sent.query.group, None, "only general queries in this run");
            times.push(lab.now.as_millis());
        }
    }
    times
}

#[test]
fn startup_queries_then_one_every_query_interval_exactly() {
    let mut lab = Lab::without_address(PortConfig::rfc_defaults(Mode::V3));
    assert_eq!(lab.port.next_deadline(), None);
    let out = lab.set_address(Some(ME));
    assert!(out.querier_changed);
    assert_eq!(out.send, vec![general(Mode::V3)]);
    assert!(lab.port.is_querier());
    assert_eq!(lab.port.querier_address(), Some(ME));

    // Two hours: startup query at 0 and 31.25 s (RFC 9776 §8.6, §8.7), then every 125 s (D1).
    let mut times = vec![0];
    times.extend(general_query_times(&mut lab, 7_200_000));
    assert_eq!(&times[..3], &[0, 31_250, 156_250]);
    for pair in times[1..].windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            125_000,
            "query spacing after startup: {times:?}"
        );
    }
    assert_eq!(times.len(), 2 + (7_200_000 - 31_250) / 125_000);
}

#[test]
fn frequent_wake_ups_never_make_queries_faster() {
    let mut lab = Lab::v3();
    let mut sent_at = vec![0];
    // The caller wakes every 700 ms whatever the deadline says (D1: igmpproxy's loop advanced
    // its clock by the full wait on each wake-up, and queried every 6-22 s).
    for _ in 0..1500 {
        let out = lab.advance(ms(700));
        sent_at.extend(out.send.iter().map(|_| lab.now.as_millis()));
    }
    let gaps: Vec<u64> = sent_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 8, "{sent_at:?}");
    assert!(gaps[0] >= 31_250 && gaps[0] < 31_250 + 700);
    for gap in &gaps[1..] {
        // Sent at the first wake-up at or after each deadline; the schedule itself never drifts.
        assert!((125_000 - 700..=125_000 + 700).contains(gap), "{gaps:?}");
    }
}

#[test]
fn a_long_stall_sends_one_query_not_a_burst() {
    let mut lab = Lab::v3();
    let out = lab.advance(secs(3600));
    assert_eq!(out.send, vec![general(Mode::V3)]);
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(125)));
}

#[test]
fn lower_address_wins_then_other_querier_present_expiry() {
    let mut lab = Lab::v3();
    lab.advance(secs(40)); // past both startup queries
    let out = lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
    assert!(out.querier_changed);
    assert!(out.send.is_empty());
    assert!(!lab.port.is_querier());
    assert_eq!(lab.port.querier_address(), Some(LOWER));
    // Other Querier Present Interval = 2 × 125 + 10 / 2 = 255 s (RFC 9776 §8.5).
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(255)));
    let out = lab.advance(ms(254_999));
    assert!(
        out.send.is_empty() && !out.querier_changed,
        "a non-querier sends no query"
    );
    let out = lab.advance(ms(1));
    assert!(out.querier_changed);
    assert_eq!(
        out.send,
        vec![general(Mode::V3)],
        "querier again: a general query at once"
    );
    assert_eq!(lab.port.querier_address(), Some(ME));
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(125)));
}

#[test]
fn queries_of_the_querier_keep_us_non_querier() {
    let mut lab = Lab::v3();
    let mut out = Output::new();
    for _ in 0..10 {
        out = lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
        lab.advance(secs(125));
    }
    assert!(
        !out.querier_changed,
        "the same querier again changes nothing"
    );
    assert!(!lab.port.is_querier());
}

#[test]
fn higher_address_changes_nothing() {
    let mut lab = Lab::v3();
    let out = lab.receive(HIGHER, heard_query(Mode::V3, None, secs(10), false, &[]));
    assert!(out.is_empty());
    assert!(lab.port.is_querier());
    assert_eq!(lab.port.querier_address(), Some(ME));
}

#[test]
fn v1_and_v2_queries_count_for_election() {
    for version in [Mode::V1, Mode::V2] {
        let mut lab = Lab::new(PortConfig::rfc_defaults(version));
        let out = lab.receive(LOWER, heard_query(version, None, secs(10), false, &[]));
        assert!(out.querier_changed, "{version:?}");
        assert!(!lab.port.is_querier(), "{version:?}");
        assert_eq!(lab.port.querier_address(), Some(LOWER));
    }
}

#[test]
fn non_querier_adopts_qrv_and_qqi() {
    let mut lab = Lab::v3();
    let mut query = Query {
        version: Mode::V3,
        group: None,
        max_response: secs(10),
        suppress: false,
        qrv: 3,
        qqi: secs(60),
        sources: vec![],
    };
    lab.receive(LOWER, Message::Query(query.clone()));
    // OQPI = 3 × 60 + 5 = 185 s.
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(185)));
    // GMI = 3 × 60 + 10 = 190 s for the timers of reports from now on.
    lab.report(host(1), vec![record(RecordKind::IsExclude, group(1), &[])]);
    assert_eq!(
        lab.group_state(group(1)).map(|g| g.group_timer_ms),
        Some(Some(190_000))
    );

    // QRV 0 / QQIC 0 mean "not given": the configured values apply again.
    query.qrv = 0;
    query.qqi = Duration::ZERO;
    lab.receive(LOWER, Message::Query(query));
    lab.report(host(1), vec![record(RecordKind::IsExclude, group(2), &[])]);
    assert_eq!(
        lab.group_state(group(2)).map(|g| g.group_timer_ms),
        Some(Some(260_000))
    );
    let out = lab.advance_to(190_000);
    assert_eq!(
        out.changed,
        vec![group(1)],
        "the group timed out with the adopted GMI"
    );
    assert_eq!(
        lab.port.next_deadline(),
        Some(Timestamp::from_millis(255_000)),
        "OQPI 255 s again"
    );
}

#[test]
fn adopted_values_are_dropped_when_we_query_again() {
    let mut lab = Lab::v3();
    let query = Query {
        version: Mode::V3,
        group: None,
        max_response: secs(10),
        suppress: false,
        qrv: 4,
        qqi: secs(30),
        sources: vec![],
    };
    lab.receive(LOWER, Message::Query(query));
    let out = lab.advance(secs(4 * 30 + 5));
    assert!(lab.port.is_querier());
    assert_eq!(
        out.send,
        vec![general(Mode::V3)],
        "our own QRV 2 / QQI 125 s again"
    );
    assert_eq!(lab.port.next_deadline(), Some(lab.now + secs(125)));
}

#[test]
fn older_querier_is_reported_but_version_kept() {
    let mut lab = Lab::v3();
    let out = lab.receive(HIGHER, heard_query(Mode::V2, None, secs(10), false, &[]));
    assert_eq!(
        out.events,
        vec![PortEvent::OlderQuerier {
            from: HIGHER,
            heard: Mode::V2
        }]
    );
    assert_eq!(lab.port.config().version, Mode::V3);
    let out = lab.advance(secs(40));
    assert_eq!(
        out.send,
        vec![general(Mode::V3)],
        "still querying in our version"
    );
    let out = lab.receive(HIGHER, heard_query(Mode::V3, None, secs(10), false, &[]));
    assert!(out.events.is_empty());
}

#[test]
fn own_query_looped_back_is_ignored() {
    let mut lab = Lab::v3();
    let out = lab.receive(ME, heard_query(Mode::V3, None, secs(10), false, &[]));
    assert!(out.is_empty());
    assert!(lab.port.is_querier());
    assert_eq!(lab.port.counters().queries_received, 1);
}

/// D34: a receiver on the router itself (udpxy joined on this LAN) reports from our address;
/// it is a member of the link like any host, so the group is proxied for it.
#[test]
fn own_reports_are_a_local_receiver() {
    let mut lab = Lab::v3();
    let out = lab.receive(ME, Message::ReportV2 { group: group(1) });
    assert_eq!(out.changed, vec![group(1)]);
    assert_eq!(lab.port.groups().len(), 1);
    assert_eq!(lab.port.querier_address(), Some(ME), "still the querier");
}

#[test]
fn address_none_and_back() {
    let mut lab = Lab::v3();
    let out = lab.set_address(None);
    assert!(out.querier_changed);
    assert!(!lab.port.is_querier());
    assert_eq!(lab.port.querier_address(), None);
    assert_eq!(lab.port.next_deadline(), None);
    assert!(
        lab.advance(secs(1000)).send.is_empty(),
        "no address: nothing sent"
    );

    // A query heard meanwhile names the querier, but we stay silent.
    lab.receive(HIGHER, heard_query(Mode::V3, None, secs(10), false, &[]));
    assert_eq!(lab.port.querier_address(), Some(HIGHER));
    assert!(!lab.port.is_querier());

    // With an address lower than the known querier's we start as querier, with startup queries.
    let out = lab.set_address(Some(ME));
    assert!(out.querier_changed);
    assert_eq!(out.send, vec![general(Mode::V3)]);
    assert_eq!(lab.port.next_deadline(), Some(lab.now + ms(31_250)));

    // With an address higher than a known querier's we wait for it to go away.
    lab.set_address(None);
    lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
    let out = lab.set_address(Some(ME));
    assert!(out.send.is_empty());
    assert!(!lab.port.is_querier());
}

#[test]
fn address_change_while_querier_keeps_the_schedule() {
    let mut lab = Lab::v3();
    let next = lab.port.next_deadline();
    let out = lab.set_address(Some(HIGHER));
    assert!(out.querier_changed, "the querier address changed");
    assert!(out.send.is_empty());
    assert_eq!(lab.port.querier_address(), Some(HIGHER));
    assert_eq!(lab.port.next_deadline(), next);
}

#[test]
fn query_now_does_not_disturb_the_schedule() {
    let mut lab = Lab::v3();
    lab.advance(secs(100));
    let next = lab.port.next_deadline();
    let mut out = Output::new();
    lab.port.query_now(lab.now, &mut out);
    assert_eq!(out.send, vec![general(Mode::V3)]);
    assert_eq!(lab.port.next_deadline(), next);
    lab.receive(LOWER, heard_query(Mode::V3, None, secs(10), false, &[]));
    let mut out = Output::new();
    lab.port.query_now(lab.now, &mut out);
    assert!(out.send.is_empty(), "a non-querier never queries");
}

#[test]
fn new_intervals_apply_from_the_next_timer_on() {
    let mut lab = Lab::v3();
    lab.report(host(1), vec![record(RecordKind::IsExclude, group(1), &[])]);
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.query_interval = secs(60);
    config.startup_query_interval = secs(15);
    let mut out = Output::new();
    lab.port.set_config(config, lab.now, &mut out);
    assert!(out.is_empty());
    assert_eq!(
        lab.group_state(group(1)).map(|g| g.group_timer_ms),
        Some(Some(260_000)),
        "state kept"
    );
    assert_eq!(
        lab.port.next_deadline(),
        Some(Timestamp::from_millis(31_250)),
        "running timer kept"
    );
    let mut times = vec![];
    for _ in 0..3 {
        let next = lab.port.next_deadline().map_or(0, |t| t.as_millis());
        lab.advance_to(next);
        times.push(next);
    }
    assert_eq!(times, vec![31_250, 91_250, 151_250]);
    // GMI now 2 × 60 + 10.
    lab.report(host(1), vec![record(RecordKind::IsExclude, group(1), &[])]);
    assert_eq!(
        lab.group_state(group(1)).map(|g| g.group_timer_ms),
        Some(Some(130_000))
    );
}

#[test]
fn version_change_applies_at_once() {
    let mut lab = Lab::v3();
    let mut out = Output::new();
    lab.port
        .set_config(PortConfig::rfc_defaults(Mode::V2), lab.now, &mut out);
    let out = lab.advance(ms(31_250));
    assert_eq!(out.send, vec![general(Mode::V2)]);
    assert_eq!(lab.port.snapshot(lab.now).version, Mode::V2);
}

#[test]
fn mld_port_elects_by_link_local_address() {
    use std::net::Ipv6Addr;
    let ours: Ipv6Addr = "fe80::20".parse().unwrap_or(Ipv6Addr::LOCALHOST);
    let lower: Ipv6Addr = "fe80::1".parse().unwrap_or(Ipv6Addr::LOCALHOST);
    let mut port: Port<Ipv6Addr> = Port::new(PortConfig::rfc_defaults(Mode::V3), Timestamp::ZERO);
    let mut out = Output::new();
    port.set_address(Some(ours), Timestamp::ZERO, &mut out);
    assert_eq!(out.send.len(), 1);
    assert_eq!(
        out.send[0].destination,
        "ff02::1".parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::LOCALHOST)
    );
    let query = Query {
        version: Mode::V2,
        group: None,
        max_response: secs(10),
        suppress: false,
        qrv: 0,
        qqi: Duration::ZERO,
        sources: vec![],
    };
    let mut out = Output::new();
    port.receive(
        Timestamp::from_millis(5),
        lower,
        Message::Query(query),
        &mut out,
    );
    assert!(out.querier_changed);
    assert_eq!(
        out.events,
        vec![PortEvent::OlderQuerier {
            from: lower,
            heard: Mode::V2
        }]
    );
    assert_eq!(port.querier_address(), Some(lower));
}
