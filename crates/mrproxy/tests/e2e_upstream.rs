//! The upstream host part beyond what the kernel does by itself: the `rereport` keep-alive
//! (pali/igmpproxy#56, pali/igmpproxy#94, streams that stop when an ISP expects periodic reports).

mod common;
use common::*;
use mrproxy_wire::RecordType;
use netlab::{Capture, CaptureFilter, Lab, Receiver};
use std::time::Duration;

/// With `rereport 1` on up0, IS_EX records for the joined group keep arriving on the upstream
/// wire from the router every second, long after the kernel's own join reports stopped.
#[test]
fn rereport_sends_current_state_keepalives_upstream() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("rereport");
    let config = format!(
        "{FAST_TIMERS}\nphyint up0 upstream rereport 1\n  altnet 198.51.100.0/24\n\
         phyint dn1 downstream\nphyint dn2 downstream\n"
    );
    let proxy = Proxy::start(&t.lab, &t.rtr, &config);
    let _rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    // The kernel's unsolicited join reports are over within about a second (RV 2, 1 s apart).
    std::thread::sleep(Duration::from_millis(1500));
    let capture = Capture::start(&t.src, "s0", CaptureFilter::Igmp).unwrap();
    let keepalive = |p: &netlab::CapturedPacket| {
        p.ip().is_some_and(|v| v.src == ip("198.51.100.1"))
            && has_igmpv3_record(p, RecordType::ModeIsExclude, GROUP)
    };
    let seen = netlab::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        capture.count(keepalive) >= 3
    });
    assert!(
        seen,
        "expected ≥ 3 IS_EX keep-alives for {GROUP} on the upstream link in 5 s; captured:\n{}\nlog:\n{}",
        describe_igmp(&capture),
        proxy.log()
    );
}
