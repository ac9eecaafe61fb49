//! Executes the engine's actions on the kernel through the Linux layer. Errors are survived:
//! one failed setsockopt never stops the daemon. A refused change that carries state (a VIF, a
//! forwarding entry, an upstream membership) goes back to the engine as
//! [`Event::KernelRefused`], which counts it, retries it and has it logged once
//! (docs/kernel-faults.md); a success is answered with [`Event::KernelConfirmed`]. Send
//! errors, which can repeat per packet, are logged here, rate-limited per (kind, interface).

use super::limiter::LogLimiter;
use super::names::Names;
use mrproxy_engine::{
    Action, Event, Family, FilterMode, KernelError, KernelErrorKind, KernelObject,
};
use mrproxy_linux::{IgmpSender, MldSender, Mroute4, Mroute6, UpstreamMembership};
use std::net::IpAddr;
use tracing::{debug, info, warn};

pub struct Kernel {
    pub v4: Mroute4,
    /// `None` when the kernel has no IPv6 multicast routing or its table is taken: mrproxy then
    /// runs IPv4 only (said once at start).
    pub v6: Option<Mroute6>,
    igmp: IgmpSender,
    mld: Option<MldSender>,
    upstream: UpstreamMembership,
    warnings: LogLimiter,
}

impl Kernel {
    /// Open every socket. IPv4 is required; IPv6 is optional with a warning that says why.
    pub fn open() -> Result<Kernel, String> {
        let v4 = Mroute4::open(None).map_err(|e| e.to_string())?;
        let igmp = IgmpSender::open().map_err(|e| e.to_string())?;
        let (v6, mld) = match (Mroute6::open(None), MldSender::open()) {
            (Ok(m), Ok(s)) => (Some(m), Some(s)),
            (Err(e), _) | (_, Err(e)) => {
                warn!("IPv6 (MLD) disabled: {e}");
                (None, None)
            }
        };
        let mut upstream = UpstreamMembership::new();
        // Its per-socket limit comes from /proc, which a `chroot` hides later.
        upstream.prepare();
        Ok(Kernel {
            v4,
            v6,
            igmp,
            mld,
            upstream,
            warnings: LogLimiter::default(),
        })
    }

    /// Apply one action; an answer for the engine is returned: route counters, or for a
    /// change that carries state whether the kernel took it.
    /// The kernel's counters of the (source, group) entry, for the status; `None` when it has
    /// no such entry or cannot be asked.
    pub fn route_counters(
        &self,
        source: IpAddr,
        group: IpAddr,
    ) -> Option<crate::status::build::RouteCounters> {
        let packets = match (source, group) {
            (IpAddr::V4(s), IpAddr::V4(g)) => self.v4.route_packets(s, g),
            (IpAddr::V6(s), IpAddr::V6(g)) => self.v6.as_ref()?.route_packets(s, g),
            _ => Ok(None),
        };
        packets
            .ok()
            .flatten()
            .map(|packets| crate::status::build::RouteCounters {
                packets,
                bytes: None,
                wrong_interface: None,
            })
    }

    pub fn apply(&mut self, action: &Action, names: &Names) -> Option<Event> {
        match action {
            Action::AttachInterface {
                family,
                ifindex,
                name,
                role,
                threshold,
                ratelimit,
            } => {
                let i = ifindex.0;
                let result = match family {
                    Family::V4 => self.v4.add_vif(i, *threshold, *ratelimit).map(|vif| {
                        info!(iface = %name, vif, ?role, "IPv4 interface attached");
                    }),
                    Family::V6 => match self.v6.as_mut() {
                        Some(m) => m.add_mif(i, *threshold, *ratelimit).map(|mif| {
                            info!(iface = %name, mif, ?role, "IPv6 interface attached");
                        }),
                        None => Ok(()),
                    },
                };
                let joined = match (family, role) {
                    (Family::V4, mrproxy_config::Role::Downstream) => self.v4.join_report_groups(i),
                    (Family::V6, mrproxy_config::Role::Downstream) => match self.v6.as_mut() {
                        Some(m) => m.join_report_groups(i),
                        None => Ok(()),
                    },
                    _ => Ok(()),
                };
                return outcome(action, result.and(joined));
            }
            Action::DetachInterface { family, ifindex } => {
                let i = ifindex.0;
                let result = match family {
                    Family::V4 => {
                        self.v4.leave_report_groups(i);
                        self.v4.del_vif(i)
                    }
                    Family::V6 => match self.v6.as_mut() {
                        Some(m) => {
                            m.leave_report_groups(i);
                            m.del_mif(i)
                        }
                        None => Ok(()),
                    },
                };
                match result {
                    Ok(()) => info!(iface = %names.of(*ifindex), ?family, "interface detached"),
                    Err(e) => debug!(iface = %names.of(*ifindex), "detach: {e}"),
                }
            }
            Action::SendIgmp {
                ifindex,
                source,
                destination,
                message,
            } => {
                if let Err(e) =
                    self.igmp
                        .send(ifindex.0, *source, *destination, &message.to_bytes())
                {
                    self.warnings.warn(
                        "send IGMP",
                        Some(*ifindex),
                        names,
                        format_args!(
                            "cannot send IGMP to {destination} on {}: {e}",
                            names.of(*ifindex)
                        ),
                    );
                } else {
                    debug!(iface = %names.of(*ifindex), %destination, ?message, "sent IGMP");
                }
            }
            Action::SendMld {
                ifindex,
                source,
                destination,
                message,
            } => {
                if let Some(mld) = &self.mld {
                    let bytes = message.to_bytes(source, destination);
                    if let Err(e) = mld.send(ifindex.0, *source, *destination, &bytes) {
                        self.warnings.warn(
                            "send MLD",
                            Some(*ifindex),
                            names,
                            format_args!(
                                "cannot send MLD to {destination} on {}: {e}",
                                names.of(*ifindex)
                            ),
                        );
                    } else {
                        debug!(iface = %names.of(*ifindex), %destination, ?message, "sent MLD");
                    }
                }
            }
            Action::SetRoute {
                source,
                group,
                iif,
                oifs,
            } => {
                let oif_list: Vec<u32> = oifs.iter().map(|o| o.0).collect();
                let result = match (source, group) {
                    (IpAddr::V4(s), IpAddr::V4(g)) => self.v4.set_route(*s, *g, iif.0, &oif_list),
                    (IpAddr::V6(s), IpAddr::V6(g)) => match self.v6.as_mut() {
                        Some(m) => m.set_route(*s, *g, iif.0, &oif_list),
                        None => Ok(()),
                    },
                    _ => Ok(()),
                };
                if result.is_ok() {
                    info!(
                        %source, %group, iif = %names.of(*iif), oifs = %names.list(oifs),
                        "forwarding entry set"
                    );
                }
                return outcome(action, result);
            }
            Action::DeleteRoute { source, group } => {
                let result = match (source, group) {
                    (IpAddr::V4(s), IpAddr::V4(g)) => self.v4.delete_route(*s, *g),
                    (IpAddr::V6(s), IpAddr::V6(g)) => match self.v6.as_mut() {
                        Some(m) => m.delete_route(*s, *g),
                        None => Ok(()),
                    },
                    _ => Ok(()),
                };
                // An entry that is not there (ENOENT) counts as removed (`delete_route`).
                if result.is_ok() {
                    info!(%source, %group, "forwarding entry removed");
                }
                return outcome(action, result);
            }
            Action::SampleRoute { source, group } => {
                let packets = match (source, group) {
                    (IpAddr::V4(s), IpAddr::V4(g)) => self.v4.route_packets(*s, *g),
                    (IpAddr::V6(s), IpAddr::V6(g)) => match self.v6.as_ref() {
                        Some(m) => m.route_packets(*s, *g),
                        None => Ok(None),
                    },
                    _ => Ok(None),
                };
                let packets = match packets {
                    Ok(p) => p.unwrap_or(0),
                    Err(e) => {
                        debug!(%source, %group, "cannot read the entry's counters: {e}");
                        0
                    }
                };
                return Some(Event::RouteCounters {
                    source: *source,
                    group: *group,
                    packets,
                });
            }
            Action::SetUpstreamMembership {
                ifindex,
                group,
                mode,
                sources,
            } => {
                let mode_l = match mode {
                    FilterMode::Include => mrproxy_linux::FilterMode::Include,
                    FilterMode::Exclude => mrproxy_linux::FilterMode::Exclude,
                };
                // `names.of` allocates: only in the macros, which skip it below their level.
                let result = self.upstream.set(ifindex.0, *group, mode_l, sources);
                match &result {
                    Ok(()) if *mode == FilterMode::Include && sources.is_empty() => {
                        info!(iface = %names.of(*ifindex), %group, "left upstream")
                    }
                    Ok(()) => info!(
                        iface = %names.of(*ifindex), %group, ?mode, ?sources, "upstream membership"
                    ),
                    Err(_) => {}
                }
                return outcome(action, result);
            }
            Action::Rejected { .. }
            | Action::QuerierChanged { .. }
            | Action::KernelRefusal { .. }
            | Action::KernelRestored { .. } => {}
        }
        None
    }

    /// Clean exit (SIGTERM/SIGINT): remove every forwarding entry and VIF we added and leave
    /// every upstream group.
    pub fn shutdown(&mut self) {
        self.upstream.clear();
        if let Err(e) = self.v4.flush() {
            warn!("cleaning the IPv4 multicast routing table: {e}");
        }
        if let Some(m) = self.v6.as_mut() {
            if let Err(e) = m.flush() {
                warn!("cleaning the IPv6 multicast routing table: {e}");
            }
        }
    }
}

/// The engine's answer for a change that carries state: confirmed, or refused with a pure
/// description of the error.
fn outcome(action: &Action, result: mrproxy_linux::Result<()>) -> Option<Event> {
    let what = KernelObject::of_action(action)?;
    Some(match result {
        Ok(()) => Event::KernelConfirmed { what },
        Err(e) => Event::KernelRefused {
            what,
            error: describe(&what, &e),
        },
    })
}

/// The engine's view of a Linux error: errno, its name, whether it is a per-socket limit of
/// the host part (only memberships have those: upstream joins, report-group joins on attach).
fn describe(what: &KernelObject, e: &mrproxy_linux::Error) -> KernelError {
    let membership = !matches!(what, KernelObject::Route { .. });
    let errno = e.errno();
    KernelError {
        errno,
        name: mrproxy_linux::errno_name(errno),
        kind: if membership && e.is_per_socket_limit() {
            KernelErrorKind::PerSocketLimit
        } else {
            KernelErrorKind::Other
        },
        message: e.to_string(),
    }
}
