//! Querier election and the general-query schedule (RFC 9776 §6.6.2, RFC 9777 §7.6.2,
//! RFC 2236 §3): start as querier, yield to any query from a lower address, take the role back
//! when the Other Querier Present timer expires. With [`QuerierPolicy::Always`] a port that has
//! an address never yields.

use crate::timing::{Adopted, Timing};
use crate::{Address, PortConfig, QuerierPolicy, Query, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role<A> {
    /// No querier known and no address of ours: nothing to send.
    Silent,
    /// We query. `startup_left` counts the startup queries still to send (RFC 9776 §8.7).
    Querier {
        next_query: Timestamp,
        startup_left: u8,
    },
    /// Another router queries; it is presumed gone at `expires` (Other Querier Present timer).
    NonQuerier { querier: A, expires: Timestamp },
}

/// What a querier step asks the port to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QuerierStep {
    pub(crate) send_general_query: bool,
    /// The role or the elected querier's address changed.
    pub(crate) changed: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Querier<A> {
    address: Option<A>,
    role: Role<A>,
    adopted: Adopted,
}

impl<A: Address> Querier<A> {
    pub(crate) fn new() -> Self {
        Querier {
            address: None,
            role: Role::Silent,
            adopted: Adopted::default(),
        }
    }

    pub(crate) fn address(&self) -> Option<A> {
        self.address
    }

    pub(crate) fn is_querier(&self) -> bool {
        matches!(self.role, Role::Querier { .. })
    }

    pub(crate) fn querier_address(&self) -> Option<A> {
        match self.role {
            Role::Silent => None,
            Role::Querier { .. } => self.address,
            Role::NonQuerier { querier, .. } => Some(querier),
        }
    }

    /// The QRV/QQI adopted from the elected querier (empty while we query ourselves).
    pub(crate) fn adopted(&self) -> Adopted {
        self.adopted
    }

    pub(crate) fn deadline(&self) -> Option<Timestamp> {
        match self.role {
            Role::Silent => None,
            Role::Querier { next_query, .. } => Some(next_query),
            Role::NonQuerier { expires, .. } => Some(expires),
        }
    }

    fn view(&self) -> (bool, Option<A>) {
        (self.is_querier(), self.querier_address())
    }

    /// Our address changed. Gaining one starts the querier role with the startup queries
    /// (RFC 9776 §6.6.2: a router starts as querier), unless a lower-addressed querier is
    /// already known. Losing it silences us.
    pub(crate) fn set_address(
        &mut self,
        address: Option<A>,
        now: Timestamp,
        config: &PortConfig,
    ) -> QuerierStep {
        if address == self.address {
            return QuerierStep::default();
        }
        let before = self.view();
        self.address = address;
        let mut step = QuerierStep::default();
        match (address, self.role) {
            (None, Role::Querier { .. }) => self.role = Role::Silent,
            (None, _) => {}
            (Some(ours), Role::NonQuerier { querier, .. })
                if querier < ours && config.querier_policy == QuerierPolicy::Auto => {}
            (Some(_), Role::Querier { .. }) => {}
            (Some(_), _) => {
                self.adopted = Adopted::default();
                let startup_left = Timing::new(config, self.adopted).startup_query_count;
                self.role = Role::Querier {
                    next_query: now,
                    startup_left,
                };
                step.send_general_query = true;
                self.schedule_after_general_query(now, now, config);
            }
        }
        step.changed = before != self.view();
        step
    }

    /// A query from another router (RFC 9776 §6.6.2): one from a lower address (any version,
    /// RFC 2236 §3 counts v1/v2 queriers too) makes it the querier and us a non-querier until
    /// the Other Querier Present Interval passes without its queries. One from a higher address
    /// changes nothing. With [`QuerierPolicy::Always`] a port with an address keeps the role and
    /// its own QRV/QQI whatever it hears; without an address it only notes the querier it heard.
    pub(crate) fn on_query(
        &mut self,
        from: A,
        query: &Query<A>,
        now: Timestamp,
        config: &PortConfig,
    ) -> QuerierStep {
        if Some(from) == self.address {
            return QuerierStep::default();
        }
        if self.address.is_some_and(|ours| from > ours) {
            return QuerierStep::default();
        }
        if self.address.is_some() && config.querier_policy == QuerierPolicy::Always {
            return QuerierStep::default();
        }
        let before = self.view();
        // RFC 9776 §4.1.6, §4.1.7: adopt the querier's QRV and QQI; a zero means "not given",
        // and then the configured value applies again.
        self.adopted = Adopted {
            robustness: (query.qrv != 0).then_some(query.qrv),
            query_interval: (!query.qqi.is_zero()).then_some(query.qqi),
        };
        let interval = Timing::new(config, self.adopted).other_querier_present_interval();
        self.role = Role::NonQuerier {
            querier: from,
            expires: now + interval,
        };
        QuerierStep {
            send_general_query: false,
            changed: before != self.view(),
        }
    }

    /// The configuration changed to [`QuerierPolicy::Always`]: a non-querier with an address
    /// takes the role at once, as when the Other Querier Present timer expires.
    pub(crate) fn claim(&mut self, now: Timestamp, config: &PortConfig) -> QuerierStep {
        match self.role {
            Role::NonQuerier { .. }
                if self.address.is_some() && config.querier_policy == QuerierPolicy::Always =>
            {
                self.take_role(now, now, config)
            }
            _ => QuerierStep::default(),
        }
    }

    /// The querier timer or the Other Querier Present timer is due at `at` (the caller's clock
    /// reads `now`, later when it woke up late).
    pub(crate) fn fire(
        &mut self,
        at: Timestamp,
        now: Timestamp,
        config: &PortConfig,
    ) -> QuerierStep {
        match self.role {
            Role::Querier { next_query, .. } if next_query <= at => {
                self.schedule_after_general_query(at, now, config);
                QuerierStep {
                    send_general_query: true,
                    changed: false,
                }
            }
            Role::NonQuerier { expires, .. } if expires <= at => {
                // RFC 9776 §6.6.2: the other querier is gone; become querier and query at once.
                self.take_role(at, now, config)
            }
            _ => QuerierStep::default(),
        }
    }

    /// Becomes querier at `at` (and sends a general query), or silent without an address; the
    /// values adopted from the previous querier are dropped.
    fn take_role(&mut self, at: Timestamp, now: Timestamp, config: &PortConfig) -> QuerierStep {
        self.adopted = Adopted::default();
        if self.address.is_some() {
            self.role = Role::Querier {
                next_query: at,
                startup_left: 0,
            };
            self.schedule_after_general_query(at, now, config);
            QuerierStep {
                send_general_query: true,
                changed: true,
            }
        } else {
            self.role = Role::Silent;
            QuerierStep {
                send_general_query: false,
                changed: true,
            }
        }
    }

    /// A general query was just sent for the deadline `at`: startup queries are Startup Query
    /// Interval apart, later ones Query Interval apart (RFC 9776 §8.6, §8.7). Counting from the
    /// deadline keeps the spacing exact when the caller wakes a little late; after a stall of a
    /// whole period the missed queries are not sent in a burst, the next one is a period from now.
    fn schedule_after_general_query(&mut self, at: Timestamp, now: Timestamp, config: &PortConfig) {
        let timing = Timing::new(config, self.adopted);
        if let Role::Querier {
            next_query,
            startup_left,
        } = &mut self.role
        {
            *startup_left = startup_left.saturating_sub(1);
            let period = if *startup_left > 0 {
                timing.startup_query_interval
            } else {
                timing.query_interval
            };
            let base = if at + period <= now { now } else { at };
            *next_query = base + period;
        }
    }
}
