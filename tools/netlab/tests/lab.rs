//! Lab basics: namespaces, veth, addresses, routes, sysctls, `run`, processes and cleanup.
#![allow(unsafe_code)] // one sigaction to emulate a runner that ignores SIGHUP

use std::net::UdpSocket;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use netlab::{Lab, Netns, Signal, Snooping, wait_until};

fn lab(tag: &str) -> Option<Lab> {
    Lab::require_root().then(|| Lab::new(tag).expect("create lab"))
}

fn netns_list() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two namespaces on one veth link; returns (a, b) with 192.0.2.1 on a0 and 192.0.2.2 on b0.
fn two_hosts(lab: &Lab) -> (Netns, Netns) {
    let a = lab.ns("a").expect("ns a");
    let b = lab.ns("b").expect("ns b");
    lab.veth((&a, "a0"), (&b, "b0")).expect("veth");
    a.add_addr("a0", "192.0.2.1/24").expect("addr a");
    b.add_addr("b0", "192.0.2.2/24").expect("addr b");
    (a, b)
}

#[test]
fn veth_link_carries_udp_between_namespaces() {
    let Some(lab) = lab("veth") else { return };
    let (a, b) = two_hosts(&lab);
    let server = b
        .run(|| UdpSocket::bind("192.0.2.2:5001"))
        .unwrap()
        .expect("bind in b");
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let client = a
        .run(|| UdpSocket::bind("192.0.2.1:0"))
        .unwrap()
        .expect("bind in a");
    // The socket keeps its namespace after the `run` thread ended.
    client.send_to(b"hello", "192.0.2.2:5001").expect("send");
    let mut buf = [0u8; 16];
    let (n, from) = server.recv_from(&mut buf).expect("datagram over the veth");
    assert_eq!(&buf[..n], b"hello");
    assert_eq!(from.ip().to_string(), "192.0.2.1");
}

#[test]
fn interfaces_routes_and_sysctls_are_per_namespace() {
    let Some(lab) = lab("cfg") else { return };
    let (a, b) = two_hosts(&lab);
    assert!(a.ifindex("a0").expect("a0 index") > 1);
    assert!(a.ifindex("b0").is_err(), "b0 lives in b only");
    assert!(b.has_interface("b0"));

    b.add_route("default via 192.0.2.1")
        .expect("v4 default route");
    a.add_addr("a0", "2001:db8:1::1/64").expect("v6 addr");
    a.add_route("2001:db8:2::/64 via 2001:db8:1::2")
        .expect("v6 route");
    let routes = b.ip(&["route", "show"]).unwrap();
    assert!(routes.contains("default via 192.0.2.1 dev b0"), "{routes}");
    let routes6 = a.ip(&["-6", "route", "show"]).unwrap();
    assert!(
        routes6.contains("2001:db8:2::/64 via 2001:db8:1::2"),
        "{routes6}"
    );

    b.sysctl("net/ipv4/conf/b0/force_igmp_version", "2")
        .expect("set sysctl");
    assert_eq!(
        b.sysctl_get("net.ipv4.conf.b0.force_igmp_version").unwrap(),
        "2"
    );
    a.sysctl("net.ipv4.conf.all.rp_filter", "1").unwrap();
    assert_eq!(a.sysctl_get("net/ipv4/conf/all/rp_filter").unwrap(), "1");
    assert_eq!(b.sysctl_get("net/ipv4/conf/all/rp_filter").unwrap(), "0");

    let dev = b.read_proc("net/dev").expect("read /proc net/dev in b");
    assert!(dev.contains("b0:") && !dev.contains("a0:"), "{dev}");
}

#[test]
fn bridge_with_snooping_and_ports() {
    let Some(lab) = lab("bridge") else { return };
    let sw = lab.ns("sw").unwrap();
    let h = lab.ns("h").unwrap();
    lab.bridge(&sw, "br0", Snooping::On { querier: false })
        .unwrap();
    lab.veth((&sw, "p1"), (&h, "e0")).unwrap();
    lab.enslave(&sw, "p1", "br0").unwrap();
    let details = sw.ip(&["-d", "link", "show", "br0"]).unwrap();
    assert!(
        details.contains("mcast_snooping 1") && details.contains("mcast_querier 0"),
        "{details}"
    );
    let port = sw.ip(&["link", "show", "p1"]).unwrap();
    assert!(port.contains("master br0"), "{port}");
}

#[test]
fn spawned_process_runs_in_the_namespace_and_resets_sighup() {
    let Some(lab) = lab("spawn") else { return };
    let ns = lab.ns("rtr").unwrap();
    // Ignored here, as under nohup: the child must still get the default disposition.
    ignore_sighup();
    let child = lab
        .spawn(&ns, "sleep", &["30"], "sleep.log")
        .expect("spawn");
    assert!(child.is_running());
    let ns_ino = std::fs::metadata(format!("/run/netns/{}", ns.name()))
        .unwrap()
        .ino();
    let child_ino = std::fs::metadata(format!("/proc/{}/ns/net", child.pid()))
        .unwrap()
        .ino();
    assert_eq!(child_ino, ns_ino, "the child lives in the lab namespace");

    child.signal(Signal::SIGHUP).expect("send SIGHUP");
    let status = child
        .wait_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("exits on SIGHUP");
    assert_eq!(status.signal(), Some(Signal::SIGHUP as i32));
    assert!(!child.is_running());
    assert!(
        child.signal(Signal::SIGTERM).is_err(),
        "no signal after exit"
    );
}

fn ignore_sighup() {
    // SAFETY: installs SIG_IGN, no handler code runs; the test binary does not rely on SIGHUP.
    let previous =
        unsafe { nix::sys::signal::signal(Signal::SIGHUP, nix::sys::signal::SigHandler::SigIgn) };
    previous.expect("ignore SIGHUP");
}

#[test]
fn spawned_process_sees_the_namespace_sysfs() {
    let Some(lab) = lab("sysfs") else { return };
    let (a, _b) = two_hosts(&lab);
    let child = lab.spawn(&a, "ls", &["/sys/class/net"], "ls.log").unwrap();
    let status = child
        .wait_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("ls exits");
    assert!(status.success());
    let mut names: Vec<String> = child
        .log()
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    names.sort();
    assert_eq!(names, ["a0", "lo"]);
}

#[test]
fn dropping_the_lab_kills_children_and_deletes_namespaces() {
    let Some(lab) = lab("drop") else { return };
    let ns = lab.ns("x").unwrap();
    let child = lab.spawn(&ns, "sleep", &["30"], "x.log").unwrap();
    let dir = lab.dir().to_owned();
    assert!(dir.is_dir());
    drop(lab);
    let status = child.exit_status().expect("killed by the lab");
    assert_eq!(status.signal(), Some(Signal::SIGTERM as i32));
    assert!(!netns_list().contains(ns.name()));
    assert!(!dir.exists(), "work directory removed after a clean run");
}

#[test]
fn namespaces_are_deleted_when_a_test_panics() {
    if !Lab::require_root() {
        return;
    }
    let mut created = Vec::new();
    let mut kept_dir = None;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let lab = Lab::new("panic").unwrap();
        kept_dir = Some(lab.dir().to_owned());
        let ns = lab.ns("victim").unwrap();
        created.push(ns.name().to_owned());
        assert!(netns_list().contains(ns.name()));
        let _child = lab.spawn(&ns, "sleep", &["30"], "p.log").unwrap();
        panic!("a failed assertion inside a lab scope");
    }));
    assert!(result.is_err());
    let name = created.first().expect("namespace was created");
    assert!(
        wait_until(Duration::from_secs(2), Duration::from_millis(20), || {
            !netns_list().contains(name)
        }),
        "{name} still listed"
    );
    // After a failure the work directory (logs) is kept for the developer.
    let dir = kept_dir.expect("lab was created");
    assert!(dir.is_dir(), "logs of a failed lab are kept");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sweep_deletes_only_namespaces_of_dead_processes() {
    let Some(lab) = lab("sweep") else { return };
    let alive = lab.ns("alive").unwrap();
    // A PID above pid_max cannot belong to a running process.
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let orphan = format!("mrp{}-0-sweep-orphan", pid_max + 1);
    let added = std::process::Command::new("ip")
        .args(["netns", "add", &orphan])
        .status()
        .unwrap();
    assert!(added.success());
    let deleted = netlab::sweep_orphans().expect("sweep");
    assert!(deleted.contains(&orphan), "{deleted:?}");
    let listing = netns_list();
    assert!(!listing.contains(&orphan));
    assert!(
        listing.contains(alive.name()),
        "a live lab keeps its namespaces"
    );
}
