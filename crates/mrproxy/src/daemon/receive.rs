//! The daemon's receive path: what the mroute sockets deliver, as engine events, drained in
//! batches. Undecodable IGMP/MLD becomes `Event::Malformed`, so the engine counts and logs it
//! like every other rejected input.

use super::Daemon;
use mrproxy_engine::Event;
use mrproxy_linux::{Received4, Received6, Upcall, UpcallKind};
use mrproxy_types::{IfIndex, SourceGroup};
use std::net::IpAddr;

/// At most this many datagrams are taken from one mroute socket per wake-up: enough to absorb a
/// burst of reports in few rounds of the event loop, small enough that timers, signals and the
/// other sockets are still served during a long burst.
const RECEIVE_BATCH: usize = 256;

impl Daemon {
    /// `first` and whatever else is queued on the IPv4 mroute socket, up to `RECEIVE_BATCH`
    /// datagrams, go to the engine in one batch (one event-loop round per burst, not per packet).
    pub(super) fn receive4(&mut self, first: Option<Event>, buf: &mut [u8]) {
        let mut events: Vec<Event> = first.into_iter().collect();
        for _ in 1..RECEIVE_BATCH {
            match self.kernel.v4.try_recv(buf) {
                Ok(Some(r)) => events.extend(event4(r)),
                Ok(None) => break,
                Err(e) => {
                    self.receive_error("IPv4", &e);
                    break;
                }
            }
        }
        self.dispatch(events);
    }

    /// As [`Daemon::receive4`], for the IPv6 mroute socket.
    pub(super) fn receive6(&mut self, first: Option<Event>, buf: &mut [u8]) {
        let mut events: Vec<Event> = first.into_iter().collect();
        if let Some(v6) = self.kernel.v6.as_ref() {
            for _ in 1..RECEIVE_BATCH {
                match v6.try_recv(buf) {
                    Ok(Some(r)) => events.extend(event6(r)),
                    Ok(None) => break,
                    Err(e) => {
                        self.receive_error("IPv6", &e);
                        break;
                    }
                }
            }
        }
        self.dispatch(events);
    }

    pub(super) fn receive_error(&mut self, family: &'static str, e: &std::io::Error) {
        self.warnings.warn(
            family,
            None,
            &self.names,
            format_args!("receiving on the {family} mroute socket: {e}"),
        );
    }
}

/// A kernel upcall the engine acts on: NOCACHE from a known VIF. WRONGVIF and the PIM kinds
/// are never enabled.
fn no_cache<A>(u: Upcall<A>) -> Option<(IfIndex, SourceGroup<A>)> {
    match (u.kind, u.iif) {
        (UpcallKind::NoCache, Some(iif)) => Some((
            iif,
            SourceGroup {
                source: u.source,
                group: u.group,
            },
        )),
        _ => None,
    }
}

/// `None` for upcalls the proxy does not act on.
pub(super) fn event4(received: Received4) -> Option<Event> {
    match received {
        Received4::Igmp {
            ifindex,
            header,
            message,
        } => Some(match message {
            Ok(message) => Event::Igmp {
                ifindex,
                source: header.src,
                destination: header.dst,
                ttl: header.ttl,
                router_alert: header.router_alert,
                message,
            },
            Err(reason) => Event::Malformed {
                ifindex,
                source: IpAddr::V4(header.src),
                reason,
            },
        }),
        Received4::Upcall(u) => no_cache(u).map(|(iif, sg)| Event::NoCache { iif, sg: sg.into() }),
    }
}

pub(super) fn event6(received: Received6) -> Option<Event> {
    match received {
        Received6::Mld {
            ifindex,
            source,
            destination,
            hop_limit,
            router_alert,
            message,
        } => Some(match message {
            Ok(message) => Event::Mld {
                ifindex,
                source,
                destination,
                hop_limit,
                router_alert,
                message,
            },
            Err(reason) => Event::Malformed {
                ifindex,
                source: IpAddr::V6(source),
                reason,
            },
        }),
        Received6::Upcall(u) => no_cache(u).map(|(iif, sg)| Event::NoCache { iif, sg: sg.into() }),
    }
}
