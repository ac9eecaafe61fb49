//! A kernel multicast host: a UDP socket inside a namespace whose memberships make that
//! namespace's kernel send the IGMP/MLD reports and leaves (docs/test-strategy.md §5), and a thread that
//! records every datagram for timing and freshness assertions (docs/test-strategy.md §7).

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};

use crate::netns::Netns;
use crate::payload::{Payload, monotonic_ns};
use crate::sockopt::{FilterMode, group_membership, set_source_filter, source_membership};
use crate::stats::{Datagram, ReceiverStats};
use crate::wait::{DEFAULT_POLL, wait_until};

/// How often the receive thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The membership a [`Receiver`] asked its kernel for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Membership {
    /// No membership (after [`Receiver::leave`], or made with [`Receiver::open`]).
    None,
    /// Any-source join (IGMPv2/MLDv1-style, or IGMPv3/MLDv2 EXCLUDE {}).
    AnySource,
    /// Source-specific joins (INCLUDE {sources}, SSM).
    Include(Vec<IpAddr>),
    /// Join excluding the listed sources (EXCLUDE {sources}).
    Exclude(Vec<IpAddr>),
}

/// A UDP socket in a namespace, bound to `group:port`, joined on one interface.
///
/// Dropping it stops the recording thread and closes the socket, which makes the kernel
/// leave every group it had joined.
#[derive(Debug)]
pub struct Receiver {
    socket: Arc<Socket>,
    ifindex: u32,
    group: IpAddr,
    initial: Membership,
    membership: Mutex<Membership>,
    log: Arc<Mutex<Vec<Datagram>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Any-source join of `group` on `ifname` (`MCAST_JOIN_GROUP`, by ifindex).
    pub fn join(ns: &Netns, ifname: &str, group: IpAddr, port: u16) -> io::Result<Receiver> {
        Self::start(ns, ifname, group, port, Membership::AnySource)
    }

    /// Source-specific join of (`source`, `group`) (`MCAST_JOIN_SOURCE_GROUP`; SSM).
    pub fn join_source(
        ns: &Netns,
        ifname: &str,
        group: IpAddr,
        source: IpAddr,
        port: u16,
    ) -> io::Result<Receiver> {
        Self::start(ns, ifname, group, port, Membership::Include(vec![source]))
    }

    /// Join excluding `sources` (`MCAST_JOIN_GROUP` then `MCAST_MSFILTER` EXCLUDE).
    pub fn exclude(
        ns: &Netns,
        ifname: &str,
        group: IpAddr,
        sources: &[IpAddr],
        port: u16,
    ) -> io::Result<Receiver> {
        Self::start(
            ns,
            ifname,
            group,
            port,
            Membership::Exclude(sources.to_vec()),
        )
    }

    /// A bound, recording socket without any membership; [`Receiver::rejoin`] is a no-op for
    /// it, use the membership methods.
    pub fn open(ns: &Netns, ifname: &str, group: IpAddr, port: u16) -> io::Result<Receiver> {
        Self::start(ns, ifname, group, port, Membership::None)
    }

    fn start(
        ns: &Netns,
        ifname: &str,
        group: IpAddr,
        port: u16,
        membership: Membership,
    ) -> io::Result<Receiver> {
        if !group.is_multicast() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{group} is not multicast"),
            ));
        }
        let (socket, ifindex) = ns.run(|| open_socket(ifname, group, port))??;
        let socket = Arc::new(socket);
        let log = Arc::default();
        let stop = Arc::default();
        let thread = spawn_recorder(Arc::clone(&socket), Arc::clone(&log), Arc::clone(&stop))?;
        // Constructed before joining so that a failed join still stops the thread (Drop).
        let receiver = Receiver {
            socket,
            ifindex,
            group,
            initial: membership.clone(),
            membership: Mutex::new(Membership::None),
            log,
            stop,
            thread: Some(thread),
        };
        receiver.apply(&membership)?;
        Ok(receiver)
    }

    /// The group this receiver is bound to.
    pub fn group(&self) -> IpAddr {
        self.group
    }

    /// The interface index the memberships use (in the receiver's namespace).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The membership currently held.
    pub fn membership(&self) -> Membership {
        self.lock_membership().clone()
    }

    /// Leaves the group entirely (`MCAST_LEAVE_GROUP`; drops source-specific joins too).
    pub fn leave(&self) -> io::Result<()> {
        self.apply(&Membership::None)
    }

    /// Applies again the membership the receiver was created with (join/leave cycles).
    pub fn rejoin(&self) -> io::Result<()> {
        self.apply(&self.initial)
    }

    /// Adds a source-specific join of (`source`, group).
    pub fn add_source(&self, source: IpAddr) -> io::Result<()> {
        let mut membership = self.lock_membership();
        source_membership(self.socket.as_fd(), self.ifindex, self.group, source, true)?;
        let mut sources = match &*membership {
            Membership::Include(s) => s.clone(),
            _ => Vec::new(),
        };
        sources.push(source);
        *membership = Membership::Include(sources);
        Ok(())
    }

    /// Drops the source-specific join of (`source`, group) (`MCAST_LEAVE_SOURCE_GROUP`).
    pub fn leave_source(&self, source: IpAddr) -> io::Result<()> {
        let mut membership = self.lock_membership();
        source_membership(self.socket.as_fd(), self.ifindex, self.group, source, false)?;
        if let Membership::Include(sources) = &mut *membership {
            sources.retain(|s| *s != source);
            if sources.is_empty() {
                *membership = Membership::None;
            }
        }
        Ok(())
    }

    /// Replaces the socket's whole source filter in one step (`MCAST_MSFILTER`), joining
    /// first if needed. From an existing membership the kernel reports a filter-mode change
    /// (TO_IN / TO_EX records, RFC 9776 §5.1) rather than a leave and a new join.
    /// `Include` with no sources leaves the group.
    pub fn set_filter(&self, mode: FilterMode, sources: &[IpAddr]) -> io::Result<()> {
        let mut membership = self.lock_membership();
        let fd = self.socket.as_fd();
        if *membership == Membership::None {
            group_membership(fd, self.ifindex, self.group, true)?;
            *membership = Membership::AnySource;
        }
        set_source_filter(fd, self.ifindex, self.group, mode, sources)?;
        *membership = match mode {
            FilterMode::Include if sources.is_empty() => Membership::None,
            FilterMode::Include => Membership::Include(sources.to_vec()),
            FilterMode::Exclude if sources.is_empty() => Membership::AnySource,
            FilterMode::Exclude => Membership::Exclude(sources.to_vec()),
        };
        Ok(())
    }

    /// Moves to `target`, leaving what is held first. The kernel reports the difference.
    fn apply(&self, target: &Membership) -> io::Result<()> {
        let mut membership = self.lock_membership();
        let fd = self.socket.as_fd();
        if *membership != Membership::None {
            group_membership(fd, self.ifindex, self.group, false)?;
            *membership = Membership::None;
        }
        match target {
            Membership::None => {}
            Membership::AnySource => group_membership(fd, self.ifindex, self.group, true)?,
            Membership::Include(sources) => {
                for source in sources {
                    source_membership(fd, self.ifindex, self.group, *source, true)?;
                }
            }
            Membership::Exclude(sources) => {
                group_membership(fd, self.ifindex, self.group, true)?;
                *membership = Membership::AnySource;
                set_source_filter(fd, self.ifindex, self.group, FilterMode::Exclude, sources)?;
            }
        }
        *membership = target.clone();
        Ok(())
    }

    /// Every datagram received so far, in arrival order.
    pub fn datagrams(&self) -> Vec<Datagram> {
        self.lock_log().clone()
    }

    /// Number of datagrams received so far.
    pub fn count(&self) -> usize {
        self.lock_log().len()
    }

    /// Summary of everything received so far.
    pub fn stats(&self) -> ReceiverStats {
        ReceiverStats::from_datagrams(&self.lock_log())
    }

    /// Summary of the datagrams received at or after `since` (for example after a rejoin).
    pub fn stats_since(&self, since: Instant) -> ReceiverStats {
        let log = self.lock_log();
        let recent: Vec<Datagram> = log.iter().filter(|d| d.rx >= since).cloned().collect();
        ReceiverStats::from_datagrams(&recent)
    }

    /// Forgets what was received so far.
    pub fn clear(&self) {
        self.lock_log().clear();
    }

    /// Waits until at least `n` datagrams have arrived in total; false at the timeout.
    pub fn wait_for_packets(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, DEFAULT_POLL, || self.count() >= n)
    }

    fn lock_log(&self) -> MutexGuard<'_, Vec<Datagram>> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_membership(&self) -> MutexGuard<'_, Membership> {
        self.membership
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs inside the namespace: the socket, bound to the group so that it sees that group only.
fn open_socket(ifname: &str, group: IpAddr, port: u16) -> io::Result<(Socket, u32)> {
    let ifindex = nix::net::if_::if_nametoindex(ifname)
        .map_err(|e| io::Error::other(format!("interface {ifname}: {e}")))?;
    let (domain, bind_to) = match group {
        IpAddr::V4(_) => (Domain::IPV4, SocketAddr::new(group, port)),
        IpAddr::V6(g) => {
            // Link-scope groups need the interface as scope to be bindable.
            let scope = if g.segments()[0] & 0x000f <= 2 {
                ifindex
            } else {
                0
            };
            (
                Domain::IPV6,
                SocketAddr::V6(SocketAddrV6::new(g, port, 0, scope)),
            )
        }
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    // Several receivers of one namespace may share a port (one per group).
    socket.set_reuse_address(true)?;
    socket.set_read_timeout(Some(STOP_POLL))?;
    match group {
        IpAddr::V4(_) => {
            // Only this socket's own memberships decide what it receives, not its neighbours'.
            socket.set_multicast_all_v4(false)?;
            setsockopt(&socket, sockopt::Ipv4RecvTtl, &true).map_err(io::Error::from)?;
        }
        IpAddr::V6(_) => {
            socket.set_only_v6(true)?;
            socket.set_multicast_all_v6(false)?;
            setsockopt(&socket, sockopt::Ipv6RecvHopLimit, &true).map_err(io::Error::from)?;
        }
    }
    socket.bind(&bind_to.into())?;
    Ok((socket, ifindex))
}

fn spawn_recorder(
    socket: Arc<Socket>,
    log: Arc<Mutex<Vec<Datagram>>>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("netlab-receiver".into())
        .spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                if let Some(datagram) = receive_one(&socket, &mut buf) {
                    log.lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push(datagram);
                }
            }
        })
}

/// One `recvmsg` with the TTL / hop limit; `None` on timeout or error.
fn receive_one(socket: &Socket, buf: &mut [u8]) -> Option<Datagram> {
    let mut cmsg = nix::cmsg_space!(libc::c_int);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(
        std::os::fd::AsRawFd::as_raw_fd(socket),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .ok()?;
    let rx = Instant::now();
    let rx_ns = monotonic_ns();
    let ttl = msg.cmsgs().ok()?.find_map(|c| match c {
        ControlMessageOwned::Ipv4Ttl(t) | ControlMessageOwned::Ipv6HopLimit(t) => {
            u8::try_from(t).ok()
        }
        _ => None,
    });
    let from = msg.address.and_then(|a| {
        a.as_sockaddr_in()
            .map(|s| SocketAddr::from(std::net::SocketAddrV4::from(*s)))
            .or_else(|| {
                a.as_sockaddr_in6()
                    .map(|s| SocketAddr::from(SocketAddrV6::from(*s)))
            })
    });
    let len = msg.bytes;
    let payload = buf.get(..len).and_then(Payload::decode);
    Some(Datagram {
        rx,
        rx_ns,
        from,
        ttl,
        len,
        payload,
    })
}
