//! Interface updates from the netlink monitor to engine events, and the monitor's debug knob.
//! How interfaces are learnt, and what an overrun or a reconnection does: docs/interfaces.md.

use super::Daemon;
use mrproxy_engine::Event;
use mrproxy_linux::{LinkEvent, LinkUpdate, MonitorCounters, MonitorOptions, Resync};
use tracing::{info, warn};

/// Test and debug knob: the notification socket's SO_RCVBUF in bytes. A small value makes the
/// socket overrun under a burst of interface changes (docs/interfaces.md).
pub const RCVBUF_VARIABLE: &str = "MRPROXY_NETLINK_RCVBUF";

/// The monitor's options from the environment; a value that is not a number of bytes is said
/// and ignored.
pub fn options_from_env() -> MonitorOptions {
    let Some(value) = std::env::var_os(RCVBUF_VARIABLE) else {
        return MonitorOptions::default();
    };
    match value.to_str().and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(bytes) if bytes > 0 => {
            info!("{RCVBUF_VARIABLE}={bytes}: netlink notification socket buffer set (test knob)");
            MonitorOptions {
                receive_buffer: Some(bytes),
            }
        }
        _ => {
            warn!(
                "{RCVBUF_VARIABLE}={value:?} is not a positive number of bytes; ignored (unset \
                 it, or give a size such as 4096)"
            );
            MonitorOptions::default()
        }
    }
}

/// The monitor's counters for the status output.
pub fn status_counters(c: MonitorCounters) -> serde_json::Value {
    serde_json::json!({
        "overruns": c.overruns,
        "redumps": c.redumps,
        "reconnects": c.reconnects,
    })
}

impl Daemon {
    /// Applies an update of the monitor. A snapshot replaces what the engine knows: interfaces
    /// it does not list are removed first, then every listed one is given in full.
    pub(super) fn links(&mut self, update: LinkUpdate, counters: MonitorCounters) {
        let events = match update {
            LinkUpdate::Changes(events) => events,
            LinkUpdate::Snapshot { links, cause } => {
                match cause {
                    Resync::Overrun => self.warnings.warn(
                        "netlink-overrun",
                        None,
                        &self.names,
                        format_args!(
                            "interface notifications lost (netlink socket overrun): re-read all \
                             {} interfaces ({} overruns, {} re-reads so far); if this repeats \
                             without a burst of interface changes, raise net.core.rmem_default",
                            links.len(),
                            counters.overruns,
                            counters.redumps
                        ),
                    ),
                    Resync::Reconnected(error) => info!(
                        "netlink reconnected after '{error}': re-read all {} interfaces",
                        links.len()
                    ),
                }
                mrproxy_linux::reconcile(links, self.names.ifindexes())
            }
        };
        let events = events.into_iter().map(|event| match event {
            LinkEvent::Changed(info) => Event::InterfaceChanged(info),
            LinkEvent::Removed(ifindex) => Event::InterfaceRemoved { ifindex },
        });
        self.dispatch(events.collect());
    }
}
