//! Shared fixtures of the end-to-end tests: the real `mrproxy` binary in a router namespace of a
//! netlab topology, kernel hosts as receivers, UDP sources, and the daemon's status as JSON.
#![allow(dead_code)] // each test binary uses a different part of the fixture

use netlab::{ChildHandle, Lab, Netns};
use serde_json::Value;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Timers short enough for tests but still RFC-shaped (QRI < QI, LMQT = 2 × 0.5 s). Tests that
/// need the RFC defaults leave these out.
pub const FAST_TIMERS: &str = "queryinterval 5 queryresponseinterval 2 lastmemberqueryinterval 0.5";

/// A running mrproxy in `ns`.
pub struct Proxy {
    pub child: ChildHandle,
    pub control: PathBuf,
    pub config: PathBuf,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_mrproxy")
}

impl Proxy {
    /// Write `config` into the lab directory and start `mrproxy -d -vv` with it in `ns`; returns
    /// once the daemon answers on its status socket (panics with the log after 10 s).
    pub fn start(lab: &Lab, ns: &Netns, config: &str) -> Proxy {
        Self::start_named(lab, ns, config, "mrproxy")
    }

    /// Like [`Proxy::start`] with file names based on `name` (several daemons, or a restart).
    pub fn start_named(lab: &Lab, ns: &Netns, config: &str, name: &str) -> Proxy {
        Self::start_wrapped(
            lab,
            ns,
            config,
            name,
            &[],
            lab.path(&format!("{name}.sock")),
        )
    }

    /// Like [`Proxy::start_named`], with the daemon exec'd by `wrapper` (a command that execs its
    /// arguments in the same process, such as `env NAME=VALUE` or `setpriv …`; empty: none) and
    /// its status socket at `control`.
    pub fn start_wrapped(
        lab: &Lab,
        ns: &Netns,
        config: &str,
        name: &str,
        wrapper: &[&str],
        control: PathBuf,
    ) -> Proxy {
        Self::start_with(lab, ns, config, name, wrapper, control, &[])
    }

    /// Like [`Proxy::start_wrapped`], with `options` added to the daemon's command line.
    pub fn start_with(
        lab: &Lab,
        ns: &Netns,
        config: &str,
        name: &str,
        wrapper: &[&str],
        control: PathBuf,
        options: &[&str],
    ) -> Proxy {
        let config_path = lab.path(&format!("{name}.conf"));
        std::fs::write(&config_path, config).expect("write config");
        let mut command: Vec<&str> = wrapper.to_vec();
        command.extend([
            binary(),
            "-d",
            "-vv",
            "--control",
            control.to_str().unwrap(),
        ]);
        command.extend(options);
        command.push(config_path.to_str().unwrap());
        let child = lab
            .spawn(ns, command[0], &command[1..], format!("{name}.log"))
            .expect("spawn mrproxy");
        let proxy = Proxy {
            child,
            control,
            config: config_path,
        };
        // Generous: under an emulated CPU (scripts/kernel-vm.sh) with other tests starting their
        // own namespaces, a start-up that takes 50 ms natively has been seen to take over 10 s.
        let up = netlab::wait_until(Duration::from_secs(40), Duration::from_millis(20), || {
            proxy.try_status().is_some() || !proxy.child.is_running()
        });
        assert!(
            up && proxy.child.is_running(),
            "mrproxy did not start:\n{}",
            proxy.log()
        );
        proxy
    }

    pub fn log(&self) -> String {
        self.child.log().unwrap_or_default()
    }

    pub fn try_status(&self) -> Option<Value> {
        let out = std::process::Command::new(binary())
            .args(["status", "--engine", "--control", self.control.to_str()?])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The engine's snapshot (`mrproxy status --engine`) as JSON; panics with the log if the
    /// daemon does not answer. The operator's document is tested in e2e_operator.rs.
    pub fn status(&self) -> Value {
        self.try_status()
            .unwrap_or_else(|| panic!("mrproxy status failed; log:\n{}", self.log()))
    }

    /// Wait until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        netlab::wait_until(timeout, Duration::from_millis(20), || {
            self.log().contains(needle)
        })
    }

    /// Send SIGTERM and wait for a clean exit; returns the exit code.
    pub fn stop(&self) -> Option<i32> {
        self.child.signal(nix::sys::signal::Signal::SIGTERM).ok()?;
        self.child
            .wait_timeout(Duration::from_secs(5))
            .ok()
            .flatten()
            .and_then(|s| s.code())
    }
}

/// Fails, naming the text and showing the log, if `log` contains any of `needles`: the check
/// that nothing was refused, warned about or failed while a test ran.
pub fn assert_log_lacks(log: &str, needles: &[&str]) {
    for needle in needles {
        assert!(!log.contains(needle), "{needle:?} in the log:\n{log}");
    }
}

/// The basic topology of docs/test-strategy.md §3: a source behind `up0`, the router, and two LANs each
/// with one host (`e0` in h1 on 192.0.2.0/24, `e0` in h2 on 203.0.113.0/24).
pub struct Basic {
    pub lab: Lab,
    pub src: Netns,
    pub rtr: Netns,
    pub h1: Netns,
    pub h2: Netns,
}

pub const SOURCE: &str = "198.51.100.2";
pub const GROUP: &str = "239.1.2.3";

impl Basic {
    pub fn new(tag: &str) -> Basic {
        let lab = Lab::new(tag).expect("lab");
        let src = lab.ns("src").unwrap();
        let rtr = lab.ns("rtr").unwrap();
        let h1 = lab.ns("h1").unwrap();
        let h2 = lab.ns("h2").unwrap();
        lab.veth((&rtr, "up0"), (&src, "s0")).unwrap();
        lab.veth((&rtr, "dn1"), (&h1, "e0")).unwrap();
        lab.veth((&rtr, "dn2"), (&h2, "e0")).unwrap();
        src.add_addr("s0", "198.51.100.2/24").unwrap();
        rtr.add_addr("up0", "198.51.100.1/24").unwrap();
        rtr.add_addr("dn1", "192.0.2.1/24").unwrap();
        h1.add_addr("e0", "192.0.2.2/24").unwrap();
        rtr.add_addr("dn2", "203.0.113.1/24").unwrap();
        h2.add_addr("e0", "203.0.113.2/24").unwrap();
        for (ns, ifname) in [
            (&src, "s0"),
            (&rtr, "up0"),
            (&rtr, "dn1"),
            (&rtr, "dn2"),
            (&h1, "e0"),
            (&h2, "e0"),
        ] {
            ns.set_up(ifname).unwrap();
        }
        src.add_route("default via 198.51.100.1").unwrap();
        h1.add_route("default via 192.0.2.1").unwrap();
        h2.add_route("default via 203.0.113.1").unwrap();
        Basic {
            lab,
            src,
            rtr,
            h1,
            h2,
        }
    }

    /// `phyint up0 upstream` (with the source's network as altnet) and both LANs downstream,
    /// plus `extra` lines (global keywords such as `quickleave`, or timers).
    pub fn config(extra: &str) -> String {
        format!(
            "{extra}\nphyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n\
             phyint dn1 downstream ratelimit 0 threshold 1\nphyint dn2 downstream ratelimit 0 threshold 1\n"
        )
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The forwarding entries of the router's kernel for `group`, as (origin, oif names).
pub fn kernel_oifs(rtr: &Netns, group: &str) -> Vec<(String, Vec<String>)> {
    let v = netlab::mroute_json(rtr, false).unwrap_or(Value::Null);
    let mut out = Vec::new();
    for e in v.as_array().cloned().unwrap_or_default() {
        if e["dst"].as_str() != Some(group) {
            continue;
        }
        let oifs = e["multipath"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|o| o["oif"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        out.push((e["src"].as_str().unwrap_or_default().to_owned(), oifs));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// e2e-b helpers (SSM, robustness and MLD tests): kernel source filters, IPv6 routes, crafted
// queries and parsed reports.

/// One source-filter line of the router's host side (`/proc/net/mcfilter` or `mcfilter6`): what
/// the kernel reports upstream for (group, source) on `ifname`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFilter {
    pub ifname: String,
    pub group: IpAddr,
    pub source: IpAddr,
    /// Sockets that include the source.
    pub include: u64,
    /// Sockets that exclude the source.
    pub exclude: u64,
}

/// The kernel's per-source filters of `ns` (both families). The IPv4 file prints addresses as
/// `0x` + 8 hex digits in natural order; the IPv6 file as 32 hex digits.
pub fn source_filters(ns: &Netns) -> Vec<SourceFilter> {
    let mut out = Vec::new();
    for file in ["net/mcfilter", "net/mcfilter6"] {
        let text = ns.read_proc(file).unwrap_or_default();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [_, ifname, group, source, include, exclude] = f.as_slice() else {
                continue;
            };
            let (Some(group), Some(source)) = (proc_hex_addr(group), proc_hex_addr(source)) else {
                continue;
            };
            let (Ok(include), Ok(exclude)) = (include.parse(), exclude.parse()) else {
                continue;
            };
            out.push(SourceFilter {
                ifname: (*ifname).to_owned(),
                group,
                source,
                include,
                exclude,
            });
        }
    }
    out
}

fn proc_hex_addr(text: &str) -> Option<IpAddr> {
    let hex = text.strip_prefix("0x").unwrap_or(text);
    match hex.len() {
        8 => u32::from_str_radix(hex, 16)
            .ok()
            .map(|v| IpAddr::from(std::net::Ipv4Addr::from(v))),
        32 => u128::from_str_radix(hex, 16)
            .ok()
            .map(|v| IpAddr::from(std::net::Ipv6Addr::from(v))),
        _ => None,
    }
}

/// Like [`kernel_oifs`] for the IPv6 MFC (`ip -6 mroute`).
pub fn kernel_oifs6(rtr: &Netns, group: &str) -> Vec<(String, Vec<String>)> {
    let v = netlab::mroute_json(rtr, true).unwrap_or(Value::Null);
    let group: Option<IpAddr> = group.parse().ok();
    let mut out = Vec::new();
    for e in v.as_array().cloned().unwrap_or_default() {
        // ip may print IPv6 addresses in another spelling than the test's; compare parsed.
        if e["dst"].as_str().and_then(|d| d.parse().ok()) != group {
            continue;
        }
        let oifs = e["multipath"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|o| o["oif"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        out.push((e["src"].as_str().unwrap_or_default().to_owned(), oifs));
    }
    out
}

/// The output interfaces of the kernel's (source, group) entry, `None` without such an entry.
pub fn route_oifs(rtr: &Netns, source: &str, group: &str) -> Option<Vec<String>> {
    let entries = if group.contains(':') {
        kernel_oifs6(rtr, group)
    } else {
        kernel_oifs(rtr, group)
    };
    let source: Option<IpAddr> = source.parse().ok();
    entries
        .into_iter()
        .find(|(s, _)| s.parse().ok() == source)
        .map(|(_, oifs)| oifs)
}

/// An IGMPv3 general query from `src` to 224.0.0.1 as an IP packet ready for
/// [`netlab::inject_ipv4`] (RFC 9776 §4.1: Max Resp Code in tenths of a second, QQIC in seconds
/// for values below 128).
pub fn igmpv3_general_query(
    src: std::net::Ipv4Addr,
    max_resp_code: u8,
    qrv: u8,
    qqic: u8,
) -> Vec<u8> {
    let query = mrproxy_wire::igmp::Repr::QueryV3 {
        max_resp_code,
        group: std::net::Ipv4Addr::UNSPECIFIED,
        s_flag: false,
        qrv,
        qqic,
        sources: Vec::new(),
    };
    netlab::packet::igmp_packet(src, mrproxy_wire::igmp::ALL_SYSTEMS, &query.to_bytes())
}

/// An IGMPv2 general query (RFC 2236 §2: 8 octets, Max Resp Time in tenths of a second).
pub fn igmpv2_general_query(src: std::net::Ipv4Addr, max_resp_time: u8) -> Vec<u8> {
    let query = mrproxy_wire::igmp::Repr::QueryV2 {
        max_resp_time,
        group: std::net::Ipv4Addr::UNSPECIFIED,
    };
    netlab::packet::igmp_packet(src, mrproxy_wire::igmp::ALL_SYSTEMS, &query.to_bytes())
}

/// The decoded IGMP message of a captured packet (checksum verified), if it is one.
pub fn igmp_message(packet: &netlab::CapturedPacket) -> Option<mrproxy_wire::igmp::Repr> {
    let ip = packet.ip()?;
    (ip.protocol == netlab::packet::PROTO_IGMP).then_some(())?;
    mrproxy_wire::igmp::Repr::parse_bytes(ip.payload).ok()
}

/// Whether a captured packet is an IGMPv3 report carrying a record of `record_type` for `group`.
pub fn has_igmpv3_record(
    packet: &netlab::CapturedPacket,
    record_type: mrproxy_wire::RecordType,
    group: &str,
) -> bool {
    let group: Option<std::net::Ipv4Addr> = group.parse().ok();
    matches!(igmp_message(packet), Some(mrproxy_wire::igmp::Repr::ReportV3 { records })
        if records.iter().any(|r| r.record_type == record_type && Some(r.group) == group))
}

/// The source address of a captured packet.
pub fn packet_source(packet: &netlab::CapturedPacket) -> Option<IpAddr> {
    packet.ip().map(|ip| ip.src)
}

/// The downstream port status (querier state, groups) of `ifname` in `family` ("V4"/"V6"
/// as serialised) from a status snapshot.
pub fn port_status<'a>(status: &'a Value, ifname: &str, family: &str) -> Option<&'a Value> {
    status["interfaces"]
        .as_array()?
        .iter()
        .find(|i| i["name"] == ifname)?["families"]
        .as_array()?
        .iter()
        .find(|f| f["family"] == family)
        .map(|f| &f["port"])
}

/// What the daemon requests on upstream `ifname` for `group`: (mode, sources) as serialised.
pub fn upstream_request(
    status: &Value,
    ifname: &str,
    group: &str,
) -> Option<(String, Vec<String>)> {
    let group: IpAddr = group.parse().ok()?;
    let entry = status["upstreams"]
        .as_array()?
        .iter()
        .filter(|u| u["name"] == ifname)
        .flat_map(|u| u["groups"].as_array().cloned().unwrap_or_default())
        .find(|g| g["group"].as_str().and_then(|s| s.parse().ok()) == Some(group))?;
    let mode = entry["mode"].as_str().unwrap_or_default().to_owned();
    let sources = entry["sources"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some((mode, sources))
}

// ---------------------------------------------------------------------------------------------
// e2e-a helpers (basic and LAN tests): queries and reports on the wire, the router's host-side
// memberships, and when a stream was last seen on a link.

/// The group a captured query asks about: `Some(0.0.0.0)` for a general query, `Some(G)` for a
/// group(-and-source)-specific query, `None` if the packet is not an IGMP query.
pub fn query_group(packet: &netlab::CapturedPacket) -> Option<std::net::Ipv4Addr> {
    use mrproxy_wire::igmp::Repr;
    match igmp_message(packet)? {
        Repr::QueryV1 { group } | Repr::QueryV2 { group, .. } | Repr::QueryV3 { group, .. } => {
            Some(group)
        }
        _ => None,
    }
}

/// Whether a captured packet is a general query (any version).
pub fn is_general_query(packet: &netlab::CapturedPacket) -> bool {
    query_group(packet) == Some(std::net::Ipv4Addr::UNSPECIFIED)
}

/// Whether a captured packet is a group-specific (or group-and-source-specific) query for `group`.
pub fn is_group_query(packet: &netlab::CapturedPacket, group: &str) -> bool {
    group
        .parse()
        .ok()
        .is_some_and(|g: std::net::Ipv4Addr| query_group(packet) == Some(g))
}

/// The groups a captured report mentions: the group of an IGMPv1/v2 report or leave, every
/// record's group of an IGMPv3 report; empty for anything else.
pub fn reported_groups(packet: &netlab::CapturedPacket) -> Vec<std::net::Ipv4Addr> {
    use mrproxy_wire::igmp::Repr;
    match igmp_message(packet) {
        Some(Repr::ReportV1 { group } | Repr::ReportV2 { group } | Repr::LeaveV2 { group }) => {
            vec![group]
        }
        Some(Repr::ReportV3 { records }) => records.iter().map(|r| r.group).collect(),
        _ => Vec::new(),
    }
}

/// Whether a captured packet is a report (any version) that mentions `group`.
pub fn reports_group(packet: &netlab::CapturedPacket, group: &str) -> bool {
    group
        .parse()
        .ok()
        .is_some_and(|g| reported_groups(packet).contains(&g))
}

/// The IPv4 groups the router's host side has joined on `ifname` (`/proc/net/igmp`): on an
/// upstream, what the kernel reports to the upstream router.
pub fn host_groups(ns: &Netns, ifname: &str) -> Vec<std::net::Ipv4Addr> {
    netlab::igmp_memberships(ns)
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.name == ifname)
        .flat_map(|i| i.groups)
        .collect()
}

/// The groups of the downstream port `ifname` (IPv4) in a status snapshot.
pub fn port_groups(status: &Value, ifname: &str) -> Vec<String> {
    port_status(status, ifname, "V4")
        .and_then(|p| p["groups"].as_array())
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| g["group"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// When the last captured packet satisfying `pred` was read.
pub fn last_seen(
    capture: &netlab::Capture,
    pred: impl Fn(&netlab::CapturedPacket) -> bool,
) -> Option<std::time::Instant> {
    capture
        .packets()
        .iter()
        .filter(|p| pred(p))
        .map(|p| p.at)
        .max()
}

/// Waits until no packet satisfying `pred` has been captured for `quiet`, counted from the later
/// of the last such packet and the call (so the link is seen quiet for `quiet` after the call);
/// false if packets still keep coming at `timeout`.
pub fn wait_quiet(
    capture: &netlab::Capture,
    pred: impl Fn(&netlab::CapturedPacket) -> bool,
    quiet: Duration,
    timeout: Duration,
) -> bool {
    let started = std::time::Instant::now();
    netlab::wait_until(timeout, Duration::from_millis(20), || {
        last_seen(capture, &pred)
            .unwrap_or(started)
            .max(started)
            .elapsed()
            >= quiet
    })
}

// ---------------------------------------------------------------------------------------------
// e2e-b helpers, part 2: hand-built topologies and another querier on a LAN.

/// src (s0, 198.51.100.2) ─ rtr (up0, 198.51.100.1).
pub fn upstream_link(lab: &Lab, src: &Netns, rtr: &Netns) {
    lab.veth((rtr, "up0"), (src, "s0")).unwrap();
    src.add_addr("s0", "198.51.100.2/24").unwrap();
    rtr.add_addr("up0", "198.51.100.1/24").unwrap();
    src.add_route("default via 198.51.100.1").unwrap();
}

/// rtr (`rtr_if`, `<net>.1/24`) ─ host (e0, `<net>.2/24`).
pub fn lan(lab: &Lab, rtr: &Netns, rtr_if: &str, host: &Netns, net: &str) {
    lab.veth((rtr, rtr_if), (host, "e0")).unwrap();
    rtr.add_addr(rtr_if, &format!("{net}.1/24")).unwrap();
    host.add_addr("e0", &format!("{net}.2/24")).unwrap();
    host.add_route(&format!("default via {net}.1")).unwrap();
}

/// The interface's entry in the status, if the daemon uses it.
pub fn interface_status(status: &Value, ifname: &str) -> Option<Value> {
    status["interfaces"]
        .as_array()?
        .iter()
        .find(|i| i["name"] == ifname)
        .cloned()
}

/// Another router on a LAN, as far as IGMP goes: an IGMPv3 general query from `source` every
/// `period`, until dropped.
pub struct OtherQuerier {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OtherQuerier {
    pub fn start(
        ns: &Netns,
        ifname: &str,
        source: std::net::Ipv4Addr,
        period: Duration,
    ) -> OtherQuerier {
        let (ns, ifname) = (ns.clone(), ifname.to_owned());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        // Max Resp Code 10 (1 s), QRV 2, QQIC = the period in seconds (RFC 9776 §4.1.7).
        let qqic = u8::try_from(period.as_secs().clamp(1, 127)).unwrap_or(1);
        let query = igmpv3_general_query(source, 10, 2, qqic);
        let thread = std::thread::spawn(move || {
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                netlab::inject_ipv4(&ns, &ifname, &query).expect("inject query");
                std::thread::sleep(period);
            }
        });
        OtherQuerier {
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for OtherQuerier {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One line per captured IGMP packet (offset from the first, direction, source, message), for
/// failure messages.
pub fn describe_igmp(capture: &netlab::Capture) -> String {
    let packets = capture.packets();
    let Some(first) = packets.first().map(|p| p.at) else {
        return "(no IGMP captured)".to_owned();
    };
    packets
        .iter()
        .map(|p| {
            let at = p.at.saturating_duration_since(first).as_secs_f64();
            let src = packet_source(p).map(|s| s.to_string()).unwrap_or_default();
            format!("{at:8.3}s {:?} {src} {:?}\n", p.direction, igmp_message(p))
        })
        .collect()
}

// ---- shared by the e2e test files: directions, streams, UDP captures ----

pub const WAIT: Duration = Duration::from_secs(5);

pub fn outgoing(p: &netlab::CapturedPacket) -> bool {
    p.direction == netlab::Direction::Outgoing
}

pub fn incoming(p: &netlab::CapturedPacket) -> bool {
    p.direction == netlab::Direction::Incoming
}

/// A stream from the source namespace: 100 datagrams a second for `seconds`.
pub fn stream(t: &Basic, group: &str, port: u16, seconds: u64) -> netlab::Source {
    let spec = netlab::SourceSpec::new("s0", ip(group), port)
        .interval(Duration::from_millis(10))
        .count(seconds * 100);
    netlab::Source::start(&t.src, spec).expect("source")
}

pub fn udp_to(group: &str) -> netlab::CaptureFilter {
    netlab::CaptureFilter::Udp { group: ip(group) }
}

/// A stand-in for systemd's notification socket, in the lab's folder: the bound socket, and the
/// `NOTIFY_SOCKET=…` assignment that points the daemon at it (run it under `env`).
pub fn notify_socket(lab: &Lab) -> (std::os::unix::net::UnixDatagram, String) {
    let path = lab.path("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).expect("bind the notify socket");
    (socket, format!("NOTIFY_SOCKET={}", path.display()))
}

/// The next systemd notification datagram on `socket`, or `None` after `timeout`.
pub fn next_notification(
    socket: &std::os::unix::net::UnixDatagram,
    timeout: Duration,
) -> Option<String> {
    socket.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// A field of /proc/PID/status (`Uid:`/`Gid:`: real, effective, saved, fs; `CapEff:`, …),
/// trimmed.
pub fn proc_status_field(pid: u32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

/// `GET /metrics` over TCP from inside the router's namespace.
pub fn scrape(ns: &netlab::Netns, address: &str) -> String {
    let address = address.to_owned();
    ns.run(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&address).expect("connect to the metrics port");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: mrproxy\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    })
    .expect("enter the namespace")
}
