//! docs/igmpproxy-differences.md D15: igmpproxy never frees the per-leave `GroupVifDesc` and cannot cancel its
//! timers. Here the engine goes through rounds of thousands of joins, leaves and silent
//! expiries (IGMPv2 and IGMPv3 LANs, several hosts each, forwarding entries with and without
//! listeners), with simulated time run past every timer; afterwards it must hold nothing but
//! the periodic general query: no group, host, upstream membership, forwarding entry or timer.

mod support;

use mrproxy_engine::{
    Action, AnySourceGroup, Engine, Event, FilterMode, IfIndex, Output, RouteCounters, SourceGroup,
    Timestamp,
};
use mrproxy_wire::RecordType;
use mrproxy_wire::igmp::{GroupRecord, Repr};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use support::v4_interface;

const UP0: IfIndex = IfIndex(1);
/// IGMPv2 LAN (`igmpversion 2`), hosts 192.0.2.10–13.
const DN1: IfIndex = IfIndex(2);
/// IGMPv3 LAN, hosts 203.0.113.10–13.
const DN2: IfIndex = IfIndex(3);
const SOURCE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
/// Groups per LAN and round: exactly `maxgroups`, so state left over from a round would make
/// the next round's joins hit the limit.
const GROUPS: u32 = 2_000;
const ROUNDS: u32 = 3;
const HOSTS: u32 = 4;
/// RFC 9776 default Query Interval.
const QI_MS: u64 = 125_000;

const CONFIG: &str = "ipv6 off\nmaxgroups 2000\nmaxgroupsperhost 2000\nupcallrate 1000\n\
    phyint up0 upstream\nphyint dn1 downstream igmpversion 2\nphyint dn2 downstream\n";

fn group(round: u32, i: u32) -> Ipv4Addr {
    let [_, _, hi, lo] = i.to_be_bytes();
    Ipv4Addr::new(239, u8::try_from(10 + round).unwrap(), hi, lo)
}

fn host(lan: IfIndex, n: u32) -> Ipv4Addr {
    let last = u8::try_from(10 + n % HOSTS).unwrap();
    if lan == DN1 {
        Ipv4Addr::new(192, 0, 2, last)
    } else {
        Ipv4Addr::new(203, 0, 113, last)
    }
}

/// The hosts that join group `i`: one, and a second one for every fifth group.
fn members(i: u32) -> Vec<u32> {
    if i.is_multiple_of(5) {
        vec![i, i + 1]
    } else {
        vec![i]
    }
}

fn igmp(ifindex: IfIndex, source: Ipv4Addr, message: Repr) -> Event {
    Event::Igmp {
        ifindex,
        source,
        destination: Ipv4Addr::new(224, 0, 0, 22),
        ttl: 1,
        router_alert: true,
        message,
    }
}

fn v3(record_type: RecordType, group: Ipv4Addr, sources: Vec<Ipv4Addr>) -> Repr {
    Repr::ReportV3 {
        records: vec![GroupRecord {
            record_type,
            group,
            sources,
            aux_data: Vec::new(),
        }],
    }
}

/// The kernel's packet counters: every forwarding entry counts the same packets, one more at
/// each reading while `traffic` is on.
#[derive(Default)]
struct Counters {
    packets: Cell<u64>,
    traffic: bool,
}

impl RouteCounters for Counters {
    fn packets(&self, _sg: AnySourceGroup) -> Option<u64> {
        if self.traffic {
            self.packets.set(self.packets.get() + 1);
        }
        Some(self.packets.get())
    }
}

/// The daemon's side: what the kernel would hold after the engine's actions, and the counters
/// it reads.
struct World {
    engine: Engine,
    now: Timestamp,
    /// Upstream memberships that are not "INCLUDE {}".
    joined: BTreeSet<(IfIndex, IpAddr)>,
    routes: BTreeMap<(IpAddr, IpAddr), Vec<IfIndex>>,
    counters: Counters,
    general_queries: Vec<(Timestamp, IfIndex)>,
    other_sends: usize,
}

impl World {
    fn handle(&mut self, at: Timestamp, event: Event) {
        self.now = at;
        let output = self.engine.handle(self.now, event);
        self.apply(output);
    }

    /// A deadline came: the engine's timers, with the kernel's counters to read.
    fn timeout(&mut self, at: Timestamp) {
        self.now = at;
        let output = self.engine.timeout(self.now, &self.counters);
        self.apply(output);
    }

    fn apply(&mut self, output: Output) {
        for action in output.actions {
            match action {
                Action::SetUpstreamMembership { ifindex, filter } => {
                    if filter.mode() == FilterMode::Include && filter.sources().is_empty() {
                        self.joined.remove(&(ifindex, filter.group()));
                    } else {
                        self.joined.insert((ifindex, filter.group()));
                    }
                }
                Action::SetRoute { sg, oifs, .. } => {
                    self.routes.insert((sg.source(), sg.group()), oifs);
                }
                Action::DeleteRoute(sg) => {
                    self.routes.remove(&(sg.source(), sg.group()));
                }
                Action::SendIgmp {
                    ifindex, message, ..
                } => match message {
                    Repr::QueryV2 { group, .. } | Repr::QueryV3 { group, .. }
                        if group.is_unspecified() =>
                    {
                        self.general_queries.push((self.now, ifindex))
                    }
                    _ => self.other_sends += 1,
                },
                _ => {}
            }
        }
    }

    /// Feeds every timeout due up to `until`, each at its own deadline.
    fn run_until(&mut self, until: Timestamp) {
        while let Some(at) = self.engine.next_deadline().filter(|at| *at <= until) {
            assert!(
                at >= self.now,
                "a deadline in the past: {at:?} < {:?}",
                self.now
            );
            self.timeout(at);
        }
        self.now = until;
    }

    fn port_groups(&self, ifindex: IfIndex) -> usize {
        self.engine
            .downstream_port_v4(ifindex)
            .unwrap()
            .groups()
            .len()
    }

    fn limit_drops(&self, ifindex: IfIndex) -> u64 {
        self.engine
            .downstream_port_v4(ifindex)
            .unwrap()
            .counters()
            .limit_drops
    }
}

fn ms(t: u64) -> Timestamp {
    Timestamp(t)
}

/// D15 (the module comment): after each round the engine holds nothing but the periodic
/// general query.
#[test]
fn thousands_of_joins_leaves_and_expiries_leave_no_state_behind() {
    let mut w = World {
        engine: Engine::new(mrproxy_config::parse(CONFIG, "leaks.conf").unwrap(), ms(0)),
        now: ms(0),
        joined: BTreeSet::new(),
        routes: BTreeMap::new(),
        counters: Counters::default(),
        general_queries: Vec::new(),
        other_sends: 0,
    };
    w.handle(
        ms(0),
        v4_interface(UP0, "up0", Ipv4Addr::new(198, 51, 100, 1), 24),
    );
    w.handle(
        ms(0),
        v4_interface(DN1, "dn1", Ipv4Addr::new(192, 0, 2, 1), 24),
    );
    w.handle(
        ms(0),
        v4_interface(DN2, "dn2", Ipv4Addr::new(203, 0, 113, 1), 24),
    );

    for round in 0..ROUNDS {
        let start = w.now.0 + 1_000;
        // Joins: IGMPv2 reports on dn1; IGMPv3 IS_EX {} (even groups) or IS_IN {SOURCE}
        // (odd groups, source-specific) on dn2.
        for i in 0..GROUPS {
            let g = group(round, i);
            for h in members(i) {
                w.handle(
                    ms(start),
                    igmp(DN1, host(DN1, h), Repr::ReportV2 { group: g }),
                );
                let report = if i % 2 == 0 {
                    v3(RecordType::ModeIsExclude, g, Vec::new())
                } else {
                    v3(RecordType::ModeIsInclude, g, vec![SOURCE])
                };
                w.handle(ms(start), igmp(DN2, host(DN2, h), report));
            }
        }
        assert_eq!(
            (w.port_groups(DN1), w.port_groups(DN2)),
            (2_000, 2_000),
            "round {round}: every join accepted"
        );
        assert_eq!(
            (w.limit_drops(DN1), w.limit_drops(DN2)),
            (0, 0),
            "round {round}"
        );
        assert_eq!(
            w.joined.len(),
            2_000,
            "round {round}: one upstream join per group"
        );

        // Streams for a quarter of the groups, and one for a group no one wants (an entry with
        // no outputs, igmpproxy D35).
        w.counters.traffic = true;
        for i in 0..GROUPS / 4 {
            w.handle(
                ms(start + 1),
                Event::NoCache {
                    iif: UP0,
                    sg: SourceGroup {
                        source: SOURCE,
                        group: group(round, i),
                    }
                    .into(),
                },
            );
        }
        let unwanted = Ipv4Addr::new(239, 99, 0, u8::try_from(round).unwrap());
        w.handle(
            ms(start + 1),
            Event::NoCache {
                iif: UP0,
                sg: SourceGroup {
                    source: SOURCE,
                    group: unwanted,
                }
                .into(),
            },
        );
        let unwanted = IpAddr::V4(unwanted);
        assert_eq!(w.routes.len(), 501);
        assert_eq!(
            w.routes[&(IpAddr::V4(SOURCE), unwanted)],
            Vec::<IfIndex>::new()
        );
        assert!(
            w.routes
                .iter()
                .filter(|((_, g), _)| *g != unwanted)
                .all(|(_, oifs)| *oifs == vec![DN1, DN2]),
            "round {round}: both LANs want every stream"
        );

        // Past a few route samples, then a third of the groups are left explicitly (IGMPv2
        // leave; IGMPv3 TO_IN {} or BLOCK {SOURCE}); the rest go silent and expire.
        w.run_until(ms(start + 130_000));
        let leaves_at = ms(start + 130_000);
        for i in (0..GROUPS).filter(|i| i % 3 == 0) {
            let g = group(round, i);
            for h in members(i) {
                w.handle(
                    leaves_at,
                    igmp(DN1, host(DN1, h), Repr::LeaveV2 { group: g }),
                );
                let leave = if i % 2 == 0 {
                    v3(RecordType::ChangeToInclude, g, Vec::new())
                } else {
                    v3(RecordType::BlockOldSources, g, vec![SOURCE])
                };
                w.handle(leaves_at, igmp(DN2, host(DN2, h), leave));
            }
        }
        w.counters.traffic = false;
        // GMI is 260 s, the IGMPv1/v2 host-present timers as long, idle entries go after two
        // quiet samples (120 s): 10 minutes is past every one of them.
        w.run_until(ms(leaves_at.0 + 600_000));

        let status = w.engine.status(w.now);
        assert_eq!(
            (w.port_groups(DN1), w.port_groups(DN2)),
            (0, 0),
            "round {round}"
        );
        for name in ["dn1", "dn2"] {
            let iface = status.interfaces.iter().find(|i| i.name == name).unwrap();
            let json = serde_json::to_value(&iface.families).unwrap();
            assert_eq!(
                json[0]["port"]["groups"],
                serde_json::json!([]),
                "round {round}: {name}"
            );
        }
        assert!(
            status.upstreams.iter().all(|u| u.groups.is_empty()),
            "round {round}: upstream memberships left: {:?}",
            status.upstreams
        );
        assert!(
            status.routes.is_empty(),
            "round {round}: {:?}",
            status.routes
        );
        assert!(
            w.joined.is_empty(),
            "round {round}: still joined {:?}",
            w.joined
        );
        assert!(
            w.routes.is_empty(),
            "round {round}: kernel entries {:?}",
            w.routes
        );
    }
    assert!(w.other_sends > 0, "leaves sent group-specific queries");
    assert_eq!((w.limit_drops(DN1), w.limit_drops(DN2)), (0, 0));

    // Quiescence: from here on the only timer is each LAN's periodic general query, exactly one
    // Query Interval apart; nothing else is ever due.
    let (queries_before, others_before) = (w.general_queries.len(), w.other_sends);
    let mut last_query: BTreeMap<IfIndex, Timestamp> = BTreeMap::new();
    for &(at, ifindex) in &w.general_queries {
        last_query.insert(ifindex, at);
    }
    for _ in 0..6 {
        let ports: Vec<Timestamp> = [DN1, DN2]
            .iter()
            .map(|i| {
                w.engine
                    .downstream_port_v4(*i)
                    .unwrap()
                    .next_deadline()
                    .unwrap()
            })
            .collect();
        for (ifindex, deadline) in [DN1, DN2].iter().zip(&ports) {
            assert_eq!(
                deadline.0,
                last_query[ifindex].0 + QI_MS,
                "{ifindex}: the next timer is its next general query"
            );
        }
        let next = w.engine.next_deadline().unwrap();
        assert_eq!(Some(&next), ports.iter().min(), "no other engine timer");
        w.timeout(next);
        for &(at, ifindex) in &w.general_queries[queries_before..] {
            last_query.insert(ifindex, at);
        }
    }
    assert!(w.general_queries.len() >= queries_before + 6);
    assert_eq!(w.other_sends, others_before, "nothing but general queries");
    assert!(w.joined.is_empty() && w.routes.is_empty());
}
