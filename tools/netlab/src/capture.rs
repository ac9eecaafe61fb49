//! Packet capture on one interface of a namespace, and injection of crafted IP packets.
//!
//! An `AF_PACKET` socket sees frames on the wire in both directions whether or not the host
//! is a member, which separates "forwarded onto the link" from "delivered to a socket"
//! (docs/test-strategy.md §7). `SOCK_DGRAM` strips the link header, so veth, bridge and tun captures all
//! yield IP packets.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::socket::{LinkAddr, recvfrom};
use socket2::{Domain, Protocol, Socket, Type};

use crate::netns::Netns;
use crate::packet::{IpView, PROTO_ICMPV6, PROTO_IGMP, PROTO_UDP, destination_mac, parse_ip};
use crate::sockopt::{bind_packet, send_packet};
use crate::wait::wait_for;

const ETH_P_ALL: u16 = 0x0003;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
/// How often the capture thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// Which packets a [`Capture`] keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureFilter {
    /// Every IPv4 and IPv6 packet.
    All,
    /// IPv4 packets carrying IGMP (protocol 2).
    Igmp,
    /// IPv6 packets carrying MLD: ICMPv6 types 130, 131, 132 and 143 (behind any extension
    /// headers, so messages crafted without hop-by-hop are kept too).
    Mld,
    /// UDP datagrams to this group.
    Udp {
        /// Destination group.
        group: IpAddr,
    },
}

impl CaptureFilter {
    /// Whether a parsed packet passes the filter.
    pub fn matches(&self, ip: &IpView<'_>) -> bool {
        match self {
            CaptureFilter::All => true,
            CaptureFilter::Igmp => ip.src.is_ipv4() && ip.protocol == PROTO_IGMP,
            CaptureFilter::Mld => {
                ip.src.is_ipv6()
                    && ip.protocol == PROTO_ICMPV6
                    && matches!(ip.payload.first(), Some(130 | 131 | 132 | 143))
            }
            CaptureFilter::Udp { group } => ip.protocol == PROTO_UDP && ip.dst == *group,
        }
    }
}

/// Whether a captured frame was received or sent by the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Arrived on the interface.
    Incoming,
    /// Sent by this namespace out of the interface.
    Outgoing,
}

/// One captured packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedPacket {
    /// When the capture thread read it.
    pub at: Instant,
    /// Direction relative to the captured interface.
    pub direction: Direction,
    /// The IP packet (bytes after the link header).
    pub data: Vec<u8>,
}

impl CapturedPacket {
    /// The parsed IP header fields and upper-layer payload.
    pub fn ip(&self) -> Option<IpView<'_>> {
        parse_ip(&self.data)
    }

    /// The upper-layer bytes: the IGMP message, ICMPv6 (MLD) message or UDP datagram.
    pub fn payload(&self) -> &[u8] {
        self.ip().map_or(&[], |ip| ip.payload)
    }

    /// The first payload byte: the IGMP type (0x11, 0x16, 0x17, 0x22) or ICMPv6 type.
    pub fn message_type(&self) -> Option<u8> {
        self.payload().first().copied()
    }
}

/// A running capture; stops when dropped.
#[derive(Debug)]
pub struct Capture {
    packets: Arc<Mutex<Vec<CapturedPacket>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Starts capturing on `ifname` in `ns`, keeping packets that pass `filter`. Packets
    /// already on the wire when this returns are seen; earlier ones are not.
    pub fn start(ns: &Netns, ifname: &str, filter: CaptureFilter) -> io::Result<Capture> {
        let (socket, ifindex) = ns.run(|| {
            let ifindex = nix::net::if_::if_nametoindex(ifname)
                .map_err(|e| io::Error::other(format!("interface {ifname}: {e}")))?;
            let protocol = Protocol::from(i32::from(ETH_P_ALL.to_be()));
            let socket = Socket::new(Domain::PACKET, Type::DGRAM, Some(protocol))?;
            bind_packet(socket.as_fd(), ifindex, ETH_P_ALL)?;
            socket.set_read_timeout(Some(STOP_POLL))?;
            socket.set_recv_buffer_size(1 << 21)?;
            Ok::<_, io::Error>((socket, ifindex))
        })??;
        let packets = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let shared = (Arc::clone(&packets), Arc::clone(&stop));
        let thread = thread::Builder::new()
            .name("netlab-capture".into())
            .spawn(move || {
                let (packets, stop) = shared;
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let Some(packet) = read_one(&socket, ifindex, &mut buf) else {
                        continue;
                    };
                    if packet.ip().is_some_and(|ip| filter.matches(&ip)) {
                        packets
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(packet);
                    }
                }
            })?;
        Ok(Capture {
            packets,
            stop,
            thread: Some(thread),
        })
    }

    /// The packets kept so far, in capture order.
    pub fn packets(&self) -> Vec<CapturedPacket> {
        self.lock().clone()
    }

    /// The number of kept packets that satisfy `pred`.
    pub fn count(&self, pred: impl Fn(&CapturedPacket) -> bool) -> usize {
        self.lock().iter().filter(|p| pred(p)).count()
    }

    /// Waits for a kept packet that satisfies `pred` (including ones already captured) and
    /// returns the first such packet; `None` at the timeout.
    pub fn wait_for(
        &self,
        pred: impl Fn(&CapturedPacket) -> bool,
        timeout: Duration,
    ) -> Option<CapturedPacket> {
        wait_for(timeout, || self.lock().iter().find(|p| pred(p)).cloned())
    }

    /// Removes and returns the packets kept so far: a long-running reader takes each packet
    /// once and the capture's memory stays bounded.
    pub fn take(&self) -> Vec<CapturedPacket> {
        std::mem::take(&mut *self.lock())
    }

    /// Forgets the packets kept so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<CapturedPacket>> {
        self.packets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One frame of the bound interface; `None` on timeout or a frame from elsewhere (the socket
/// may see other interfaces' frames queued before `bind`).
fn read_one(socket: &Socket, ifindex: u32, buf: &mut [u8]) -> Option<CapturedPacket> {
    let (len, addr) = recvfrom::<LinkAddr>(std::os::fd::AsRawFd::as_raw_fd(socket), buf).ok()?;
    let at = Instant::now();
    let addr = addr?;
    if u32::try_from(addr.ifindex()).ok()? != ifindex {
        return None;
    }
    let direction = if addr.pkttype() == libc::PACKET_OUTGOING {
        Direction::Outgoing
    } else {
        Direction::Incoming
    };
    Some(CapturedPacket {
        at,
        direction,
        data: buf.get(..len)?.to_vec(),
    })
}

/// Sends a crafted IPv4 packet (header included) out of `ifname` in `ns`, in a link frame
/// addressed from its destination (01:00:5e + low 23 bits for multicast; broadcast otherwise)
/// and the interface's own MAC. Only the destination address (bytes 16..20) has to be
/// well-formed; everything else may be malformed on purpose. Opens a socket per call: for many
/// packets use an [`Injector`].
pub fn inject_ipv4(ns: &Netns, ifname: &str, packet: &[u8]) -> io::Result<()> {
    Injector::open(ns, ifname)?.send_ipv4(packet)
}

/// Sends a crafted IPv6 packet out of `ifname` in `ns`, in a frame addressed to 33:33 + the low
/// 32 bits of its destination (bytes 24..40). See [`inject_ipv4`].
pub fn inject_ipv6(ns: &Netns, ifname: &str, packet: &[u8]) -> io::Result<()> {
    Injector::open(ns, ifname)?.send_ipv6(packet)
}

/// A send-only packet socket on one interface of a namespace, for sending many crafted packets
/// (a flood) without entering the namespace for each one. [`inject_ipv4`] and [`inject_ipv6`]
/// are its one-shot forms.
#[derive(Debug)]
pub struct Injector {
    socket: Socket,
    ifindex: u32,
}

impl Injector {
    /// Opens the socket on `ifname` in `ns`.
    pub fn open(ns: &Netns, ifname: &str) -> io::Result<Injector> {
        ns.run(|| {
            let ifindex = nix::net::if_::if_nametoindex(ifname)
                .map_err(|e| io::Error::other(format!("interface {ifname}: {e}")))?;
            // Protocol 0: a send-only socket that receives nothing.
            let socket = Socket::new(Domain::PACKET, Type::DGRAM, Some(Protocol::from(0)))?;
            Ok(Injector { socket, ifindex })
        })?
    }

    /// Sends a crafted IPv4 packet; see [`inject_ipv4`].
    pub fn send_ipv4(&self, packet: &[u8]) -> io::Result<()> {
        let dst: [u8; 4] = packet
            .get(16..20)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "IPv4 packet shorter than 20 bytes",
                )
            })?;
        self.send(ETH_P_IP, destination_mac(IpAddr::from(dst)), packet)
    }

    /// Sends a crafted IPv6 packet; see [`inject_ipv6`].
    pub fn send_ipv6(&self, packet: &[u8]) -> io::Result<()> {
        let dst: [u8; 16] = packet
            .get(24..40)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "IPv6 packet shorter than 40 bytes",
                )
            })?;
        self.send(ETH_P_IPV6, destination_mac(IpAddr::from(dst)), packet)
    }

    fn send(&self, ethertype: u16, dst_mac: [u8; 6], packet: &[u8]) -> io::Result<()> {
        let sent = send_packet(
            self.socket.as_fd(),
            self.ifindex,
            ethertype,
            dst_mac,
            packet,
        )?;
        if sent == packet.len() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "short send: {sent} of {} bytes",
                packet.len()
            )))
        }
    }
}
