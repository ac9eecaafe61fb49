//! The router part of IGMP (RFC 9776 §6) and MLD (RFC 9777 §7) on **one link**, for one
//! address family: querier election, the per-group filter-mode/source tables, compatibility
//! with older hosts, group(-and-source)-specific queries, and explicit host tracking for a
//! leave that never cuts another viewer.
//!
//! This crate is pure: every call takes the current [`Timestamp`], nothing reads a clock,
//! nothing touches a socket. Output is data collected in an [`Output`].
//!
//! The crate is family-neutral: [`Address`] is implemented for `Ipv4Addr` (IGMP) and
//! `Ipv6Addr` (MLD). Protocol versions are expressed as [`Mode`]: `V1` = IGMPv1, `V2` =
//! IGMPv2 or MLDv1, `V3` = IGMPv3 or MLDv2.
//!
//! # Contract (used by `mrproxy-engine`; do not change without updating it)
//! * [`Port::new`] creates the router part of one link. Until [`Port::set_address`] gives it an
//!   address it sends nothing (RFC: never query from 0.0.0.0 / ::).
//! * [`Port::receive`] takes one decoded message from a host or router on the link. The caller has
//!   already applied policy (link-local groups, SSM rules, white/blacklists, checksum, TTL, RA).
//! * [`Port::timeout`] processes everything due at or before `now`; [`Port::next_deadline`] says
//!   when to call it next.
//! * Every call appends to an [`Output`]: queries to send, groups whose forwarding state may have
//!   changed, querier changes, notable events (limits hit, older querier heard).
//! * [`Port::wants`] is the forwarding suggestion (RFC 9776 §6.3) and [`Port::subscription`] the
//!   group's state in the form the RFC 4605 merge needs.
//!
//! # Behaviour worth knowing
//! * Queries are sent in the port's configured version: IGMPv1 links get general queries only
//!   (leaves are ignored there and state times out), IGMPv2/MLDv1 links get no
//!   group-and-source-specific queries (the "Send Q(G,X)" table action is skipped, sources time
//!   out after GMI), IGMPv3/MLDv2 links get everything.
//! * The QRV and QQI adopted from another querier (RFC 9776 §4.1.6, §4.1.7) never make RV × QI
//!   longer than our configuration does (they are dropped when they would): a forged query
//!   cannot keep us non-querier, nor groups alive, longer than our own intervals allow.
//! * [`QuerierPolicy::Always`] never yields the querier role (RFC 4605 §4.2 trade-off: with a
//!   second router on the LAN both query, and both proxies forward, see its documentation).
//! * Only the querier performs "Send Q(..)" actions and sends their retransmissions; a port that
//!   loses the role drops the remaining ones. Any specific query heard from another router with
//!   S clear lowers our timers (RFC 9776 §6.6.1) to its Max Resp × its QRV (or our LMQC).
//! * With `fast_leave`, after a fast leave the group may wait, without any forwarding state, for
//!   its last queries to go out; it counts towards `max_groups` until then (at most LMQT). A
//!   fast switch to INCLUDE waits, like the RFC, for LMQT when a tracked host names a source
//!   the table no longer holds (another host's IS_EX deleted it), so that it cannot cut it.
//! * A host's tracked filter only widens on IS_IN records, which also answer
//!   group-and-source-specific queries (RFC 9776 §5.2) and so are not the host's whole state.
//! * Downstream hosts are untrusted: every table is bounded by the limits of [`PortConfig`].
//!   Hosts that cannot be tracked one by one (past `max_hosts`, or with more than
//!   `max_sources_per_host` sources) still count for forwarding; their interest is folded into
//!   the anonymous host. A full source table gives way to a source a tracked host names
//!   (`room.rs`), so hosts filling it cannot keep another from what it asked for.
//! * A report from our own address counts like any host's: it comes from a receiver on the
//!   router itself, joined on this link (docs/igmpproxy-differences.md D34). Our own queries are ignored.
//! * Group-and-source-specific queries carry at most [`Address::MAX_QUERY_SOURCES`] sources;
//!   longer lists are split over several queries.
//!
//! # Modules
//! `port` (entry points, timer loop), `querier` (election, general-query schedule), `reports`
//! (compatibility, limits, tracking, the querier's query actions), `tables` (RFC 9776 §6.4),
//! `group` (per-group state, §6.3/§6.5 expiry), `specific` (§6.6.3 queries), `compat` (§7.3.2),
//! `hosts` (explicit tracking and its limits: `host_filter` one host's filter, `host_forms` the
//! small and the indexed form, `host_index` the latter), `room` (who gives way in a full source
//! table), [`intervals`] (the §8 formulas), `timing` (the §8 values in force), `deadlines`
//! ([`DeadlineSet`]: the port's index of group deadlines, also the engine's), `source_timers`
//! (a group's running source timers), `few` (small per-group collections), `snapshot`.
//!
//! # Memory
//! Per-group state exists once per (link, group), so it is kept small: groups are boxed in the
//! port's map, a group's usual single host is stored inline, its few source timers in a
//! sorted vector, and what is rare (older-host timers, queries still owed) costs a word or
//! less when unused. About 270 bytes per (link, group) at rest including the engine's share
//! (`cargo bench -p mrproxy-engine --bench memory`). A group with more than a few hosts keeps
//! them indexed (O(log n) per report and timer, `benches/hosts.rs`), and the limits bound every
//! table: at most `max_hosts` hosts are tracked one by one, each in at most
//! `max_groups_per_host` groups with at most `max_sources_per_host` sources.

#![forbid(unsafe_code)]

mod address;
mod compat;
mod deadlines;
mod few;
mod group;
mod host_filter;
mod host_forms;
mod host_index;
mod hosts;
pub mod intervals;
mod message;
mod port;
mod querier;
mod reports;
mod room;
mod snapshot;
mod source_timers;
mod specific;
mod tables;
mod time;
mod timing;

pub use address::Address;
pub use deadlines::DeadlineSet;
pub use message::{Message, Mode, Query, Record, RecordKind};
pub use port::Port;
pub use time::Timestamp;

use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;

/// Per-link router configuration. All intervals are RFC 9776 §8 / RFC 9777 §9 variables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortConfig {
    /// The version this router runs on the link (queries are sent in this version; RFC 9776 §7.3.1
    /// makes lowering it an administrative choice).
    pub version: Mode,
    /// Robustness Variable; never 0.
    pub robustness: u8,
    pub query_interval: Duration,
    /// Max Resp of general queries; strictly less than `query_interval`.
    pub query_response_interval: Duration,
    pub startup_query_interval: Duration,
    pub startup_query_count: u8,
    pub last_member_query_interval: Duration,
    pub last_member_query_count: u8,
    /// Explicit-tracking fast leave: when the last tracked host of a group (or source) leaves and
    /// the group is in `V3` compatibility mode, forwarding stops at once (the specific queries are
    /// still sent so that an untracked listener can re-report). In `V1`/`V2` mode a leave always
    /// falls back to the last-member queries.
    pub fast_leave: bool,
    /// Whether another router may take the querier role from us (see [`QuerierPolicy`]).
    pub querier_policy: QuerierPolicy,
    /// Limits, each reported as [`PortEvent::LimitHit`] when reached. Every table of the port is
    /// bounded by them, whatever hosts send.
    ///
    /// Groups on the link: a report for a new group beyond it is dropped.
    pub max_groups: usize,
    /// Sources in one group's table (requested and excluded): sources beyond it are dropped.
    pub max_sources_per_group: usize,
    /// Groups one tracked host may be a member of: a report for a new group beyond it is
    /// dropped. The anonymous host (reports from 0.0.0.0 / ::, and the hosts folded into it)
    /// stands for many hosts and is exempt; `max_groups` bounds it.
    pub max_groups_per_host: usize,
    /// Hosts tracked one by one on the link. A report from another host still counts for the
    /// group tables (forwarding), but its interest is folded into the anonymous host, which
    /// only ever widens and so keeps fast leave off for those groups until it expires.
    pub max_hosts: usize,
    /// Sources in one tracked host's filter for a group; a host that would hold more is folded
    /// into the anonymous host for that group (its report still counts for the group tables).
    pub max_sources_per_host: usize,
    /// Group records processed from one IGMPv3/MLDv2 report; later records are ignored.
    pub max_records: usize,
    /// Host state on the link, all groups together: each (tracked host, group) membership
    /// counts 1 plus the sources in the host's filter. The per-host limits alone multiply
    /// (`max_hosts` × `max_groups_per_host` × `max_sources_per_host`: some 400 MB with the
    /// defaults); past this budget a membership that would grow the total is folded into the
    /// anonymous host instead (its report still counts for the group tables).
    pub max_host_entries: usize,
}

impl PortConfig {
    /// RFC defaults (RFC 9776 §8: RV 2, QI 125 s, QRI 10 s, LMQI 1 s, LMQC = RV, startup QI/4 × RV;
    /// the formulas in [`intervals`]),
    /// fast leave off, the RFC querier election, and limits that let a LAN of a thousand hosts
    /// watch what it likes while keeping one link's state to a few megabytes at most.
    pub fn rfc_defaults(version: Mode) -> Self {
        const ROBUSTNESS: u8 = 2;
        const QUERY_INTERVAL: Duration = Duration::from_secs(125);
        PortConfig {
            version,
            robustness: ROBUSTNESS,
            query_interval: QUERY_INTERVAL,
            query_response_interval: Duration::from_secs(10),
            startup_query_interval: intervals::startup_query_interval(QUERY_INTERVAL),
            startup_query_count: intervals::startup_query_count(ROBUSTNESS),
            last_member_query_interval: Duration::from_secs(1),
            last_member_query_count: intervals::last_member_query_count(ROBUSTNESS),
            fast_leave: false,
            querier_policy: QuerierPolicy::Auto,
            max_groups: 4096,
            max_sources_per_group: 256,
            max_groups_per_host: 256,
            max_hosts: 1024,
            max_sources_per_host: 64,
            max_records: 256,
            max_host_entries: 16_384,
        }
    }

    /// Group Membership Interval of the configured values (RFC 9776 §8.4, RFC 9777 §9.4).
    pub fn group_membership_interval(&self) -> Duration {
        intervals::group_membership_interval(
            self.robustness,
            self.query_interval,
            self.query_response_interval,
        )
    }

    /// Other Querier Present Interval of the configured values (RFC 9776 §8.5, RFC 9777 §9.5).
    pub fn other_querier_present_interval(&self) -> Duration {
        intervals::other_querier_present_interval(
            self.robustness,
            self.query_interval,
            self.query_response_interval,
        )
    }

    /// Last Member Query Time of the configured values (RFC 9776 §8.10, RFC 9777 §9.10).
    pub fn last_member_query_time(&self) -> Duration {
        intervals::last_member_query_time(
            self.last_member_query_interval,
            self.last_member_query_count,
        )
    }
}

/// Who queries the link.
///
/// RFC 4605 §4.2 has the proxy take part in the querier election, so that one router queries
/// and, among proxies, only the querier forwards. `Always` keeps the querier role whatever
/// other routers say (the C `igmpproxy`'s behaviour): on a LAN with one router it protects the
/// role from a host that sends forged queries from a low address, but on a LAN with a second
/// router or proxy both then query (hosts answer each general query, duplicate reports) and, for
/// proxies, both forward the same streams onto the LAN (duplicate traffic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum QuerierPolicy {
    /// The RFC 9776 §6.6.2 / RFC 9777 §7.6.2 election: the lowest address queries.
    #[default]
    Auto,
    /// Never yield the role. Queries from other routers are still counted, still lower group
    /// and source timers (RFC 9776 §6.6.1) and still raise [`PortEvent::OlderQuerier`]; their
    /// QRV and QQI are not adopted, since we remain the querier.
    Always,
}

/// A group's state in the form the RFC 4605 merge needs (RFC 3376 §3.2 socket-state form):
/// a router-side EXCLUDE(X, Y) is EXCLUDE(Y); v1/v2/MLDv1 members make EXCLUDE({}).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Subscription<A: Address> {
    Include(BTreeSet<A>),
    Exclude(BTreeSet<A>),
}

/// A query the port wants sent on its link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outgoing<A: Address> {
    /// [`Address::ALL_NODES`] for a general query, else the group.
    pub destination: A,
    pub query: Query<A>,
}

/// Things worth logging or counting that are not queries or state changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PortEvent<A: Address> {
    /// A limit was reached: a report was (partly) dropped ([`Limit::Groups`],
    /// [`Limit::SourcesPerGroup`], [`Limit::GroupsPerHost`], [`Limit::Records`]) or a host's
    /// interest was folded into the anonymous host ([`Limit::Hosts`], [`Limit::SourcesPerHost`],
    /// [`Limit::HostEntries`]).
    /// For `Records`, `group` is the first record not processed.
    LimitHit { limit: Limit, host: A, group: A },
    /// A query of a lower version than ours was heard (RFC 9776 §7.3.1): the operator should set
    /// this link's version to `heard`.
    OlderQuerier { from: A, heard: Mode },
    /// A message the port ignored on purpose, with the RFC reason.
    Ignored { from: A, reason: &'static str },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Limit {
    Groups,
    SourcesPerGroup,
    GroupsPerHost,
    Hosts,
    SourcesPerHost,
    /// The link's host-state budget (`max_host_entries`).
    HostEntries,
    Records,
}

/// What one call produced. The caller drains it; calls only ever append.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Output<A: Address> {
    pub send: Vec<Outgoing<A>>,
    /// Groups whose [`Port::wants`] / [`Port::subscription`] may have changed (may repeat).
    pub changed: Vec<A>,
    /// The querier role or the elected querier changed.
    pub querier_changed: bool,
    pub events: Vec<PortEvent<A>>,
}

impl<A: Address> Output<A> {
    pub fn new() -> Self {
        Output {
            send: Vec::new(),
            changed: Vec::new(),
            querier_changed: false,
            events: Vec::new(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.send.is_empty()
            && self.changed.is_empty()
            && !self.querier_changed
            && self.events.is_empty()
    }
}

/// Counters of one port (for status output and metrics).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub queries_sent: u64,
    pub queries_received: u64,
    pub reports_received: u64,
    pub leaves_received: u64,
    /// Every [`PortEvent::LimitHit`], including the folds into the anonymous host.
    pub limit_drops: u64,
}

/// A serialisable snapshot of one port: querier state and every group with its timers
/// (remaining time, in ms, relative to `now`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortSnapshot<A: Address> {
    pub querier: bool,
    pub querier_address: Option<A>,
    pub version: Mode,
    pub groups: Vec<GroupSnapshot<A>>,
    pub counters: Counters,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupSnapshot<A: Address> {
    pub group: A,
    /// "include" or "exclude".
    pub filter_mode: &'static str,
    /// The group's compatibility mode (RFC 9776 §7.3.2).
    pub compat: Mode,
    pub group_timer_ms: Option<u64>,
    /// (source, remaining ms; 0 = excluded source in EXCLUDE mode).
    pub sources: Vec<(A, u64)>,
    /// Tracked hosts that currently want this group.
    pub hosts: Vec<A>,
}
