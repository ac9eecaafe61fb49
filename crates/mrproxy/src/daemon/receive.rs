//! The daemon's receive path: what the mroute sockets deliver, as engine events, drained in
//! batches. Undecodable IGMP/MLD becomes `Event::Malformed`, so the engine counts and logs it
//! like every other rejected input.

use super::Daemon;
use super::kernel::KernelFamily;
use mrproxy_engine::Event;
use mrproxy_linux::{Received4, Received6, Upcall, UpcallKind};
use mrproxy_types::{Family, IfIndex, IpFamily, SourceGroup};
use std::net::{Ipv4Addr, Ipv6Addr};

/// At most this many datagrams are taken from one mroute socket per wake-up: enough to absorb a
/// burst of reports in few rounds of the event loop, small enough that timers, signals and the
/// other sockets are still served during a long burst.
const RECEIVE_BATCH: usize = 256;

/// A family whose mroute socket the daemon reads: the socket, if the family has one, and what
/// it delivers as an engine event.
pub(super) trait ReceiveFamily: KernelFamily {
    /// `None` for upcalls the proxy does not act on.
    fn event(received: Self::Received) -> Option<Event>;
}

impl Daemon {
    /// `first` and whatever else is queued on the family's mroute socket, up to `RECEIVE_BATCH`
    /// datagrams, go to the engine in one batch (one event-loop round per burst, not per packet).
    pub(super) fn receive<A: ReceiveFamily>(&mut self, first: Option<Event>, buf: &mut [u8]) {
        let mut events: Vec<Event> = first.into_iter().collect();
        let mut error = None;
        if let Some(mroute) = A::mroute(&self.kernel) {
            for _ in 1..RECEIVE_BATCH {
                match mroute.try_recv(buf) {
                    Ok(Some(r)) => events.extend(A::event(r)),
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = error {
            self.receive_error(A::FAMILY, &e);
        }
        self.dispatch(events);
    }

    pub(super) fn receive_error(&mut self, family: Family, e: &std::io::Error) {
        let reason = match family {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        };
        self.warnings.warn(
            reason,
            None,
            &self.names,
            format_args!("receiving on the {family} mroute socket: {e}"),
        );
    }
}
impl ReceiveFamily for Ipv4Addr {
    fn event(received: Received4) -> Option<Event> {
        match received {
            Received4::Igmp {
                ifindex,
                header,
                message,
            } => message_event(ifindex, header.src, message, |message| Event::Igmp {
                ifindex,
                source: header.src,
                destination: header.dst,
                ttl: header.ttl,
                router_alert: header.router_alert,
                message,
            }),
            Received4::Upcall(u) => upcall_event(u),
        }
    }
}

impl ReceiveFamily for Ipv6Addr {
    fn event(received: Received6) -> Option<Event> {
        match received {
            Received6::Mld {
                ifindex,
                source,
                destination,
                hop_limit,
                router_alert,
                message,
            } => message_event(ifindex, source, message, |message| Event::Mld {
                ifindex,
                source,
                destination,
                hop_limit,
                router_alert,
                message,
            }),
            Received6::Upcall(u) => upcall_event(u),
        }
    }
}

/// The event for a message received on `ifindex` from `source`: made by `event` when it
/// decoded, [`Event::Malformed`] with the reason when it did not.
fn message_event<A: IpFamily, M>(
    ifindex: IfIndex,
    source: A,
    message: Result<M, mrproxy_wire::Error>,
    event: impl FnOnce(M) -> Event,
) -> Option<Event> {
    Some(match message {
        Ok(message) => event(message),
        Err(reason) => Event::Malformed {
            ifindex,
            source: source.into_ip(),
            reason,
        },
    })
}

/// A kernel upcall the engine acts on: NOCACHE from a known VIF. WRONGVIF and the PIM kinds
/// are never enabled.
fn upcall_event<A: IpFamily>(u: Upcall<A>) -> Option<Event> {
    match (u.kind, u.iif) {
        (UpcallKind::NoCache, Some(iif)) => Some(Event::NoCache {
            iif,
            sg: SourceGroup {
                source: u.source,
                group: u.group,
            }
            .into(),
        }),
        _ => None,
    }
}
