//! Interfaces that come and go faster than anyone should expect (docs/interfaces.md): a
//! downstream deleted and re-created 500 times with a netlink buffer small enough to overrun,
//! and a PPP-like uplink flapping every 200 ms for 30 s. Afterwards the daemon's view, the
//! kernel's VIFs and memberships, and the stream all agree with what exists.

mod common;
use common::*;
use netlab::{Lab, Netns, Receiver, Source, SourceSpec, TunLink};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(20);

/// The notification socket's buffer in the storm: the kernel doubles it, and a few link
/// messages fill it.
const SMALL_RCVBUF: &str = "MRPROXY_NETLINK_RCVBUF=2048";

/// The interfaces of `ns` as (ifindex, name).
fn kernel_interfaces(ns: &Netns) -> BTreeSet<(u64, String)> {
    let text = ns.ip(&["-j", "link", "show"]).unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| Some((l["ifindex"].as_u64()?, l["ifname"].as_str()?.to_owned())))
        .collect()
}

/// The interfaces the daemon knows, as (ifindex, name).
fn status_interfaces(status: &Value) -> BTreeSet<(u64, String)> {
    status["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| Some((i["ifindex"].as_u64()?, i["name"].as_str()?.to_owned())))
        .collect()
}

/// The interfaces the daemon uses in IPv4 (those that should have a VIF), by name.
fn status_v4_users(status: &Value) -> BTreeSet<String> {
    status["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| {
            i["families"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["family"] == "V4"))
        })
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect()
}

/// The IPv4 VIFs of `ns` as (name, ifindex): with VIFF_USE_IFINDEX the kernel keeps the
/// ifindex in the `Local` column (`/proc/net/ip_mr_vif`: Idx Interface BytesIn PktsIn
/// BytesOut PktsOut Flags Local Remote).
fn vifs(ns: &Netns) -> BTreeSet<(String, u32)> {
    let text = ns.read_proc("net/ip_mr_vif").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local = u32::from_str_radix(f.get(7)?, 16).ok()?;
            Some(((*f.get(1)?).to_owned(), local))
        })
        .collect()
}

/// What the daemon requests on upstream `ifname` in IPv4: (ifindex, groups).
fn upstream_groups(status: &Value, ifname: &str) -> Option<(u64, BTreeSet<String>)> {
    let u = status["upstreams"]
        .as_array()?
        .iter()
        .find(|u| u["name"] == ifname && u["family"] == "V4")?;
    let groups = u["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["group"].as_str().map(str::to_owned))
        .collect();
    Some((u["ifindex"].as_u64()?, groups))
}

/// The groups the router's host side has joined on `ifname`, all-systems left out.
fn joined(ns: &Netns, ifname: &str) -> BTreeSet<String> {
    host_groups(ns, ifname)
        .into_iter()
        .filter(|g| *g != mrproxy_wire::igmp::ALL_SYSTEMS)
        .map(|g| g.to_string())
        .collect()
}

/// The daemon's resident memory in kB and its open descriptors.
fn footprint(pid: u32) -> (u64, usize) {
    let rss = proc_status_field(pid, "VmRSS:")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    (rss, fds)
}

/// Storm: the downstream dn1 (a veth to the viewer's namespace) is deleted and re-created,
/// with its address and up, 500 times in a row as fast as `ip -batch` goes, while the
/// daemon's notification socket has a tiny buffer. The socket must overrun (the status
/// counts it); afterwards the daemon knows exactly the interfaces that exist, dn1 has a VIF
/// for its current ifindex, and a viewer joining there gets the stream.
#[test]
fn storm_of_500_recreations_overruns_netlink_and_ends_in_the_right_state() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("storm").unwrap();
    let [src, rtr, h1] = ["src", "rtr", "h1"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    lan(&lab, &rtr, "dn1", &h1, "192.0.2");
    for (ns, ifname) in [(&src, "s0"), (&rtr, "up0"), (&rtr, "dn1"), (&h1, "e0")] {
        ns.set_up(ifname).unwrap();
    }
    let config = format!(
        "{FAST_TIMERS}\nphyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n\
         phyint dn1 downstream ratelimit 0 threshold 1\n"
    );
    let proxy = Proxy::start_wrapped(
        &lab,
        &rtr,
        &config,
        "mrproxy",
        &["env", SMALL_RCVBUF],
        lab.path("mrproxy.sock"),
    );
    assert!(
        proxy.wait_log("MRPROXY_NETLINK_RCVBUF=2048", WAIT),
        "the knob was not taken:\n{}",
        proxy.log()
    );

    const ROUNDS: usize = 500;
    let mut batch = String::new();
    for _ in 0..ROUNDS {
        batch.push_str("link del dn1\n");
        batch.push_str(&format!(
            "link add dn1 type veth peer name e0 netns {}\n",
            h1.name()
        ));
        batch.push_str("addr add 192.0.2.1/24 dev dn1\nlink set dn1 up\n");
    }
    let batch_file = lab.path("storm.ip");
    std::fs::write(&batch_file, batch).unwrap();
    let started = Instant::now();
    rtr.ip(&["-batch", batch_file.to_str().unwrap()]).unwrap();
    let storm = started.elapsed();
    h1.add_addr("e0", "192.0.2.2/24").unwrap();
    h1.set_up("e0").unwrap();
    h1.add_route("default via 192.0.2.1").unwrap();

    // The last state: every interface that exists and no other, dn1's VIF on its ifindex.
    let dn1 = rtr.ifindex("dn1").unwrap();
    let up0 = rtr.ifindex("up0").unwrap();
    let want_vifs = BTreeSet::from([("dn1".to_owned(), dn1), ("up0".to_owned(), up0)]);
    let (mut known_at, mut vifs_at) = (None, None);
    let settled = netlab::wait_until(Duration::from_secs(60), POLL, || {
        let known = proxy
            .try_status()
            .is_some_and(|s| status_interfaces(&s) == kernel_interfaces(&rtr));
        let vifs_right = vifs(&rtr) == want_vifs;
        if known && known_at.is_none() {
            known_at = Some(started.elapsed());
        }
        if vifs_right && vifs_at.is_none() {
            vifs_at = Some(started.elapsed());
        }
        known && vifs_right
    });
    let settled_after = started.elapsed();
    let status = proxy.status();
    assert!(
        settled,
        "not settled: daemon {:?}, kernel {:?}, VIFs {:?} (want {want_vifs:?}); log tail:\n{}",
        status_interfaces(&status),
        kernel_interfaces(&rtr),
        vifs(&rtr),
        log_tail(&proxy.log(), 60)
    );
    let overruns = status["netlink"]["overruns"].as_u64().unwrap_or(0);
    let redumps = status["netlink"]["redumps"].as_u64().unwrap_or(0);
    println!(
        "storm: {ROUNDS} re-creations in {:.2} s; settled {:.2} s after the start (interfaces \
         {known_at:.2?}, VIFs {vifs_at:.2?}); {overruns} overruns, {redumps} re-dumps, {} reconnects",
        storm.as_secs_f64(),
        settled_after.as_secs_f64(),
        status["netlink"]["reconnects"]
    );
    assert!(
        overruns > 0 && redumps > 0,
        "the socket never overran, the storm proved nothing: {}",
        status["netlink"]
    );
    assert!(
        proxy.log().contains("netlink socket overrun"),
        "no warning about the overrun:\n{}",
        log_tail(&proxy.log(), 40)
    );
    assert_eq!(
        status_v4_users(&status),
        BTreeSet::from(["dn1".to_owned(), "up0".to_owned()])
    );

    let rx = Receiver::join(&h1, "e0", ip(GROUP), 5000).unwrap();
    let _source = Source::start(
        &src,
        SourceSpec::new("s0", ip(GROUP), 5000)
            .interval(Duration::from_millis(10))
            .count(3000),
    )
    .unwrap();
    assert!(
        rx.wait_for_packets(20, Duration::from_secs(10)),
        "no stream on the re-created dn1:\n{}",
        log_tail(&proxy.log(), 60)
    );
    assert_eq!(
        route_oifs(&rtr, SOURCE, GROUP),
        Some(vec!["dn1".to_owned()])
    );
    assert!(proxy.child.is_running());
}

/// How the uplink flaps.
#[derive(Clone, Copy, Debug)]
enum Flap {
    /// `ip link set ppp0 down`, then up: the device, its ifindex and addresses stay.
    DownUp,
    /// Both tun devices deleted and re-created, as pppd does on reconnect: a new ifindex.
    Recreate,
}

/// One `ip -force -batch -` process in a namespace, fed commands one line at a time: a
/// command takes effect at once, without the cost of starting `ip` (hundreds of milliseconds
/// under an emulated CPU), so a flap every 200 ms is a flap every 200 ms.
struct IpShell {
    child: std::process::Child,
}

impl IpShell {
    fn start(ns: &Netns) -> IpShell {
        let child = std::process::Command::new("ip")
            .args(["-n", ns.name(), "-force", "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("start ip -batch");
        IpShell { child }
    }

    fn run(&mut self, command: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("ip's stdin");
        writeln!(stdin, "{command}").expect("write to ip");
        stdin.flush().expect("flush to ip");
    }
}

impl Drop for IpShell {
    fn drop(&mut self) {
        // End of input ends it.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A PPP-like uplink (isp ─ tun ─ rtr) with the source behind it, a viewer on dn1.
struct Uplink {
    lab: Lab,
    isp: Netns,
    rtr: Netns,
    h1: Netns,
    ppp: TunLink,
}

const PEER: &str = "198.51.100.1";

impl Uplink {
    fn new(tag: &str) -> Uplink {
        let lab = Lab::new(tag).unwrap();
        let [isp, rtr, h1] = ["isp", "rtr", "h1"].map(|n| lab.ns(n).unwrap());
        let ppp = lab
            .tun_link((&isp, "ppp-isp", PEER), (&rtr, "ppp0", "198.51.100.2"))
            .unwrap();
        isp.add_route("224.0.0.0/4 dev ppp-isp").unwrap();
        lan(&lab, &rtr, "dn1", &h1, "192.0.2");
        rtr.set_up("dn1").unwrap();
        h1.set_up("e0").unwrap();
        Uplink {
            lab,
            isp,
            rtr,
            h1,
            ppp,
        }
    }

    fn source(&self) -> Source {
        let spec = SourceSpec::new("ppp-isp", ip(GROUP), 5000)
            .interval(Duration::from_millis(10))
            .count(12_000);
        Source::start(&self.isp, spec).unwrap()
    }

    /// One flap: down for 100 ms, then up again.
    fn flap(&self, how: Flap, shell: &mut IpShell) {
        match how {
            Flap::DownUp => {
                shell.run("link set ppp0 down");
                std::thread::sleep(Duration::from_millis(100));
                shell.run("link set ppp0 up");
            }
            Flap::Recreate => {
                self.ppp.cut();
                std::thread::sleep(Duration::from_millis(100));
                self.ppp.restore().unwrap();
                self.isp.add_route("224.0.0.0/4 dev ppp-isp").unwrap();
            }
        }
    }
}

/// The last `lines` lines of a log, for failure messages.
fn log_tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn flapping_uplink(tag: &str, how: Flap) {
    let t = Uplink::new(tag);
    let config = format!("{FAST_TIMERS}\nphyint ppp0 upstream\nphyint dn1 downstream\n");
    let proxy = Proxy::start(&t.lab, &t.rtr, &config);
    let pid = proxy.child.pid();
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let mut source = t.source();
    assert!(
        rx.wait_for_packets(50, Duration::from_secs(10)),
        "no stream before flapping:\n{}",
        proxy.log()
    );
    // Settled before measuring: a few status requests and a second of streaming.
    std::thread::sleep(Duration::from_secs(1));
    proxy.status();
    let before = footprint(pid);

    let mut shell = IpShell::start(&t.rtr);
    let flapping = Instant::now();
    let mut flaps = 0u32;
    while flapping.elapsed() < Duration::from_secs(30) {
        let cycle = Instant::now();
        t.flap(how, &mut shell);
        flaps += 1;
        std::thread::sleep(Duration::from_millis(200).saturating_sub(cycle.elapsed()));
    }
    // Every command has been carried out once ip has read its end of input and exited.
    drop(shell);
    let stopped = Instant::now();
    if matches!(how, Flap::Recreate) {
        // The old source socket named the vanished ppp-isp by ifindex.
        source.stop();
        source = t.source();
    }
    let back = netlab::wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
        rx.stats_since(stopped).count >= 1
    });
    let back_after = stopped.elapsed();
    assert!(
        proxy.child.is_running(),
        "daemon died:\n{}",
        log_tail(&proxy.log(), 60)
    );
    assert!(
        back,
        "the stream did not come back after {flaps} flaps:\n{}",
        log_tail(&proxy.log(), 80)
    );

    // The kernel agrees with the daemon: one VIF per interface in use, on its ifindex, and
    // the upstream joined to the group on the current ppp0.
    let ppp0 = t.rtr.ifindex("ppp0").unwrap();
    let dn1 = t.rtr.ifindex("dn1").unwrap();
    let want_vifs = BTreeSet::from([("dn1".to_owned(), dn1), ("ppp0".to_owned(), ppp0)]);
    let agree = netlab::wait_until(Duration::from_secs(5), POLL, || {
        proxy.try_status().is_some_and(|s| {
            let vif_names: BTreeSet<String> = vifs(&t.rtr).into_iter().map(|v| v.0).collect();
            vifs(&t.rtr) == want_vifs
                && status_v4_users(&s) == vif_names
                && upstream_groups(&s, "ppp0")
                    .is_some_and(|(i, g)| i == u64::from(ppp0) && g == joined(&t.rtr, "ppp0"))
        })
    });
    let status = proxy.status();
    assert!(
        agree,
        "daemon and kernel disagree: VIFs {:?} (want {want_vifs:?}), daemon uses {:?}, \
         upstream {:?}, kernel joined {:?}; log tail:\n{}",
        vifs(&t.rtr),
        status_v4_users(&status),
        upstream_groups(&status, "ppp0"),
        joined(&t.rtr, "ppp0"),
        log_tail(&proxy.log(), 80)
    );
    assert!(
        joined(&t.rtr, "ppp0").contains(GROUP),
        "group not joined on ppp0"
    );
    assert!(
        rx.wait_for_packets(rx.count() + 50, Duration::from_secs(5)),
        "the stream stalled again"
    );

    let after = footprint(pid);
    println!(
        "flapping uplink ({how:?}): {flaps} flaps in {:.1} s; stream back {} ms after the last; \
         RSS {} kB -> {} kB; fds {} -> {}; netlink {}",
        (stopped - flapping).as_secs_f64(),
        back_after.as_millis(),
        before.0,
        after.0,
        before.1,
        after.1,
        status["netlink"]
    );
    assert!(
        back_after <= Duration::from_secs(2),
        "stream back only after {} ms",
        back_after.as_millis()
    );
    assert!(
        after.1 <= before.1 + 2,
        "descriptors {} -> {}: leaked",
        before.1,
        after.1
    );
    assert!(
        after.0 <= before.0 + 2048,
        "resident memory {} kB -> {} kB",
        before.0,
        after.0
    );
    drop(source);
}

/// Flapping uplink, link down/up every 200 ms for 30 s.
#[test]
fn uplink_down_up_every_200ms_for_30s_leaves_daemon_and_kernel_in_agreement() {
    if !Lab::require_root() {
        return;
    }
    flapping_uplink("flapdu", Flap::DownUp);
}

/// Flapping uplink, the tun devices deleted and re-created (new ifindex) every 200 ms for 30 s.
#[test]
fn uplink_recreated_every_200ms_for_30s_leaves_daemon_and_kernel_in_agreement() {
    if !Lab::require_root() {
        return;
    }
    flapping_uplink("flaprc", Flap::Recreate);
}
