//! The engine: one [`FamilyState`] per address family, fed by [`Event`]s.

use crate::action::{Action, RejectReason};
use crate::afi::Afi;
use crate::convert;
use crate::event::{Event, IfIndex, InterfaceInfo};
use crate::family::FamilyState;
use crate::input::{self, Received};
use crate::interfaces::{self, InterfaceTable, OwnAddresses};
use crate::status::{self, InterfaceStatus, Status};
use mrproxy_config::{Config, MAX_VIFS};
use mrproxy_membership::{Port, Timestamp};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The RFC 4605 proxy as a pure state machine; see the crate documentation.
pub struct Engine {
    config: Config,
    started: Timestamp,
    interfaces: InterfaceTable,
    own_addresses: OwnAddresses,
    v4: FamilyState<Ipv4Addr>,
    v6: FamilyState<Ipv6Addr>,
    rejected: BTreeMap<&'static str, u64>,
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
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Processes one event and returns what to do, in order.
    pub fn handle(&mut self, now: Timestamp, event: Event) -> Vec<Action> {
        let mut actions = Vec::new();
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
            } => actions.push(Action::Rejected {
                ifindex: Some(ifindex),
                from: Some(source),
                reason: RejectReason::Malformed(reason),
            }),
            Event::NoCache { iif, source, group } => match (source, group) {
                (IpAddr::V4(s), IpAddr::V4(g)) => {
                    let limit = self.config.max_total_routes;
                    self.v4.upcall(now, iif, s, g, limit, &mut actions)
                }
                (IpAddr::V6(s), IpAddr::V6(g)) => {
                    let limit = self.config.max_total_routes;
                    self.v6.upcall(now, iif, s, g, limit, &mut actions)
                }
                // A kernel upcall never mixes families; nothing sensible to install.
                _ => {}
            },
            Event::RouteCounters {
                source,
                group,
                packets,
            } => match (source, group) {
                (IpAddr::V4(s), IpAddr::V4(g)) => {
                    self.v4.route_counters(s, g, packets, &mut actions)
                }
                (IpAddr::V6(s), IpAddr::V6(g)) => {
                    self.v6.route_counters(s, g, packets, &mut actions)
                }
                _ => {}
            },
            Event::Timeout => {
                self.v4.timeout(now, &mut actions);
                self.v6.timeout(now, &mut actions);
            }
            Event::ConfigReplaced(config) => {
                self.replace_config(now, *config, &mut actions);
                self.attach_waiting(now, &mut actions);
            }
        }
        self.v4.flush(&mut actions);
        self.v6.flush(&mut actions);
        for action in &actions {
            if let Action::Rejected { reason, .. } = action {
                *self.rejected.entry(reason.kind()).or_default() += 1;
            }
        }
        actions
    }

    /// When to feed [`Event::Timeout`] next.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        [self.v4.next_deadline(), self.v6.next_deadline()]
            .into_iter()
            .flatten()
            .min()
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

    fn interface_changed(
        &mut self,
        now: Timestamp,
        info: InterfaceInfo,
        actions: &mut Vec<Action>,
    ) {
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

    fn interface_removed(&mut self, ifindex: IfIndex, actions: &mut Vec<Action>) {
        self.v4.remove_interface(ifindex, actions);
        self.v6.remove_interface(ifindex, actions);
        self.interfaces.remove(&ifindex);
        self.own_addresses = OwnAddresses::new(self.interfaces.values());
    }

    /// Interfaces refused for want of a VIF/MIF (`RejectReason::NoFreeVif`) take the slots
    /// that other interfaces freed, in ifindex order.
    fn attach_waiting(&mut self, now: Timestamp, actions: &mut Vec<Action>) {
        attach_waiting(&mut self.v4, &self.config, &self.interfaces, now, actions);
        attach_waiting(&mut self.v6, &self.config, &self.interfaces, now, actions);
    }

    /// A reload: every interface is brought to what the new configuration says. Interfaces
    /// whose role and families stay keep all their state; settings apply in place.
    fn replace_config(&mut self, now: Timestamp, config: Config, actions: &mut Vec<Action>) {
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

/// [`Engine::attach_waiting`] in one family: interfaces without a VIF/MIF that should have one,
/// while slots are free.
fn attach_waiting<A: Afi>(
    family: &mut FamilyState<A>,
    config: &Config,
    known: &InterfaceTable,
    now: Timestamp,
    actions: &mut Vec<Action>,
) {
    for info in known.values() {
        if family.attached() >= MAX_VIFS {
            return;
        }
        if family.role_of(info.ifindex).is_none() {
            if let Some(desired) = interfaces::desired::<A>(config, info) {
                family.sync_interface(now, info, Some(desired), actions);
            }
        }
    }
}
