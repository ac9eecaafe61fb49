//! End to end: the event loop never waits on anyone. A status client that never reads its
//! answer, and a LAN host sending junk IGMP 200 times a second, delay neither joins, nor other
//! status clients, nor SIGTERM, nor interface changes. And the status socket file: mode 0660,
//! the `--control-group`, and a file at its path that is not a socket is never replaced.
//!
//! The bounds (1 s, 2 s) are liveness bounds, generous for an emulated CPU; the times measured
//! are printed (`--nocapture`).

mod common;
use common::*;
use netlab::{Lab, Netns, Receiver, Signal};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(10);

/// Groups reported on dn2 so that the status answer outgrows the socket buffers.
const MANY: usize = 3000;

/// The i-th of the [`MANY`] groups: 239.20.0.1 onwards, 200 per /24.
fn many_group(i: usize) -> Ipv4Addr {
    let (hi, lo) = (i / 200, i % 200 + 1);
    Ipv4Addr::new(
        239,
        20,
        u8::try_from(hi).unwrap(),
        u8::try_from(lo).unwrap(),
    )
}

/// IGMPv3 reports from `host` with an IS_EX({}) record for every one of the [`MANY`] groups,
/// 150 records per packet (1 232 bytes, within a 1 500-byte MTU).
fn many_group_reports(host: Ipv4Addr) -> Vec<Vec<u8>> {
    use mrproxy_wire::igmp::{ALL_IGMPV3_ROUTERS, GroupRecord, Repr};
    let groups: Vec<Ipv4Addr> = (0..MANY).map(many_group).collect();
    groups
        .chunks(150)
        .map(|chunk| {
            let records = chunk
                .iter()
                .map(|&group| GroupRecord {
                    record_type: mrproxy_wire::RecordType::ModeIsExclude,
                    group,
                    sources: vec![],
                    aux_data: vec![],
                })
                .collect();
            let report = Repr::ReportV3 { records };
            netlab::packet::igmp_packet(host, ALL_IGMPV3_ROUTERS, &report.to_bytes())
        })
        .collect()
}

/// The raw text `mrproxy status` prints, if the daemon answers.
/// The length of the daemon's answer to one control request, read off the socket as a
/// client that reads gets it.
fn answer_len(proxy: &Proxy, request: &[u8]) -> usize {
    let mut client = std::os::unix::net::UnixStream::connect(&proxy.control).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut client, &mut answer);
    answer.len()
}

/// The kernel's default send buffer of a socket (`net.core.wmem_default`), which bounds what a
/// Unix stream socket queues for a peer that does not read.
fn default_send_buffer() -> usize {
    std::fs::read_to_string("/proc/sys/net/core/wmem_default")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(212_992)
}

/// Bytes waiting to be read on `stream`, without reading them.
fn queued(stream: &std::os::unix::net::UnixStream) -> usize {
    use nix::sys::socket::{MsgFlags, recv};
    let mut buf = [0u8; 4096];
    recv(
        stream.as_raw_fd(),
        &mut buf,
        MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
    )
    .unwrap_or(0)
}

/// A status client that connects, sends `status` and never reads the answer; while it stays
/// stuck, a host joining on dn1 gets the stream within 1 s, another `mrproxy status` answers,
/// and SIGTERM ends the daemon within 1 s.
#[test]
fn a_status_client_that_never_reads_delays_neither_joins_nor_other_clients_nor_sigterm() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("stuckclient");
    // The many groups of dn2 are not joined upstream (the upstream's whitelist): they only make
    // the status answer large.
    let config = "maxgroupsperhost 4096\n\
                  phyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n  \
                  whitelist 239.1.0.0/16\n\
                  phyint dn1 downstream ratelimit 0 threshold 1\n\
                  phyint dn2 downstream ratelimit 0 threshold 1\n";
    let proxy = Proxy::start(&t.lab, &t.rtr, config);
    let _source = stream(&t, GROUP, 5000, 60);
    for report in many_group_reports(Ipv4Addr::new(203, 0, 113, 2)) {
        netlab::inject_ipv4(&t.h2, "e0", &report).unwrap();
    }
    let tracked = netlab::wait_until(Duration::from_secs(20), Duration::from_millis(200), || {
        proxy
            .try_status()
            .is_some_and(|s| port_groups(&s, "dn2").len() == MANY)
    });
    assert!(
        tracked,
        "dn2 tracks {} groups, not {MANY}",
        port_groups(&proxy.status(), "dn2").len()
    );
    // The engine's snapshot is the largest answer the socket gives.
    let size = answer_len(&proxy, b"engine\n");
    let buffer = default_send_buffer();
    assert!(
        size > 2 * buffer,
        "the status answer ({size} bytes) must outgrow the socket buffers ({buffer} bytes)"
    );

    // The stuck client: the daemon has started answering it, nobody reads.
    let mut stuck = std::os::unix::net::UnixStream::connect(&proxy.control).unwrap();
    stuck.write_all(b"engine\n").unwrap();
    let answering = netlab::wait_until(Duration::from_secs(10), POLL, || queued(&stuck) > 0);
    assert!(
        answering,
        "no answer started for the stuck client:\n{}",
        proxy.log()
    );

    let joined_at = Instant::now();
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let arrived = netlab::wait_until(Duration::from_secs(5), POLL, || rx.count() > 0);
    assert!(arrived, "no stream on dn1 after the join:\n{}", proxy.log());
    let first = rx.datagrams().first().map(|d| d.rx).unwrap();
    let join_to_stream = first.saturating_duration_since(joined_at);
    println!("join to first datagram: {join_to_stream:?}");
    assert!(
        join_to_stream <= Duration::from_secs(1),
        "the stream came {join_to_stream:?} after the join"
    );

    let asked = Instant::now();
    let other = proxy.try_status();
    println!("another status client answered in {:?}", asked.elapsed());
    assert!(
        other.is_some_and(|s| port_groups(&s, "dn1").contains(&GROUP.to_owned())),
        "another status client got no answer with dn1's group:\n{}",
        proxy.log()
    );

    let signalled = Instant::now();
    proxy.child.signal(Signal::SIGTERM).unwrap();
    let exit = proxy.child.wait_timeout(Duration::from_secs(5)).unwrap();
    let to_exit = signalled.elapsed();
    println!("SIGTERM to exit: {to_exit:?}");
    assert_eq!(
        exit.and_then(|s| s.code()),
        Some(0),
        "no clean exit after SIGTERM:\n{}",
        proxy.log()
    );
    assert!(
        to_exit <= Duration::from_secs(1),
        "SIGTERM took {to_exit:?} to end the daemon"
    );
    drop(stuck);
}

/// Junk IGMP sent from `ns` out of `ifname`: 200 datagrams a second (bad checksums, truncated
/// messages, impossible record counts) until stopped, 10 s or 2 000 datagrams at most.
struct Junk {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Junk {
    const INTERVAL: Duration = Duration::from_millis(5);
    const MAX: u64 = 2000;

    fn start(ns: &Netns, ifname: &str, source: Ipv4Addr) -> Junk {
        use nix::sys::socket::{
            AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, sendto,
            setsockopt, socket, sockopt,
        };
        // IPPROTO_RAW: the datagrams carry their own IPv4 header (with Router Alert).
        let socket = ns
            .run(|| {
                socket(
                    AddressFamily::Inet,
                    SockType::Raw,
                    SockFlag::empty(),
                    SockProtocol::Raw,
                )
            })
            .unwrap()
            .expect("raw socket");
        setsockopt(
            &socket,
            sockopt::BindToDevice,
            &std::ffi::OsString::from(ifname),
        )
        .expect("bind the raw socket to the interface");
        let group = Ipv4Addr::new(239, 9, 9, 9);
        let mut bad_checksum = vec![0x16, 0, 0, 0];
        bad_checksum.extend_from_slice(&group.octets());
        let truncated = vec![0x22, 0, 0xde];
        // An IGMPv3 report announcing 200 records and carrying none.
        let overlong_count = vec![0x22, 0, 0, 0, 0, 0, 0, 200];
        let junk: Vec<Vec<u8>> = [bad_checksum, truncated, overlong_count]
            .iter()
            .map(|igmp| {
                netlab::packet::igmp_packet(source, mrproxy_wire::igmp::ALL_IGMPV3_ROUTERS, igmp)
            })
            .collect();
        let to = SockaddrIn::from(SocketAddrV4::new(mrproxy_wire::igmp::ALL_IGMPV3_ROUTERS, 0));
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (stopped, counter) = (Arc::clone(&stop), Arc::clone(&sent));
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            for n in 0..Self::MAX {
                if stopped.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(10) {
                    break;
                }
                let packet = &junk[usize::try_from(n).unwrap() % junk.len()];
                if sendto(socket.as_raw_fd(), packet, &to, MsgFlags::empty()).is_ok() {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Self::INTERVAL);
            }
        });
        Junk {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Junk {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A downstream interface that appears while a LAN host sends 200 junk IGMP datagrams a second
/// gets its VIF within 2 s: the flood wakes the loop every 5 ms, which must not keep
/// postponing the interface change (its 20 ms debounce runs in the netlink monitor's task).
#[test]
fn an_interface_that_appears_during_a_junk_igmp_flood_gets_its_vif_within_2_s() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("junkflood");
    let h3 = t.lab.ns("h3").unwrap();
    let config = Basic::config("") + "phyint dn3 downstream ratelimit 0 threshold 1\n";
    let proxy = Proxy::start(&t.lab, &t.rtr, &config);
    let rejected_before = rejected_total(&proxy.status());

    let junk = Junk::start(&t.h1, "e0", Ipv4Addr::new(192, 0, 2, 2));
    let flowing = netlab::wait_until(Duration::from_secs(5), POLL, || junk.sent() >= 100);
    assert!(flowing, "the junk sender is stuck at {}", junk.sent());

    t.lab.veth((&t.rtr, "dn3"), (&h3, "e0")).unwrap();
    let appeared = Instant::now();
    let has_vif = || {
        netlab::vifs_v4(&t.rtr)
            .unwrap_or_default()
            .iter()
            .any(|v| v.name == "dn3")
    };
    let attached = netlab::wait_until(Duration::from_secs(10), POLL, has_vif);
    let took = appeared.elapsed();
    let still_flooding = junk.is_running();
    let sent = junk.sent();
    drop(junk);
    println!("dn3's VIF after {took:?} ({sent} junk datagrams sent)");
    assert!(attached, "dn3 never got a VIF:\n{}", proxy.log());
    assert!(
        took <= Duration::from_secs(2),
        "dn3 got its VIF {took:?} after it appeared (flood still on then: {still_flooding})"
    );
    assert!(
        still_flooding,
        "the flood ended before dn3 got its VIF ({sent} sent): the test proves nothing"
    );
    let rejected = rejected_total(&proxy.status()) - rejected_before;
    assert!(
        rejected >= 100,
        "the daemon rejected only {rejected} inputs: the junk did not reach it"
    );
}

/// Every rejected input the daemon counted, whatever the reason.
fn rejected_total(status: &serde_json::Value) -> u64 {
    status["rejected"]
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0)
}

/// A file at the status socket's path that is not a socket (a mistyped `--control` naming the
/// configuration file, say) is never removed: the start fails with one line naming it.
#[test]
fn a_file_that_is_not_a_socket_at_the_control_path_stops_the_start_and_is_kept() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("notsocket").unwrap();
    let rtr = lab.ns("rtr").unwrap();
    let config = lab.path("mrproxy.conf");
    std::fs::write(&config, "phyint up0 upstream\nphyint dn1 downstream\n").unwrap();
    let control = lab.path("important.txt");
    std::fs::write(&control, "keep me\n").unwrap();
    let child = lab
        .spawn(
            &rtr,
            binary(),
            &[
                "-d",
                "--control",
                control.to_str().unwrap(),
                config.to_str().unwrap(),
            ],
            "mrproxy.log",
        )
        .unwrap();
    let exit = child.wait_timeout(Duration::from_secs(20)).unwrap();
    let log = child.log().unwrap_or_default();
    assert!(
        exit.is_some_and(|s| !s.success()),
        "not a failed start: {exit:?}\n{log}"
    );
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {log}");
    assert!(
        lines[0].contains(control.to_str().unwrap()) && lines[0].contains("is not a socket"),
        "{log}"
    );
    assert_eq!(std::fs::read_to_string(&control).unwrap(), "keep me\n");
}

/// The socket file has mode 0660 and belongs to the `--control-group` (a group of the test
/// machine's: `nogroup`, or `daemon`); its members may run `mrproxy status`.
#[test]
fn the_status_socket_is_mode_0660_and_belongs_to_the_control_group() {
    if !Lab::require_root() {
        return;
    }
    let (name, gid) = ["nogroup", "daemon"]
        .into_iter()
        .find_map(|n| {
            nix::unistd::Group::from_name(n)
                .ok()
                .flatten()
                .map(|g| (n, g.gid.as_raw()))
        })
        .expect("a group nogroup or daemon");
    let t = Basic::new("ctlgroup");
    let control = t.lab.path("mrproxy.sock");
    let proxy = Proxy::start_with(
        &t.lab,
        &t.rtr,
        &Basic::config(""),
        "mrproxy",
        &[],
        control,
        &["--control-group", name],
    );
    let m = std::fs::metadata(&proxy.control).unwrap();
    assert!(m.file_type().is_socket(), "{m:?}");
    assert_eq!(
        (m.mode() & 0o7777, m.gid()),
        (0o660, gid),
        "mode {:o}, gid {} (want 0660, {name} = {gid})",
        m.mode() & 0o7777,
        m.gid()
    );
    assert_eq!(proxy.stop(), Some(0));
    assert!(
        std::fs::symlink_metadata(&proxy.control).is_err(),
        "socket file left after a clean exit"
    );
}
