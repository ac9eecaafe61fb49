//! Log lines for the engine's notices: rejected inputs, querier changes and the fate of
//! refused kernel changes (the first refusal of an object is a warning, the next ones
//! are debug lines, the success after refusals an info line: docs/kernel-faults.md). Expected
//! noise (our own looped-back packets, reports heard on the upstream LAN) stays at trace level;
//! operator-relevant rejections are warnings, rate-limited per (reason, interface) so a flood
//! cannot flood the log (docs/hostile-lans.md).

use super::limiter::LogLimiter;
use super::names::Names;
use mrproxy_engine::{Family, KernelObject, Notice, RejectReason};
use tracing::{debug, info, trace, warn};

#[derive(Default)]
pub struct Reporter {
    warnings: LogLimiter,
}

impl Reporter {
    pub fn notice(&mut self, notice: &Notice, names: &Names) {
        match notice {
            Notice::Rejected {
                ifindex,
                from,
                reason,
            } => {
                let iface = ifindex.map(|i| names.of(i)).unwrap_or_default();
                let from = from.map(|f| f.to_string()).unwrap_or_default();
                match reason {
                    RejectReason::OwnPacket | RejectReason::NotDownstream | RejectReason::LinkLocalGroup(_) => {
                        trace!(%iface, %from, ?reason, "ignored")
                    }
                    RejectReason::SourceNotAccepted { source, group } => self.warnings.warn(
                        reason.kind(),
                        *ifindex,
                        names,
                        format_args!(
                            "multicast source {source} for {group} on upstream {iface} is outside the \
                             interface's networks and altnets; add `altnet {source}/32` (or its network) \
                             to that phyint to accept it"
                        ),
                    ),
                    RejectReason::OlderQuerier { from, version } => self.warnings.warn(
                        reason.kind(),
                        *ifindex,
                        names,
                        format_args!(
                            "an IGMPv{version}/MLD querier {from} is on {iface}: set `igmpversion {version}` \
                             (or `mldversion`) on that phyint so every router on the link runs the same \
                             version (RFC 9776 §7.3.1)"
                        ),
                    ),
                    // Once per interface event, never a flood: not rate-limited.
                    RejectReason::NoFreeVif { family, name, limit } => {
                        let slots = mrproxy_config::vif_slots(*family);
                        warn!(
                            "interface {name} not used for {family}: the kernel's {limit} {family} \
                             {slots} are all taken by other interfaces; it gets one when another \
                             goes, or disable some with `phyint IF disabled`"
                        )
                    }
                    RejectReason::Limit(what) => self.warnings.warn(
                        reason.kind(),
                        *ifindex,
                        names,
                        format_args!("limit reached on {iface} (from {from}): {what}"),
                    ),
                    RejectReason::OffLinkQuerier => self.warnings.warn(
                        reason.kind(),
                        *ifindex,
                        names,
                        format_args!(
                            "query on {iface} from {from} ignored: not a router on this link (the source is \
                             outside the interface's subnets, or a subnet's network/broadcast address)"
                        ),
                    ),
                    RejectReason::BadRecordSource { group, source } => self.warnings.warn(
                        reason.kind(),
                        *ifindex,
                        names,
                        format_args!(
                            "report on {iface} from {from} for {group} lists source {source}, which cannot \
                             send multicast: record dropped"
                        ),
                    ),
                    RejectReason::UpcallRate { source, group, per_second } => self.warnings.warn(
                        reason.kind(),
                        *ifindex,
                        names,
                        format_args!(
                            "more than {per_second} new streams per second arrive on {iface} (latest \
                             ({source}, {group})): the rest wait; raise `upcallrate` on that phyint if \
                             this is legitimate traffic"
                        ),
                    ),
                    RejectReason::RouteLimit { source, group, limit } => self.warnings.warn(
                        reason.kind(),
                        *ifindex,
                        names,
                        format_args!(
                            "all {limit} forwarding entries are in use by active streams: no entry for \
                             ({source}, {group}) from {iface}; raise `maxtotalroutes` if this is \
                             legitimate traffic"
                        ),
                    ),
                    other => debug!(%iface, %from, reason = ?other, "input rejected"),
                }
            }
            Notice::KernelRefusal {
                what,
                ifindex,
                error,
                attempts,
                retry_in_ms,
            } => {
                let object = describe(what, names);
                let retry = match retry_in_ms {
                    Some(ms) => format!("retrying in {} s", *ms as f64 / 1000.0),
                    None => "no longer wanted, not retried".to_owned(),
                };
                if *attempts <= 1 {
                    self.warnings.warn(
                        what.operation(),
                        *ifindex,
                        names,
                        format_args!(
                            "the kernel refused the {object}: {}; {retry}",
                            error.message
                        ),
                    );
                } else {
                    debug!(attempts, error = %error.message, "the kernel refused the {object} again; {retry}");
                }
            }
            Notice::KernelRestored { what, attempts } => info!(
                "{} restored after {} attempts",
                describe(what, names),
                attempts + 1
            ),
            Notice::QuerierChanged {
                family,
                ifindex,
                querier,
            } => match querier {
                None => info!(iface = %names.of(*ifindex), ?family, "we are the querier"),
                Some(q) => info!(iface = %names.of(*ifindex), ?family, querier = %q,
                    "another router is the querier; not forwarding onto this link"),
            },
        }
    }
}

/// A kernel object in words, with its interface's name.
fn describe(what: &KernelObject, names: &Names) -> String {
    match what {
        KernelObject::Interface { family, ifindex } => {
            let slot = if *family == Family::V6 {
                "IPv6 MIF"
            } else {
                "IPv4 VIF"
            };
            format!("{slot} of {}", names.of(*ifindex))
        }
        KernelObject::UpstreamMembership { ifindex, group } => {
            format!("upstream membership of {group} on {}", names.of(*ifindex))
        }
        KernelObject::Route { source, group } => format!("forwarding entry ({source}, {group})"),
    }
}
