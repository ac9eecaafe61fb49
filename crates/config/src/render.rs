//! A configuration written back in its own language with every setting spelled out: what
//! `mrproxy --check` prints as the effective settings. Parsing the text gives a configuration
//! that behaves the same (and renders to the same text).

use crate::model::{Config, InterfaceSettings, Role};
use crate::semantic::default_ssm_ranges;
use crate::values::show_seconds;
use std::fmt::Write;

fn role(role: Role) -> &'static str {
    match role {
        Role::Upstream => "upstream",
        Role::Downstream => "downstream",
        Role::Disabled => "disabled",
    }
}

fn switch(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

impl Config {
    /// The effective configuration as a file mrproxy reads.
    pub fn effective(&self) -> String {
        let mut out = String::from("# effective configuration: every setting spelled out\n");
        if self.quickleave {
            out.push_str("quickleave\n");
        }
        if let Some(dir) = &self.chroot {
            let _ = writeln!(out, "chroot {}", dir.display());
        }
        if let Some(user) = &self.user {
            let _ = writeln!(out, "user {user}");
        }
        let _ = writeln!(out, "maxtotalroutes {}", self.max_total_routes);
        if let Some(address) = self.metrics {
            let _ = writeln!(out, "metrics {address}");
        }
        if self.ssm_ranges != default_ssm_ranges() {
            for range in &self.ssm_ranges {
                let _ = writeln!(out, "ssmrange {range}");
            }
        }
        let _ = writeln!(
            out,
            "\n# interfaces without a phyint block: {}",
            role(self.default_role)
        );
        if self.default_role == Role::Downstream {
            out.push_str("defaultdown\n");
        }
        extensions(&mut out, "", &self.defaults, self.quickleave);
        for i in &self.interfaces {
            let s = &i.settings;
            let _ = writeln!(
                out,
                "\nphyint {} {} ratelimit {} threshold {}",
                i.name,
                role(i.role),
                s.ratelimit,
                s.threshold
            );
            for net in &s.altnets {
                let _ = writeln!(out, "    altnet {net}");
            }
            for f in &s.group_filters {
                let list = if f.allow { "whitelist" } else { "blacklist" };
                let _ = writeln!(out, "    {list} {}", f.prefix);
            }
            extensions(&mut out, "    ", s, self.quickleave);
        }
        out
    }
}

/// The extension keywords of `s`, their defaults resolved (docs: mrproxy.conf(5)).
fn extensions(out: &mut String, indent: &str, s: &InterfaceSettings, quickleave: bool) {
    let t = &s.timers;
    let robustness = t.robustness;
    let lines = [
        format!("igmpversion {}", s.igmp_version),
        format!("mldversion {}", s.mld_version),
        format!("ipv4 {}", switch(s.ipv4)),
        format!("ipv6 {}", switch(s.ipv6)),
        format!("robustness {robustness}"),
        format!("queryinterval {}", show_seconds(t.query_interval)),
        format!(
            "queryresponseinterval {}",
            show_seconds(t.query_response_interval)
        ),
        format!(
            "lastmemberqueryinterval {}",
            show_seconds(t.last_member_query_interval)
        ),
        format!(
            "lastmemberquerycount {}",
            t.last_member_query_count.unwrap_or(robustness)
        ),
        format!(
            "startupqueryinterval {}",
            show_seconds(t.startup_query_interval.unwrap_or(t.query_interval / 4))
        ),
        format!(
            "startupquerycount {}",
            t.startup_query_count.unwrap_or(robustness)
        ),
        format!("fastleave {}", switch(s.fast_leave.unwrap_or(quickleave))),
        format!("maxgroups {}", s.max_groups),
        format!("maxsources {}", s.max_sources),
        format!("maxgroupsperhost {}", s.max_groups_per_host),
        format!("maxhosts {}", s.max_hosts),
        format!("maxsourcesperhost {}", s.max_sources_per_host),
        format!("maxhostentries {}", s.max_host_entries),
        format!("maxrecords {}", s.max_records),
        format!("maxroutes {}", s.max_routes),
        format!("upcallrate {}", s.upcall_rate),
        format!(
            "querier {}",
            if s.querier_always { "always" } else { "auto" }
        ),
        format!("forwardnonquerier {}", switch(s.forward_non_querier)),
        format!(
            "routeralert {}",
            if s.require_router_alert {
                "require"
            } else {
                "optional"
            }
        ),
        format!(
            "rereport {}",
            s.rereport.map_or_else(|| "off".to_owned(), show_seconds)
        ),
        format!("queryonupstreamquery {}", switch(s.query_on_upstream_query)),
    ];
    for line in lines {
        let _ = writeln!(out, "{indent}{line}");
    }
}
