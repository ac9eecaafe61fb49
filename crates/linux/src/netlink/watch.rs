//! The monitor's own task: debounced changes, a re-dump after an overrun, and reconnection
//! with backoff after any netlink error. The task never gives up; the receiver sees changes and
//! full snapshots, never an error.

use super::{LinkEvent, LinkMonitor, MonitorOptions, Next};
use mrproxy_types::{IfIndex, InterfaceInfo};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{error, warn};

/// Updates sent by [`LinkMonitor::watch`] and not yet received. Each carries whole interface
/// states, so a full channel only delays the monitor task, which keeps collecting
/// notifications meanwhile.
const PENDING_UPDATES: usize = 16;

/// The first wait before reconnecting; it doubles after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait before reconnecting. A connection that stayed healthy this long starts the
/// next series of waits from [`FIRST_BACKOFF`] again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the monitor reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkUpdate {
    /// The new state of every interface a burst of notifications concerned, in ifindex order.
    Changes(Vec<LinkEvent>),
    /// Every interface that exists now, after notifications may have been lost: an interface
    /// the receiver knows that is not in `links` is gone ([`reconcile`] says so).
    Snapshot {
        links: Vec<InterfaceInfo>,
        cause: Resync,
    },
}

/// Why a [`LinkUpdate::Snapshot`] was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resync {
    /// The notification socket overran (ENOBUFS): the kernel dropped notifications.
    Overrun,
    /// The connection failed with this error and was opened again.
    Reconnected(String),
}

/// What the monitor went through since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonitorCounters {
    /// Overruns of the notification socket (ENOBUFS: notifications dropped by the kernel).
    pub overruns: u64,
    /// Snapshots taken (after overruns and reconnections).
    pub redumps: u64,
    /// Connections replaced after an error.
    pub reconnects: u64,
}

#[derive(Debug, Default)]
struct Counters {
    overruns: AtomicU64,
    redumps: AtomicU64,
    reconnects: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> MonitorCounters {
        MonitorCounters {
            overruns: self.overruns.load(Ordering::Relaxed),
            redumps: self.redumps.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }
}

/// The events that bring a receiver that knows the interfaces `known` to the state `links`:
/// removals first (in ifindex order), so that an interface re-created under the same name
/// with a new ifindex gives up its old VIF before the new one asks for one; then every dumped
/// interface's full state, which the receiver applies idempotently.
pub fn reconcile(
    links: Vec<InterfaceInfo>,
    known: impl IntoIterator<Item = IfIndex>,
) -> Vec<LinkEvent> {
    let present: BTreeSet<IfIndex> = links.iter().map(|l| l.ifindex).collect();
    let gone: BTreeSet<IfIndex> = known.into_iter().filter(|i| !present.contains(i)).collect();
    gone.into_iter()
        .map(LinkEvent::Removed)
        .chain(links.into_iter().map(LinkEvent::Changed))
        .collect()
}

impl LinkMonitor {
    /// Hands the monitor to a task of its own that waits for change notifications, collects
    /// them for [`super::DEBOUNCE`], re-reads every interface they concern and sends the new
    /// states over a channel. Call it after [`LinkMonitor::dump`]: the subscription dates from
    /// [`LinkMonitor::open`], so no change in between is lost.
    ///
    /// After an overrun the task dumps everything again and sends a
    /// [`LinkUpdate::Snapshot`]; after any other netlink error it opens new connections, with
    /// a backoff from 100 ms doubling to 5 s, and sends a snapshot once they work.
    ///
    /// The debounce runs in that task, so it completes however busy the receiver is: a caller
    /// that polled the debouncing future itself in a `select!` next to a busier input would
    /// restart it at every other wake-up and could postpone interface changes indefinitely.
    pub fn watch(self) -> LinkEvents {
        let options = self.options;
        LinkEvents::spawn(Some(self), options)
    }
}

/// Updates from [`LinkMonitor::watch`]; dropping it stops the task and closes the netlink
/// connections.
pub struct LinkEvents {
    updates: mpsc::Receiver<LinkUpdate>,
    task: tokio::task::JoinHandle<()>,
    counters: Arc<Counters>,
    options: MonitorOptions,
}

impl std::fmt::Debug for LinkEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkEvents").finish_non_exhaustive()
    }
}

impl LinkEvents {
    fn spawn(monitor: Option<LinkMonitor>, options: MonitorOptions) -> LinkEvents {
        Self::spawn_counting(monitor, options, Arc::default())
    }

    fn spawn_counting(
        monitor: Option<LinkMonitor>,
        options: MonitorOptions,
        counters: Arc<Counters>,
    ) -> LinkEvents {
        let (sender, updates) = mpsc::channel(PENDING_UPDATES);
        let task = tokio::spawn(supervise(monitor, options, sender, Arc::clone(&counters)));
        LinkEvents {
            updates,
            task,
            counters,
            options,
        }
    }

    /// The next update. Cancel-safe (a channel receive): an event loop may poll it in
    /// `select!`. Never fails: should the monitor task itself end (a bug), a new one is started
    /// and its first update is a snapshot.
    pub async fn recv(&mut self) -> LinkUpdate {
        loop {
            if let Some(update) = self.updates.recv().await {
                return update;
            }
            error!("the interface monitor stopped unexpectedly; starting it again");
            let counters = Arc::clone(&self.counters);
            *self = Self::spawn_counting(None, self.options, counters);
        }
    }

    /// Overruns, re-dumps and reconnections so far.
    pub fn counters(&self) -> MonitorCounters {
        self.counters.snapshot()
    }
}

impl Drop for LinkEvents {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The 100 ms, 200 ms, … 5 s waits between reconnection attempts.
#[derive(Debug)]
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(FIRST_BACKOFF)
    }

    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        wait
    }

    fn reset(&mut self) {
        self.0 = FIRST_BACKOFF;
    }
}

/// The monitor task. `monitor` is the connection the initial dump came from (`None`: open one
/// and start with a snapshot). Ends only when the receiver is dropped.
async fn supervise(
    mut monitor: Option<LinkMonitor>,
    options: MonitorOptions,
    updates: mpsc::Sender<LinkUpdate>,
    counters: Arc<Counters>,
) {
    let mut backoff = Backoff::new();
    // Why the next connection must start with a snapshot; `None`: the caller dumped already.
    let mut resync = monitor
        .is_none()
        .then(|| Resync::Reconnected("monitor restarted".to_owned()));
    loop {
        let mut current = match monitor.take() {
            Some(m) => m,
            None => match LinkMonitor::open(options) {
                Ok(m) => m,
                Err(e) => {
                    let wait = backoff.next();
                    warn!("rtnetlink: {e}; trying again in {} ms", wait.as_millis());
                    tokio::time::sleep(wait).await;
                    continue;
                }
            },
        };
        let connected_at = Instant::now();
        let failure = 'connection: {
            if let Some(cause) = resync.take() {
                counters.redumps.fetch_add(1, Ordering::Relaxed);
                match current.dump().await {
                    Ok(links) => {
                        if updates
                            .send(LinkUpdate::Snapshot { links, cause })
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => break 'connection Some(e),
                }
            }
            loop {
                match current.next_change().await {
                    Ok(Next::Changes(events)) => {
                        if updates.send(LinkUpdate::Changes(events)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Next::Overrun) => {
                        // The connection itself is fine: keep it and dump on it.
                        counters.overruns.fetch_add(1, Ordering::Relaxed);
                        resync = Some(Resync::Overrun);
                        break 'connection None;
                    }
                    Err(e) => break 'connection Some(e),
                }
            }
        };
        let Some(e) = failure else {
            monitor = Some(current);
            continue;
        };
        drop(current);
        counters.reconnects.fetch_add(1, Ordering::Relaxed);
        if connected_at.elapsed() >= MAX_BACKOFF {
            backoff.reset();
        }
        let wait = backoff.next();
        warn!(
            "rtnetlink: {e}; reconnecting in {} ms and re-reading all interfaces",
            wait.as_millis()
        );
        resync = Some(Resync::Reconnected(e.to_string()));
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mrproxy_types::LinkFlags;

    fn link(ifindex: u32, name: &str) -> InterfaceInfo {
        InterfaceInfo {
            ifindex: IfIndex(ifindex),
            name: name.to_owned(),
            flags: LinkFlags::default(),
            ipv4: Vec::new(),
            ipv6: Vec::new(),
        }
    }

    #[test]
    fn reconcile_removes_the_missing_first_then_reports_every_dumped_interface() {
        // dn1 was re-created (ifindex 7 → 9) and 8 vanished while notifications were lost.
        let dumped = vec![link(1, "lo"), link(9, "dn1")];
        let events = reconcile(dumped, [1, 7, 8].map(IfIndex));
        assert_eq!(
            events,
            vec![
                LinkEvent::Removed(IfIndex(7)),
                LinkEvent::Removed(IfIndex(8)),
                LinkEvent::Changed(link(1, "lo")),
                LinkEvent::Changed(link(9, "dn1")),
            ]
        );
    }

    #[test]
    fn reconcile_with_nothing_known_reports_the_dump() {
        let events = reconcile(vec![link(2, "eth0")], []);
        assert_eq!(events, vec![LinkEvent::Changed(link(2, "eth0"))]);
    }

    /// Reading the notification socket fails: the monitor opens new sockets after the first
    /// backoff and sends a snapshot, and the receiver never sees an error.
    #[test]
    fn a_broken_connection_is_replaced_and_followed_by_a_snapshot() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut monitor = LinkMonitor::new().unwrap();
            monitor.dump().await.unwrap();
            monitor.broken = true;
            let mut events = monitor.watch();
            let update = tokio::time::timeout(Duration::from_secs(5), events.recv())
                .await
                .expect("a snapshot after reconnecting");
            let LinkUpdate::Snapshot { links, cause } = update else {
                panic!("not a snapshot: {update:?}");
            };
            assert!(matches!(cause, Resync::Reconnected(_)), "{cause:?}");
            assert!(links.iter().any(|l| l.flags.loopback), "{links:?}");
            assert_eq!(
                events.counters(),
                MonitorCounters {
                    overruns: 0,
                    redumps: 1,
                    reconnects: 1
                }
            );
        });
    }

    #[test]
    fn backoff_doubles_from_100_ms_to_5_s_and_resets() {
        let mut b = Backoff::new();
        let waits: Vec<u128> = (0..9).map(|_| b.next().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next(), FIRST_BACKOFF);
    }
}
