//! Interfaces and their addresses from rtnetlink: a dump at start and a stream of changes.
//!
//! igmpproxy enumerated at most 40 interfaces with SIOCGIFCONF and rescanned them in a busy loop
//! (igmpproxy.md D18, D19); here the kernel tells us. The model is deliberately simple and
//! robust: a notification only says *which* interface to look at; we re-read that interface
//! completely and report its whole state, or its removal. Netlink crates change their
//! attribute enums between minor releases, so all netlink code stays in this module.

use crate::error::{Error, Result};
use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags as NlLinkFlags, LinkMessage};
use rtnetlink::sys::SocketAddr;
use rtnetlink::{Handle, MulticastGroup};
use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use tokio::sync::mpsc;

/// Interface flags that matter to a multicast router.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkFlags {
    pub up: bool,
    pub running: bool,
    pub multicast: bool,
    pub loopback: bool,
    pub point_to_point: bool,
}

/// An address on an interface. On point-to-point links `peer` is the far end (IFA_ADDRESS
/// when it differs from IFA_LOCAL); its prefix is the link's network (igmpproxy.md D20).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceAddress<A> {
    pub address: A,
    pub prefix_len: u8,
    pub peer: Option<A>,
}

/// The complete current state of one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub ifindex: u32,
    pub name: String,
    pub flags: LinkFlags,
    /// Primary addresses first (secondaries after), in kernel order otherwise.
    pub ipv4: Vec<InterfaceAddress<Ipv4Addr>>,
    /// Usable addresses only: tentative (DAD in progress) and DAD-failed ones are left out,
    /// since the kernel refuses them as source; a change event follows when DAD completes.
    pub ipv6: Vec<InterfaceAddress<Ipv6Addr>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// The interface appeared or changed (flags, addresses or name).
    Changed(Link),
    Removed(u32),
}

/// How long to keep collecting notifications after the first one, so that a burst (an
/// interface coming up with several addresses) gives one re-read per interface.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// Batches sent by [`LinkMonitor::watch`] and not yet received. Each batch carries whole
/// interface states, so a full channel only delays the monitor task, which keeps collecting
/// notifications meanwhile.
const PENDING_BATCHES: usize = 16;

/// A netlink connection subscribed to link and address changes.
pub struct LinkMonitor {
    handle: Handle,
    notifications: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    connection: tokio::task::JoinHandle<()>,
    /// Interfaces named by notifications and not yet reported.
    pending: BTreeSet<u32>,
}

impl std::fmt::Debug for LinkMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMonitor").finish_non_exhaustive()
    }
}

impl LinkMonitor {
    /// Opens the connection in the calling thread's network namespace and subscribes to
    /// RTMGRP_LINK, RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR before anything is dumped, so
    /// no change between the dump and the first event is lost. Must run inside a tokio runtime.
    pub fn new() -> Result<LinkMonitor> {
        let groups = [
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ];
        let (connection, handle, notifications) = rtnetlink::new_multicast_connection(&groups)
            .map_err(|e| Error::io("opening the rtnetlink socket", e))?;
        let connection = tokio::spawn(connection);
        Ok(LinkMonitor {
            handle,
            notifications,
            connection,
            pending: BTreeSet::new(),
        })
    }

    /// Every interface with its addresses.
    pub async fn dump(&self) -> Result<Vec<Link>> {
        let mut links = Vec::new();
        let mut stream = self.handle.link().get().execute();
        while let Some(msg) = stream.next().await {
            let msg = msg.map_err(|e| netlink_error("dumping links", e))?;
            links.push(link_from(&msg));
        }
        let addresses = self.addresses(None).await?;
        attach_addresses(&mut links, &addresses);
        Ok(links)
    }

    /// One interface, or `None` when it does not exist (any more).
    pub async fn link(&self, ifindex: u32) -> Result<Option<Link>> {
        let mut stream = self.handle.link().get().match_index(ifindex).execute();
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

    async fn addresses(&self, ifindex: Option<u32>) -> Result<Vec<NetlinkAddress>> {
        let mut request = self.handle.address().get();
        if let Some(ifindex) = ifindex {
            request = request.set_link_index_filter(ifindex);
        }
        let mut stream = request.execute();
        let mut addresses = Vec::new();
        while let Some(msg) = stream.next().await {
            let msg = msg.map_err(|e| netlink_error("dumping addresses", e))?;
            addresses.extend(parse_address(&msg));
        }
        Ok(addresses)
    }

    /// Hands the monitor to a task of its own that waits for change notifications, collects
    /// them for [`DEBOUNCE`], re-reads every interface they concern and sends the new states
    /// over a channel. Call it after [`LinkMonitor::dump`]: the subscription dates from
    /// [`LinkMonitor::new`], so no change in between is lost.
    ///
    /// The debounce runs in that task, so it completes however busy the receiver is: a caller
    /// that polled the debouncing future itself in a `select!` next to a busier input would
    /// restart it at every other wake-up and could postpone interface changes indefinitely.
    pub fn watch(mut self) -> LinkEvents {
        let (sender, events) = mpsc::channel(PENDING_BATCHES);
        let task = tokio::spawn(async move {
            loop {
                let batch = self.next_events().await;
                let failed = batch.is_err();
                if sender.send(batch).await.is_err() || failed {
                    break;
                }
            }
        });
        LinkEvents { events, task }
    }

    /// Waits for the next change notifications and returns the new state of every interface
    /// they concern, in ifindex order. Interfaces are only marked handled once all of them were
    /// re-read, and re-reading is idempotent. An error means the netlink connection is gone.
    async fn next_events(&mut self) -> Result<Vec<LinkEvent>> {
        while self.pending.is_empty() {
            let Some((msg, _)) = self.notifications.next().await else {
                return Err(connection_lost());
            };
            self.pending.extend(concerned_ifindex(&msg));
        }
        tokio::time::sleep(DEBOUNCE).await;
        while let Ok((msg, _)) = self.notifications.try_recv() {
            self.pending.extend(concerned_ifindex(&msg));
        }
        let targets: Vec<u32> = self.pending.iter().copied().collect();
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
        Ok(events)
    }
}

/// Batches of interface changes from [`LinkMonitor::watch`]; dropping it stops the task and
/// closes the netlink connection.
pub struct LinkEvents {
    events: mpsc::Receiver<Result<Vec<LinkEvent>>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LinkEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkEvents").finish_non_exhaustive()
    }
}

impl LinkEvents {
    /// The next batch: the new state of every interface a burst of notifications concerned, in
    /// ifindex order. Cancel-safe (a channel receive): an event loop may poll it in `select!`.
    /// An error means the netlink connection is gone (for example the kernel dropped
    /// notifications under load); nothing follows it.
    pub async fn recv(&mut self) -> Result<Vec<LinkEvent>> {
        self.events
            .recv()
            .await
            .unwrap_or_else(|| Err(connection_lost()))
    }
}

impl Drop for LinkEvents {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Drop for LinkMonitor {
    fn drop(&mut self) {
        self.connection.abort();
    }
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

fn concerned_ifindex(msg: &NetlinkMessage<RouteNetlinkMessage>) -> Option<u32> {
    match &msg.payload {
        NetlinkPayload::InnerMessage(
            RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l),
        ) => Some(l.header.index),
        NetlinkPayload::InnerMessage(
            RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a),
        ) => Some(a.header.index),
        _ => None,
    }
}

fn link_from(msg: &LinkMessage) -> Link {
    let f = msg.header.flags;
    let name = msg
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Link {
        ifindex: msg.header.index,
        name,
        flags: LinkFlags {
            up: f.contains(NlLinkFlags::Up),
            running: f.contains(NlLinkFlags::Running),
            multicast: f.contains(NlLinkFlags::Multicast),
            loopback: f.contains(NlLinkFlags::Loopback),
            point_to_point: f.contains(NlLinkFlags::Pointopoint),
        },
        ipv4: Vec::new(),
        ipv6: Vec::new(),
    }
}

/// One address as netlink describes it, before it is attached to its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NetlinkAddress {
    ifindex: u32,
    address: IpAddr,
    prefix_len: u8,
    peer: Option<IpAddr>,
    secondary: bool,
    /// IPv6 DAD not finished or failed: the kernel will not send from it.
    unusable: bool,
}

/// Local address: IFA_LOCAL when present, else IFA_ADDRESS. Peer: IFA_ADDRESS when it differs
/// from IFA_LOCAL (point-to-point links).
fn parse_address(msg: &AddressMessage) -> Option<NetlinkAddress> {
    let mut local = None;
    let mut address = None;
    let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            // IFA_FLAGS carries all 32 bits; the header only the low 8.
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    let own = local.or(address)?;
    Some(NetlinkAddress {
        ifindex: msg.header.index,
        address: own,
        prefix_len: msg.header.prefix_len,
        peer: address.filter(|a| local.is_some() && *a != own && a.is_ipv4() == own.is_ipv4()),
        secondary: flags.contains(AddressFlags::Secondary),
        unusable: flags.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed),
    })
}

/// Attaches `addresses` (in kernel order) to their links: IPv4 primaries before secondaries,
/// unusable IPv6 addresses left out.
fn attach_addresses(links: &mut [Link], addresses: &[NetlinkAddress]) {
    for secondary_pass in [false, true] {
        for a in addresses
            .iter()
            .filter(|a| a.secondary == secondary_pass && !a.unusable)
        {
            let Some(link) = links.iter_mut().find(|l| l.ifindex == a.ifindex) else {
                continue;
            };
            match (a.address, a.peer) {
                (IpAddr::V4(address), peer) => link.ipv4.push(InterfaceAddress {
                    address,
                    prefix_len: a.prefix_len,
                    peer: match peer {
                        Some(IpAddr::V4(p)) => Some(p),
                        _ => None,
                    },
                }),
                (IpAddr::V6(address), peer) => link.ipv6.push(InterfaceAddress {
                    address,
                    prefix_len: a.prefix_len,
                    peer: match peer {
                        Some(IpAddr::V6(p)) => Some(p),
                        _ => None,
                    },
                }),
            }
        }
    }
}
