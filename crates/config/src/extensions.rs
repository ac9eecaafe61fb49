//! mrproxy's extension keywords: per-interface settings that igmpproxy hard-codes (docs/igmpproxy-differences.md
//! §3.9). Each may appear inside a `phyint` block (that interface) or at top level (the default for
//! every interface whose block does not set it, and for interfaces without a block).
//!
//! Values are read and range-checked here, where the value token is known; checks that relate
//! several settings are in `semantic.rs`.

use crate::diag::{Source, show};
use crate::lexer::Token;
use crate::model::{ConfigError, Diagnostic, InterfaceSettings};
use crate::values::{seconds, show_seconds, strict_integer, switch};
use std::time::Duration;

/// One extension keyword with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extension {
    IgmpVersion(u8),
    MldVersion(u8),
    Ipv4(bool),
    Ipv6(bool),
    Robustness(u8),
    QueryInterval(Duration),
    QueryResponseInterval(Duration),
    LastMemberQueryInterval(Duration),
    LastMemberQueryCount(u8),
    StartupQueryInterval(Duration),
    StartupQueryCount(u8),
    FastLeave(bool),
    MaxGroups(usize),
    MaxSources(usize),
    MaxGroupsPerHost(usize),
    RequireRouterAlert(bool),
    Rereport(Option<Duration>),
    QueryOnUpstreamQuery(bool),
    QuerierAlways(bool),
    ForwardNonQuerier(bool),
    MaxHosts(usize),
    MaxSourcesPerHost(usize),
    MaxHostEntries(usize),
    MaxRecords(usize),
    MaxRoutes(usize),
    UpcallRate(u32),
}

/// Every extension keyword, in documentation order.
pub(crate) const KEYWORDS: &[&str] = &[
    "igmpversion",
    "mldversion",
    "ipv4",
    "ipv6",
    "robustness",
    "queryinterval",
    "queryresponseinterval",
    "lastmemberqueryinterval",
    "lastmemberquerycount",
    "startupqueryinterval",
    "startupquerycount",
    "fastleave",
    "maxgroups",
    "maxsources",
    "maxgroupsperhost",
    "routeralert",
    "rereport",
    "queryonupstreamquery",
    "querier",
    "forwardnonquerier",
    "maxhosts",
    "maxsourcesperhost",
    "maxhostentries",
    "maxrecords",
    "maxroutes",
    "upcallrate",
];

pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

/// The largest Max Resp Time an IGMPv3 query can carry: code 0xFF = 31744 tenths (RFC 9776
/// §4.1.1). Intervals sent as a Max Resp (query response, last member) must fit.
const MAX_RESPONSE: Duration = Duration::from_millis(3_174_400);
/// The largest Querier's Query Interval Code value, 0xFF = 31744 s (RFC 9776 §4.1.7).
const MAX_QUERY_INTERVAL: Duration = Duration::from_secs(31_744);
/// Max Resp Time is counted in tenths of a second (RFC 9776 §4.1.1).
const MIN_RESPONSE: Duration = Duration::from_millis(100);
/// QQIC is counted in whole seconds (RFC 9776 §4.1.7).
const MIN_QUERY_INTERVAL: Duration = Duration::from_secs(1);
/// A re-report more often than once a second would only flood the upstream.
const MIN_REREPORT: Duration = Duration::from_secs(1);
const MAX_REREPORT: Duration = Duration::from_secs(86_400);
const MAX_LIMIT: u64 = u32::MAX as u64;

/// Reads the value of the extension `keyword` (one of [`KEYWORDS`]) from `value`, which is `None`
/// at end of file.
pub(crate) fn read(
    src: &Source<'_>,
    keyword: &Token<'_>,
    value: Option<&Token<'_>>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Extension, ConfigError> {
    let arg = Arg {
        src,
        keyword,
        value,
    };
    let extension = match keyword.text {
        "igmpversion" => Extension::IgmpVersion(arg.choice(&[("1", 1), ("2", 2), ("3", 3)])?),
        "mldversion" => Extension::MldVersion(arg.choice(&[("1", 1), ("2", 2)])?),
        "ipv4" => Extension::Ipv4(arg.switch()?),
        "ipv6" => Extension::Ipv6(arg.switch()?),
        "robustness" => {
            let rv = arg.count()?;
            robustness_warnings(src, keyword, rv, warnings);
            Extension::Robustness(rv)
        }
        "queryinterval" => Extension::QueryInterval(arg.seconds(
            MIN_QUERY_INTERVAL,
            MAX_QUERY_INTERVAL,
            "queries carry it in whole seconds (QQIC, RFC 9776 §4.1.7)",
        )?),
        "queryresponseinterval" => Extension::QueryResponseInterval(arg.seconds(
            MIN_RESPONSE,
            MAX_RESPONSE,
            "queries carry it in tenths of a second (Max Resp Code, RFC 9776 §4.1.1)",
        )?),
        "lastmemberqueryinterval" => Extension::LastMemberQueryInterval(arg.seconds(
            MIN_RESPONSE,
            MAX_RESPONSE,
            "group-specific queries carry it as their Max Resp Code (RFC 9776 §4.1.1)",
        )?),
        "lastmemberquerycount" => Extension::LastMemberQueryCount(arg.count()?),
        "startupqueryinterval" => Extension::StartupQueryInterval(arg.seconds(
            MIN_RESPONSE,
            MAX_QUERY_INTERVAL,
            "no longer than the longest query interval",
        )?),
        "startupquerycount" => Extension::StartupQueryCount(arg.count()?),
        "fastleave" => Extension::FastLeave(arg.switch()?),
        "maxgroups" => Extension::MaxGroups(arg.limit()?),
        "maxsources" => Extension::MaxSources(arg.limit()?),
        "maxgroupsperhost" => Extension::MaxGroupsPerHost(arg.limit()?),
        "routeralert" => {
            Extension::RequireRouterAlert(arg.choice(&[("require", true), ("optional", false)])?)
        }
        "rereport" => Extension::Rereport(match value.map(|v| v.text) {
            Some("off") => None,
            _ => Some(arg.seconds(
                MIN_REREPORT,
                MAX_REREPORT,
                "more often would flood the upstream",
            )?),
        }),
        "queryonupstreamquery" => Extension::QueryOnUpstreamQuery(arg.switch()?),
        "querier" => Extension::QuerierAlways(arg.choice(&[("auto", false), ("always", true)])?),
        "forwardnonquerier" => Extension::ForwardNonQuerier(arg.switch()?),
        "maxhosts" => Extension::MaxHosts(arg.limit()?),
        "maxsourcesperhost" => Extension::MaxSourcesPerHost(arg.limit()?),
        "maxhostentries" => Extension::MaxHostEntries(arg.limit()?),
        "maxrecords" => Extension::MaxRecords(arg.limit()?),
        "maxroutes" => Extension::MaxRoutes(arg.limit()?),
        "upcallrate" => Extension::UpcallRate(
            u32::try_from(arg.limit()?).map_err(|_| arg.expected("a number"))?,
        ),
        other => {
            return Err(src.error(
                keyword,
                format!("'{}' is not an extension keyword", show(other)),
            ));
        }
    };
    Ok(extension)
}

/// RFC 9776 §8.1: the Robustness Variable MUST NOT be zero and SHOULD NOT be one. The QRV field
/// has three bits, so a larger value goes out as 0 (RFC 9776 §4.1.6).
fn robustness_warnings(
    src: &Source<'_>,
    keyword: &Token<'_>,
    rv: u8,
    warnings: &mut Vec<Diagnostic>,
) {
    if rv == 1 {
        warnings.push(src.warning(
            keyword,
            "robustness 1 means one lost packet loses a membership (RFC 9776 §8.1: SHOULD NOT be 1)",
        ));
    } else if rv > 7 {
        warnings.push(src.warning(
            keyword,
            format!(
                "robustness {rv} does not fit the 3-bit QRV field; queries will carry QRV 0 and \
                 other routers keep their own value (RFC 9776 §4.1.6)"
            ),
        ));
    }
}

/// The value token of one keyword and how to complain about it.
struct Arg<'s, 't> {
    src: &'s Source<'s>,
    keyword: &'t Token<'t>,
    value: Option<&'t Token<'t>>,
}

impl Arg<'_, '_> {
    fn expected(&self, what: &str) -> ConfigError {
        let keyword = self.keyword.text;
        match self.value {
            Some(v) => self.src.error(
                v,
                format!(
                    "expected {what} after '{keyword}', found '{}'",
                    show(v.text)
                ),
            ),
            None => self.src.error(
                self.keyword,
                format!("expected {what} after '{keyword}', found end of file"),
            ),
        }
    }

    fn text(&self, what: &str) -> Result<(&Token<'_>, &str), ConfigError> {
        match self.value {
            Some(v) => Ok((v, v.text)),
            None => Err(self.expected(what)),
        }
    }

    fn choice<T: Copy>(&self, options: &[(&str, T)]) -> Result<T, ConfigError> {
        let names: Vec<String> = options.iter().map(|(n, _)| format!("'{n}'")).collect();
        let what = match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        let (_, text) = self.text(&what)?;
        options
            .iter()
            .find(|(n, _)| *n == text)
            .map(|&(_, v)| v)
            .ok_or_else(|| self.expected(&what))
    }

    fn switch(&self) -> Result<bool, ConfigError> {
        let (_, text) = self.text("'on' or 'off'")?;
        switch(text).ok_or_else(|| self.expected("'on' or 'off'"))
    }

    fn integer(&self, min: u64, max: u64) -> Result<u64, ConfigError> {
        let (token, text) = self.text("a number")?;
        let n = match strict_integer(text) {
            Some(n) => n,
            // All digits but too large for u64: still a number, just out of range.
            None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => u64::MAX,
            None => return Err(self.expected("a number")),
        };
        if n < min || n > max {
            return Err(self.src.error(
                token,
                format!(
                    "{} must be from {min} to {max}, found {}",
                    self.keyword.text,
                    show(text)
                ),
            ));
        }
        Ok(n)
    }

    /// Counts (robustness, query counts): 1 to 255; zero would mean "never".
    fn count(&self) -> Result<u8, ConfigError> {
        let n = self.integer(1, u64::from(u8::MAX))?;
        u8::try_from(n).map_err(|_| self.expected("a number"))
    }

    /// Table limits: at least 1, at most u32::MAX.
    fn limit(&self) -> Result<usize, ConfigError> {
        let n = self.integer(1, MAX_LIMIT)?;
        usize::try_from(n).map_err(|_| self.expected("a number"))
    }

    fn seconds(&self, min: Duration, max: Duration, why: &str) -> Result<Duration, ConfigError> {
        let what = "seconds (like 10 or 0.5)";
        let (token, text) = self.text(what)?;
        let d = seconds(text).ok_or_else(|| self.expected(what))?;
        if d < min || d > max {
            return Err(self.src.error(
                token,
                format!(
                    "{} must be from {} to {} seconds, found {}: {why}",
                    self.keyword.text,
                    show_seconds(min),
                    show_seconds(max),
                    show(text)
                ),
            ));
        }
        Ok(d)
    }
}

impl Extension {
    pub fn apply(self, s: &mut InterfaceSettings) {
        match self {
            Extension::IgmpVersion(v) => s.igmp_version = v,
            Extension::MldVersion(v) => s.mld_version = v,
            Extension::Ipv4(on) => s.ipv4 = on,
            Extension::Ipv6(on) => s.ipv6 = on,
            Extension::Robustness(rv) => s.timers.robustness = rv,
            Extension::QueryInterval(d) => s.timers.query_interval = d,
            Extension::QueryResponseInterval(d) => s.timers.query_response_interval = d,
            Extension::LastMemberQueryInterval(d) => s.timers.last_member_query_interval = d,
            Extension::LastMemberQueryCount(n) => s.timers.last_member_query_count = Some(n),
            Extension::StartupQueryInterval(d) => s.timers.startup_query_interval = Some(d),
            Extension::StartupQueryCount(n) => s.timers.startup_query_count = Some(n),
            Extension::FastLeave(on) => s.fast_leave = Some(on),
            Extension::MaxGroups(n) => s.max_groups = n,
            Extension::MaxSources(n) => s.max_sources = n,
            Extension::MaxGroupsPerHost(n) => s.max_groups_per_host = n,
            Extension::RequireRouterAlert(on) => s.require_router_alert = on,
            Extension::Rereport(d) => s.rereport = d,
            Extension::QueryOnUpstreamQuery(on) => s.query_on_upstream_query = on,
            Extension::QuerierAlways(on) => s.querier_always = on,
            Extension::ForwardNonQuerier(on) => s.forward_non_querier = on,
            Extension::MaxHosts(n) => s.max_hosts = n,
            Extension::MaxSourcesPerHost(n) => s.max_sources_per_host = n,
            Extension::MaxHostEntries(n) => s.max_host_entries = n,
            Extension::MaxRecords(n) => s.max_records = n,
            Extension::MaxRoutes(n) => s.max_routes = n,
            Extension::UpcallRate(n) => s.upcall_rate = n,
        }
    }
}
