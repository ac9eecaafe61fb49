//! Refused kernel changes of this family, asked for again with backoff (docs/kernel-faults.md).
//! A retry re-emits what the engine wants now: the refused action may be stale, and an
//! object nobody wants any more is not retried at all.

use super::FamilyState;
use crate::action::Action;
use crate::afi::Afi;
use crate::kernel::{KernelError, KernelObject};
use crate::notice::Output;
use crate::retry::{Pending, RetryKey};
use mrproxy_config::Role;
use mrproxy_membership::Timestamp;
use mrproxy_types::IfIndex;
use mrproxy_types::{SourceFilter, SourceGroup};

impl<A: Afi> FamilyState<A> {
    /// The family's key for a kernel object (`None`: another family's or mixed addresses).
    pub fn retry_key(what: &KernelObject) -> Option<RetryKey<A>> {
        match *what {
            KernelObject::Interface { family, ifindex } => {
                (family == A::FAMILY).then_some(RetryKey::Attach(ifindex))
            }
            KernelObject::UpstreamMembership { ifindex, group } => {
                A::from_ip(group).map(|g| RetryKey::Membership(ifindex, g))
            }
            KernelObject::Route { source, group } => {
                match (A::from_ip(group), A::from_ip(source)) {
                    (Some(g), Some(s)) => Some(RetryKey::Route(g, s)),
                    _ => None,
                }
            }
        }
    }

    pub fn kernel_object(key: &RetryKey<A>) -> KernelObject {
        match *key {
            RetryKey::Attach(ifindex) => KernelObject::Interface {
                family: A::FAMILY,
                ifindex,
            },
            RetryKey::Membership(ifindex, group) => KernelObject::UpstreamMembership {
                ifindex,
                group: group.into_ip(),
            },
            RetryKey::Route(group, source) => KernelObject::Route {
                source: source.into_ip(),
                group: group.into_ip(),
            },
        }
    }

    /// What the engine wants of the object now, as the action that sets it; `None`: nothing
    /// (the interface is not used, the group not joined on that upstream).
    fn intent(&self, key: &RetryKey<A>) -> Option<Action> {
        match *key {
            RetryKey::Attach(ifindex) => {
                let (name, role, settings) =
                    match (self.downstreams.get(&ifindex), self.upstreams.get(&ifindex)) {
                        (Some(d), _) => (&d.name, Role::Downstream, &d.settings),
                        (None, Some(u)) => (&u.name, Role::Upstream, &u.settings),
                        (None, None) => return None,
                    };
                Some(Action::AttachInterface {
                    family: A::FAMILY,
                    ifindex,
                    name: name.clone(),
                    role,
                    threshold: settings.threshold,
                    ratelimit: settings.ratelimit,
                })
            }
            RetryKey::Membership(ifindex, group) => {
                let m = self.upstreams.get(&ifindex)?.joined.get(&group)?;
                Some(Action::SetUpstreamMembership {
                    ifindex,
                    filter: SourceFilter {
                        group,
                        mode: m.mode,
                        sources: m.sources.iter().copied().collect(),
                    }
                    .into(),
                })
            }
            // An entry the engine removed is wanted absent: a refused removal is retried.
            RetryKey::Route(group, source) => {
                let sg = SourceGroup { source, group }.into();
                Some(match self.routes.get(group, source) {
                    Some(route) => Action::SetRoute {
                        sg,
                        iif: route.iif,
                        oifs: route.oifs.clone(),
                    },
                    None => Action::DeleteRoute(sg),
                })
            }
        }
    }

    /// The kernel refused a change of `key` at `now`: schedule a retry while the engine still
    /// wants something of the object. Returns the pending state, `None` when not retried.
    pub fn kernel_refused(
        &mut self,
        now: Timestamp,
        key: RetryKey<A>,
        error: KernelError,
    ) -> Option<&Pending> {
        if self.intent(&key).is_none() {
            self.retries.withdraw(key);
            return None;
        }
        Some(self.retries.refused(now, key, error))
    }

    /// The kernel took a change of `key`: what was pending for it, if anything.
    pub fn kernel_confirmed(&mut self, key: RetryKey<A>) -> Option<Pending> {
        self.retries.confirmed(key)
    }

    /// Refusals in a row so far for `key` (0: none pending).
    pub fn refusals(&self, key: &RetryKey<A>) -> u32 {
        self.retries.attempts(key)
    }

    pub fn awaits_confirmation(&self, key: &RetryKey<A>) -> bool {
        self.retries.contains(key)
    }

    /// Asks again for every object whose retry is due, in its current state.
    pub(super) fn retry_due(&mut self, now: Timestamp, actions: &mut Output) {
        for key in self.retries.due(now) {
            match self.intent(&key) {
                Some(action) => {
                    actions.push(action);
                    self.retries.attempted(now, key);
                }
                None => self.retries.withdraw(key),
            }
        }
    }

    /// The pending retries, with the interface each one concerns (a route: its input).
    pub fn pending_retries(
        &self,
    ) -> impl Iterator<Item = (KernelObject, Option<IfIndex>, &Pending)> {
        self.retries.iter().map(|(key, pending)| {
            let ifindex = match key {
                RetryKey::Route(group, source) => self.routes.get(*group, *source).map(|r| r.iif),
                other => other.ifindex(),
            };
            (Self::kernel_object(key), ifindex, pending)
        })
    }
}
