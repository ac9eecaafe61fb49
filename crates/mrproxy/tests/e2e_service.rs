//! The daemon as a system service (docs/igmpproxy-differences.md D37): readiness notifications to systemd over
//! `$NOTIFY_SOCKET` (sd_notify(3)), and a full run without root, as an unprivileged user started
//! with only CAP_NET_ADMIN, CAP_NET_RAW and CAP_SETPCAP (what contrib/mrproxy.service grants),
//! which keeps none of them once it serves.

mod common;
use common::*;
use netlab::{Lab, Receiver};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// D37: started by a service manager (`Type=notify`), the daemon says READY=1 once it serves,
/// RELOADING=1 with MONOTONIC_USEC (systemd ≥ 253, `Type=notify-reload`) and READY=1 again
/// around a SIGHUP reload, and STOPPING=1 on SIGTERM before it exits cleanly.
#[test]
fn notifies_systemd_ready_reloading_and_stopping() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("d37notify");
    let (socket, env) = notify_socket(&t.lab);
    let proxy = Proxy::start_wrapped(
        &t.lab,
        &t.rtr,
        &Basic::config(FAST_TIMERS),
        "mrproxy",
        &["env", &env],
        t.lab.path("mrproxy.sock"),
    );
    assert_eq!(
        next_notification(&socket, WAIT).as_deref(),
        Some("READY=1"),
        "no READY=1:\n{}",
        proxy.log()
    );
    // READY=1 comes after the VIFs are set up: all three interfaces have one.
    assert_eq!(netlab::vifs_v4(&t.rtr).unwrap().len(), 3, "{}", proxy.log());

    let before_reload = monotonic_usec_now();
    proxy.child.signal(Signal::SIGHUP).unwrap();
    let reloading = next_notification(&socket, WAIT).unwrap_or_default();
    let mut lines = reloading.lines();
    assert_eq!(lines.next(), Some("RELOADING=1"), "{reloading:?}");
    let usec: u64 = lines
        .next()
        .and_then(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {reloading:?}"));
    assert!(
        usec >= before_reload && usec <= monotonic_usec_now(),
        "MONOTONIC_USEC={usec} is not CLOCK_MONOTONIC now"
    );
    assert_eq!(
        next_notification(&socket, WAIT).as_deref(),
        Some("READY=1"),
        "no READY=1 after the reload:\n{}",
        proxy.log()
    );

    proxy.child.signal(Signal::SIGTERM).unwrap();
    assert_eq!(
        next_notification(&socket, WAIT).as_deref(),
        Some("STOPPING=1"),
        "no STOPPING=1:\n{}",
        proxy.log()
    );
    let status = proxy.child.wait_timeout(WAIT).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", proxy.log());
    assert!(netlab::vifs_v4(&t.rtr).unwrap().is_empty());
}

/// CLOCK_MONOTONIC in microseconds, as the daemon reports it.
fn monotonic_usec_now() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    u64::try_from(t.tv_sec()).unwrap() * 1_000_000 + u64::try_from(t.tv_nsec()).unwrap() / 1_000
}

/// The unprivileged user the test runs the daemon as (nobody/nogroup).
const NOBODY: u32 = 65_534;
/// D37: igmpproxy insists on uid 0. mrproxy runs as uid/gid 65534, started with CAP_NET_ADMIN,
/// CAP_NET_RAW and CAP_SETPCAP only (no other capability in any set, no supplementary groups),
/// exactly what contrib/mrproxy.service grants, keeps none of them once its sockets are open
/// (every set empty, the bounding set too, no_new_privs), and does everything: IPv4 and IPv6
/// mroute sockets, VIFs, queries, a kernel host's join, the stream forwarded to it, the status
/// socket, a clean exit.
#[test]
fn runs_unprivileged_with_the_units_capabilities_and_keeps_none() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("d37nobody");
    // The status socket's directory belongs to the daemon's user (RuntimeDirectory= in the unit).
    let run = t.lab.path("run");
    std::fs::create_dir(&run).unwrap();
    std::os::unix::fs::chown(&run, Some(NOBODY), Some(NOBODY)).unwrap();
    let id = NOBODY.to_string();
    let caps = "-all,+net_admin,+net_raw,+setpcap";
    let (reuid, regid) = (format!("--reuid={id}"), format!("--regid={id}"));
    let (inh, ambient, bounding) = (
        format!("--inh-caps={caps}"),
        format!("--ambient-caps={caps}"),
        format!("--bounding-set={caps}"),
    );
    let proxy = Proxy::start_wrapped(
        &t.lab,
        &t.rtr,
        &Basic::config(FAST_TIMERS),
        "mrproxy",
        &[
            "setpriv",
            &reuid,
            &regid,
            "--clear-groups",
            &inh,
            &ambient,
            &bounding,
        ],
        run.join("mrproxy.sock"),
    );

    // It really runs unprivileged: every uid and gid is 65534, and once it serves no set holds
    // any capability any more, and no execve can bring one back.
    let pid = proxy.child.pid();
    let nobody4 = format!("{id}\t{id}\t{id}\t{id}");
    assert_eq!(proc_status_field(pid, "Uid:"), nobody4);
    assert_eq!(proc_status_field(pid, "Gid:"), nobody4);
    assert_eq!(proc_status_field(pid, "Groups:"), "");
    for set in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:", "CapBnd:"] {
        let value = u64::from_str_radix(&proc_status_field(pid, set), 16).unwrap();
        assert_eq!(value, 0, "{set} {value:#x}\n{}", proxy.log());
    }
    assert_eq!(proc_status_field(pid, "NoNewPrivs:"), "1");
    assert_eq!(proc_status_field(pid, "Umask:"), "0027");
    assert!(
        proxy
            .log()
            .contains("privileges dropped: no capabilities, empty bounding set, no_new_privs"),
        "{}",
        proxy.log()
    );

    // A kernel host joins on dn1: the stream reaches it and the status shows the group.
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 10);
    assert!(
        rx.wait_for_packets(20, WAIT),
        "no stream at h1 with the daemon unprivileged:\n{}",
        proxy.log()
    );
    assert_eq!(
        route_oifs(&t.rtr, SOURCE, GROUP),
        Some(vec!["dn1".to_owned()])
    );
    let deadline = Instant::now() + WAIT;
    while !port_groups(&proxy.status(), "dn1").contains(&GROUP.to_owned()) {
        assert!(
            Instant::now() < deadline,
            "the status does not show {GROUP} on dn1: {}",
            proxy.status()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        upstream_request(&proxy.status(), "up0", GROUP),
        Some(("Exclude".to_owned(), vec![]))
    );

    // Nothing was refused for want of privilege: IPv6 (MLD) is on, no warning or error at all.
    let log = proxy.log();
    assert_log_lacks(
        &log,
        &[
            " WARN ",
            " ERROR ",
            "CAP_",
            "ermission",
            "EPERM",
            "IPv6 (MLD) disabled",
        ],
    );
    assert!(
        netlab::vifs_v6(&t.rtr).map(|v| v.len()).unwrap_or(0) == 3,
        "no IPv6 MIFs: {:?}\n{log}",
        netlab::vifs_v6(&t.rtr)
    );

    // SIGTERM: clean exit, VIFs and forwarding entries removed, the status socket file too.
    assert_eq!(proxy.stop(), Some(0), "{}", proxy.log());
    assert!(netlab::vifs_v4(&t.rtr).unwrap().is_empty());
    assert!(netlab::mfc_v4(&t.rtr).unwrap().is_empty());
    assert!(!run.join("mrproxy.sock").exists());
}
