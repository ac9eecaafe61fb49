//! The model side of the property tests: what the engine's actions told the outside world,
//! what hosts asked for, and the RFC 9776 §3.2 merge written out independently.

use mrproxy_engine::{
    Action, AnySourceGroup, Engine, FilterMode, IfIndex, Output, RouteCounters, Timestamp,
};
use mrproxy_membership::Subscription;
use mrproxy_wire::RecordType;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

pub const UP: IfIndex = IfIndex(1);
pub const LANS: [IfIndex; 2] = [IfIndex(2), IfIndex(3)];
/// RV × QI + QRI with the default timers.
pub const GMI_MS: u64 = 260_000;

pub fn lan_address(lan: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, if lan == 0 { 5 } else { 133 })
}
/// Hosts and a lower-addressed router on each LAN.
pub fn host(lan: usize, n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, if lan == 0 { 10 } else { 140 } + n)
}
pub fn other_router(lan: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, if lan == 0 { 2 } else { 130 })
}
pub fn group(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 1, 1, n)
}
/// Sources behind the upstream.
pub fn source(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 10 + n)
}
/// A sender on a downstream LAN (RFC 4605 "Supporting Senders").
pub fn lan_sender(lan: usize) -> Ipv4Addr {
    host(lan, 50)
}
/// Every source a test can make traffic from.
pub fn all_sources() -> impl Iterator<Item = Ipv4Addr> {
    (0..3).map(source).chain((0..2).map(lan_sender))
}

/// The kernel's packet counters: each reading finds one packet more, which keeps every entry
/// busy (idle expiry is the conformance tests' business).
#[derive(Default)]
pub struct Busy(RefCell<BTreeMap<(IpAddr, IpAddr), u64>>);

impl RouteCounters for Busy {
    fn packets(&self, sg: AnySourceGroup) -> Option<u64> {
        let mut counters = self.0.borrow_mut();
        let packets = counters.entry((sg.source(), sg.group())).or_default();
        *packets += 1;
        Some(*packets)
    }
}

/// What the actions told the outside world, plus what hosts asked for.
#[derive(Default)]
pub struct World {
    pub now: u64,
    pub routes: BTreeMap<(IpAddr, IpAddr), (IfIndex, Vec<IfIndex>)>,
    pub upstream: BTreeMap<IpAddr, (FilterMode, BTreeSet<IpAddr>)>,
    pub counters: Busy,
    /// (lan, group, source) → last time a report on that LAN asked for it.
    pub asked: BTreeMap<(usize, Ipv4Addr, Ipv4Addr), u64>,
    /// (lan, group) → last IGMPv2 report (the group's v2 compatibility mode lasts a GMI).
    pub v2_reported: BTreeMap<(usize, Ipv4Addr), u64>,
}

impl World {
    pub fn apply(&mut self, output: Output) {
        for action in output.actions {
            match action {
                Action::SetRoute { sg, iif, oifs } => {
                    assert!(
                        oifs.windows(2).all(|w| w[0] < w[1]),
                        "oifs sorted and unique"
                    );
                    assert!(
                        !oifs.contains(&iif),
                        "never back out of the input interface"
                    );
                    self.routes.insert((sg.source(), sg.group()), (iif, oifs));
                }
                Action::DeleteRoute(sg) => {
                    self.routes.remove(&(sg.source(), sg.group()));
                }
                Action::SetUpstreamMembership { ifindex, filter } => {
                    assert_eq!(ifindex, UP);
                    let (group, mode, sources) = (filter.group(), filter.mode(), filter.sources());
                    if mode == FilterMode::Include && sources.is_empty() {
                        self.upstream.remove(&group);
                    } else {
                        self.upstream
                            .insert(group, (mode, sources.into_iter().collect()));
                    }
                }
                _ => {}
            }
        }
    }

    pub fn advance(&mut self, engine: &mut Engine, until: u64) {
        while let Some(deadline) = engine.next_deadline() {
            let at = deadline.as_millis().max(self.now);
            if at > until {
                break;
            }
            self.now = at;
            let output = engine.timeout(Timestamp(at), &self.counters);
            self.apply(output);
        }
        self.now = until;
    }

    pub fn record_asked(
        &mut self,
        lan: usize,
        g: Ipv4Addr,
        kind: RecordType,
        sources: &[Ipv4Addr],
    ) {
        // RFC 9776 §7.3.2: in IGMPv2 compatibility mode TO_EX(S) is treated as TO_EX({}).
        let v2_mode = self
            .v2_reported
            .get(&(lan, g))
            .is_some_and(|t| self.now - t <= GMI_MS);
        let sources = if v2_mode && kind == RecordType::ChangeToExclude {
            &[][..]
        } else {
            sources
        };
        let listed = |s: &Ipv4Addr| sources.contains(s);
        for s in all_sources() {
            let asks = match kind {
                RecordType::ModeIsExclude | RecordType::ChangeToExclude => !listed(&s),
                RecordType::ModeIsInclude
                | RecordType::ChangeToInclude
                | RecordType::AllowNewSources => listed(&s),
                _ => false,
            };
            if asks {
                self.asked.insert((lan, g, s), self.now);
            }
        }
    }
}

/// RFC 9776 §3.2, written out again independently of the engine's merge.
pub fn expected_upstream(engine: &Engine) -> BTreeMap<IpAddr, (FilterMode, BTreeSet<IpAddr>)> {
    let mut by_group: BTreeMap<Ipv4Addr, Vec<Subscription<Ipv4Addr>>> = BTreeMap::new();
    for lan in LANS {
        let port = engine.downstream_port_v4(lan).expect("downstream port");
        for g in port.groups() {
            by_group.entry(g).or_default().extend(port.subscription(&g));
        }
    }
    let mut expected = BTreeMap::new();
    for (g, subs) in by_group {
        let includes: BTreeSet<Ipv4Addr> = subs
            .iter()
            .filter_map(|s| {
                if let Subscription::Include(v) = s {
                    Some(v.clone())
                } else {
                    None
                }
            })
            .flatten()
            .collect();
        let excludes: Vec<&BTreeSet<Ipv4Addr>> = subs
            .iter()
            .filter_map(|s| {
                if let Subscription::Exclude(v) = s {
                    Some(v)
                } else {
                    None
                }
            })
            .collect();
        let state = match excludes.split_first() {
            Some((first, rest)) => {
                let common = rest.iter().fold((*first).clone(), |acc, x| {
                    acc.intersection(x).copied().collect()
                });
                Some((
                    FilterMode::Exclude,
                    common
                        .difference(&includes)
                        .copied()
                        .collect::<BTreeSet<_>>(),
                ))
            }
            None if includes.is_empty() => None,
            None => Some((FilterMode::Include, includes)),
        };
        if let Some((mode, sources)) = state {
            expected.insert(
                IpAddr::V4(g),
                (mode, sources.into_iter().map(IpAddr::V4).collect()),
            );
        }
    }
    expected
}
