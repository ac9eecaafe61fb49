//! The parsed configuration. Field defaults are the igmpproxy defaults for igmpproxy keywords and
//! the RFC defaults for mrproxy extensions.

use ipnet::{IpNet, Ipv4Net};
use mrproxy_types::Family;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Config {
    /// `quickleave`: leave upstream as soon as no tracked host wants the group; implies tracked
    /// fast leave on every downstream that does not set `fastleave off`.
    pub quickleave: bool,
    /// `hashtablesize N` (igmpproxy's quickleave bitmap size): accepted and ignored, because
    /// mrproxy tracks hosts exactly.
    pub hashtablesize: Option<u32>,
    /// `rescanvif`: accepted; mrproxy always follows interfaces through netlink events.
    pub rescanvif: bool,
    pub chroot: Option<PathBuf>,
    pub user: Option<String>,
    /// Role of interfaces without a `phyint` block: Disabled, or Downstream after `defaultdown`.
    pub default_role: Role,
    /// Settings applied to interfaces without a `phyint` block (defaultdown) and the base for
    /// every block; extension keywords given at top level change these defaults.
    pub defaults: InterfaceSettings,
    /// `maxtotalroutes N` (top level): forwarding entries per address family, all input
    /// interfaces together.
    pub max_total_routes: usize,
    /// `metrics ADDR:PORT` (top level): serve the Prometheus metrics over HTTP there
    /// (`GET /metrics`); off by default. Bound at start only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<std::net::SocketAddr>,
    /// `phyint` blocks in file order; names are unique (a later duplicate is dropped with a
    /// warning, as igmpproxy uses the first).
    pub interfaces: Vec<Interface>,
    /// SSM ranges (RFC 4607 §1); default 232.0.0.0/8 and ff3x::/32 for each scope x (16 prefixes
    /// ff30::/32 … ff3f::/32, because ff30::/12 would also cover unicast-prefix-based ASM groups,
    /// RFC 3306). `ssmrange` lines replace the whole list.
    pub ssm_ranges: Vec<IpNet>,
    /// Warnings for the operator (legacy address forms, host bits in prefixes, ignored
    /// keywords such as `ratelimit` on Linux), with their positions.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Role {
    Upstream,
    Downstream,
    Disabled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// Kernel interface name (at most 15 characters). An alias label `eth0:1` names `eth0`.
    pub name: String,
    pub role: Role,
    pub settings: InterfaceSettings,
    /// Where the block starts (for messages).
    pub position: Position,
}

/// Everything that can be set per interface. igmpproxy keywords first, then extensions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceSettings {
    /// `ratelimit N` (kbit/s; Linux ignores it).
    pub ratelimit: u32,
    /// `threshold N` (1..=255): forward out of this interface only packets with TTL > N.
    pub threshold: u8,
    /// `altnet PREFIX` (IPv4; IPv6 prefixes as an extension): on an upstream, extra networks whose
    /// sources are accepted; on a downstream, kept for compatibility (reports are matched by the
    /// receiving interface, not by source).
    pub altnets: Vec<IpNet>,
    /// `whitelist PREFIX` / `blacklist PREFIX` in file order (docs/igmpproxy-differences.md §3.5:
    /// the last matching entry decides; none matching → deny if any whitelist exists).
    pub group_filters: Vec<GroupFilter>,
    // ---- extensions ----
    /// `igmpversion 1|2|3` (default 3).
    pub igmp_version: u8,
    /// `mldversion 1|2` (default 2).
    pub mld_version: u8,
    /// `ipv4 on|off`, `ipv6 on|off` (both on by default).
    pub ipv4: bool,
    pub ipv6: bool,
    /// `robustness N` (1..=7 recommended, ≥ 1), `queryinterval S`, `queryresponseinterval S`,
    /// `lastmemberqueryinterval S`, `lastmemberquerycount N`, `startupqueryinterval S`,
    /// `startupquerycount N`. Seconds may have a fraction (`0.5`).
    pub timers: Timers,
    /// `fastleave on|off` (default: on when `quickleave`, else off).
    pub fast_leave: Option<bool>,
    /// `maxgroups N`, `maxsources N` (per group), `maxgroupsperhost N`: bounds of the router
    /// tables; a report past them is dropped (one host cannot take every group slot).
    pub max_groups: usize,
    pub max_sources: usize,
    pub max_groups_per_host: usize,
    /// `maxhosts N`, `maxsourcesperhost N`: bounds of explicit host tracking. Past them a report
    /// still counts; its host is an untracked listener and fast leave waits for it.
    pub max_hosts: usize,
    pub max_sources_per_host: usize,
    /// `maxhostentries N`: host-tracking state of the whole interface, each (host, group)
    /// membership counting 1 plus its sources; past it, as past `maxhosts`.
    pub max_host_entries: usize,
    /// `maxrecords N`: group records read from one IGMPv3/MLDv2 report.
    pub max_records: usize,
    /// `maxroutes N`: forwarding entries whose input is this interface.
    pub max_routes: usize,
    /// `upcallrate N`: new-source notifications from the kernel (upcalls) handled per second
    /// for traffic arriving on this interface.
    pub upcall_rate: u32,
    /// `querier auto|always`: `always` never yields the querier role (as igmpproxy).
    pub querier_always: bool,
    /// `forwardnonquerier on|off`: keep forwarding onto this link while another router is the
    /// elected querier (RFC 4605 §4.2 has only the querier forward; on risks duplicates).
    pub forward_non_querier: bool,
    /// `routeralert require|optional` (default optional: RTL8373 switches omit it).
    pub require_router_alert: bool,
    /// `rereport S` on an upstream: re-send the upstream membership every S seconds (for ISPs that
    /// stop streams); `None` = off.
    pub rereport: Option<Duration>,
    /// `queryonupstreamquery on|off`: send a downstream general query when an upstream general
    /// query arrives (the change proposed in pali/igmpproxy#48; docs/igmpproxy-differences.md
    /// D22). Default off.
    pub query_on_upstream_query: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timers {
    pub robustness: u8,
    pub query_interval: Duration,
    pub query_response_interval: Duration,
    pub last_member_query_interval: Duration,
    /// RFC 9776 §8.9 default when not given: `robustness`. The RFC formulas, these defaults
    /// included, are in `mrproxy_membership::intervals`.
    pub last_member_query_count: Option<u8>,
    /// RFC 9776 §8.6 default when not given: `query_interval` / 4.
    pub startup_query_interval: Option<Duration>,
    /// RFC 9776 §8.7 default when not given: `robustness`.
    pub startup_query_count: Option<u8>,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            robustness: 2,
            query_interval: Duration::from_secs(125),
            query_response_interval: Duration::from_secs(10),
            last_member_query_interval: Duration::from_secs(1),
            last_member_query_count: None,
            startup_query_interval: None,
            startup_query_count: None,
        }
    }
}

impl Default for InterfaceSettings {
    fn default() -> Self {
        InterfaceSettings {
            ratelimit: 0,
            threshold: 1,
            altnets: Vec::new(),
            group_filters: Vec::new(),
            igmp_version: 3,
            mld_version: 2,
            ipv4: true,
            ipv6: true,
            timers: Timers::default(),
            fast_leave: None,
            max_groups: 4096,
            max_sources: 64,
            max_groups_per_host: 256,
            max_hosts: 1024,
            max_sources_per_host: 64,
            max_host_entries: 16_384,
            max_records: 256,
            max_routes: 1024,
            upcall_rate: 100,
            querier_always: false,
            forward_non_querier: false,
            require_router_alert: false,
            rereport: None,
            query_on_upstream_query: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GroupFilter {
    /// true = whitelist (allow), false = blacklist (deny).
    pub allow: bool,
    pub prefix: IpNet,
}

impl InterfaceSettings {
    /// docs/igmpproxy-differences.md §3.5: the last matching entry decides; if none matches, deny
    /// when any whitelist entry exists, else allow. Only entries of the group's address family
    /// take part.
    pub fn allows_group(&self, group: std::net::IpAddr) -> bool {
        let mut any_whitelist = false;
        let mut decision = None;
        for f in &self.group_filters {
            let same_family = matches!(
                (f.prefix, group),
                (IpNet::V4(_), std::net::IpAddr::V4(_)) | (IpNet::V6(_), std::net::IpAddr::V6(_))
            );
            if !same_family {
                continue;
            }
            any_whitelist |= f.allow;
            if f.prefix.contains(&group) {
                decision = Some(f.allow);
            }
        }
        decision.unwrap_or(!any_whitelist)
    }

    /// The IPv4 altnets (what igmpproxy understands).
    pub fn altnets_v4(&self) -> impl Iterator<Item = Ipv4Net> + '_ {
        self.altnets.iter().filter_map(|n| match n {
            IpNet::V4(n) => Some(*n),
            IpNet::V6(_) => None,
        })
    }
}

impl InterfaceSettings {
    /// Whether a leave may end a group at once when host tracking says nobody is left: the
    /// interface's `fastleave` if given, else the global `quickleave`.
    pub fn effective_fast_leave(&self, quickleave: bool) -> bool {
        self.fast_leave.unwrap_or(quickleave)
    }
}

impl Config {
    /// The role and settings for an interface name (alias labels `eth0:1` match `eth0`).
    pub fn interface(&self, name: &str) -> (Role, &InterfaceSettings) {
        for i in &self.interfaces {
            let base = i.name.split(':').next().unwrap_or(&i.name);
            if i.name == name || base == name {
                return (i.role, &i.settings);
            }
        }
        (self.default_role, &self.defaults)
    }
}

/// A place in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub position: Position,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.position, self.message)
    }
}

/// How operator messages name a family's kernel slots ([`mrproxy_types::MAX_VIFS`] of them):
/// "VIFs (MAXVIFS)" or "MIFs (MAXMIFS)".
pub fn vif_slots(family: Family) -> &'static str {
    match family {
        Family::V4 => "VIFs (MAXVIFS)",
        Family::V6 => "MIFs (MAXMIFS)",
    }
}

/// A configuration that cannot be used: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{position}: {message}")]
pub struct ConfigError {
    pub position: Position,
    pub message: String,
}
