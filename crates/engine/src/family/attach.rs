//! Interfaces entering, changing and leaving the family: VIF/MIF attachment, the router part's
//! life cycle, and the clean-up that igmpproxy lacked (D3, D14, D19).

use super::{Downstream, FamilyState, Upstream};
use crate::action::{Action, RejectReason};
use crate::afi::Afi;
use crate::joined::JoinedGroups;
use crate::link::LinkNets;
use crate::notice::{Notice, Output};
use mrproxy_config::{InterfaceSettings, Role};
use mrproxy_membership::{Output as PortOutput, Port, PortConfig, Timestamp};
use mrproxy_types::{FilterMode, IfIndex, InterfaceInfo, MAX_VIFS, SourceFilter};

/// What an interface should be in this family (computed by the engine from the configuration
/// and the link flags); the family only acts on it.
#[derive(Clone, Debug)]
pub struct Desired {
    /// Upstream or Downstream (Disabled interfaces are never desired).
    pub role: Role,
    pub settings: InterfaceSettings,
    /// Used for downstreams only.
    pub port_config: PortConfig,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Teardown {
    /// The interface is no longer used in this family.
    Final,
    /// The VIF is re-created (new threshold or rate limit); the protocol state comes back.
    Recreate,
}

/// An interface's per-family state while it is moved out of (and back into) the family.
enum Attachment<A: Afi> {
    Downstream(Box<Downstream<A>>),
    Upstream(Box<Upstream<A>>),
}

impl<A: Afi> FamilyState<A> {
    /// Brings the interface to the desired state (`None` = not used in this family), keeping
    /// all protocol state when its role did not change.
    pub fn sync_interface(
        &mut self,
        now: Timestamp,
        info: &InterfaceInfo,
        desired: Option<Desired>,
        actions: &mut Output,
    ) {
        let ifindex = info.ifindex;
        let current = self.role_of(ifindex);
        match desired {
            None => {
                let _ = self.take(ifindex, Teardown::Final, actions);
            }
            Some(d) if current == Some(d.role) => self.update(now, info, d, actions),
            Some(d) => {
                let _ = self.take(ifindex, Teardown::Final, actions);
                self.attach(now, info, d, actions);
            }
        }
    }

    /// The interface is gone: forget it in this family.
    pub fn remove_interface(&mut self, ifindex: IfIndex, actions: &mut Output) {
        let _ = self.take(ifindex, Teardown::Final, actions);
    }

    fn attach(
        &mut self,
        now: Timestamp,
        info: &InterfaceInfo,
        desired: Desired,
        actions: &mut Output,
    ) {
        if desired.role == Role::Disabled {
            return;
        }
        // docs/igmpproxy-differences.md D11: the kernel has MAX_VIFS slots per family; the interface waits for
        // one (Engine::attach_waiting) instead of being half-attached with no VIF.
        if self.attached() >= MAX_VIFS {
            actions.notice(Notice::Rejected {
                ifindex: Some(info.ifindex),
                from: None,
                reason: RejectReason::NoFreeVif {
                    family: A::FAMILY,
                    name: info.name.clone(),
                    limit: MAX_VIFS,
                },
            });
            return;
        }
        let link = LinkNets::new(A::link_networks(info), &desired.settings.altnets);
        let attachment = match desired.role {
            Role::Upstream => Attachment::Upstream(Box::new(Upstream {
                name: info.name.clone(),
                settings: desired.settings,
                link,
                joined: JoinedGroups::default(),
                address: A::query_source(info),
            })),
            Role::Downstream => Attachment::Downstream(Box::new(Downstream {
                name: info.name.clone(),
                settings: desired.settings,
                link,
                address: None,
                port: Port::new(desired.port_config, now),
            })),
            Role::Disabled => return,
        };
        self.put(info.ifindex, attachment, actions);
        self.schedule_rereport(now, info.ifindex);
        // After AttachInterface: the first startup query needs the VIF and report-group joins.
        self.set_address(now, info.ifindex, A::query_source(info), actions);
    }

    /// Same role as before: apply new settings and addresses in place.
    fn update(
        &mut self,
        now: Timestamp,
        info: &InterfaceInfo,
        desired: Desired,
        actions: &mut Output,
    ) {
        let ifindex = info.ifindex;
        let link = LinkNets::new(A::link_networks(info), &desired.settings.altnets);
        let Some(old) = self.settings_of(ifindex) else {
            return;
        };
        let kernel_params_changed = (old.threshold, old.ratelimit)
            != (desired.settings.threshold, desired.settings.ratelimit);
        let policy_changed = *old != desired.settings || self.link_of(ifindex) != Some(&link);
        match (
            self.downstreams.get_mut(&ifindex),
            self.upstreams.get_mut(&ifindex),
        ) {
            (Some(d), _) => {
                d.name.clone_from(&info.name);
                d.settings = desired.settings;
                d.link = link;
                if *d.port.config() != desired.port_config {
                    let mut out = PortOutput::new();
                    d.port.set_config(desired.port_config, now, &mut out);
                    self.absorb(ifindex, out, actions);
                }
            }
            (None, Some(u)) => {
                u.name.clone_from(&info.name);
                let rereport_changed = u.settings.rereport != desired.settings.rereport;
                u.settings = desired.settings;
                u.link = link;
                u.address = A::query_source(info);
                if rereport_changed {
                    self.schedule_rereport(now, ifindex);
                }
            }
            (None, None) => return,
        }
        if kernel_params_changed {
            // A VIF's threshold and rate limit are fixed at creation: re-create it. The engine's
            // protocol state survives; routes and joins are re-installed around it.
            if let Some(attachment) = self.take(ifindex, Teardown::Recreate, actions) {
                self.put(ifindex, attachment, actions);
            }
        }
        if policy_changed {
            // Filters decide merges and oifs, networks decide accepted sources.
            self.dirty.all_groups = true;
            self.dirty.all_routes = true;
        }
        self.set_address(now, ifindex, A::query_source(info), actions);
    }

    fn set_address(
        &mut self,
        now: Timestamp,
        ifindex: IfIndex,
        address: Option<A>,
        actions: &mut Output,
    ) {
        let Some(d) = self.downstreams.get_mut(&ifindex) else {
            return;
        };
        if d.address == address {
            return;
        }
        d.address = address;
        let mut out = PortOutput::new();
        d.port.set_address(address, now, &mut out);
        self.absorb(ifindex, out, actions);
    }

    /// Starts using an attachment: the VIF first, then everything that depends on it.
    fn put(&mut self, ifindex: IfIndex, attachment: Attachment<A>, actions: &mut Output) {
        let (role, settings) = match &attachment {
            Attachment::Downstream(d) => (Role::Downstream, &d.settings),
            Attachment::Upstream(u) => (Role::Upstream, &u.settings),
        };
        let name = match &attachment {
            Attachment::Downstream(d) => d.name.clone(),
            Attachment::Upstream(u) => u.name.clone(),
        };
        actions.push(Action::AttachInterface {
            family: A::FAMILY,
            ifindex,
            name,
            role,
            threshold: settings.threshold,
            ratelimit: settings.ratelimit,
        });
        match attachment {
            Attachment::Downstream(d) => {
                // A re-attached port keeps its groups; they are merged again.
                self.dirty.groups.extend(d.port.groups());
                self.port_deadlines.set(ifindex, d.port.next_deadline());
                self.downstreams.insert(ifindex, *d);
            }
            Attachment::Upstream(u) => {
                // Joins for every group already wanted downstream.
                self.upstreams.insert(ifindex, *u);
                self.dirty.all_groups = true;
            }
        }
        // A new upstream is an output for downstream senders; a new downstream may become one.
        self.dirty.all_routes = true;
    }

    /// Stops using an interface: its routes, its joins, its share of the merge, then the VIF
    /// itself (DetachInterface comes last, as its contract says). Returns what it was.
    /// `Recreate` only takes the VIF away for a moment: the routes still stop using it (the
    /// contract of DetachInterface), but the merge and the upstream joins stay as they are.
    fn take(
        &mut self,
        ifindex: IfIndex,
        how: Teardown,
        actions: &mut Output,
    ) -> Option<Attachment<A>> {
        let attachment = if let Some(d) = self.downstreams.remove(&ifindex) {
            self.port_deadlines.set(ifindex, None);
            if how == Teardown::Final {
                // Its groups leave the merge.
                self.dirty.groups.extend(d.port.groups());
            }
            Attachment::Downstream(Box::new(d))
        } else if let Some(mut u) = self.upstreams.remove(&ifindex) {
            self.rereport_deadlines.set(ifindex, None);
            if how == Teardown::Final {
                for group in std::mem::take(&mut u.joined).groups() {
                    actions.push(Action::SetUpstreamMembership {
                        ifindex,
                        filter: SourceFilter {
                            group,
                            mode: FilterMode::Include,
                            sources: Vec::new(),
                        }
                        .into(),
                    });
                }
            }
            Attachment::Upstream(Box::new(u))
        } else {
            return None;
        };
        self.upcalls.forget(ifindex);
        if how == Teardown::Final {
            // Its VIF and joins are no longer wanted: refused ones are not retried.
            self.retries.withdraw_interface(ifindex);
        }
        // Routes entering here are deleted; routes leaving here lose this output.
        for (group, source) in self.routes.keys() {
            let uses_it = self
                .routes
                .get(group, source)
                .is_some_and(|r| r.iif == ifindex || r.oifs.contains(&ifindex));
            if uses_it {
                self.refresh_route(group, source, actions);
            }
        }
        // Its groups' merges (and the upstream joins that depend on them) before the VIF goes.
        self.flush(actions);
        actions.push(Action::DetachInterface {
            family: A::FAMILY,
            ifindex,
        });
        Some(attachment)
    }
}
