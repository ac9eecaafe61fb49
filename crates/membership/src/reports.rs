//! Reports and leaves: compatibility translation (RFC 9776 §7.3.2), limits, host tracking,
//! the RFC tables (`tables.rs`), and the querier's "Send Q(..)" actions with safe fast leave.

use crate::compat::translate;
use crate::group::{Effects, FilterMode, Group};
use crate::hosts::{HostChange, HostLimits};
use crate::port::{Port, release_host};
use crate::room::Room;
use crate::specific::round_queries;
use crate::tables::RecordContext;
use crate::timing::Timing;
use crate::{Address, Limit, Mode, Outgoing, Output, PortEvent, Record, RecordKind, Timestamp};
use std::collections::BTreeSet;

/// One report item after decoding, before compatibility translation.
enum Input<A> {
    /// An IGMPv1/IGMPv2/MLDv1 report: IS_EX({}) and the Host Present timer of that version.
    Older(Mode),
    /// An IGMPv2 leave / MLDv1 done: TO_IN({}).
    Leave,
    /// An IGMPv3/MLDv2 record.
    Record(RecordKind, BTreeSet<A>),
}

impl<A: Address> Port<A> {
    pub(crate) fn older_report(
        &mut self,
        now: Timestamp,
        host: A,
        group: A,
        version: Mode,
        out: &mut Output<A>,
    ) {
        self.process(now, host, group, Input::Older(version), &mut true, out);
    }

    pub(crate) fn leave(&mut self, now: Timestamp, host: A, group: A, out: &mut Output<A>) {
        self.process(now, host, group, Input::Leave, &mut true, out);
    }

    /// One record of a report; `room_scan` is cleared once a pass over a full source table
    /// found nothing to give way (at most one such pass per report, see `room.rs`).
    pub(crate) fn record(
        &mut self,
        now: Timestamp,
        host: A,
        record: Record<A>,
        room_scan: &mut bool,
        out: &mut Output<A>,
    ) {
        let sources = record.sources.into_iter().collect();
        let input = Input::Record(record.kind, sources);
        self.process(now, host, record.group, input, room_scan, out);
    }

    fn process(
        &mut self,
        now: Timestamp,
        host: A,
        address: A,
        input: Input<A>,
        room_scan: &mut bool,
        out: &mut Output<A>,
    ) {
        let timing = self.timing();
        let gmi = now + timing.group_membership_interval();
        let compat = self
            .groups
            .get(&address)
            .map_or(timing.version, |g| g.older_hosts.mode(timing.version));
        let no_sources = BTreeSet::new();
        let for_router =
            self.router_view(&input, compat)
                .map(|(kind, keep_sources)| match &input {
                    Input::Record(_, sources) if keep_sources => (kind, sources),
                    _ => (kind, &no_sources),
                });
        if !self.admit(host, address, &input, &for_router, out) {
            return;
        }
        let tracked = self.tracked_as(host, address, &input, out);

        let is_querier = self.querier.is_querier();
        let fast_leave = self.config.fast_leave;
        let max_sources = self.config.max_sources_per_group;
        let limits = HostLimits {
            per_host: self.config.max_sources_per_host,
            per_group: max_sources,
            room: self
                .config
                .max_host_entries
                .saturating_sub(self.host_entries),
        };
        let group = self
            .groups
            .entry(address)
            .or_insert_with(|| Box::new(Group::new()));

        // Explicit tracking follows what the host itself asked for, before any translation.
        let applied = match &input {
            Input::Older(version) => {
                // RFC 9776 §7.3.2: that version's Host Present timer = Older Host Present Interval.
                group
                    .older_hosts
                    .heard(*version, now + timing.older_host_present_interval());
                group.hosts.join_any_source(tracked, gmi, limits)
            }
            Input::Leave => group.hosts.leave(tracked),
            Input::Record(kind, sources) => group.hosts.apply(tracked, *kind, sources, gmi, limits),
        };
        let (before, after) = applied.entries;
        self.host_entries = self.host_entries - before + after;
        // The anonymous host is never counted: it reports `Unchanged`.
        match applied.change {
            HostChange::Joined => *self.host_groups.entry(tracked).or_insert(0) += 1,
            HostChange::Left => release_host(&mut self.host_groups, tracked),
            HostChange::Unchanged => {}
        }

        let mut fx = Effects::default();
        let mut queries = Vec::new();
        match for_router {
            Ok((kind, sources)) => {
                let room = Room {
                    max: max_sources,
                    may_scan: *room_scan,
                };
                group.apply_record(kind, sources, RecordContext { gmi, room }, &mut fx);
                *room_scan &= !fx.room_scan_failed;
                if is_querier {
                    queries =
                        send_specific_queries(address, group, &timing, fast_leave, now, &mut fx);
                }
            }
            Err(reason) => out.events.push(PortEvent::Ignored { from: host, reason }),
        }
        for query in queries {
            self.send(query, out);
        }
        if let Some(limit) = applied.folded {
            self.limit_hit(limit, host, address, out);
        }
        self.finish_group(address, fx, host, out);
    }

    /// The host whose entry carries this item's interest: the host itself, or the anonymous
    /// host when the port already tracks `max_hosts` other hosts. The report still counts for
    /// the group tables; only fast leave is given up for what it asks, since the anonymous host
    /// only ever widens. Nobody's tracked state is displaced.
    fn tracked_as(&mut self, host: A, address: A, input: &Input<A>, out: &mut Output<A>) -> A {
        // The group's own table answers a refresh without touching the port-wide map.
        if host.is_unspecified()
            || self.host_groups.len() < self.config.max_hosts
            || self
                .groups
                .get(&address)
                .is_some_and(|group| group.hosts.contains(&host))
            || self.host_groups.contains_key(&host)
        {
            return host;
        }
        let asks = match input {
            Input::Leave => false,
            Input::Older(_) => true,
            Input::Record(kind, sources) => kind_creates(*kind, sources),
        };
        if asks {
            self.limit_hit(Limit::Hosts, host, address, out);
        }
        A::UNSPECIFIED
    }

    /// What the router tables get (RFC 9776 §7.3.2): a record kind and whether the sources are
    /// kept, or why nothing.
    fn router_view(
        &self,
        input: &Input<A>,
        compat: Mode,
    ) -> Result<(RecordKind, bool), &'static str> {
        match input {
            Input::Older(_) => Ok((RecordKind::IsExclude, false)),
            Input::Leave if compat == Mode::V1 => {
                Err("leave ignored in IGMPv1 group compatibility mode (RFC 9776 §7.3.2)")
            }
            Input::Leave if !self.querier.is_querier() => {
                Err("non-querier ignores leaves (RFC 2236 §3)")
            }
            Input::Leave => Ok((RecordKind::ToInclude, false)),
            Input::Record(kind, _) => translate(compat, *kind),
        }
    }

    /// Limits (docs/protocol-rules.md §4.10): a new group beyond `max_groups` or a host beyond
    /// `max_groups_per_host` drops the whole item; the anonymous host is exempt from the latter
    /// (it stands for any number of hosts). Also false when the item would leave no trace
    /// (INCLUDE({}) stays INCLUDE({})).
    fn admit(
        &mut self,
        host: A,
        address: A,
        input: &Input<A>,
        for_router: &Result<(RecordKind, &BTreeSet<A>), &'static str>,
        out: &mut Output<A>,
    ) -> bool {
        let existing = self.groups.get(&address);
        let host_joins = match (input, existing) {
            (Input::Leave, _) => false,
            (Input::Older(_), None) => true,
            (Input::Older(_), Some(group)) => !group.hosts.contains(&host),
            (Input::Record(kind, sources), None) => kind_creates(*kind, sources),
            (Input::Record(kind, sources), Some(group)) => {
                group.hosts.would_join(&host, *kind, sources)
            }
        };
        if existing.is_none() {
            match for_router {
                Ok((kind, sources)) if kind_creates(*kind, sources) => {}
                Ok(_) => return false,
                Err(reason) => {
                    out.events.push(PortEvent::Ignored { from: host, reason });
                    return false;
                }
            }
            if self.groups.len() >= self.config.max_groups {
                self.limit_hit(Limit::Groups, host, address, out);
                return false;
            }
        }
        if host_joins
            && !host.is_unspecified()
            && self.host_groups.get(&host).copied().unwrap_or(0) >= self.config.max_groups_per_host
        {
            self.limit_hit(Limit::GroupsPerHost, host, address, out);
            return false;
        }
        true
    }
}

/// Does this record give an INCLUDE({}) group state (or a host interest) at all?
fn kind_creates<A>(kind: RecordKind, sources: &BTreeSet<A>) -> bool {
    match kind {
        RecordKind::IsExclude | RecordKind::ToExclude => true,
        RecordKind::IsInclude | RecordKind::ToInclude | RecordKind::Allow => !sources.is_empty(),
        RecordKind::Block => false,
    }
}

/// The querier's "Send Q(G)" and "Send Q(G,X)" (RFC 9776 §6.6.3.1, §6.6.3.2): lower the timers
/// to LMQT, start LMQC retransmissions, send the first round now. IGMPv1 has no specific
/// queries and IGMPv2/MLDv1 none with sources: on such links the table action is skipped and
/// the state simply times out.
///
/// Fast leave (docs/protocol-rules.md §4.9, not in the RFCs): in IGMPv3/MLDv2 compatibility mode, where
/// hosts never suppress reports and tracking is exact, what no tracked host wants any more
/// stops at once; the queries still go out so that an untracked listener can re-report.
fn send_specific_queries<A: Address>(
    address: A,
    group: &mut Group<A>,
    timing: &Timing,
    fast_leave: bool,
    now: Timestamp,
    fx: &mut Effects<A>,
) -> Vec<Outgoing<A>> {
    let query_group = fx.query_group && timing.version >= Mode::V2;
    let sources: Vec<A> = if timing.version == Mode::V3 {
        fx.query_sources
            .iter()
            .copied()
            .filter(|s| group.running.contains(s))
            .collect()
    } else {
        Vec::new()
    };
    if !query_group && sources.is_empty() {
        return Vec::new();
    }
    let lmqt = now + timing.last_member_query_time();
    if query_group {
        group.lower_group_timer(lmqt);
    }
    group.lower_source_timers(&sources, lmqt);

    if fast_leave && group.older_hosts.mode(timing.version) == Mode::V3 {
        for source in &sources {
            if !group.hosts.wants_source(source) {
                match group.mode() {
                    FilterMode::Include => group.delete_source(source, fx),
                    FilterMode::Exclude => group.exclude_source(*source, usize::MAX, fx),
                }
            }
        }
        // Nobody wants sources they did not list, and every source a tracked host names is
        // running (INCLUDE mode keeps only those): the group timer has nothing to wait for. A
        // named source missing from the table (deleted by another host's IS_EX or TO_EX) keeps
        // the group in EXCLUDE mode until LMQT, for its host to answer Q(G).
        let running = &group.running;
        if query_group
            && !group.hosts.any_exclude()
            && group
                .hosts
                .named_sources_within(running.len(), |s| running.contains(s))
        {
            group.switch_to_include(fx);
        }
    }

    group
        .retransmissions
        .start(query_group, &sources, timing.last_member_query_count, now);
    let round = group
        .retransmissions
        .take_round(now, timing.last_member_query_interval);
    round_queries(address, group, &round, now, timing)
}
