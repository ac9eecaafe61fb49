//! What every simulated host holds, how it changes, and what it sends: the IGMPv2 host of
//! RFC 2236 §3 and the IGMPv3 host of RFC 9776 §5, without retransmissions (the lab's links do
//! not lose packets). Pure: the runner feeds it random numbers and sends what it returns.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use super::records;
use crate::igmp::{Message, Query, Record};

/// xorshift64* (Vigna, 2016): small, seedable, good enough to pick hosts and groups; a run is
/// reproduced from its seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced, xorshift cannot leave it).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n); 0 for n = 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.unit() * n as f64) as usize % n
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in [0, d).
    pub fn within(&mut self, d: Duration) -> Duration {
        d.mul_f64(self.unit())
    }
}

/// The IGMP version a simulated host speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// RFC 2236: reports and leaves per group, any source.
    V2,
    /// RFC 9776: state-change and current-state records, with source lists.
    V3,
}

/// What a host asks of one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// Every source: an IGMPv2 membership or IGMPv3 EXCLUDE {}.
    AnySource,
    /// IGMPv3 INCLUDE with these (non-empty) sources.
    Include(BTreeSet<Ipv4Addr>),
}

impl Want {
    /// Whether traffic from `source` is wanted.
    pub fn wants(&self, source: Ipv4Addr) -> bool {
        match self {
            Want::AnySource => true,
            Want::Include(sources) => sources.contains(&source),
        }
    }
}

/// The group catalogue: its addresses, popularity and which groups IGMPv2 hosts stay out of.
#[derive(Clone, Debug)]
pub struct Catalogue {
    /// The groups.
    pub groups: Vec<Ipv4Addr>,
    /// Groups only IGMPv3 hosts join, where source lists are used. Where an IGMPv2 host is a
    /// member, the router is in IGMPv2 compatibility mode and ignores BLOCK records
    /// (RFC 9776 §7.3.2), so a source an INCLUDE host gives up would legitimately keep flowing
    /// for a group membership interval: source lists stay out of those groups.
    pub v3_only: Vec<bool>,
    /// Cumulative popularity (Zipf, exponent 1: group i is chosen in proportion to 1/(i+1)),
    /// like channels of an IPTV line-up: the first are always watched, the tail comes and goes.
    cumulative: Vec<f64>,
}

impl Catalogue {
    /// `n` groups from `first`, every fourth (index 3, 7, …) IGMPv3-only.
    pub fn new(first: Ipv4Addr, n: usize) -> Catalogue {
        let groups: Vec<Ipv4Addr> = (0..n)
            .map(|i| Ipv4Addr::from(u32::from(first).wrapping_add(i as u32)))
            .collect();
        let v3_only = (0..n).map(|i| i % 4 == 3).collect();
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|i| {
                total += 1.0 / (i as f64 + 1.0);
                total
            })
            .collect();
        Catalogue {
            groups,
            v3_only,
            cumulative,
        }
    }

    /// A group index by popularity, among those a host of `version` joins.
    pub fn pick(&self, version: Version, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        loop {
            let x = rng.unit() * total;
            let i = self.cumulative.partition_point(|c| *c <= x);
            let i = i.min(self.groups.len().saturating_sub(1));
            if version == Version::V3 || !self.v3_only[i] {
                return i;
            }
        }
    }

    fn index(&self, group: Ipv4Addr) -> Option<usize> {
        self.groups.iter().position(|g| *g == group)
    }
}

/// One simulated host.
#[derive(Clone, Debug)]
pub struct Host {
    /// Its on-link address (the source of everything it sends).
    pub addr: Ipv4Addr,
    /// The IGMP version it speaks.
    pub version: Version,
    /// What it holds, per group.
    pub groups: BTreeMap<Ipv4Addr, Want>,
}

/// How hosts behave, as probabilities per time a host is picked.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// An idle host starts watching (else it stays idle this time).
    pub tune_in: f64,
    /// A watching host leaves one of its groups.
    pub leave: f64,
    /// A watching host leaves one group and joins another (zapping).
    pub zap: f64,
    /// A watching host joins one more group (up to `max_groups`).
    pub add: f64,
    /// The rest: an IGMPv3 host changes the source list of an IGMPv3-only group it holds
    /// (others zap instead).
    pub max_groups: usize,
    /// An IGMPv3 host joining an IGMPv3-only group uses a source list (else EXCLUDE {}).
    pub include: f64,
}

impl Default for Behaviour {
    /// About a fifth of the hosts watch at any time (tune_in / (tune_in + leave)), one or two
    /// groups each.
    fn default() -> Behaviour {
        Behaviour {
            tune_in: 0.15,
            leave: 0.55,
            zap: 0.2,
            add: 0.1,
            max_groups: 3,
            include: 0.5,
        }
    }
}

/// A query a LAN's hosts answer later, and who answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// IGMPv3 host `host` answers `query` with its state when the answer is due.
    V3 {
        /// Index in [`Lan::hosts`].
        host: usize,
        /// What was asked.
        query: Query,
    },
    /// One IGMPv2 report for `group` from any IGMPv2 member when it is due: the first member
    /// to answer suppresses the others' reports (RFC 2236 §3), so a LAN sends one.
    V2 {
        /// The group.
        group: Ipv4Addr,
    },
}

/// The simulated hosts of one LAN, plus the groups its real kernel host (a socket in the LAN's
/// namespace) holds for the whole run.
#[derive(Clone, Debug)]
pub struct Lan {
    /// The simulated hosts.
    pub hosts: Vec<Host>,
    /// Groups the kernel host holds (any source); it answers queries itself.
    pub kernel_groups: Vec<Ipv4Addr>,
}

impl Lan {
    /// `n` hosts from `first` upwards, every other one IGMPv2 (even indices), holding nothing.
    pub fn new(first: Ipv4Addr, n: usize, kernel_groups: Vec<Ipv4Addr>) -> Lan {
        let hosts = (0..n)
            .map(|i| Host {
                addr: Ipv4Addr::from(u32::from(first).wrapping_add(i as u32)),
                version: if i % 2 == 0 { Version::V2 } else { Version::V3 },
                groups: BTreeMap::new(),
            })
            .collect();
        Lan {
            hosts,
            kernel_groups,
        }
    }

    /// Whether some host of the LAN wants `source`'s traffic to `group`.
    pub fn wants(&self, group: Ipv4Addr, source: Ipv4Addr) -> bool {
        self.kernel_groups.contains(&group)
            || self
                .hosts
                .iter()
                .any(|h| h.groups.get(&group).is_some_and(|w| w.wants(source)))
    }

    /// The LAN's combined request for `group`: any source if one host wants any, the union of
    /// the source lists otherwise, `None` without a member.
    pub fn request(&self, group: Ipv4Addr) -> Option<Want> {
        if self.kernel_groups.contains(&group) {
            return Some(Want::AnySource);
        }
        let mut union = BTreeSet::new();
        for want in self.hosts.iter().filter_map(|h| h.groups.get(&group)) {
            match want {
                Want::AnySource => return Some(Want::AnySource),
                Want::Include(s) => union.extend(s.iter().copied()),
            }
        }
        (!union.is_empty()).then_some(Want::Include(union))
    }

    /// Host `index` acts once; returns what it sends (empty when it does nothing this time).
    pub fn act(
        &mut self,
        index: usize,
        catalogue: &Catalogue,
        sources: &[Ipv4Addr],
        behaviour: &Behaviour,
        rng: &mut Rng,
    ) -> Vec<Message> {
        let Some(host) = self.hosts.get(index) else {
            return Vec::new();
        };
        let version = host.version;
        let held: Vec<Ipv4Addr> = host.groups.keys().copied().collect();
        let mut changes: Vec<(Ipv4Addr, Option<Want>)> = Vec::new();
        let pick_new = |rng: &mut Rng| -> Option<Ipv4Addr> {
            // A few tries for a group the host does not hold yet.
            (0..8)
                .map(|_| catalogue.groups[catalogue.pick(version, rng)])
                .find(|g| !held.contains(g))
        };
        let new_want = |group: Ipv4Addr, rng: &mut Rng| -> Want {
            let v3_only = catalogue.index(group).is_some_and(|i| catalogue.v3_only[i]);
            if version == Version::V3 && v3_only && rng.chance(behaviour.include) {
                Want::Include(random_sources(sources, rng))
            } else {
                Want::AnySource
            }
        };
        if held.is_empty() {
            if rng.chance(behaviour.tune_in)
                && let Some(g) = pick_new(rng)
            {
                changes.push((g, Some(new_want(g, rng))));
            }
        } else {
            let old = held[rng.below(held.len())];
            let x = rng.unit();
            let (leave, zap, add) = (
                behaviour.leave,
                behaviour.leave + behaviour.zap,
                behaviour.leave + behaviour.zap + behaviour.add,
            );
            let retune = version == Version::V3
                && catalogue.index(old).is_some_and(|i| catalogue.v3_only[i]);
            if x < leave {
                changes.push((old, None));
            } else if x < add && x >= zap && held.len() < behaviour.max_groups {
                if let Some(g) = pick_new(rng) {
                    changes.push((g, Some(new_want(g, rng))));
                }
            } else if x >= add && retune {
                let current = host.groups.get(&old).cloned();
                let next = loop {
                    let w = if rng.chance(behaviour.include) {
                        Want::Include(random_sources(sources, rng))
                    } else {
                        Want::AnySource
                    };
                    if Some(&w) != current.as_ref() {
                        break w;
                    }
                };
                changes.push((old, Some(next)));
            } else {
                changes.push((old, None));
                if let Some(g) = pick_new(rng) {
                    changes.push((g, Some(new_want(g, rng))));
                }
            }
        }
        self.apply(index, changes)
    }

    /// Applies membership changes of host `index` and returns the messages announcing them.
    fn apply(&mut self, index: usize, changes: Vec<(Ipv4Addr, Option<Want>)>) -> Vec<Message> {
        let host = &mut self.hosts[index];
        let mut records = Vec::new();
        let mut messages = Vec::new();
        for (group, next) in changes {
            let previous = match &next {
                Some(w) => host.groups.insert(group, w.clone()),
                None => host.groups.remove(&group),
            };
            match host.version {
                Version::V2 => match (&previous, &next) {
                    (None, Some(_)) => messages.push(Message::V2Report { group }),
                    (Some(_), None) => messages.push(Message::V2Leave { group }),
                    _ => {}
                },
                Version::V3 => records.extend(records::state_change(
                    group,
                    previous.as_ref(),
                    next.as_ref(),
                )),
            }
        }
        if !records.is_empty() {
            messages.push(Message::V3Report { records });
        }
        messages
    }

    /// Who answers `query` and after what delay (uniform within `window`, the part of the
    /// query's maximum response time the hosts use).
    pub fn answers(
        &self,
        query: &Query,
        window: Duration,
        rng: &mut Rng,
    ) -> Vec<(Duration, Answer)> {
        let mut out = Vec::new();
        let mut v2_groups = BTreeSet::new();
        for (i, host) in self.hosts.iter().enumerate() {
            let held = match query.group() {
                None => !host.groups.is_empty(),
                Some(g) => host.groups.contains_key(&g),
            };
            if !held {
                continue;
            }
            match host.version {
                Version::V2 => match query.group() {
                    None => v2_groups.extend(host.groups.keys().copied()),
                    Some(g) => {
                        v2_groups.insert(g);
                    }
                },
                Version::V3 => out.push((
                    rng.within(window),
                    Answer::V3 {
                        host: i,
                        query: query.clone(),
                    },
                )),
            }
        }
        for group in v2_groups {
            out.push((rng.within(window), Answer::V2 { group }));
        }
        out
    }

    /// The message of a due answer, from the host's state now: `None` if nobody holds what was
    /// asked any more.
    pub fn render(&self, answer: &Answer) -> Option<(Ipv4Addr, Message)> {
        match answer {
            Answer::V2 { group } => self
                .hosts
                .iter()
                .find(|h| h.version == Version::V2 && h.groups.contains_key(group))
                .map(|h| (h.addr, Message::V2Report { group: *group })),
            Answer::V3 { host, query } => {
                let host = self.hosts.get(*host)?;
                let records = records::current_state(&host.groups, query);
                (!records.is_empty()).then_some((host.addr, Message::V3Report { records }))
            }
        }
    }

    /// Number of (host, group) memberships held.
    pub fn memberships(&self) -> usize {
        self.hosts.iter().map(|h| h.groups.len()).sum()
    }
}

/// One to all of `sources`, at random.
fn random_sources(sources: &[Ipv4Addr], rng: &mut Rng) -> BTreeSet<Ipv4Addr> {
    let mut chosen: BTreeSet<Ipv4Addr> = sources
        .iter()
        .copied()
        .filter(|_| rng.chance(0.5))
        .collect();
    if chosen.is_empty()
        && let Some(s) = sources.get(rng.below(sources.len()))
    {
        chosen.insert(*s);
    }
    chosen
}

/// Records of a message, for callers that count them.
pub fn records_of(message: &Message) -> &[Record] {
    match message {
        Message::V3Report { records } => records,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::igmp::{ALLOW, BLOCK, TO_EX, TO_IN};

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn sources() -> Vec<Ipv4Addr> {
        vec![a("198.51.100.2"), a("198.51.100.3"), a("198.51.100.4")]
    }

    #[test]
    fn every_message_matches_the_state_change() {
        let catalogue = Catalogue::new(a("239.1.0.0"), 64);
        let mut lan = Lan::new(a("198.18.0.10"), 100, vec![]);
        let mut rng = Rng::new(7);
        let behaviour = Behaviour::default();
        let mut v2_leaves = 0;
        let mut blocks = 0;
        for _ in 0..20_000 {
            let i = rng.below(lan.hosts.len());
            let before = lan.hosts[i].groups.clone();
            let messages = lan.act(i, &catalogue, &sources(), &behaviour, &mut rng);
            let after = &lan.hosts[i].groups;
            assert!(after.len() <= behaviour.max_groups);
            for m in &messages {
                match m {
                    Message::V2Report { group } => {
                        assert!(!before.contains_key(group) && after.contains_key(group));
                        let idx = catalogue.index(*group).unwrap();
                        assert!(!catalogue.v3_only[idx], "IGMPv2 host in a v3-only group");
                    }
                    Message::V2Leave { group } => {
                        v2_leaves += 1;
                        assert!(before.contains_key(group) && !after.contains_key(group));
                    }
                    Message::V3Report { records } => {
                        for r in records {
                            blocks += usize::from(r.kind == BLOCK);
                            let idx = catalogue.index(r.group).unwrap();
                            if !catalogue.v3_only[idx] {
                                assert!(
                                    r.sources.is_empty() && matches!(r.kind, TO_EX | TO_IN),
                                    "source lists only in v3-only groups: {r:?}"
                                );
                            }
                            if r.kind == ALLOW || r.kind == BLOCK {
                                assert!(!r.sources.is_empty());
                            }
                        }
                    }
                    other => panic!("a host sent {other:?}"),
                }
            }
            if before == *after {
                assert!(messages.is_empty());
            } else {
                assert!(!messages.is_empty());
            }
        }
        assert!(
            v2_leaves > 100 && blocks > 10,
            "{v2_leaves} leaves, {blocks} blocks"
        );
        let watching = lan.hosts.iter().filter(|h| !h.groups.is_empty()).count();
        assert!((5..60).contains(&watching), "{watching} of 100 watching");
    }

    #[test]
    fn requests_merge_any_source_over_source_lists() {
        let g = a("239.1.0.3");
        let mut lan = Lan::new(a("198.18.0.10"), 4, vec![]);
        assert_eq!(lan.request(g), None);
        lan.hosts[1]
            .groups
            .insert(g, Want::Include([sources()[0]].into()));
        lan.hosts[3]
            .groups
            .insert(g, Want::Include([sources()[2]].into()));
        assert_eq!(
            lan.request(g),
            Some(Want::Include([sources()[0], sources()[2]].into()))
        );
        assert!(lan.wants(g, sources()[2]) && !lan.wants(g, sources()[1]));
        lan.hosts[0].groups.insert(g, Want::AnySource);
        assert_eq!(lan.request(g), Some(Want::AnySource));
        let kernel = Lan::new(a("198.18.0.10"), 1, vec![g]);
        assert!(kernel.wants(g, sources()[1]));
    }

    #[test]
    fn one_igmpv2_answer_per_group_and_one_per_igmpv3_host() {
        let (g1, g2) = (a("239.1.0.0"), a("239.1.0.1"));
        let mut lan = Lan::new(a("198.18.0.10"), 6, vec![]);
        for i in 0..6 {
            lan.hosts[i].groups.insert(g1, Want::AnySource);
        }
        lan.hosts[2].groups.insert(g2, Want::AnySource);
        let mut rng = Rng::new(1);
        let window = Duration::from_secs(1);
        let general = lan.answers(&Query::General, window, &mut rng);
        let v2: Vec<_> = general
            .iter()
            .filter(|(_, x)| matches!(x, Answer::V2 { .. }))
            .collect();
        assert_eq!(v2.len(), 2, "one per group held by IGMPv2 hosts");
        assert_eq!(general.len(), 2 + 3);
        assert!(general.iter().all(|(d, _)| *d < window));
        let specific = lan.answers(&Query::Group(g2), window, &mut rng);
        assert_eq!(specific.len(), 1);
        // The host left before its answer was due: nothing is sent.
        lan.hosts[2].groups.remove(&g2);
        assert_eq!(lan.render(&specific[0].1), None);
    }
}
