//! From what the file says ([`Draft`]) to what each interface gets ([`Config`]), with the checks
//! that relate several settings.
//!
//! Resolution rule for extension keywords (mrproxy.conf(5)): a top-level extension keyword sets the
//! default for every interface whose block does not set it, wherever it appears in the file; the
//! last occurrence wins. A block's own keyword wins over the top-level one.

use crate::extensions::Extension;
use crate::grammar::{Draft, Spanned};
use crate::model::{
    Config, ConfigError, Diagnostic, Interface, InterfaceSettings, Position, Role, vif_slots,
};
use crate::phyint::Block;
use crate::values::show_seconds;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use mrproxy_types::{Family, MAX_VIFS};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// RFC 4607 §1: 232.0.0.0/8 and ff3x::/32 for every scope x (flags P=1, T=1, plen 0).
pub fn default_ssm_ranges() -> Vec<IpNet> {
    let mut ranges = Vec::with_capacity(17);
    if let Ok(v4) = Ipv4Net::new(Ipv4Addr::new(232, 0, 0, 0), 8) {
        ranges.push(IpNet::V4(v4));
    }
    for scope in 0..16u16 {
        let first = 0xff30 | scope;
        if let Ok(v6) = Ipv6Net::new(Ipv6Addr::new(first, 0, 0, 0, 0, 0, 0, 0), 32) {
            ranges.push(IpNet::V6(v6));
        }
    }
    ranges
}

/// Forwarding entries per address family unless `maxtotalroutes` says otherwise: 16 times the
/// per-interface default, about 3 MiB of engine state and as much kernel cache.
pub const DEFAULT_MAX_TOTAL_ROUTES: usize = 16_384;

pub(crate) fn resolve(draft: Draft) -> Result<Config, ConfigError> {
    let Draft {
        file,
        quickleave,
        hashtablesize,
        rescanvif,
        chroot,
        user,
        max_total_routes,
        metrics,
        defaultdown,
        globals,
        ssm_ranges,
        blocks,
        mut warnings,
    } = draft;

    let mut defaults = InterfaceSettings::default();
    for g in &globals {
        g.value.apply(&mut defaults);
    }
    let file_start = Position {
        file,
        line: 1,
        column: 1,
    };
    let whom = "interfaces without a phyint block";
    check(&defaults, &[], &globals, whom, &file_start, &mut warnings)?;

    let mut interfaces: Vec<Interface> = Vec::with_capacity(blocks.len());
    for block in blocks {
        if let Some(first) = interfaces.iter().find(|i| i.name == block.name) {
            warnings.push(Diagnostic {
                position: block.position.clone(),
                message: format!(
                    "a second phyint block for '{}' (the first is at {}); igmpproxy uses the \
                     first, so this one is ignored",
                    block.name, first.position
                ),
            });
            continue;
        }
        interfaces.push(interface(block, &defaults, &globals, &mut warnings)?);
    }

    vif_limit(&interfaces)?;

    let ssm_ranges = match ssm_ranges {
        None => default_ssm_ranges(),
        Some(Spanned { value, position }) => {
            ssm_family_warnings(&value, &position, &mut warnings);
            value
        }
    };

    // The same inherited setting can produce the same warning for many interfaces.
    let mut unique: Vec<Diagnostic> = Vec::with_capacity(warnings.len());
    for w in warnings {
        if !unique.contains(&w) {
            unique.push(w);
        }
    }
    unique.sort_by_key(|w| (w.position.line, w.position.column));

    Ok(Config {
        quickleave,
        hashtablesize,
        rescanvif,
        chroot,
        user,
        default_role: if defaultdown {
            Role::Downstream
        } else {
            Role::Disabled
        },
        defaults,
        max_total_routes: max_total_routes.unwrap_or(DEFAULT_MAX_TOTAL_ROUTES),
        metrics,
        interfaces,
        ssm_ranges,
        warnings: unique,
    })
}

/// docs/igmpproxy-differences.md D11: every upstream or downstream phyint of a family needs one
/// of the kernel's [`MAX_VIFS`] VIFs (IPv4) or MIFs (IPv6). A file that names more can never
/// work as written: refused at the first phyint over the limit. Interfaces without a block
/// (`defaultdown`) are only known at run time; the engine refuses those when the slots are taken.
fn vif_limit(interfaces: &[Interface]) -> Result<(), ConfigError> {
    type UsesFamily = fn(&InterfaceSettings) -> bool;
    let families: [(Family, UsesFamily); 2] = [(Family::V4, |s| s.ipv4), (Family::V6, |s| s.ipv6)];
    for (family, uses) in families {
        let slots = vif_slots(family);
        let mut used = interfaces
            .iter()
            .filter(|i| i.role != Role::Disabled && uses(&i.settings));
        if let Some(over) = used.nth(MAX_VIFS) {
            return Err(ConfigError {
                position: over.position.clone(),
                message: format!(
                    "interface '{}' needs one of the Linux kernel's {MAX_VIFS} {family} {slots}, \
                     but the upstream and downstream interfaces before it take them all; make \
                     some interfaces disabled (or set `{} off` on them)",
                    over.name,
                    family.to_string().to_lowercase()
                ),
            });
        }
    }
    Ok(())
}

fn interface(
    block: Block,
    defaults: &InterfaceSettings,
    globals: &[Spanned<Extension>],
    warnings: &mut Vec<Diagnostic>,
) -> Result<Interface, ConfigError> {
    let mut settings = defaults.clone();
    settings.ratelimit = block.ratelimit;
    settings.threshold = block.threshold;
    settings.altnets = block.altnets;
    settings.group_filters = block.group_filters;
    for e in &block.extensions {
        e.value.apply(&mut settings);
    }
    // docs/igmpproxy-differences.md §3.2: a block without a role is disabled, or downstream
    // after `defaultdown`.
    let default_role = if block.defaultdown_before {
        Role::Downstream
    } else {
        Role::Disabled
    };
    let role = block.role.unwrap_or(default_role);
    let whom = format!("interface '{}'", block.name);
    check(
        &settings,
        &block.extensions,
        globals,
        &whom,
        &block.position,
        warnings,
    )?;

    if role != Role::Upstream
        && let Some(rereport) = last(&block.extensions, |e| {
            matches!(e, Extension::Rereport(Some(_)))
        })
    {
        warnings.push(Diagnostic {
            position: rereport.position.clone(),
            message: format!("rereport has effect on upstream interfaces only; {whom} is not one"),
        });
    }
    if !settings.ipv4 && !settings.ipv6 && role != Role::Disabled {
        warnings.push(Diagnostic {
            position: block.position.clone(),
            message: format!("{whom} has both ipv4 and ipv6 off, so it takes no part"),
        });
    }
    Ok(Interface {
        name: block.name,
        role,
        settings,
        position: block.position,
    })
}

/// Checks between settings of one interface. `local` are the keywords of its own block, `globals`
/// the top-level ones; errors point to the most local keyword that takes part. The defaults never
/// fail a check, so there always is such a keyword; `fallback` only keeps this total.
fn check(
    s: &InterfaceSettings,
    local: &[Spanned<Extension>],
    globals: &[Spanned<Extension>],
    whom: &str,
    fallback: &Position,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(), ConfigError> {
    let position_of = |e: Option<&Spanned<Extension>>| match e {
        Some(e) => e.position.clone(),
        None => fallback.clone(),
    };
    let qri = s.timers.query_response_interval;
    let qi = s.timers.query_interval;
    let qri_keyword = |e: &Extension| matches!(e, Extension::QueryResponseInterval(_));
    let qi_keyword = |e: &Extension| matches!(e, Extension::QueryInterval(_));

    // RFC 9776 §8.3: the Query Response Interval must be less than the Query Interval.
    if qri >= qi {
        let blame = last(local, qri_keyword)
            .or_else(|| last(local, qi_keyword))
            .or_else(|| last(globals, qri_keyword))
            .or_else(|| last(globals, qi_keyword));
        let message = format!(
            "queryresponseinterval ({} s) must be less than queryinterval ({} s) for {whom} \
             (RFC 9776 §8.3)",
            show_seconds(qri),
            show_seconds(qi)
        );
        return Err(ConfigError {
            position: position_of(blame),
            message,
        });
    }

    // IGMPv1 queries have no Max Resp field: hosts answer within 10 s (RFC 2236 §4, RFC 1112).
    const IGMPV1_RESPONSE: Duration = Duration::from_secs(10);
    if s.igmp_version == 1 && s.ipv4 && qri != IGMPV1_RESPONSE {
        let at = last(local, qri_keyword).or_else(|| last(globals, qri_keyword));
        warnings.push(Diagnostic {
            position: position_of(at),
            message: format!(
                "IGMPv1 queries cannot carry a maximum response time: hosts answer within 10 s, \
                 not the {} s of queryresponseinterval (for {whom})",
                show_seconds(qri)
            ),
        });
    }
    Ok(())
}

/// The last keyword in `list` that `is_kind` accepts.
fn last(
    list: &[Spanned<Extension>],
    is_kind: impl Fn(&Extension) -> bool,
) -> Option<&Spanned<Extension>> {
    list.iter().rev().find(|e| is_kind(&e.value))
}

/// `ssmrange` replaces the whole default list (mrproxy.conf(5)); say so when that leaves an
/// address family without any SSM range.
fn ssm_family_warnings(ranges: &[IpNet], at: &Position, warnings: &mut Vec<Diagnostic>) {
    let has_v4 = ranges.iter().any(|r| matches!(r, IpNet::V4(_)));
    let has_v6 = ranges.iter().any(|r| matches!(r, IpNet::V6(_)));
    let families = [
        (has_v4, "IPv4", "232.0.0.0/8", "ssmrange 232.0.0.0/8"),
        (
            has_v6,
            "IPv6",
            "ff3x::/32 for every scope x",
            "ssmrange ff3e::/32",
        ),
    ];
    for (present, family, default, example) in families {
        if !present {
            warnings.push(Diagnostic {
                position: at.clone(),
                message: format!(
                    "ssmrange replaces the default SSM ranges and names no {family} range, so \
                     {family} has none (the default was {default}); add for example '{example}'"
                ),
            });
        }
    }
}
