//! Interfaces and their addresses from rtnetlink: a dump at start and a stream of changes.
//!
//! igmpproxy enumerated at most 40 interfaces with SIOCGIFCONF and rescanned them in a busy loop
//! (docs/igmpproxy-differences.md D18, D19); here the kernel tells us. The model is deliberately simple and
//! robust: a notification only says *which* interface to look at; we re-read that interface
//! completely and report its whole state, or its removal. Netlink crates change their
//! attribute enums between minor releases, so all netlink code stays in this module.

mod parse;
mod watch;

pub use watch::{LinkEvents, LinkUpdate, MonitorCounters, Resync, reconcile};

use crate::error::{Error, Result};
use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use mrproxy_types::{IfIndex, InterfaceInfo};
use parse::{NetlinkAddress, Notification, attach_addresses, classify, link_from, parse_address};
use rtnetlink::packet_core::NetlinkMessage;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{AsyncSocket, SocketAddr};
use rtnetlink::{Handle, MulticastGroup};
use std::collections::BTreeSet;
use std::future::Future;
use std::io;
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

/// Two netlink connections: one subscribed to link and address changes (notifications only,
/// so a full receive buffer there never loses an answer), one for dumps and re-reads.
pub struct LinkMonitor {
    requests: Handle,
    notifications: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    /// The tasks driving both sockets; aborting them closes the sockets.
    connections: [tokio::task::JoinHandle<()>; 2],
    options: MonitorOptions,
    /// Interfaces named by notifications and not yet reported.
    pending: BTreeSet<IfIndex>,
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

    /// Opens the connections in the calling thread's network namespace and subscribes to
    /// RTMGRP_LINK, RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR before anything is dumped, so
    /// no change between the dump and the first event is lost. Must run inside a tokio runtime.
    pub fn open(options: MonitorOptions) -> Result<LinkMonitor> {
        let groups = [
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ];
        let (mut subscribed, _, notifications) = rtnetlink::new_multicast_connection(&groups)
            .map_err(|e| Error::io("opening the rtnetlink notification socket", e))?;
        if let Some(bytes) = options.receive_buffer {
            let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
            subscribed
                .socket_mut()
                .socket_mut()
                .set_rx_buf_sz(bytes)
                .map_err(|e| Error::io("setting SO_RCVBUF on the rtnetlink socket", e))?;
        }
        let (requesting, requests, _) = rtnetlink::new_connection()
            .map_err(|e| Error::io("opening the rtnetlink request socket", e))?;
        Ok(LinkMonitor {
            requests,
            notifications,
            connections: [tokio::spawn(subscribed), tokio::spawn(requesting)],
            options,
            pending: BTreeSet::new(),
        })
    }

    /// Every interface with its addresses.
    pub async fn dump(&self) -> Result<Vec<InterfaceInfo>> {
        within("dumping interfaces", async {
            let mut links = Vec::new();
            let mut stream = self.requests.link().get().execute();
            while let Some(msg) = stream.next().await {
                let msg = msg.map_err(|e| netlink_error("dumping links", e))?;
                links.push(link_from(&msg));
            }
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
        let mut stream = self.requests.link().get().match_index(ifindex.0).execute();
        let link = match stream.next().await {
            None => return Ok(None),
            Some(Err(rtnetlink::Error::NetlinkError(e))) if e.raw_code().abs() == libc::ENODEV => {
                return Ok(None);
            }
            Some(Err(e)) => return Err(netlink_error("reading a link", e)),
            Some(Ok(msg)) => link_from(&msg),
        };
        while stream.next().await.is_some() {}
        let addresses = self.addresses(Some(ifindex)).await?;
        let mut links = [link];
        attach_addresses(&mut links, &addresses);
        let [link] = links;
        Ok(Some(link))
    }

    async fn addresses(&self, ifindex: Option<IfIndex>) -> Result<Vec<NetlinkAddress>> {
        let mut request = self.requests.address().get();
        if let Some(ifindex) = ifindex {
            request = request.set_link_index_filter(ifindex.0);
        }
        let mut stream = request.execute();
        let mut addresses = Vec::new();
        while let Some(msg) = stream.next().await {
            let msg = msg.map_err(|e| netlink_error("dumping addresses", e))?;
            addresses.extend(parse_address(&msg));
        }
        Ok(addresses)
    }

    /// Waits for the next change notifications and returns the new state of every interface
    /// they concern, in ifindex order. Interfaces are only marked handled once all of them were
    /// re-read, and re-reading is idempotent. An overrun anywhere in the burst discards the
    /// burst (the re-dump that follows covers it). An error means the connection is unusable.
    async fn next_change(&mut self) -> Result<Next> {
        while self.pending.is_empty() {
            let Some((msg, _)) = self.notifications.next().await else {
                return Err(connection_lost());
            };
            match classify(&msg) {
                Notification::Concerns(ifindex) => {
                    self.pending.insert(ifindex);
                }
                Notification::Overrun => return Ok(self.overrun()),
                Notification::Other => {}
            }
        }
        tokio::time::sleep(DEBOUNCE).await;
        while let Ok((msg, _)) = self.notifications.try_recv() {
            match classify(&msg) {
                Notification::Concerns(ifindex) => {
                    self.pending.insert(ifindex);
                }
                Notification::Overrun => return Ok(self.overrun()),
                Notification::Other => {}
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

    /// After an overrun: whatever is queued predates the re-dump that follows, which reads
    /// every interface afresh, so it is dropped, as is the set of interfaces to re-read.
    fn overrun(&mut self) -> Next {
        while self.notifications.try_recv().is_ok() {}
        self.pending.clear();
        Next::Overrun
    }
}

impl Drop for LinkMonitor {
    fn drop(&mut self) {
        for connection in &self.connections {
            connection.abort();
        }
    }
}

/// `request`, or an error if the kernel has not answered within [`REQUEST_TIMEOUT`].
async fn within<T>(op: &str, request: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(REQUEST_TIMEOUT, request)
        .await
        .unwrap_or_else(|_| Err(Error::io(op, io::Error::from(io::ErrorKind::TimedOut))))
}

fn connection_lost() -> Error {
    Error::io(
        "rtnetlink notifications",
        io::Error::from(io::ErrorKind::BrokenPipe),
    )
}

fn netlink_error(op: &str, e: rtnetlink::Error) -> Error {
    match e {
        rtnetlink::Error::NetlinkError(msg) => Error::io(op, msg.to_io()),
        other => Error::io(op, io::Error::other(other.to_string())),
    }
}
