//! Group-specific and group-and-source-specific queries (RFC 9776 §6.6.3, RFC 9777 §7.6.3):
//! the per-group retransmission state and the building of each round's queries with the
//! "Suppress Router-Side Processing" flag.

use crate::group::Group;
use crate::timing::Timing;
use crate::{Address, Mode, Outgoing, Query, Timestamp};
use std::collections::BTreeMap;
use std::time::Duration;

/// Retransmissions still owed for one group: a counter for Q(G) and one per queried source
/// (RFC 9776 §6.6.3.1, §6.6.3.2). All pending queries go out together, LMQI apart.
///
/// A group owes queries only for a Last Member Query Time after a leave, so the counters live
/// in a box that exists only then: an idle group pays one pointer.
#[derive(Clone, Debug)]
pub(crate) struct Retransmissions<A> {
    owed: Option<Box<Owed<A>>>,
}

#[derive(Clone, Debug)]
struct Owed<A> {
    group_left: u8,
    sources_left: BTreeMap<A, u8>,
    next: Timestamp,
}

impl<A> Default for Retransmissions<A> {
    fn default() -> Self {
        Retransmissions { owed: None }
    }
}

/// The queries of one round: Q(G) or not, and the sources of Q(G,X).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Round<A> {
    pub(crate) group: bool,
    pub(crate) sources: Vec<A>,
}

impl<A: Address> Retransmissions<A> {
    pub(crate) fn is_idle(&self) -> bool {
        self.owed.is_none()
    }

    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        self.owed.as_ref().map(|owed| owed.next)
    }

    /// Starts (or restarts) the countdown: each named query is owed `count` times (Last Member
    /// Query Count), the first one now.
    pub(crate) fn start(&mut self, group: bool, sources: &[A], count: u8, now: Timestamp) {
        let owed = self.owed.get_or_insert_with(|| {
            Box::new(Owed {
                group_left: 0,
                sources_left: BTreeMap::new(),
                next: now,
            })
        });
        if group {
            owed.group_left = count;
        }
        for source in sources {
            owed.sources_left.insert(*source, count);
        }
        if owed.group_left > 0 || !owed.sources_left.is_empty() {
            owed.next = now;
        } else {
            // Nothing owed after all (a count of 0): stay idle.
            self.owed = None;
        }
    }

    /// Takes the round due at `at` and schedules the next one `interval` later if any
    /// retransmission is still owed.
    pub(crate) fn take_round(&mut self, at: Timestamp, interval: Duration) -> Round<A> {
        let Some(owed) = self.owed.as_mut() else {
            return Round {
                group: false,
                sources: Vec::new(),
            };
        };
        let group = owed.group_left > 0;
        owed.group_left = owed.group_left.saturating_sub(1);
        let sources: Vec<A> = owed.sources_left.keys().copied().collect();
        owed.sources_left.retain(|_, left| {
            *left = left.saturating_sub(1);
            *left > 0
        });
        if owed.group_left > 0 || !owed.sources_left.is_empty() {
            owed.next = at + interval;
        } else {
            self.owed = None;
        }
        Round { group, sources }
    }

    pub(crate) fn clear(&mut self) {
        self.owed = None;
    }
}

/// The queries of one round for `group_address`, in the port's version (RFC 9776 §7.3.1).
/// Q(G) carries S when the group timer is above LMQT at send time, i.e. a report arrived
/// since the countdown began (§6.6.3.1). Q(G,X) is split in two (§6.6.3.2): S set for the
/// sources whose timers are above LMQT, S clear for the others; an empty one is not sent.
/// IGMPv1 has no specific queries and IGMPv2/MLDv1 no source lists.
pub(crate) fn round_queries<A: Address>(
    group_address: A,
    group: &Group<A>,
    round: &Round<A>,
    at: Timestamp,
    timing: &Timing,
) -> Vec<Outgoing<A>> {
    let mut queries = Vec::new();
    if timing.version == Mode::V1 {
        return queries;
    }
    let above_lmqt = at + timing.last_member_query_time();
    let query = |suppress: bool, sources: Vec<A>| Outgoing {
        destination: group_address,
        query: specific_query(group_address, suppress, sources, timing),
    };
    if round.group {
        let suppress =
            timing.version == Mode::V3 && group.group_timer().is_some_and(|gt| gt > above_lmqt);
        queries.push(query(suppress, Vec::new()));
    }
    if timing.version == Mode::V3 && !round.sources.is_empty() {
        let (high, low): (Vec<A>, Vec<A>) = round
            .sources
            .iter()
            .partition(|s| group.running.get(s).is_some_and(|at| at > above_lmqt));
        for (suppress, list) in [(true, high), (false, low)] {
            for chunk in list.chunks(A::MAX_QUERY_SOURCES.max(1)) {
                queries.push(query(suppress, chunk.to_vec()));
            }
        }
    }
    queries
}

fn specific_query<A: Address>(
    group: A,
    suppress: bool,
    sources: Vec<A>,
    timing: &Timing,
) -> Query<A> {
    let v3 = timing.version == Mode::V3;
    Query {
        version: timing.version,
        group: Some(group),
        max_response: timing.last_member_query_interval,
        suppress,
        qrv: if v3 { timing.advertised_qrv() } else { 0 },
        qqi: if v3 {
            timing.query_interval
        } else {
            Duration::ZERO
        },
        sources,
    }
}

/// A general query in the port's version: IGMPv1 queries carry no Max Resp (RFC 1112),
/// v2 queries no QRV/QQI (RFC 2236 §2).
pub(crate) fn general_query<A: Address>(timing: &Timing) -> Outgoing<A> {
    let v3 = timing.version == Mode::V3;
    Outgoing {
        destination: A::ALL_NODES,
        query: Query {
            version: timing.version,
            group: None,
            max_response: if timing.version == Mode::V1 {
                Duration::ZERO
            } else {
                timing.query_response_interval
            },
            suppress: false,
            qrv: if v3 { timing.advertised_qrv() } else { 0 },
            qqi: if v3 {
                timing.query_interval
            } else {
                Duration::ZERO
            },
            sources: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn countdown_owes_count_rounds_interval_apart() {
        let s = |i: u8| Ipv4Addr::new(192, 0, 2, i);
        let mut rt: Retransmissions<Ipv4Addr> = Retransmissions::default();
        rt.start(true, &[s(1), s(2)], 2, Timestamp(100));
        assert_eq!(rt.deadline(), Some(Timestamp(100)));
        let round = rt.take_round(Timestamp(100), Duration::from_secs(1));
        assert_eq!(
            round,
            Round {
                group: true,
                sources: vec![s(1), s(2)]
            }
        );
        assert_eq!(rt.deadline(), Some(Timestamp(1100)));
        rt.start(false, &[s(3)], 2, Timestamp(600));
        assert_eq!(rt.deadline(), Some(Timestamp(600)));
        let round = rt.take_round(Timestamp(600), Duration::from_secs(1));
        assert_eq!(
            round,
            Round {
                group: true,
                sources: vec![s(1), s(2), s(3)]
            }
        );
        let round = rt.take_round(Timestamp(1600), Duration::from_secs(1));
        assert_eq!(
            round,
            Round {
                group: false,
                sources: vec![s(3)]
            }
        );
        assert!(rt.is_idle());
    }
}
