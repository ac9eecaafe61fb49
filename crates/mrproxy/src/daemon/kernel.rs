//! Executes the engine's actions on the kernel through the Linux layer. Errors are survived:
//! one failed setsockopt never stops the daemon. A refused change that carries state (a VIF, a
//! forwarding entry, an upstream membership) goes back to the engine as
//! [`Event::KernelRefused`], which counts it, retries it and has it logged once
//! (docs/kernel-faults.md); a success is answered with [`Event::KernelConfirmed`]. Send
//! errors, which can repeat per packet, are logged here, rate-limited per (kind, interface).
//!
//! Every change of the multicast routing state is written once over the family
//! ([`KernelFamily`]): `apply` matches the action's family and calls that generic code.
//! The engine reads the forwarding entries' packet counters through [`RouteCounters`].

use super::limiter::LogLimiter;
use super::names::Names;
use mrproxy_config::Role;
use mrproxy_engine::{Action, Event, KernelError, KernelErrorKind, KernelObject, RouteCounters};
use mrproxy_linux::{
    EntryCounters, IgmpSender, MldSender, Mroute, Mroute4, Mroute6, MrouteFamily,
    UpstreamMembership,
};
use mrproxy_types::{AnySourceGroup, Family, IfIndex, PerFamily, SourceFilter, SourceGroup};
use std::fmt::{Debug, Display};
use std::net::{Ipv4Addr, Ipv6Addr};
use tracing::{debug, info, warn};

pub struct Kernel {
    pub v4: Mroute4,
    /// `None` when the kernel has no IPv6 multicast routing or its table is taken: mrproxy then
    /// runs IPv4 only (said once at start).
    pub v6: Option<Mroute6>,
    igmp: IgmpSender,
    mld: Option<MldSender>,
    upstream4: UpstreamMembership<Ipv4Addr>,
    upstream6: UpstreamMembership<Ipv6Addr>,
    warnings: LogLimiter,
}

/// One family's part of the kernel: its mroute socket (none for IPv6 without IPv6 multicast
/// routing) and its upstream memberships.
pub(super) trait KernelFamily: MrouteFamily {
    fn mroute(kernel: &Kernel) -> Option<&Mroute<Self>>;
    fn parts(kernel: &mut Kernel) -> (Option<&mut Mroute<Self>>, &mut UpstreamMembership<Self>);
}

impl KernelFamily for Ipv4Addr {
    fn mroute(kernel: &Kernel) -> Option<&Mroute4> {
        Some(&kernel.v4)
    }
    fn parts(kernel: &mut Kernel) -> (Option<&mut Mroute4>, &mut UpstreamMembership<Ipv4Addr>) {
        (Some(&mut kernel.v4), &mut kernel.upstream4)
    }
}

impl KernelFamily for Ipv6Addr {
    fn mroute(kernel: &Kernel) -> Option<&Mroute6> {
        kernel.v6.as_ref()
    }
    fn parts(kernel: &mut Kernel) -> (Option<&mut Mroute6>, &mut UpstreamMembership<Ipv6Addr>) {
        (kernel.v6.as_mut(), &mut kernel.upstream6)
    }
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
        Ok(Kernel {
            v4,
            v6,
            igmp,
            mld,
            // Their per-socket limits come from /proc, which a `chroot` hides later.
            upstream4: UpstreamMembership::new(),
            upstream6: UpstreamMembership::new(),
            warnings: LogLimiter::default(),
        })
    }

    /// The kernel's counters of the (source, group) entry, for the status; `None` when it has
    /// no such entry or cannot be asked.
    pub fn route_counters(&self, sg: AnySourceGroup) -> Option<EntryCounters> {
        let counters = match sg {
            PerFamily::V4(sg) => self.v4.route_counters(sg),
            PerFamily::V6(sg) => self.v6.as_ref()?.route_counters(sg),
        };
        counters.ok().flatten()
    }

    /// Apply one action; for a change that carries state, whether the kernel took it is
    /// returned as an answer for the engine.
    pub fn apply(&mut self, action: &Action, names: &Names) -> Option<Event> {
        let result = match action {
            Action::AttachInterface {
                family,
                ifindex,
                name,
                role,
                threshold,
                ratelimit,
            } => {
                let (i, role, threshold, ratelimit) = (*ifindex, *role, *threshold, *ratelimit);
                match family {
                    Family::V4 => self.attach::<Ipv4Addr>(i, name, role, threshold, ratelimit),
                    Family::V6 => self.attach::<Ipv6Addr>(i, name, role, threshold, ratelimit),
                }
            }
            Action::DetachInterface { family, ifindex } => {
                match family {
                    Family::V4 => self.detach::<Ipv4Addr>(*ifindex, names),
                    Family::V6 => self.detach::<Ipv6Addr>(*ifindex, names),
                }
                return None;
            }
            Action::SetRoute { sg, iif, oifs } => match sg {
                PerFamily::V4(sg) => self.set_route(*sg, *iif, oifs, names),
                PerFamily::V6(sg) => self.set_route(*sg, *iif, oifs, names),
            },
            Action::DeleteRoute(sg) => match sg {
                PerFamily::V4(sg) => self.delete_route(*sg),
                PerFamily::V6(sg) => self.delete_route(*sg),
            },
            Action::SetUpstreamMembership { ifindex, filter } => match filter {
                PerFamily::V4(filter) => self.set_membership(*ifindex, filter, names),
                PerFamily::V6(filter) => self.set_membership(*ifindex, filter, names),
            },
            Action::SendIgmp {
                ifindex,
                source,
                destination,
                message,
            } => {
                let bytes = message.to_bytes();
                let sent = self.igmp.send(*ifindex, *source, *destination, &bytes);
                self.sent(Family::V4, *ifindex, destination, message, sent, names);
                return None;
            }
            Action::SendMld {
                ifindex,
                source,
                destination,
                message,
            } => {
                if let Some(mld) = &self.mld {
                    let bytes = message.to_bytes(source, destination);
                    let sent = mld.send(*ifindex, *source, *destination, &bytes);
                    self.sent(Family::V6, *ifindex, destination, message, sent, names);
                }
                return None;
            }
        };
        outcome(action, result)
    }

    /// Logs a query or report sent on `ifindex` (at debug level), or why it could not be sent
    /// (rate-limited per family and interface: send errors can repeat per packet).
    fn sent(
        &mut self,
        family: Family,
        ifindex: IfIndex,
        destination: &dyn Display,
        message: &dyn Debug,
        result: mrproxy_linux::Result<()>,
        names: &Names,
    ) {
        let (reason, protocol) = match family {
            Family::V4 => ("send IGMP", "IGMP"),
            Family::V6 => ("send MLD", "MLD"),
        };
        match result {
            Ok(()) => debug!(iface = %names.of(ifindex), %destination, ?message, "sent {protocol}"),
            Err(e) => self.warnings.warn(
                reason,
                Some(ifindex),
                names,
                format_args!(
                    "cannot send {protocol} to {destination} on {}: {e}",
                    names.of(ifindex)
                ),
            ),
        }
    }

    /// Gives the interface its VIF/MIF and, on a downstream, joins the report groups (also
    /// when the VIF was refused: the joins do not depend on it).
    fn attach<A: KernelFamily>(
        &mut self,
        ifindex: IfIndex,
        name: &str,
        role: Role,
        threshold: u8,
        ratelimit: u32,
    ) -> mrproxy_linux::Result<()> {
        let Some(mroute) = A::parts(self).0 else {
            return Ok(());
        };
        let added = mroute
            .add_vif(ifindex, threshold, ratelimit)
            .map(|vif| match A::FAMILY {
                Family::V4 => info!(iface = %name, vif = vif.0, ?role, "IPv4 interface attached"),
                Family::V6 => info!(iface = %name, mif = vif.0, ?role, "IPv6 interface attached"),
            });
        let joined = match role {
            Role::Downstream => mroute.join_report_groups(ifindex),
            _ => Ok(()),
        };
        added.and(joined)
    }

    fn detach<A: KernelFamily>(&mut self, ifindex: IfIndex, names: &Names) {
        let result = match A::parts(self).0 {
            Some(mroute) => {
                mroute.leave_report_groups(ifindex);
                mroute.del_vif(ifindex)
            }
            None => Ok(()),
        };
        match result {
            Ok(()) => info!(iface = %names.of(ifindex), family = ?A::FAMILY, "interface detached"),
            Err(e) => debug!(iface = %names.of(ifindex), "detach: {e}"),
        }
    }

    fn set_route<A: KernelFamily>(
        &mut self,
        sg: SourceGroup<A>,
        iif: IfIndex,
        oifs: &[IfIndex],
        names: &Names,
    ) -> mrproxy_linux::Result<()> {
        let result = match A::parts(self).0 {
            Some(mroute) => mroute.set_route(sg, iif, oifs),
            None => Ok(()),
        };
        if result.is_ok() {
            info!(
                source = %sg.source, group = %sg.group, iif = %names.of(iif),
                oifs = %names.list(oifs), "forwarding entry set"
            );
        }
        result
    }

    fn delete_route<A: KernelFamily>(&mut self, sg: SourceGroup<A>) -> mrproxy_linux::Result<()> {
        let result = match A::parts(self).0 {
            Some(mroute) => mroute.delete_route(sg),
            None => Ok(()),
        };
        // An entry that is not there (ENOENT) counts as removed (`delete_route`).
        if result.is_ok() {
            info!(source = %sg.source, group = %sg.group, "forwarding entry removed");
        }
        result
    }

    fn set_membership<A: KernelFamily>(
        &mut self,
        ifindex: IfIndex,
        filter: &SourceFilter<A>,
        names: &Names,
    ) -> mrproxy_linux::Result<()> {
        let SourceFilter {
            group,
            mode,
            sources,
        } = filter;
        let result = A::parts(self).1.set(ifindex, *group, *mode, sources);
        // `names.of` allocates: only in the macros, which skip it below their level.
        match &result {
            Ok(()) if filter.is_leave() => {
                info!(iface = %names.of(ifindex), %group, "left upstream")
            }
            Ok(()) => info!(
                iface = %names.of(ifindex), %group, ?mode, ?sources, "upstream membership"
            ),
            Err(_) => {}
        }
        result
    }

    /// Clean exit (SIGTERM/SIGINT): remove every forwarding entry and VIF we added and leave
    /// every upstream group.
    pub fn shutdown(&mut self) {
        self.upstream4.clear();
        self.upstream6.clear();
        if let Err(e) = self.v4.flush() {
            warn!("cleaning the IPv4 multicast routing table: {e}");
        }
        if let Some(m) = self.v6.as_mut()
            && let Err(e) = m.flush()
        {
            warn!("cleaning the IPv6 multicast routing table: {e}");
        }
    }
}

/// The packet counters the engine reads for the idle expiry of forwarding entries; an entry
/// the kernel does not have, or whose counters cannot be read, has none.
impl RouteCounters for Kernel {
    fn packets(&self, sg: AnySourceGroup) -> Option<u64> {
        let packets = match sg {
            PerFamily::V4(sg) => self.v4.route_packets(sg),
            PerFamily::V6(sg) => match self.v6.as_ref() {
                Some(m) => m.route_packets(sg),
                None => Ok(None),
            },
        };
        packets.unwrap_or_else(|e| {
            debug!(%sg, "cannot read the entry's counters: {e}");
            None
        })
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
