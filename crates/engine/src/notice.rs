//! What the engine tells the outside world besides its commands: notices for logs and
//! counters, delivered beside the [`Action`]s in one [`Output`] per call. Nothing needs to be
//! done about a notice; a daemon that ignored them would still run the protocol correctly.

use crate::action::{Action, RejectReason};
use crate::kernel::{KernelError, KernelObject};
use mrproxy_types::{Family, IfIndex};
use serde::Serialize;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Notice {
    /// An input was rejected; for logs and counters ([`crate::Status::rejected`]).
    Rejected {
        ifindex: Option<IfIndex>,
        from: Option<IpAddr>,
        reason: RejectReason,
    },
    /// The kernel refused a change of `what` for the `attempts`-th time in a row; for logs (the
    /// first one is worth a warning, the next ones are not). `retry_in_ms`: when the engine asks
    /// again, `None` when it no longer wants anything of the object.
    KernelRefusal {
        what: KernelObject,
        /// The interface concerned (a forwarding entry: its input), when known.
        ifindex: Option<IfIndex>,
        error: KernelError,
        attempts: u32,
        retry_in_ms: Option<u64>,
    },
    /// A change the kernel had refused `attempts` times went through; for logs.
    KernelRestored { what: KernelObject, attempts: u32 },
    /// The querier on a downstream link changed (`querier` = None: we are the querier).
    QuerierChanged {
        family: Family,
        ifindex: IfIndex,
        querier: Option<IpAddr>,
    },
}

/// What one engine call produced. Calls only ever append to it.
#[must_use = "the actions must be executed"]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Commands for the kernel and the sockets, in the order the engine's rules produced them.
    pub actions: Vec<Action>,
    /// Notices, in the order they arose.
    pub notices: Vec<Notice>,
}

impl Output {
    pub fn new() -> Output {
        Output::default()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.notices.is_empty()
    }

    /// Appends what a later call produced (for callers that execute several calls' output as
    /// one batch).
    pub fn append(&mut self, mut later: Output) {
        self.actions.append(&mut later.actions);
        self.notices.append(&mut later.notices);
    }

    pub(crate) fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub(crate) fn extend(&mut self, actions: impl IntoIterator<Item = Action>) {
        self.actions.extend(actions);
    }

    pub(crate) fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }
}
