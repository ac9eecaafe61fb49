//! Interfaces and their addresses from rtnetlink: a dump at start and a stream of changes.
//!
//! igmpproxy enumerated at most 40 interfaces with SIOCGIFCONF and rescanned them in a busy loop
//! (docs/igmpproxy-differences.md D18, D19); here the kernel tells us. The model is deliberately simple and
//! robust: a notification only says *which* interface to look at; we re-read that interface
//! completely and report its whole state, or its removal. All netlink code stays in this
//! module: the framing in `message`, link and address payloads in `parse`, the socket in
//! `socket`; only the few attributes the monitor reads are decoded.

mod message;
mod parse;
mod socket;
mod watch;

pub use watch::{LinkEvents, LinkUpdate, MonitorCounters, Resync, reconcile};

use crate::error::{Error, Result};
use message::{Message, NLM_F_DUMP, NLM_F_MULTI, Reply, messages, reply};
use mrproxy_types::{IfIndex, InterfaceInfo};
use parse::{
    IFADDRMSG_LEN, NetlinkAddress, Notification, RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR,
    RTM_NEWLINK, attach_addresses, classify, link_from, link_request, parse_address,
};
use socket::{DATAGRAM, LINK_AND_ADDRESS_GROUPS, NetlinkSocket};
use std::collections::BTreeSet;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// The interface appeared or changed (flags, addresses or name).
    Changed(InterfaceInfo),
    Removed(IfIndex),
}

/// How long to keep collecting notifications after the first one, so that a burst (an
/// interface coming up with several addresses) gives one re-read per interface.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// A request (a dump or one interface's re-read) that takes longer than this is treated as a
/// broken connection: the kernel answers in milliseconds, so only a lost answer takes longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How the notification socket is opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonitorOptions {
    /// SO_RCVBUF of the notification socket, in bytes (the kernel doubles it); `None` keeps the
    /// system default (`net.core.rmem_default`). Only tests and debugging set it: a small
    /// buffer makes the socket overrun under a burst of changes, which exercises the re-dump.
    pub receive_buffer: Option<usize>,
}

/// Two netlink sockets: one subscribed to link and address changes (notifications only, so a
/// full receive buffer there never loses an answer), one for dumps and re-reads.
pub struct LinkMonitor {
    requests: NetlinkSocket,
    /// The sequence number of the last request; replies to earlier ones (after a timeout) are
    /// recognised by theirs and skipped.
    sequence: AtomicU32,
    notifications: NetlinkSocket,
    options: MonitorOptions,
    /// Interfaces named by notifications and not yet reported.
    pending: BTreeSet<IfIndex>,
    /// Tests break the notification socket with it, as a failing read would.
    #[cfg(test)]
    broken: bool,
}

impl std::fmt::Debug for LinkMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMonitor").finish_non_exhaustive()
    }
}

/// What the notification socket said since the last call.
enum Next {
    /// The new state of every interface the notifications concerned, in ifindex order.
    Changes(Vec<LinkEvent>),
    /// Notifications were lost: everything must be re-read.
    Overrun,
}

impl LinkMonitor {
    /// [`LinkMonitor::open`] with the default options.
    pub fn new() -> Result<LinkMonitor> {
        Self::open(MonitorOptions::default())
    }

    /// Opens the sockets in the calling thread's network namespace and subscribes to
    /// RTMGRP_LINK, RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR before anything is dumped, so
    /// no change between the dump and the first event is lost. Must run inside a tokio runtime.
    pub fn open(options: MonitorOptions) -> Result<LinkMonitor> {
        let notifications = NetlinkSocket::open(LINK_AND_ADDRESS_GROUPS)
            .map_err(|e| Error::io("opening the rtnetlink notification socket", e))?;
        if let Some(bytes) = options.receive_buffer {
            notifications
                .set_receive_buffer(bytes)
                .map_err(|e| Error::io("setting SO_RCVBUF on the rtnetlink socket", e))?;
        }
        let requests = NetlinkSocket::open(0)
            .map_err(|e| Error::io("opening the rtnetlink request socket", e))?;
        Ok(LinkMonitor {
            requests,
            sequence: AtomicU32::new(0),
            notifications,
            options,
            pending: BTreeSet::new(),
            #[cfg(test)]
            broken: false,
        })
    }

    /// Every interface with its addresses.
    pub async fn dump(&self) -> Result<Vec<InterfaceInfo>> {
        within("dumping interfaces", async {
            let mut links = Vec::new();
            self.request(
                RTM_GETLINK,
                NLM_F_DUMP,
                &link_request(0),
                |kind, payload| {
                    if kind == RTM_NEWLINK {
                        links.extend(link_from(payload));
                    }
                },
            )
            .await
            .map_err(|e| Error::io("dumping links", e))?;
            let addresses = self.addresses(None).await?;
            attach_addresses(&mut links, &addresses);
            Ok(links)
        })
        .await
    }

    /// One interface, or `None` when it does not exist (any more).
    pub async fn link(&self, ifindex: IfIndex) -> Result<Option<InterfaceInfo>> {
        within("reading a link", self.read_link(ifindex)).await
    }

    async fn read_link(&self, ifindex: IfIndex) -> Result<Option<InterfaceInfo>> {
        let mut link = None;
        let body = link_request(ifindex.0);
        let read = self.request(RTM_GETLINK, 0, &body, |kind, payload| {
            if kind == RTM_NEWLINK && link.is_none() {
                link = link_from(payload);
            }
        });
        match read.await {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(None),
            Err(e) => return Err(Error::io("reading a link", e)),
            Ok(()) => {}
        }
        let Some(link) = link else {
            return Ok(None);
        };
        let addresses = self.addresses(Some(ifindex)).await?;
        let mut links = [link];
        attach_addresses(&mut links, &addresses);
        let [link] = links;
        Ok(Some(link))
    }

    /// The addresses of every interface, or of `ifindex` only (the kernel dumps them all:
    /// it filters address dumps only for sockets in strict checking mode).
    async fn addresses(&self, ifindex: Option<IfIndex>) -> Result<Vec<NetlinkAddress>> {
        let mut addresses = Vec::new();
        let body = [0; IFADDRMSG_LEN];
        self.request(RTM_GETADDR, NLM_F_DUMP, &body, |kind, payload| {
            if kind == RTM_NEWADDR {
                addresses.extend(
                    parse_address(payload).filter(|a| ifindex.is_none_or(|i| a.ifindex == i)),
                );
            }
        })
        .await
        .map_err(|e| Error::io("dumping addresses", e))?;
        Ok(addresses)
    }

    /// Sends one request and hands the type and payload of every answer to `each`, until the
    /// kernel ends it: NLMSG_DONE after a dump, the single answer otherwise, or an error.
    async fn request(
        &self,
        kind: u16,
        flags: u16,
        body: &[u8],
        mut each: impl FnMut(u16, &[u8]),
    ) -> io::Result<()> {
        let seq = self
            .sequence
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        self.requests
            .send(&message::request(kind, flags, seq, body))
            .await?;
        let mut buf = vec![0; DATAGRAM];
        loop {
            let len = self.requests.recv(&mut buf).await?;
            for m in messages(&buf[..len]) {
                let m = m.map_err(|_| malformed())?;
                if m.seq != seq {
                    continue;
                }
                match reply(&m) {
                    Reply::Data(kind, payload) => {
                        each(kind, payload);
                        if m.flags & NLM_F_MULTI == 0 {
                            return Ok(());
                        }
                    }
                    Reply::Done => return Ok(()),
                    Reply::Failed(errno) => return Err(io::Error::from_raw_os_error(errno)),
                    Reply::Nothing => {}
                }
            }
        }
    }

    /// Waits for the next change notifications and returns the new state of every interface
    /// they concern, in ifindex order. Interfaces are only marked handled once all of them were
    /// re-read, and re-reading is idempotent. An overrun anywhere in the burst discards the
    /// burst (the re-dump that follows covers it). An error means the socket is unusable.
    async fn next_change(&mut self) -> Result<Next> {
        #[cfg(test)]
        if self.broken {
            return Err(connection_lost());
        }
        let mut buf = vec![0; DATAGRAM];
        while self.pending.is_empty() {
            let received = self.notifications.recv(&mut buf).await;
            if let Some(Next::Overrun) = self.note(received, &buf)? {
                return Ok(self.overrun(&mut buf));
            }
        }
        tokio::time::sleep(DEBOUNCE).await;
        loop {
            let received = self.notifications.try_recv(&mut buf);
            if matches!(&received, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                break;
            }
            if let Some(Next::Overrun) = self.note(received, &buf)? {
                return Ok(self.overrun(&mut buf));
            }
        }
        let targets: Vec<IfIndex> = self.pending.iter().copied().collect();
        let mut events = Vec::with_capacity(targets.len());
        for &ifindex in &targets {
            events.push(match self.link(ifindex).await? {
                Some(link) => LinkEvent::Changed(link),
                None => LinkEvent::Removed(ifindex),
            });
        }
        for ifindex in targets {
            self.pending.remove(&ifindex);
        }
        Ok(Next::Changes(events))
    }

    /// Notes the interfaces one received datagram concerns. ENOBUFS (the kernel dropped
    /// notifications) gives `Some(Next::Overrun)`; any other failure is an error.
    fn note(&mut self, received: io::Result<usize>, buf: &[u8]) -> Result<Option<Next>> {
        let len = match received {
            Ok(len) => len,
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(Some(Next::Overrun)),
            Err(e) => return Err(Error::io("rtnetlink notifications", e)),
        };
        for m in messages(&buf[..len]) {
            let m: Message<'_> =
                m.map_err(|_| Error::io("rtnetlink notifications", malformed()))?;
            if let Notification::Concerns(ifindex) = classify(&m) {
                self.pending.insert(ifindex);
            }
        }
        Ok(None)
    }

    /// After an overrun: whatever is queued predates the re-dump that follows, which reads
    /// every interface afresh, so it is dropped, as is the set of interfaces to re-read.
    fn overrun(&mut self, buf: &mut [u8]) -> Next {
        while self.notifications.try_recv(buf).is_ok() {}
        self.pending.clear();
        Next::Overrun
    }
}

/// `request`, or an error if the kernel has not answered within [`REQUEST_TIMEOUT`].
async fn within<T>(op: &str, request: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(REQUEST_TIMEOUT, request)
        .await
        .unwrap_or_else(|_| Err(Error::io(op, io::Error::from(io::ErrorKind::TimedOut))))
}

#[cfg(test)]
fn connection_lost() -> Error {
    Error::io(
        "rtnetlink notifications",
        io::Error::from(io::ErrorKind::BrokenPipe),
    )
}

fn malformed() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "malformed netlink message")
}
