//! Multicast sources of the benchmark, and the upstream network they stand for.
//!
//! [`Flows`] sends a changing set of groups at one datagram per tick each (1 000 packets/s with
//! the default 1 ms tick). Every datagram carries the tick number as its sequence number, also
//! while the group is gated off, so a receiver can count exactly which ticks it missed.
//! [`Sweep`] sends one datagram to each of many groups in turn (10 000 groups at 1 packet/s):
//! streams that already reach the router, for the report burst.
//!
//! [`Gate`] plays the upstream network of a real router: it delivers a group only while the
//! proxy is a member upstream, as learnt from the proxy's own reports and leaves on the
//! upstream link ([`Gate::follow`]). Without it the source would keep flowing after an
//! upstream leave, and a fast leave that cuts other viewers (docs/igmpproxy-differences.md D6) would go unseen.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use netlab::Netns;
use netlab::payload::{Payload, monotonic_ns};
use socket2::{Domain, Protocol, Socket, Type};

use crate::wire::{Filter, Kind, Wire};

/// UDP port of every benchmark stream.
pub const PORT: u16 = 5000;
/// Datagram length (the netlab payload header plus padding, a small video-like cell).
const PAYLOAD_LEN: usize = 64;
/// TTL of the streams: the kernel forwards only TTL > threshold (docs/igmpproxy-differences.md D32).
const TTL: u32 = 8;

/// The set of groups the upstream network delivers to the proxy.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    open: Arc<Mutex<HashSet<Ipv4Addr>>>,
    /// Every upstream leave seen: (kernel timestamp of the message, group).
    leaves: Arc<Mutex<Vec<(u64, Ipv4Addr)>>>,
}

impl Gate {
    /// Whether `group` is delivered now.
    pub fn is_open(&self, group: Ipv4Addr) -> bool {
        self.lock().contains(&group)
    }

    /// Watches the proxy's reports and leaves arriving on `ifname` in `ns` (the source side of
    /// the upstream link) and opens and closes groups accordingly, as an upstream router with
    /// IGMP snooping would. The gate follows as long as the returned capture lives.
    pub fn follow(&self, ns: &Netns, ifname: &str) -> io::Result<Wire> {
        let gate = self.clone();
        Wire::start(ns, ifname, Filter::Igmp, move |event| {
            let Kind::Igmp(Some(message)) = &event.kind else {
                return;
            };
            if event.outgoing {
                return;
            }
            let mut open = gate.lock();
            for group in message.joined_groups() {
                open.insert(group);
            }
            let left = message.left_groups();
            for group in &left {
                open.remove(group);
            }
            drop(open);
            let mut leaves = gate.leaves.lock().unwrap_or_else(|p| p.into_inner());
            leaves.extend(left.into_iter().map(|g| (event.at_ns, g)));
        })
    }

    /// When the proxy first left `group` upstream at or after `since_ns` (monotonic).
    pub fn left_at(&self, group: Ipv4Addr, since_ns: u64) -> Option<u64> {
        let leaves = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        leaves
            .iter()
            .find(|(at, g)| *g == group && *at >= since_ns)
            .map(|(at, _)| *at)
    }

    fn lock(&self) -> MutexGuard<'_, HashSet<Ipv4Addr>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Groups being sent, each with the tick at which it was added (its sequence number 0).
type FlowTable = BTreeMap<Ipv4Addr, u64>;

/// A sender of one datagram per tick to each group of a changing set.
pub struct Flows {
    table: Arc<Mutex<FlowTable>>,
    pacer: Pacer,
}

impl Flows {
    /// Starts sending out of the interface holding `local` in `ns`; no group yet. With a
    /// gate, a group is sent only while the gate is open for it. The first tick comes after
    /// `phase`: a real stream's packets bear no relation to the host's timer ticks, and a
    /// benchmark stream must not either (see [`random_phase`]).
    pub fn start(
        ns: &Netns,
        local: Ipv4Addr,
        tick: Duration,
        phase: Duration,
        gate: Option<Gate>,
    ) -> io::Result<Flows> {
        let socket = ns.run(|| open_sender(local))??;
        let table: Arc<Mutex<FlowTable>> = Arc::default();
        let shared = Arc::clone(&table);
        let pacer = Pacer::start(tick, phase, move |tick| {
            let flows: Vec<(Ipv4Addr, u64)> = lock(&shared)
                .iter()
                .map(|(g, first)| (*g, tick.saturating_sub(*first)))
                .collect();
            let mut sent = 0;
            for (group, seq) in flows {
                if gate.as_ref().is_none_or(|g| g.is_open(group)) && send(&socket, group, seq) {
                    sent += 1;
                }
            }
            sent
        })?;
        Ok(Flows { table, pacer })
    }

    /// Starts sending `group` from the next tick on.
    pub fn add(&self, group: Ipv4Addr) {
        let now = self.pacer.ticks();
        lock(&self.table).insert(group, now);
    }

    /// Stops sending `group`.
    pub fn remove(&self, group: Ipv4Addr) {
        lock(&self.table).remove(&group);
    }

    /// The sequence number `group` has at the current tick, if it is being sent.
    pub fn current_seq(&self, group: Ipv4Addr) -> Option<u64> {
        let now = self.pacer.ticks();
        lock(&self.table)
            .get(&group)
            .map(|first| now.saturating_sub(*first))
    }
}

/// One datagram to each of `groups` in turn, spread evenly over every `period`.
pub struct Sweep {
    pacer: Pacer,
}

impl Sweep {
    pub fn start(
        ns: &Netns,
        local: Ipv4Addr,
        groups: Vec<Ipv4Addr>,
        period: Duration,
    ) -> io::Result<Sweep> {
        let socket = ns.run(|| open_sender(local))??;
        let tick = Duration::from_millis(1);
        let ticks_per_period = (period.as_micros() / tick.as_micros()).max(1);
        let count = groups.len() as u128;
        let pacer = Pacer::start(tick, Duration::ZERO, move |tick| {
            // Datagrams due by the end of this tick, minus those due by its start: an even
            // spread also when the count does not divide the period.
            let due = |t: u64| u128::from(t) * count / ticks_per_period;
            let (from, to) = (due(tick), due(tick + 1));
            let mut sent = 0;
            for n in from..to {
                let index = usize::try_from(n % count.max(1)).unwrap_or(0);
                let seq = u64::try_from(n / count.max(1)).unwrap_or(u64::MAX);
                if let Some(group) = groups.get(index) {
                    sent += u64::from(send(&socket, *group, seq));
                }
            }
            sent
        })?;
        Ok(Sweep { pacer })
    }

    /// Datagrams sent so far.
    pub fn sent(&self) -> u64 {
        self.pacer.sent()
    }
}

/// A thread calling `on_tick(tick number)` on a fixed schedule until dropped. A late tick is
/// caught up at once rather than skipped, so the rate holds on a busy machine.
struct Pacer {
    ticks: Arc<AtomicU64>,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Pacer {
    fn start(
        tick: Duration,
        phase: Duration,
        mut on_tick: impl FnMut(u64) -> u64 + Send + 'static,
    ) -> io::Result<Pacer> {
        let ticks = Arc::new(AtomicU64::new(0));
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let shared = (Arc::clone(&ticks), Arc::clone(&sent), Arc::clone(&stop));
        let thread = thread::Builder::new()
            .name("bench-source".into())
            .spawn(move || {
                let (ticks, sent, stop) = shared;
                let start = Instant::now() + phase;
                thread::sleep(phase);
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    sent.fetch_add(on_tick(n), Ordering::Relaxed);
                    n += 1;
                    ticks.store(n, Ordering::Relaxed);
                    let next = start + tick.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));
                    thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })?;
        Ok(Pacer {
            ticks,
            sent,
            stop,
            thread: Some(thread),
        })
    }

    fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A start offset in `[0, tick)` that differs from call to call (the sub-microsecond digits
/// of the monotonic clock), so that successive streams meet a host's timer-driven reports at
/// every phase rather than always at the same one.
pub fn random_phase(tick: Duration) -> Duration {
    let tick_ns = u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX).max(1);
    // Scrambled so that calls a whole number of ticks apart do not get the same phase.
    let mixed = monotonic_ns()
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(29);
    Duration::from_nanos(mixed % tick_ns)
}

/// Runs inside the source namespace: a UDP socket sending out of the interface holding
/// `local`, with a forwardable TTL and no local loopback of its own datagrams.
fn open_sender(local: Ipv4Addr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_multicast_if_v4(&local)?;
    socket.set_multicast_ttl_v4(TTL)?;
    socket.set_multicast_loop_v4(false)?;
    socket.bind(&SocketAddr::from((local, 0)).into())?;
    Ok(socket)
}

/// Sends one numbered datagram; false if the kernel refused it.
fn send(socket: &Socket, group: Ipv4Addr, seq: u64) -> bool {
    let payload = Payload {
        seq,
        sent_ns: monotonic_ns(),
    }
    .encode(PAYLOAD_LEN);
    socket
        .send_to(&payload, &SocketAddr::from((group, PORT)).into())
        .is_ok()
}

fn lock(table: &Mutex<FlowTable>) -> MutexGuard<'_, FlowTable> {
    table.lock().unwrap_or_else(|p| p.into_inner())
}
