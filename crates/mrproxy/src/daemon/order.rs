//! The order in which one batch of the engine's actions reaches the kernel.
//!
//! The engine lists actions in the order its rules produce them, and the daemon executes a
//! whole batch (every packet drained from a socket in one wake-up) at once. Within a batch
//! the kernel state a listener waits for goes first:
//!
//! 1. forwarding entries (`SetRoute`, `DeleteRoute`): for a join whose traffic already reaches
//!    the upstream interface, the entry alone makes it flow onto the LAN;
//! 2. upstream memberships (`SetUpstreamMembership`): a join syscall, which walks the
//!    interface's group list and takes the kernel's global RTNL lock, so it is the slowest
//!    action and should not delay the entry;
//! 3. queries (`SendIgmp`, `SendMld`). A leave record in the same report as a join (a channel
//!    change), or an IGMPv2 leave drained together with the next report, produces a
//!    group-specific query (RFC 9776 §6.4.2, RFC 9777 §7.4.2); nothing waits for that query
//!    to leave within microseconds, while the join's entry and membership would wait behind it.
//!
//! Reordering is safe because these actions concern different kernel objects: each kind keeps
//! its relative order, so two updates of one entry or one membership still apply in the
//! engine's order. `AttachInterface` and `DetachInterface` are barriers that nothing crosses:
//! entries may name an interface's VIF only after it is attached and must stop naming it
//! before it is detached (the contract of `Action::DetachInterface`).

use mrproxy_engine::Action;

/// Rank of an action within its segment of a batch: lower runs first.
fn rank(action: &Action) -> u8 {
    match action {
        Action::SetRoute { .. } | Action::DeleteRoute { .. } => 0,
        Action::SetUpstreamMembership { .. } => 1,
        Action::SendIgmp { .. } | Action::SendMld { .. } => 2,
        // Barriers: each is a segment of its own.
        Action::AttachInterface { .. } | Action::DetachInterface { .. } => 0,
    }
}

fn is_barrier(action: &Action) -> bool {
    matches!(
        action,
        Action::AttachInterface { .. } | Action::DetachInterface { .. }
    )
}

/// The batch in execution order: between barriers, stably sorted by [`rank`].
pub fn execution_order(actions: Vec<Action>) -> Vec<Action> {
    let mut ordered = Vec::with_capacity(actions.len());
    let mut segment = Vec::new();
    for action in actions {
        if is_barrier(&action) {
            // `sort_by_key` is stable: each kind keeps the engine's order.
            segment.sort_by_key(rank);
            ordered.append(&mut segment);
            ordered.push(action);
        } else {
            segment.push(action);
        }
    }
    segment.sort_by_key(rank);
    ordered.append(&mut segment);
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrproxy_types::{Family, FilterMode, IfIndex, SourceFilter, SourceGroup};
    use mrproxy_wire::igmp;
    use std::net::Ipv4Addr;

    const UP: IfIndex = IfIndex(2);
    const LAN: IfIndex = IfIndex(3);
    const SOURCE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

    fn group(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(239, 1, 1, n)
    }

    fn query(n: u8) -> Action {
        Action::SendIgmp {
            ifindex: LAN,
            source: Ipv4Addr::new(192, 0, 2, 1),
            destination: group(n),
            message: igmp::Repr::QueryV3 {
                max_resp_code: 10,
                group: group(n),
                s_flag: false,
                qrv: 2,
                qqic: 125,
                sources: Vec::new(),
            },
        }
    }

    fn sg(n: u8) -> SourceGroup<Ipv4Addr> {
        SourceGroup {
            source: SOURCE,
            group: group(n),
        }
    }

    fn route(n: u8, oifs: &[IfIndex]) -> Action {
        Action::SetRoute {
            sg: sg(n).into(),
            iif: UP,
            oifs: oifs.to_vec(),
        }
    }

    fn membership(n: u8, mode: FilterMode) -> Action {
        Action::SetUpstreamMembership {
            ifindex: UP,
            filter: SourceFilter {
                group: group(n),
                mode,
                sources: Vec::new(),
            }
            .into(),
        }
    }

    fn detach(ifindex: IfIndex) -> Action {
        Action::DetachInterface {
            family: Family::V4,
            ifindex,
        }
    }

    #[test]
    fn a_channel_change_installs_the_new_entry_before_querying_the_old_group() {
        // One report: TO_IN {} for group 1 (leave), then TO_EX {} for group 2 (join).
        let batch = vec![
            query(1),
            membership(2, FilterMode::Exclude),
            route(2, &[LAN]),
        ];
        assert_eq!(
            execution_order(batch),
            vec![
                route(2, &[LAN]),
                membership(2, FilterMode::Exclude),
                query(1)
            ]
        );
    }

    #[test]
    fn each_kind_keeps_the_engines_order() {
        let batch = vec![
            query(1),
            membership(1, FilterMode::Exclude),
            route(1, &[LAN]),
            query(2),
            membership(1, FilterMode::Include),
            route(1, &[]),
            Action::DeleteRoute(sg(3).into()),
        ];
        assert_eq!(
            execution_order(batch),
            vec![
                route(1, &[LAN]),
                route(1, &[]),
                Action::DeleteRoute(sg(3).into()),
                membership(1, FilterMode::Exclude),
                membership(1, FilterMode::Include),
                query(1),
                query(2),
            ]
        );
    }

    #[test]
    fn nothing_crosses_an_attach_or_detach() {
        let other = IfIndex(4);
        let attach = Action::AttachInterface {
            family: Family::V4,
            ifindex: other,
            name: "dn2".into(),
            role: mrproxy_config::Role::Downstream,
            threshold: 1,
            ratelimit: 0,
        };
        let batch = vec![
            query(1),
            route(1, &[LAN]),
            detach(LAN),
            query(2),
            attach.clone(),
            route(2, &[other]),
        ];
        assert_eq!(
            execution_order(batch),
            vec![
                route(1, &[LAN]),
                query(1),
                detach(LAN),
                query(2),
                attach,
                route(2, &[other]),
            ]
        );
    }

    #[test]
    fn an_empty_batch_stays_empty() {
        assert!(execution_order(Vec::new()).is_empty());
    }
}
