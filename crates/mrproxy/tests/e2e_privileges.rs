//! `chroot DIR` and `user NAME` (mrproxy.conf(5), docs/igmpproxy-differences.md §3): started as root, the daemon
//! opens every socket, then chroots and becomes the user, keeping no capability (and setting
//! no_new_privs), and still does
//! everything it does later: VIFs/MIFs for an interface that appears after the drop, upstream
//! joins on sockets opened after it, queries, the status socket, readiness notifications, a
//! reload that cannot read its file any more, and the clean-up at SIGTERM.

mod common;
use common::*;
use netlab::{Lab, Receiver};
use nix::sys::signal::Signal;
use std::time::Duration;

/// nobody/nogroup on Debian.
const NOBODY: u32 = 65_534;

/// `chroot <empty dir>` and `user nobody`: the daemon runs as uid/gid 65534 with no capability
/// in any set (the bounding set included), no_new_privs and umask 027, inside the empty directory, and a host joins and gets the
/// stream; a LAN interface created after the drop gets its VIF and MIF and its host gets the
/// stream too (MRT_ADD_VIF/MRT6_ADD_MIF on the daemon's own mroute socket need no
/// CAP_NET_ADMIN); SIGHUP cannot read the file from inside the chroot and keeps the running
/// configuration with one error line; SIGTERM exits 0 and removes every VIF, MIF and entry.
#[test]
fn chroot_and_user_nobody_after_start_and_everything_still_works() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("privdrop");
    let root = t.lab.path("empty-root");
    std::fs::create_dir(&root).unwrap();
    let root = std::fs::canonicalize(&root).unwrap();
    let (notify, env) = notify_socket(&t.lab);
    let config = Basic::config(&format!(
        "{FAST_TIMERS}\nchroot {}\nuser nobody",
        root.display()
    )) + "phyint dn3 downstream ratelimit 0 threshold 1\n";
    let proxy = Proxy::start_wrapped(
        &t.lab,
        &t.rtr,
        &config,
        "mrproxy",
        &["env", &env],
        t.lab.path("mrproxy.sock"),
    );
    // READY=1 comes after the drop, over the socket connected before the chroot.
    assert_eq!(
        next_notification(&notify, WAIT).as_deref(),
        Some("READY=1"),
        "no READY=1:\n{}",
        proxy.log()
    );
    assert!(
        proxy.log().contains("privileges dropped"),
        "{}",
        proxy.log()
    );

    // Every uid and gid is nobody's, its only group nogroup, no capability left, root the
    // empty directory.
    let pid = proxy.child.pid();
    let id = NOBODY.to_string();
    let nobody4 = format!("{id}\t{id}\t{id}\t{id}");
    assert_eq!(proc_status_field(pid, "Uid:"), nobody4);
    assert_eq!(proc_status_field(pid, "Gid:"), nobody4);
    assert_eq!(proc_status_field(pid, "Groups:"), id);
    // Started as root, it also held CAP_SETPCAP: the bounding set is empty too.
    for set in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:", "CapBnd:"] {
        let value = u64::from_str_radix(&proc_status_field(pid, set), 16).unwrap();
        assert_eq!(value, 0, "{set} {value:#x}");
    }
    assert_eq!(proc_status_field(pid, "NoNewPrivs:"), "1");
    assert_eq!(proc_status_field(pid, "Umask:"), "0027");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        root
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        root
    );

    // A kernel host joins on dn1 (the upstream membership's socket is opened now, after the
    // drop): the stream reaches it.
    let rx1 = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 60);
    assert!(
        rx1.wait_for_packets(20, WAIT),
        "no stream at h1 after the drop:\n{}",
        proxy.log()
    );
    assert_eq!(
        upstream_request(&proxy.status(), "up0", GROUP),
        Some(("Exclude".to_owned(), vec![]))
    );

    // dn3 appears after the drop, in the upper half of 203.0.113.0/24 (dn2 keeps the lower).
    let h3 = t.lab.ns("h3").unwrap();
    t.lab.veth((&t.rtr, "dn3"), (&h3, "e0")).unwrap();
    t.rtr.add_addr("dn3", "203.0.113.129/25").unwrap();
    h3.add_addr("e0", "203.0.113.130/25").unwrap();
    let attached = netlab::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let v4 = netlab::vifs_v4(&t.rtr).unwrap_or_default();
        let v6 = netlab::vifs_v6(&t.rtr).unwrap_or_default();
        v4.iter().any(|v| v.name == "dn3") && v6.iter().any(|v| v.name == "dn3")
    });
    assert!(
        attached,
        "dn3 got no VIF/MIF after the drop: {:?} {:?}\n{}",
        netlab::vifs_v4(&t.rtr),
        netlab::vifs_v6(&t.rtr),
        proxy.log()
    );
    let rx3 = Receiver::join(&h3, "e0", ip(GROUP), 5000).unwrap();
    assert!(
        rx3.wait_for_packets(20, Duration::from_secs(10)),
        "no stream at h3 on the late interface:\n{}",
        proxy.log()
    );
    let mut oifs = route_oifs(&t.rtr, SOURCE, GROUP).unwrap_or_default();
    oifs.sort();
    assert_eq!(oifs, vec!["dn1".to_owned(), "dn3".to_owned()]);

    // SIGHUP: the file's path now resolves inside the empty root; one error, nothing changes.
    proxy.child.signal(Signal::SIGHUP).unwrap();
    assert!(
        proxy.wait_log("keeping the running configuration", WAIT),
        "{}",
        proxy.log()
    );
    let reloading = next_notification(&notify, WAIT).unwrap_or_default();
    assert!(reloading.starts_with("RELOADING=1"), "{reloading:?}");
    assert_eq!(next_notification(&notify, WAIT).as_deref(), Some("READY=1"));
    let before = rx3.count();
    assert!(
        rx3.wait_for_packets(before + 20, WAIT),
        "the stream stopped after the failed reload:\n{}",
        proxy.log()
    );

    // Nothing was refused for want of privilege; the one error is the reload's.
    let log = proxy.log();
    assert_log_lacks(
        &log,
        &[
            "ermission",
            "not permitted",
            "EPERM",
            "EACCES",
            "cannot attach",
            "cannot set forwarding entry",
            "cannot change upstream membership",
            "IPv6 (MLD) disabled",
        ],
    );
    assert_eq!(
        log.lines().filter(|l| l.contains(" ERROR ")).count(),
        1,
        "{log}"
    );
    assert!(
        log.contains(&format!("read inside the chroot {}", root.display())),
        "{log}"
    );

    // SIGTERM: STOPPING=1, exit 0, every VIF, MIF and forwarding entry removed by the
    // unprivileged owner of the mroute sockets.
    proxy.child.signal(Signal::SIGTERM).unwrap();
    assert_eq!(
        next_notification(&notify, WAIT).as_deref(),
        Some("STOPPING=1")
    );
    let status = proxy.child.wait_timeout(WAIT).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", proxy.log());
    assert!(netlab::vifs_v4(&t.rtr).unwrap().is_empty());
    assert!(netlab::vifs_v6(&t.rtr).unwrap().is_empty());
    assert!(netlab::mfc_v4(&t.rtr).unwrap().is_empty());
    // The empty root stayed empty.
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}
