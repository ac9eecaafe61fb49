//! Wire observation with kernel timestamps (docs/test-strategy.md §7).
//!
//! An `AF_PACKET` socket sees every IPv4 frame of one interface in both directions, whether or
//! not anybody is a member. Each frame carries the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`, taken when the frame passed the interface), so the figures do not
//! include the capture thread's scheduling delay. The kernel stamps with `CLOCK_REALTIME`;
//! every stamp is moved to `CLOCK_MONOTONIC`, the clock all namespaces share and the one the
//! sources write into their payloads.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use netlab::Netns;
use netlab::packet::{PROTO_IGMP, PROTO_UDP, parse_ip};
use netlab::payload::{Payload, monotonic_ns};
use nix::sys::socket::{ControlMessageOwned, LinkAddr, MsgFlags, recvmsg, setsockopt, sockopt};
use nix::time::{ClockId, clock_gettime};
use socket2::{Domain, Protocol, SockFilter, Socket, Type};

use netlab::igmp::Message;

const ETH_P_ALL: u16 = 0x0003;
/// How often the capture thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);
/// Receive buffer of a capture: bursts of 10 000 reports must not overflow it.
const CAPTURE_RCVBUF: usize = 32 << 20;

/// Which packets a capture hands to its sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// IGMP and UDP.
    IgmpAndUdp,
    /// IGMP only, selected in the kernel: the capture thread is not woken for the streams,
    /// which on a link carrying 10 000 packets/s would cost the measured proxy CPU.
    Igmp,
}

/// Classic BPF for `Filter::Igmp`, run on the IP header (a `SOCK_DGRAM` packet socket has no
/// link header): IPv4 (version nibble 4) with protocol 2.
fn igmp_only_program() -> [SockFilter; 7] {
    const LD_B_ABS: u16 = 0x30;
    const RSH_K: u16 = 0x74;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    [
        SockFilter::new(LD_B_ABS, 0, 0, 0),
        SockFilter::new(RSH_K, 0, 0, 4),
        SockFilter::new(JEQ_K, 0, 3, 4),
        SockFilter::new(LD_B_ABS, 0, 0, 9),
        SockFilter::new(JEQ_K, 0, 1, u32::from(PROTO_IGMP)),
        SockFilter::new(RET_K, 0, 0, 0x0004_0000),
        SockFilter::new(RET_K, 0, 0, 0),
    ]
}

/// What was seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A UDP datagram; `payload` is set when it came from a benchmark source.
    Udp { payload: Option<Payload> },
    /// An IGMP message; `None` for another type or a truncated one.
    Igmp(Option<Message>),
}

/// One IPv4 packet on the captured interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireEvent {
    /// Kernel timestamp, nanoseconds of `CLOCK_MONOTONIC`.
    pub at_ns: u64,
    /// Sent by the captured namespace (as opposed to received by it).
    pub outgoing: bool,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub kind: Kind,
}

/// A running capture. Every event is handed to the sink on the capture thread; the capture
/// stops when dropped.
pub struct Wire {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Wire {
    /// Starts capturing IGMP and UDP on `ifname` in `ns`. Frames already on the wire when this
    /// returns are seen.
    pub fn start(
        ns: &Netns,
        ifname: &str,
        filter: Filter,
        mut sink: impl FnMut(WireEvent) + Send + 'static,
    ) -> io::Result<Wire> {
        let ifindex = ns.ifindex(ifname)?;
        let socket = ns.run(open_socket)??;
        if filter == Filter::Igmp {
            socket.attach_filter(&igmp_only_program())?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name(format!("wire-{ifname}"))
            .spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !stopped.load(Ordering::Relaxed) {
                    if let Some(event) = read_one(&socket, ifindex, &mut buf) {
                        sink(event);
                    }
                }
            })?;
        Ok(Wire {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A capture that keeps every event, for scenarios with modest traffic.
pub struct Recording {
    events: Arc<Mutex<Vec<WireEvent>>>,
    _wire: Wire,
}

impl Recording {
    pub fn start(ns: &Netns, ifname: &str) -> io::Result<Recording> {
        let events: Arc<Mutex<Vec<WireEvent>>> = Arc::default();
        let sink = Arc::clone(&events);
        let wire = Wire::start(ns, ifname, Filter::IgmpAndUdp, move |e| {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(e);
        })?;
        Ok(Recording {
            events,
            _wire: wire,
        })
    }

    /// Runs `f` on the events kept so far, in capture order.
    pub fn with<T>(&self, f: impl FnOnce(&[WireEvent]) -> T) -> T {
        f(&self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl WireEvent {
    /// A datagram of `group` that arrived on the interface.
    pub fn is_udp_in(&self, group: Ipv4Addr) -> bool {
        !self.outgoing && self.dst == group && matches!(self.kind, Kind::Udp { .. })
    }

    /// A report sent from the interface that asks for `group`.
    pub fn is_join_out(&self, group: Ipv4Addr) -> bool {
        self.outgoing
            && matches!(&self.kind, Kind::Igmp(Some(m)) if m.joined_groups().contains(&group))
    }

    /// A leave (or v3 TO_IN {}) sent from the interface that gives up `group`.
    pub fn is_leave_out(&self, group: Ipv4Addr) -> bool {
        self.outgoing
            && matches!(&self.kind, Kind::Igmp(Some(m)) if m.left_groups().contains(&group))
    }

    /// The benchmark payload of a datagram.
    pub fn payload(&self) -> Option<Payload> {
        match self.kind {
            Kind::Udp { payload } => payload,
            Kind::Igmp(_) => None,
        }
    }
}

/// Runs inside the namespace. Unbound: the socket sees every interface of the namespace, and
/// [`read_one`] keeps the frames of the wanted one (binding needs a raw `sockaddr_ll`).
fn open_socket() -> io::Result<Socket> {
    let protocol = Protocol::from(i32::from(ETH_P_ALL.to_be()));
    let socket = Socket::new(Domain::PACKET, Type::DGRAM, Some(protocol))?;
    socket.set_read_timeout(Some(STOP_POLL))?;
    // SO_RCVBUFFORCE (root) goes past net.core.rmem_max.
    if setsockopt(&socket, sockopt::RcvBufForce, &CAPTURE_RCVBUF).is_err() {
        socket.set_recv_buffer_size(CAPTURE_RCVBUF)?;
    }
    setsockopt(&socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
    Ok(socket)
}

/// One frame of interface `ifindex`; `None` on timeout, other interfaces, and other protocols.
fn read_one(socket: &Socket, ifindex: u32, buf: &mut [u8]) -> Option<WireEvent> {
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<LinkAddr>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .ok()?;
    let len = msg.bytes;
    let addr = msg.address?;
    if u32::try_from(addr.ifindex()).ok()? != ifindex {
        return None;
    }
    let outgoing = addr.pkttype() == libc::PACKET_OUTGOING;
    let stamp = msg.cmsgs().ok()?.find_map(|c| match c {
        ControlMessageOwned::ScmTimestampns(t) => Some(t),
        _ => None,
    });
    let at_ns = match stamp {
        Some(t) => realtime_to_monotonic(timespec_ns(t.tv_sec(), t.tv_nsec())),
        None => monotonic_ns(),
    };
    let ip = parse_ip(buf.get(..len)?)?;
    let (std::net::IpAddr::V4(src), std::net::IpAddr::V4(dst)) = (ip.src, ip.dst) else {
        return None;
    };
    let kind = match ip.protocol {
        PROTO_IGMP => Kind::Igmp(Message::parse(ip.payload)),
        // UDP header is 8 bytes; the benchmark payload follows.
        PROTO_UDP => Kind::Udp {
            payload: ip.payload.get(8..).and_then(Payload::decode),
        },
        _ => return None,
    };
    Some(WireEvent {
        at_ns,
        outgoing,
        src,
        dst,
        kind,
    })
}

fn timespec_ns(sec: i64, nsec: i64) -> u64 {
    let sec = u64::try_from(sec).unwrap_or(0);
    let nsec = u64::try_from(nsec).unwrap_or(0);
    sec.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// Moves a `CLOCK_REALTIME` instant to `CLOCK_MONOTONIC` with the offset between the clocks
/// right now; taken per packet, so clock adjustments during a run cost nothing.
fn realtime_to_monotonic(realtime_ns: u64) -> u64 {
    let clock = |id| {
        clock_gettime(id)
            .map(|t| timespec_ns(t.tv_sec(), t.tv_nsec()))
            .unwrap_or(0)
    };
    let real_now = clock(ClockId::CLOCK_REALTIME);
    let mono_now = clock(ClockId::CLOCK_MONOTONIC);
    mono_now.saturating_sub(real_now.saturating_sub(realtime_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realtime_stamps_map_onto_the_monotonic_clock() {
        let real = clock_gettime(ClockId::CLOCK_REALTIME).expect("realtime clock");
        let before = monotonic_ns();
        let mapped = realtime_to_monotonic(timespec_ns(real.tv_sec(), real.tv_nsec()));
        let after = monotonic_ns();
        // The mapped instant lies between readings taken just before and just after; the
        // slack covers preemption between the clock reads. A wrong mapping is off by decades.
        let slack = 50_000_000;
        assert!(mapped + slack >= before && mapped <= after + slack);
        assert_eq!(
            realtime_to_monotonic(0),
            0,
            "far past saturates instead of wrapping"
        );
    }
}
