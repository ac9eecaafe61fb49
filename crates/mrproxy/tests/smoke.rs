//! The first end-to-end check: the real daemon forwards a stream to a joined kernel host and
//! stops at once on the host's leave with quickleave.

mod common;
use common::*;
use netlab::{Lab, Receiver, Source, SourceSpec};
use std::time::Duration;

#[test]
fn join_forwards_the_stream_and_leave_stops_it() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("smoke");
    let proxy = Proxy::start(
        &t.lab,
        &t.rtr,
        &Basic::config(&format!("quickleave\n{FAST_TIMERS}")),
    );
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _src = Source::start(
        &t.src,
        SourceSpec::new("s0", ip(GROUP), 5000)
            .interval(Duration::from_millis(10))
            .count(1000),
    )
    .unwrap();
    assert!(
        rx.wait_for_packets(20, Duration::from_secs(5)),
        "no stream at h1:\n{}",
        proxy.log()
    );
    assert_eq!(
        kernel_oifs(&t.rtr, GROUP),
        vec![(SOURCE.to_owned(), vec!["dn1".to_owned()])]
    );
    rx.leave().unwrap();
    let stopped = netlab::wait_until(Duration::from_secs(3), Duration::from_millis(20), || {
        kernel_oifs(&t.rtr, GROUP)
            .iter()
            .all(|(_, oifs)| oifs.is_empty())
    });
    assert!(
        stopped,
        "forwarding to dn1 continued after the leave:\n{}",
        proxy.log()
    );
    // D33: every log line starts with a timestamp.
    let log = proxy.log();
    assert!(
        log.lines()
            .all(|l| l.len() > 20 && l.starts_with("20") && l.as_bytes()[10] == b'T'),
        "log lines without a timestamp:\n{log}"
    );
    // SIGTERM: clean exit, every forwarding entry and VIF removed.
    assert_eq!(proxy.stop(), Some(0));
    assert!(
        netlab::mfc_v4(&t.rtr).unwrap().is_empty(),
        "MFC not cleaned on SIGTERM"
    );
    assert!(
        netlab::vifs_v4(&t.rtr).unwrap().is_empty(),
        "VIFs not removed on SIGTERM"
    );
}
