//! The engine: one [`FamilyState`] per address family, fed by [`Event`]s.

use crate::action::RejectReason;
use crate::afi::Afi;
use crate::convert;
use crate::event::Event;
use crate::family::FamilyState;
use crate::input::{self, Received};
use crate::interfaces::{self, InterfaceTable, OwnAddresses};
use crate::kernel::{KernelError, KernelObject, RouteCounters};
use crate::notice::{Notice, Output};
use crate::retry::RetryKey;
use crate::status::{self, InterfaceStatus, KernelFailures, Status};
use mrproxy_config::Config;
use mrproxy_membership::{Port, Timestamp};
use mrproxy_types::{Family, IfIndex, InterfaceInfo, MAX_VIFS, PerFamily};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The RFC 4605 proxy as a pure state machine; see the crate documentation.
pub struct Engine {
    config: Config,
    started: Timestamp,
    interfaces: InterfaceTable,
    own_addresses: OwnAddresses,
    v4: FamilyState<Ipv4Addr>,
    v6: FamilyState<Ipv6Addr>,
    rejected: BTreeMap<&'static str, u64>,
    /// Kernel refusals by (interface, operation, errno name).
    kernel_failures: BTreeMap<(Option<IfIndex>, &'static str, String), u64>,
}

impl Engine {
    /// An engine with no interfaces yet: the daemon reports them with
    /// [`Event::InterfaceChanged`].
    pub fn new(config: Config, now: Timestamp) -> Engine {
        Engine {
            config,
            started: now,
            interfaces: InterfaceTable::new(),
            own_addresses: OwnAddresses::default(),
            v4: FamilyState::default(),
            v6: FamilyState::default(),
            rejected: BTreeMap::new(),
            kernel_failures: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Processes one event: what to do, in order, and the notices it raised.
    pub fn handle(&mut self, now: Timestamp, event: Event) -> Output {
        let mut actions = Output::new();
        match event {
            Event::InterfaceChanged(info) => {
                self.interface_changed(now, info, &mut actions);
                self.attach_waiting(now, &mut actions);
            }
            Event::InterfaceRemoved { ifindex } => {
                self.interface_removed(ifindex, &mut actions);
                self.attach_waiting(now, &mut actions);
            }
            Event::Igmp {
                ifindex,
                source,
                destination: _,
                ttl,
                router_alert,
                message,
            } => {
                let rx = Received {
                    ifindex,
                    source,
                    ttl,
                    router_alert,
                    message: convert::igmp_message(message),
                };
                input::receive(
                    &mut self.v4,
                    &self.config,
                    &self.own_addresses,
                    now,
                    rx,
                    &mut actions,
                );
            }
            Event::Mld {
                ifindex,
                source,
                destination: _,
                hop_limit,
                router_alert,
                message,
            } => {
                let rx = Received {
                    ifindex,
                    source,
                    ttl: hop_limit,
                    router_alert,
                    message: convert::mld_message(message),
                };
                input::receive(
                    &mut self.v6,
                    &self.config,
                    &self.own_addresses,
                    now,
                    rx,
                    &mut actions,
                );
            }
            Event::Malformed {
                ifindex,
                source,
                reason,
            } => actions.notice(Notice::Rejected {
                ifindex: Some(ifindex),
                from: Some(source),
                reason: RejectReason::Malformed(reason),
            }),
            Event::NoCache { iif, sg } => {
                let limit = self.config.max_total_routes;
                match sg {
                    PerFamily::V4(sg) => self.v4.upcall(now, iif, sg, limit, &mut actions),
                    PerFamily::V6(sg) => self.v6.upcall(now, iif, sg, limit, &mut actions),
                }
            }
            Event::KernelRefused { what, error } => {
                self.kernel_refused(now, what, error, &mut actions)
            }
            Event::KernelConfirmed { what } => {
                let restored = match what.family() {
                    Family::V4 => confirmed_in(&mut self.v4, &what),
                    Family::V6 => confirmed_in(&mut self.v6, &what),
                };
                if let Some(attempts) = restored {
                    actions.notice(Notice::KernelRestored { what, attempts });
                }
            }
            Event::ConfigReplaced(config) => {
                self.replace_config(now, *config, &mut actions);
                self.attach_waiting(now, &mut actions);
            }
        }
        self.v4.flush(&mut actions);
        self.v6.flush(&mut actions);
        self.count_rejections(&actions);
        actions
    }

    /// Runs everything due at `now`, to be called at [`Engine::next_deadline`]: the router
    /// parts' timers, `rereport` keep-alives, kernel retries, and the idle expiry of forwarding
    /// entries, whose packet counters are read through `counters`.
    pub fn timeout(&mut self, now: Timestamp, counters: &dyn RouteCounters) -> Output {
        let mut actions = Output::new();
        self.v4.timeout(now, &mut actions);
        self.v6.timeout(now, &mut actions);
        self.v4.flush(&mut actions);
        self.v6.flush(&mut actions);
        // Entries are sampled last: one that the timers' changes update and that turns out
        // idle is updated, then removed.
        self.v4.sample_routes(now, counters, &mut actions);
        self.v6.sample_routes(now, counters, &mut actions);
        self.count_rejections(&actions);
        actions
    }

    /// When to call [`Engine::timeout`] next.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        [self.v4.next_deadline(), self.v6.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether the engine waits to hear that the kernel took a change of `what` (it refused
    /// one before): the daemon then answers with [`Event::KernelConfirmed`].
    pub fn awaits_confirmation(&self, what: &KernelObject) -> bool {
        match what.family() {
            Family::V4 => FamilyState::<Ipv4Addr>::retry_key(what)
                .is_some_and(|k| self.v4.awaits_confirmation(&k)),
            Family::V6 => FamilyState::<Ipv6Addr>::retry_key(what)
                .is_some_and(|k| self.v6.awaits_confirmation(&k)),
        }
    }

    pub fn status(&self, now: Timestamp) -> Status {
        let interfaces = self
            .interfaces
            .values()
            .map(|info| InterfaceStatus {
                ifindex: info.ifindex,
                name: info.name.clone(),
                role: self.config.interface(&info.name).0,
                flags: info.flags,
                families: [
                    status::family_status(&self.v4, now, info),
                    status::family_status(&self.v6, now, info),
                ]
                .into_iter()
                .flatten()
                .collect(),
            })
            .collect();
        let mut upstreams = status::upstreams(&self.v4);
        upstreams.extend(status::upstreams(&self.v6));
        let name = |i: IfIndex| self.interfaces.get(&i).map(|info| info.name.clone());
        let mut pending_retries = status::pending_retries(&self.v4, now, name);
        pending_retries.extend(status::pending_retries(&self.v6, now, name));
        let kernel_failures = self
            .kernel_failures
            .iter()
            .map(|((ifindex, operation, reason), count)| KernelFailures {
                ifindex: *ifindex,
                interface: ifindex.and_then(name),
                operation: (*operation).to_owned(),
                reason: reason.clone(),
                count: *count,
            })
            .collect();
        let mut routes = status::routes(&self.v4);
        routes.extend(status::routes(&self.v6));
        Status {
            uptime_ms: now
                .saturating_since(self.started)
                .as_millis()
                .try_into()
                .unwrap_or(u64::MAX),
            interfaces,
            upstreams,
            routes,
            rejected: self
                .rejected
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            kernel_failures,
            pending_retries,
        }
    }

    /// The router part of an IPv4 downstream (for inspection and tests).
    pub fn downstream_port_v4(&self, ifindex: IfIndex) -> Option<&Port<Ipv4Addr>> {
        self.v4.downstreams.get(&ifindex).map(|d| &d.port)
    }

    /// The router part of an IPv6 downstream (for inspection and tests).
    pub fn downstream_port_v6(&self, ifindex: IfIndex) -> Option<&Port<Ipv6Addr>> {
        self.v6.downstreams.get(&ifindex).map(|d| &d.port)
    }

    /// Counts the rejections among the notices of one call ([`Status::rejected`]).
    fn count_rejections(&mut self, output: &Output) {
        for notice in &output.notices {
            if let Notice::Rejected { reason, .. } = notice {
                *self.rejected.entry(reason.kind()).or_default() += 1;
            }
        }
    }

    /// Counts a refusal and lets the family schedule its retry.
    fn kernel_refused(
        &mut self,
        now: Timestamp,
        what: KernelObject,
        error: KernelError,
        actions: &mut Output,
    ) {
        let outcome = match what.family() {
            Family::V4 => refused_in(&mut self.v4, now, &what, error.clone()),
            Family::V6 => refused_in(&mut self.v6, now, &what, error.clone()),
        };
        let Some((ifindex, attempts, retry_in_ms)) = outcome else {
            return;
        };
        *self
            .kernel_failures
            .entry((ifindex, what.operation(), error.name.clone()))
            .or_default() += 1;
        actions.notice(Notice::KernelRefusal {
            what,
            ifindex,
            error,
            attempts,
            retry_in_ms,
        });
    }

    fn interface_changed(&mut self, now: Timestamp, info: InterfaceInfo, actions: &mut Output) {
        self.v4.sync_interface(
            now,
            &info,
            interfaces::desired::<Ipv4Addr>(&self.config, &info),
            actions,
        );
        self.v6.sync_interface(
            now,
            &info,
            interfaces::desired::<Ipv6Addr>(&self.config, &info),
            actions,
        );
        self.interfaces.insert(info.ifindex, info);
        self.own_addresses = OwnAddresses::new(self.interfaces.values());
    }

    fn interface_removed(&mut self, ifindex: IfIndex, actions: &mut Output) {
        self.v4.remove_interface(ifindex, actions);
        self.v6.remove_interface(ifindex, actions);
        self.interfaces.remove(&ifindex);
        self.own_addresses = OwnAddresses::new(self.interfaces.values());
    }

    /// Interfaces refused for want of a VIF/MIF (`RejectReason::NoFreeVif`) take the slots
    /// that other interfaces freed, in ifindex order.
    fn attach_waiting(&mut self, now: Timestamp, actions: &mut Output) {
        attach_waiting(&mut self.v4, &self.config, &self.interfaces, now, actions);
        attach_waiting(&mut self.v6, &self.config, &self.interfaces, now, actions);
    }

    /// A reload: every interface is brought to what the new configuration says. Interfaces
    /// whose role and families stay keep all their state; settings apply in place.
    fn replace_config(&mut self, now: Timestamp, config: Config, actions: &mut Output) {
        self.config = config;
        for info in self.interfaces.values() {
            self.v4.sync_interface(
                now,
                info,
                interfaces::desired::<Ipv4Addr>(&self.config, info),
                actions,
            );
            self.v6.sync_interface(
                now,
                info,
                interfaces::desired::<Ipv6Addr>(&self.config, info),
                actions,
            );
        }
    }
}

/// A refusal in one family: (interface, refusals in a row, delay of the retry if any), `None`
/// when `what` does not belong to the family.
fn refused_in<A: Afi>(
    family: &mut FamilyState<A>,
    now: Timestamp,
    what: &KernelObject,
    error: KernelError,
) -> Option<(Option<IfIndex>, u32, Option<u64>)> {
    let key = FamilyState::<A>::retry_key(what)?;
    let ifindex = match key {
        RetryKey::Route(group, source) => family.routes.get(group, source).map(|r| r.iif),
        other => other.ifindex(),
    };
    let before = family.refusals(&key);
    let pending = family.kernel_refused(now, key, error);
    let attempts = pending.map_or(before + 1, |p| p.attempts);
    let retry_in_ms = pending.map(|p| p.next_at.saturating_since(now).as_millis() as u64);
    Some((ifindex, attempts, retry_in_ms))
}

/// A confirmation in one family: the refusals it ends, if any were pending.
fn confirmed_in<A: Afi>(family: &mut FamilyState<A>, what: &KernelObject) -> Option<u32> {
    let key = FamilyState::<A>::retry_key(what)?;
    family.kernel_confirmed(key).map(|p| p.attempts)
}

/// [`Engine::attach_waiting`] in one family: interfaces without a VIF/MIF that should have one,
/// while slots are free.
fn attach_waiting<A: Afi>(
    family: &mut FamilyState<A>,
    config: &Config,
    known: &InterfaceTable,
    now: Timestamp,
    actions: &mut Output,
) {
    for info in known.values() {
        if family.attached() >= MAX_VIFS {
            return;
        }
        if family.role_of(info.ifindex).is_none()
            && let Some(desired) = interfaces::desired::<A>(config, info)
        {
            family.sync_interface(now, info, Some(desired), actions);
        }
    }
}
