//! A bounded multicast sender living in a namespace (docs/test-strategy.md §6).

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::netns::Netns;
use crate::payload::{HEADER_LEN, Payload, monotonic_ns};
use crate::sockopt::set_multicast_if_v4_index;
use crate::wait::{DEFAULT_POLL, wait_until};

/// What a [`Source`] sends. Built with [`SourceSpec::new`] and the chained setters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSpec {
    /// Outgoing interface (`IP_MULTICAST_IF` / `IPV6_MULTICAST_IF` by index).
    pub ifname: String,
    /// Destination group.
    pub group: IpAddr,
    /// Destination UDP port.
    pub port: u16,
    /// `IP_MULTICAST_TTL` / `IPV6_MULTICAST_HOPS`. Default 8: the kernel forwards only TTL > 1
    /// (a TTL-1 source is itself a test case, docs/igmpproxy-differences.md D32).
    pub ttl: u32,
    /// Time between datagrams. Default 10 ms.
    pub interval: Duration,
    /// Number of datagrams, after which the source stops by itself. Default 500 (5 s).
    pub count: u64,
    /// Datagram length, at least [`HEADER_LEN`]. Default 64.
    pub payload_len: usize,
    /// Local address to bind to, for example an off-subnet address on `lo` while sending out
    /// of `ifname` (docs/test-strategy.md §3). Default: the kernel's choice.
    pub bind: Option<IpAddr>,
}

impl SourceSpec {
    /// A spec with the defaults documented on each field.
    pub fn new(ifname: &str, group: IpAddr, port: u16) -> SourceSpec {
        SourceSpec {
            ifname: ifname.to_owned(),
            group,
            port,
            ttl: 8,
            interval: Duration::from_millis(10),
            count: 500,
            payload_len: 64,
            bind: None,
        }
    }

    /// Sets the TTL / hop limit.
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the interval between datagrams.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets how many datagrams to send.
    pub fn count(mut self, count: u64) -> Self {
        self.count = count;
        self
    }

    /// Sets the datagram length (raised to [`HEADER_LEN`] if smaller).
    pub fn payload_len(mut self, len: usize) -> Self {
        self.payload_len = len.max(HEADER_LEN);
        self
    }

    /// Binds the socket to a local address.
    pub fn bind(mut self, addr: IpAddr) -> Self {
        self.bind = Some(addr);
        self
    }
}

/// A background sender of numbered, timestamped datagrams ([`Payload`]). Stops after
/// `spec.count` datagrams, on [`Source::stop`], or when dropped.
#[derive(Debug)]
pub struct Source {
    sent: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Source {
    /// Opens the socket inside `ns` and starts sending at once.
    pub fn start(ns: &Netns, spec: SourceSpec) -> io::Result<Source> {
        if !spec.group.is_multicast() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not multicast", spec.group),
            ));
        }
        let (socket, destination) = ns.run(|| open_socket(&spec))??;
        let sent = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let last_error = Arc::new(Mutex::new(None));
        let (stop, stopped) = mpsc::channel();
        let counters = (
            Arc::clone(&sent),
            Arc::clone(&errors),
            Arc::clone(&last_error),
        );
        let thread = thread::Builder::new()
            .name("netlab-source".into())
            .spawn(move || {
                let (sent, errors, last_error) = counters;
                let start = Instant::now();
                for seq in 0..spec.count {
                    let payload = Payload {
                        seq,
                        sent_ns: monotonic_ns(),
                    }
                    .encode(spec.payload_len);
                    match socket.send_to(&payload, &destination.into()) {
                        Ok(_) => sent.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            *last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(e.to_string());
                            errors.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    // Paced from the start time, so a slow send does not stretch the schedule.
                    let next = start
                        + spec
                            .interval
                            .saturating_mul(u32::try_from(seq + 1).unwrap_or(u32::MAX));
                    match stopped.recv_timeout(next.saturating_duration_since(Instant::now())) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })?;
        Ok(Source {
            sent,
            errors,
            last_error,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Datagrams sent successfully so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Failed sends so far (for example `ENETUNREACH` without a route or interface).
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The last send error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether the source has finished (count reached or stopped).
    pub fn is_done(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits until the source has sent all its datagrams; false at the timeout.
    pub fn wait_done(&self, timeout: Duration) -> bool {
        wait_until(timeout, DEFAULT_POLL, || self.is_done())
    }

    /// Stops sending and waits for the thread. Idempotent.
    pub fn stop(&mut self) {
        // Dropping the sender wakes the thread out of its pacing sleep at once.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs inside the namespace.
fn open_socket(spec: &SourceSpec) -> io::Result<(Socket, SocketAddr)> {
    let ifindex = nix::net::if_::if_nametoindex(spec.ifname.as_str())
        .map_err(|e| io::Error::other(format!("interface {}: {e}", spec.ifname)))?;
    let (socket, destination) = match spec.group {
        IpAddr::V4(_) => {
            let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            set_multicast_if_v4_index(socket.as_fd(), ifindex)?;
            socket.set_multicast_ttl_v4(spec.ttl)?;
            (socket, SocketAddr::new(spec.group, spec.port))
        }
        IpAddr::V6(group) => {
            let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
            socket.set_multicast_if_v6(ifindex)?;
            socket.set_multicast_hops_v6(spec.ttl)?;
            let scope = if group.segments()[0] & 0x000f <= 2 {
                ifindex
            } else {
                0
            };
            (
                socket,
                SocketAddr::V6(SocketAddrV6::new(group, spec.port, 0, scope)),
            )
        }
    };
    if let Some(local) = spec.bind {
        socket.bind(&SocketAddr::new(local, 0).into())?;
    }
    Ok((socket, destination))
}
