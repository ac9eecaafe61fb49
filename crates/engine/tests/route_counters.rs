//! The engine's one read of the kernel: forwarding entries' packet counters, through
//! `RouteCounters` during `Engine::timeout` (idle expiry, `routes.rs`).

mod support;

use mrproxy_engine::{
    Action, AnySourceGroup, Engine, Event, IfIndex, ROUTE_SAMPLE_INTERVAL, SourceGroup, Timestamp,
};
use std::cell::Cell;
use std::net::Ipv4Addr;
use support::v4_interface;

const UP: IfIndex = IfIndex(1);
const SG: SourceGroup<Ipv4Addr> = SourceGroup {
    source: Ipv4Addr::new(192, 0, 2, 99),
    group: Ipv4Addr::new(239, 1, 2, 3),
};

/// An engine with one upstream and one (S,G) entry installed at 0 ms.
fn engine_with_an_entry() -> Engine {
    let text = "phyint up0 upstream ipv6 off\nphyint dn0 downstream ipv6 off\n";
    let mut engine = Engine::new(mrproxy_config::parse(text, "t.conf").unwrap(), Timestamp(0));
    let _ = engine.handle(
        Timestamp(0),
        v4_interface(UP, "up0", Ipv4Addr::new(192, 0, 2, 1), 24),
    );
    let _ = engine.handle(
        Timestamp(0),
        v4_interface(IfIndex(2), "dn0", Ipv4Addr::new(198, 51, 100, 1), 24),
    );
    let out = engine.handle(
        Timestamp(0),
        Event::NoCache {
            iif: UP,
            sg: SG.into(),
        },
    );
    assert!(matches!(out.actions.as_slice(), [Action::SetRoute { .. }]));
    engine
}

fn deleted(actions: &[Action]) -> bool {
    actions.contains(&Action::DeleteRoute(SG.into()))
}

#[test]
fn counters_are_read_once_per_interval_and_an_unreadable_entry_counts_as_idle() {
    let mut engine = engine_with_an_entry();
    let sample_at = Timestamp(ROUTE_SAMPLE_INTERVAL.as_millis() as u64);
    let reads = Cell::new(0);
    let moving = |sg: AnySourceGroup| {
        assert_eq!(sg, AnySourceGroup::from(SG));
        reads.set(reads.get() + 1);
        Some(reads.get())
    };
    // Nothing is read before the entry's sample is due.
    let _ = engine.timeout(Timestamp(sample_at.0 - 1), &moving);
    assert_eq!(reads.get(), 0);
    let out = engine.timeout(sample_at, &moving);
    assert_eq!(reads.get(), 1);
    assert!(!deleted(&out.actions), "the counter moved: the entry stays");
    // `None` (no such entry, or unreadable) counts as 0 packets: after the reading of 1 the
    // counter went back, which counts as activity; still 0 an interval later, it is idle.
    let out = engine.timeout(Timestamp(sample_at.0 * 2), &|_| None);
    assert!(
        !deleted(&out.actions),
        "a counter that went back counts as activity"
    );
    let out = engine.timeout(Timestamp(sample_at.0 * 3), &|_| None);
    assert!(
        deleted(&out.actions),
        "still 0 a whole interval later: idle"
    );
    assert!(engine.status(Timestamp(sample_at.0 * 3)).routes.is_empty());
}
