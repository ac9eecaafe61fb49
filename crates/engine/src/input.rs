//! The checks every received IGMP/MLD message passes, in order, before the router part sees it.
//! Each rejection names its rule; the receive interface is always the one the kernel reported
//! (IP_PKTINFO), never guessed from the source address (igmpproxy's D16).

use crate::action::RejectReason;
use crate::afi::Afi;
use crate::family::FamilyState;
use crate::interfaces::OwnAddresses;
use crate::notice::{Notice, Output};
use crate::policy;
use mrproxy_config::{Config, Role};
use mrproxy_membership::{Message, Timestamp};
use mrproxy_types::IfIndex;

/// One received message, already decoded into the family-neutral form.
pub struct Received<A: Afi> {
    pub ifindex: IfIndex,
    pub source: A,
    /// TTL (IGMP) or hop limit (MLD).
    pub ttl: u8,
    pub router_alert: bool,
    pub message: Message<A>,
}

pub fn receive<A: Afi>(
    family: &mut FamilyState<A>,
    config: &Config,
    own_addresses: &OwnAddresses,
    now: Timestamp,
    rx: Received<A>,
    actions: &mut Output,
) {
    let Received {
        ifindex,
        source,
        ttl,
        router_alert,
        message,
    } = rx;
    let mut reject = |reason| {
        actions.notice(Notice::Rejected {
            ifindex: Some(ifindex),
            from: Some(source.into_ip()),
            reason,
        })
    };

    let is_query = matches!(message, Message::Query(_));
    let own = own_addresses.is_own(ifindex, source.into_ip());
    let (Some(role), Some(settings), Some(link)) = (
        family.role_of(ifindex),
        family.settings_of(ifindex),
        family.link_of(ifindex),
    ) else {
        return reject(if own {
            RejectReason::OwnPacket
        } else {
            RejectReason::NotDownstream
        });
    };
    // Our own queries come back through multicast loopback (the sender loops them so that the
    // router's own host part hears them). Our own reports on a downstream come from a receiver
    // on the router itself, a udpxy joined on that LAN: they count like any host's
    // (docs/igmpproxy-differences.md D34). Elsewhere (the kernel's reports for our upstream joins) they are ours.
    if own && (is_query || role != Role::Downstream) {
        return reject(RejectReason::OwnPacket);
    }
    // RFC 9776 §4 / RFC 9777 §5: IGMP and MLD are link-local, sent with TTL / hop limit 1.
    if ttl != 1 {
        return reject(RejectReason::BadTtl(ttl));
    }
    if let Err(reason) = source.check_source(is_query, link) {
        return reject(reason);
    }
    if let Message::Query(query) = &message {
        // RFC 9776 §9.1: queries without Router Alert SHOULD be ignored; optional by default
        // because some switches omit it (openwrt/omcproxy#22).
        if settings.require_router_alert && !router_alert {
            return reject(RejectReason::MissingRouterAlert);
        }
        // RFC 4605 ⚑: no router part on the upstream; its queries are answered by the kernel's
        // host part, and may refresh the downstreams.
        if role == Role::Upstream {
            if query.group.is_none() {
                family.upstream_general_query(now, actions);
            }
            return;
        }
        // On a downstream a query takes part in the querier election: a forged one from a
        // host would silence us (RFC 9776 §6.6.2), so only on-link routers count.
        if let Err(reason) = source.check_querier(link) {
            return reject(reason);
        }
        family.receive(now, ifindex, source, message, actions);
        return;
    }
    if role != Role::Downstream {
        return reject(RejectReason::NotDownstream);
    }
    let own_source = |s: &A| own_addresses.is_own(ifindex, s.into_ip());
    let (kept, rejected) =
        policy::filter_message(message, settings, &config.ssm_ranges, &own_source);
    for reason in rejected {
        reject(reason);
    }
    if let Some(message) = kept {
        family.receive(now, ifindex, source, message, actions);
    }
}
