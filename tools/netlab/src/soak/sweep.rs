//! The sources behind the upstream: every source sends one datagram to every group per period,
//! from one thread. The flows start one at a time, `ramp` apart, so that the router's kernel
//! raises its upcalls (one per new (S,G)) at a rate the daemon's default `upcallrate` admits.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::netns::Netns;
use crate::payload::{Payload, monotonic_ns};
use crate::sockopt::set_multicast_if_v4_index;

/// TTL of the datagrams: more than the router's threshold of 1.
const TTL: u32 = 8;
const PAYLOAD_LEN: usize = 64;

/// A running sweep; stops when dropped.
#[derive(Debug)]
pub struct Sweep {
    sent: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sweep {
    /// Sends from each of `sources` (addresses of `ifname` in `ns`) to each of `groups` on
    /// `port`, one datagram per flow per `period`, flow i starting after i × `ramp`.
    pub fn start(
        ns: &Netns,
        ifname: &str,
        sources: &[Ipv4Addr],
        groups: &[Ipv4Addr],
        port: u16,
        period: Duration,
        ramp: Duration,
    ) -> io::Result<Sweep> {
        let ifname = ifname.to_owned();
        let sockets: Vec<Socket> = ns.run(|| {
            let ifindex = nix::net::if_::if_nametoindex(ifname.as_str())
                .map_err(|e| io::Error::other(format!("interface {ifname}: {e}")))?;
            sources
                .iter()
                .map(|s| {
                    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
                    set_multicast_if_v4_index(socket.as_fd(), ifindex)?;
                    socket.set_multicast_ttl_v4(TTL)?;
                    socket.bind(&SocketAddr::new(IpAddr::V4(*s), 0).into())?;
                    Ok(socket)
                })
                .collect::<io::Result<Vec<Socket>>>()
        })??;
        let flows: Vec<(usize, SocketAddr)> = groups
            .iter()
            .flat_map(|g| {
                (0..sockets.len()).map(move |i| (i, SocketAddr::new(IpAddr::V4(*g), port)))
            })
            .collect();
        let (sent, errors, stop) = (Arc::default(), Arc::default(), Arc::default());
        let shared = (Arc::clone(&sent), Arc::clone(&errors), Arc::clone(&stop));
        let thread = thread::Builder::new()
            .name("netlab-sweep".into())
            .spawn(move || {
                let (sent, errors, stop): (Arc<AtomicU64>, Arc<AtomicU64>, Arc<AtomicBool>) =
                    shared;
                let start = Instant::now();
                let mut round: u32 = 0;
                while !stop.load(Ordering::Relaxed) {
                    let elapsed = start.elapsed();
                    for (n, (socket, to)) in flows.iter().enumerate() {
                        if ramp.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX)) > elapsed {
                            break;
                        }
                        let payload = Payload {
                            seq: u64::from(round),
                            sent_ns: monotonic_ns(),
                        }
                        .encode(PAYLOAD_LEN);
                        let counter = match sockets[*socket].send_to(&payload, &(*to).into()) {
                            Ok(_) => &sent,
                            Err(_) => &errors,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    round = round.saturating_add(1);
                    let next = start + period.saturating_mul(round);
                    thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })?;
        Ok(Sweep {
            sent,
            errors,
            stop,
            thread: Some(thread),
        })
    }

    /// Datagrams sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Sends that failed so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
