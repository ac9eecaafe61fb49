//! End to end: a hostile host on a downstream LAN, next to a real viewer, against the real
//! daemon. Forged general queries (from 0.0.0.0/8 and from off-link addresses, with the largest
//! QRV and QQIC), one host reporting 5 000 groups, one host sending to 20 000 (S,G) so that the
//! kernel raises an upcall for each, and (IPv6) MLDv2 reports from 5 000 spoofed link-local
//! sources. Each test checks that the viewer keeps (or gets) its stream, that the daemon's
//! tables and the kernel's stay within their bounds, and that the status counts the rejections.
//!
//! The floods are bounded in count and in time; the figures they produce (rates, entries,
//! resident memory, delays) are printed, visible with `--nocapture`.

mod common;
use common::*;
use mrproxy_wire::RecordType;
use netlab::{Injector, Lab, Netns, Receiver, Snooping, Source, SourceSpec};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(20);
/// The viewers' UDP port (every stream here uses it).
const PORT: u16 = 5000;
/// The stream period: one datagram every 20 ms (50 a second).
const PERIOD: Duration = Duration::from_millis(20);
/// Longest silence a viewer may see while its stream flows every [`PERIOD`].
const MAX_SILENCE: Duration = Duration::from_secs(1);
/// The daemon's defaults (mrproxy.conf(5)): forwarding entries per input interface, and
/// groups per reporting host.
const MAXROUTES: usize = 1024;
const MAXGROUPSPERHOST: usize = 256;
/// The kernel keeps an unresolved (S,G) entry (the first packets, waiting for the daemon) for
/// 10 s (net/ipv4/ipmr.c); the daemon cannot remove one except by installing the entry. A flood
/// therefore leaves up to 10 s worth of them behind, which must then drain within this time.
const UNRESOLVED_DRAIN: Duration = Duration::from_secs(15);
/// Resident memory the daemon must stay below under any of these floods.
const RSS_LIMIT_KIB: u64 = 64 * 1024;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A bridged LAN: a switch namespace `sw<rtr_if>` with bridge br0 (snooping off: every frame
/// reaches every port), the router's `rtr_if` as `<net>.1/24`, and each (host, n) on its own
/// port with `e0` as `<net>.n/24` and its default route through the router.
fn bridged_lan(lab: &Lab, rtr: &Netns, rtr_if: &str, net: &str, hosts: &[(&Netns, u8)]) -> Netns {
    let sw = lab.ns(&format!("sw{rtr_if}")).unwrap();
    lab.bridge(&sw, "br0", Snooping::Off).unwrap();
    lab.veth((rtr, rtr_if), (&sw, "rp")).unwrap();
    lab.enslave(&sw, "rp", "br0").unwrap();
    rtr.add_addr(rtr_if, &format!("{net}.1/24")).unwrap();
    for (i, (host, n)) in hosts.iter().enumerate() {
        let port = format!("p{i}");
        lab.veth((&sw, &port), (host, "e0")).unwrap();
        lab.enslave(&sw, &port, "br0").unwrap();
        host.add_addr("e0", &format!("{net}.{n}/24")).unwrap();
        host.add_route(&format!("default via {net}.1")).unwrap();
    }
    sw
}

/// `up0` upstream (the source's network as altnet), each of `downstreams` downstream, with
/// `extra` lines before the blocks (global keywords) and `dn_extra` inside each downstream block.
fn config(extra: &str, downstreams: &[&str], dn_extra: &str) -> String {
    let mut text =
        format!("{extra}\nphyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n");
    for dn in downstreams {
        text.push_str(&format!(
            "phyint {dn} downstream ratelimit 0 threshold 1 {dn_extra}\n"
        ));
    }
    text
}

/// A stream from the source namespace to `group`, one datagram every [`PERIOD`] for `seconds`.
fn stream(src: &Netns, group: &str, seconds: u64) -> Source {
    let count = seconds * 1000 / u64::try_from(PERIOD.as_millis()).unwrap();
    let spec = SourceSpec::new("s0", ip(group), PORT)
        .interval(PERIOD)
        .count(count);
    Source::start(src, spec).expect("source")
}

/// The longest interval within [`from`, `to`] in which `rx` received nothing (the edges count:
/// a stream that stopped before `to` shows as a silence up to `to`).
fn max_silence(rx: &Receiver, from: Instant, to: Instant) -> Duration {
    let mut previous = from;
    let mut longest = Duration::ZERO;
    for d in rx.datagrams() {
        if d.rx < from || d.rx > to {
            continue;
        }
        longest = longest.max(d.rx.saturating_duration_since(previous));
        previous = d.rx;
    }
    longest.max(to.saturating_duration_since(previous))
}

/// Datagrams `rx` received within [`from`, `to`].
fn received_between(rx: &Receiver, from: Instant, to: Instant) -> usize {
    rx.datagrams()
        .iter()
        .filter(|d| d.rx >= from && d.rx <= to)
        .count()
}

/// The status's rejection counter for `reason` (0 when absent).
fn rejected(status: &Value, reason: &str) -> u64 {
    status["rejected"][reason].as_u64().unwrap_or(0)
}

/// The daemon's resident memory in KiB (VmRSS of /proc/PID/status).
fn rss_kib(proxy: &Proxy) -> u64 {
    proc_status_field(proxy.child.pid(), "VmRSS:")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The groups of a downstream port (`family` "V4"/"V6") in a status snapshot, as JSON objects.
fn port_group_entries(status: &Value, ifname: &str, family: &str) -> Vec<Value> {
    port_status(status, ifname, family)
        .and_then(|p| p["groups"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// Whether a group entry of the status lists `host` among the hosts that want it.
fn group_has_host(group: &Value, host: IpAddr) -> bool {
    group["hosts"].as_array().is_some_and(|hosts| {
        hosts
            .iter()
            .any(|h| h.as_str().and_then(|s| s.parse().ok()) == Some(host))
    })
}

// ---------------------------------------------------------------------------------------------
// 1. Forged queries.

/// An attacker on the viewer's LAN (203.0.113.0/24, the router at .1) sends five rounds of
/// `forged` IGMPv3 general queries, 200 ms apart: (source, the rejection reason expected, if
/// one is), each with Max Resp Code 100 (10 s), QRV 7 and QQIC 255 (31 744 s), so that a
/// believed one would keep the router silent for days (Other Querier Present Interval = QRV ×
/// QQI + QRI / 2, RFC 9776 §8.5). The viewer's stream must go on without a gap, the router must
/// stay the querier, and the status must count each query under its reason. `extra` goes into
/// the configuration before the blocks.
fn forged_queries_do_not_cut_a_viewer(tag: &str, extra: &str, forged: &[(&str, Option<&str>)]) {
    let lab = Lab::new(tag).unwrap();
    let [src, rtr, viewer, attacker] =
        ["src", "rtr", "viewer", "attacker"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    let _sw = bridged_lan(
        &lab,
        &rtr,
        "dn1",
        "203.0.113",
        &[(&viewer, 2), (&attacker, 66)],
    );
    // Reverse-path filtering would let the kernel drop some forged sources before any socket
    // sees them; off, every forged query reaches the daemon, which must judge it itself.
    for scope in ["all", "default", "dn1"] {
        rtr.sysctl(&format!("net/ipv4/conf/{scope}/rp_filter"), "0")
            .unwrap();
    }
    let proxy = Proxy::start(&lab, &rtr, &config(extra, &["dn1"], ""));
    let _source = stream(&src, GROUP, 60);
    let rx = Receiver::join(&viewer, "e0", ip(GROUP), PORT).unwrap();
    assert!(
        rx.wait_for_packets(25, WAIT),
        "the viewer gets no stream before the attack:\n{}",
        proxy.log()
    );
    let querier =
        |status: &Value| port_status(status, "dn1", "V4").and_then(|p| p["querier"].as_bool());
    let before = proxy.status();
    assert_eq!(querier(&before), Some(true), "not the querier: {before:#}");

    let injector = Injector::open(&attacker, "e0").unwrap();
    let rounds = 5;
    let attack_start = Instant::now();
    for _ in 0..rounds {
        for (from, _) in forged {
            injector
                .send_ipv4(&igmpv3_general_query(v4(from), 100, 7, 255))
                .unwrap();
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let attack_end = Instant::now();
    // A believed query acts at once; watch three more seconds.
    std::thread::sleep(Duration::from_secs(3));
    let watched_until = Instant::now();

    let after = proxy.status();
    let silence = max_silence(&rx, attack_start, watched_until);
    let got = received_between(&rx, attack_start, watched_until);
    let delta = |reason| rejected(&after, reason) - rejected(&before, reason);
    let mut reasons: Vec<&str> = forged.iter().filter_map(|(_, r)| *r).collect();
    reasons.sort_unstable();
    reasons.dedup();
    let expected = |reason| {
        u64::try_from(forged.iter().filter(|(_, r)| *r == Some(reason)).count()).unwrap() * rounds
    };
    let counted: Vec<String> = after["rejected"]
        .as_object()
        .map(|m| {
            m.keys()
                .map(|r| format!("{r} +{}", delta(r)))
                .filter(|c| !c.ends_with(" +0"))
                .collect()
        })
        .unwrap_or_default();
    println!(
        "{tag}: {} forged queries sent in {:.2} s; viewer received {got} datagrams in {:.2} s, \
         longest silence {} ms; rejected {}; querier {:?} (address {})",
        forged.len() * usize::try_from(rounds).unwrap(),
        attack_end.duration_since(attack_start).as_secs_f64(),
        watched_until.duration_since(attack_start).as_secs_f64(),
        silence.as_millis(),
        counted.join(", "),
        querier(&after),
        port_status(&after, "dn1", "V4")
            .map(|p| p["querier_address"].clone())
            .unwrap_or_default(),
    );
    assert!(
        silence <= MAX_SILENCE,
        "the viewer's stream stopped for {silence:?} during the forged queries:\n{}",
        proxy.log()
    );
    assert_eq!(
        querier(&after),
        Some(true),
        "a forged query took the querier role: {after:#}"
    );
    assert_eq!(
        route_oifs(&rtr, SOURCE, GROUP),
        Some(vec!["dn1".to_owned()]),
        "forwarding entry: {:?}",
        kernel_oifs(&rtr, GROUP)
    );
    for reason in reasons {
        assert!(
            delta(reason) >= expected(reason),
            "{reason}: {} counted for {} forged queries: {:#}",
            delta(reason),
            expected(reason),
            after["rejected"]
        );
    }
}

/// Forged queries that would win the election if believed (their sources are below the
/// router's 203.0.113.1): from 0.0.0.1 (0.0.0.0/8 is never a router), from 198.51.100.9 (the
/// router's upstream network, not this link's) and from 198.18.0.1 (nobody's network here). A
/// believed query would stop forwarding onto the LAN at once (RFC 4605 §4.2: only the querier
/// forwards), as e2e_robust's d23 test shows with a real lower-addressed router.
#[test]
fn a_forged_query_from_a_host_does_not_cut_a_viewer() {
    if !Lab::require_root() {
        return;
    }
    forged_queries_do_not_cut_a_viewer(
        "forgedquery",
        "",
        &[
            ("0.0.0.1", Some("BadSource")),
            ("198.51.100.9", Some("OffLinkQuerier")),
            ("198.18.0.1", Some("OffLinkQuerier")),
        ],
    );
}

/// The one on-link source below a router at .1: the LAN's network address, 203.0.113.0, which
/// no host or router of a /24 may use (RFC 1122 §3.2.1.3: host number 0). (Which reason a
/// rejection would be counted under is left open.)
#[test]
fn a_forged_query_from_the_lans_network_address_does_not_cut_a_viewer() {
    if !Lab::require_root() {
        return;
    }
    forged_queries_do_not_cut_a_viewer("forgednet", "", &[("203.0.113.0", None)]);
}

/// `querier always` (mrproxy.conf(5): never yield the querier role, as igmpproxy) protects a LAN
/// from any forged query, also one from an on-link source that the source checks must believe.
#[test]
fn with_querier_always_a_forged_on_link_query_does_not_cut_a_viewer() {
    if !Lab::require_root() {
        return;
    }
    forged_queries_do_not_cut_a_viewer("forgedalways", "querier always", &[("203.0.113.0", None)]);
}

// ---------------------------------------------------------------------------------------------
// 2. One host's groups.

/// An attacker reports 5 000 distinct groups (IGMPv3, 100 records a report, 50 reports in about
/// half a second). The daemon tracks at most `maxgroupsperhost` (256) of them for that host and
/// counts the others as "Limit" rejections; a real viewer on the same LAN then joins another
/// group, whose stream flows from upstream, and gets it.
#[test]
fn one_hosts_5000_groups_do_not_lock_another_host_out() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("groupflood").unwrap();
    let [src, rtr, viewer, attacker] =
        ["src", "rtr", "viewer", "attacker"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    let _sw = bridged_lan(
        &lab,
        &rtr,
        "dn1",
        "192.0.2",
        &[(&viewer, 2), (&attacker, 66)],
    );
    let (viewer_ip, attacker_ip) = (ip("192.0.2.2"), v4("192.0.2.66"));
    let proxy = Proxy::start(&lab, &rtr, &config("", &["dn1"], ""));
    let _source = stream(&src, GROUP, 60);
    let rss_before = rss_kib(&proxy);

    let groups = 5000u32;
    let per_report = 100u32;
    let base = u32::from(v4("239.20.0.0"));
    let injector = Injector::open(&attacker, "e0").unwrap();
    let flood_start = Instant::now();
    for chunk in 0..groups / per_report {
        let records = (0..per_report)
            .map(|i| mrproxy_wire::igmp::GroupRecord {
                record_type: RecordType::ModeIsExclude,
                group: Ipv4Addr::from(base + chunk * per_report + i),
                sources: Vec::new(),
                aux_data: Vec::new(),
            })
            .collect();
        let report = mrproxy_wire::igmp::Repr::ReportV3 { records }.to_bytes();
        injector
            .send_ipv4(&netlab::packet::igmp_packet(
                attacker_ip,
                mrproxy_wire::igmp::ALL_IGMPV3_ROUTERS,
                &report,
            ))
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let flood_took = flood_start.elapsed();
    let over = u64::from(groups) - u64::try_from(MAXGROUPSPERHOST).unwrap();
    // Every record past the host's 256th group is one "Limit" rejection.
    let settled = netlab::wait_until(Duration::from_secs(20), POLL, || {
        proxy
            .try_status()
            .is_some_and(|s| rejected(&s, "Limit") >= over)
    });
    let status = proxy.status();
    let limit_rejections = rejected(&status, "Limit");

    let joined_at = Instant::now();
    let rx = Receiver::join(&viewer, "e0", ip(GROUP), PORT).unwrap();
    let got_stream = rx.wait_for_packets(25, WAIT);
    let join_to_first = rx
        .datagrams()
        .first()
        .map(|d| d.rx.saturating_duration_since(joined_at));
    let status = proxy.status();
    let entries = port_group_entries(&status, "dn1", "V4");
    let of_attacker = entries
        .iter()
        .filter(|g| group_has_host(g, IpAddr::V4(attacker_ip)))
        .count();
    let of_viewer = entries
        .iter()
        .filter(|g| group_has_host(g, viewer_ip))
        .count();
    let upstream_joins = host_groups(&rtr, "up0").len();
    println!(
        "group flood: {groups} groups in {} reports sent in {:.2} s (settled: {settled}); dn1 \
         tracks {} groups, {of_attacker} of the attacker, {of_viewer} of the viewer; upstream \
         memberships {upstream_joins}; rejected Limit {limit_rejections}; viewer join to first \
         datagram {:?} ms; RSS {rss_before} -> {} KiB",
        groups / per_report,
        flood_took.as_secs_f64(),
        entries.len(),
        join_to_first.map(|d| d.as_millis()),
        rss_kib(&proxy),
    );
    assert!(
        got_stream,
        "the viewer got {} datagrams of {GROUP} after the group flood:\n{}",
        rx.count(),
        proxy.log()
    );
    assert!(
        entries
            .iter()
            .any(|g| g["group"] == GROUP && group_has_host(g, viewer_ip)),
        "the viewer's group is not tracked: {entries:?}"
    );
    assert!(
        of_attacker <= MAXGROUPSPERHOST,
        "{of_attacker} groups tracked for one host"
    );
    assert!(
        entries.len() <= MAXGROUPSPERHOST + of_viewer,
        "{} groups on dn1 (attacker {of_attacker}, viewer {of_viewer})",
        entries.len()
    );
    assert!(
        limit_rejections > 0,
        "no Limit rejection counted: {:#}",
        status["rejected"]
    );
    assert!(rss_kib(&proxy) < RSS_LIMIT_KIB);
}

// ---------------------------------------------------------------------------------------------
// 3. An (S,G) flood.

/// What the flood sender did.
struct FloodReport {
    sent: u64,
    errors: u64,
    took: Duration,
}

/// Sends one UDP datagram to each of `count` groups from 239.100.0.0 on, from the attacker's
/// own address with TTL 8 (the kernel considers only TTL > 1 for forwarding, so each new (S,G)
/// raises an upcall), `per_tick` datagrams every 10 ms; stops at `deadline` whatever is left.
fn udp_flood(attacker: &Netns, count: u32, per_tick: u32, deadline: Duration) -> FloodReport {
    let socket = attacker
        .run(|| {
            let socket = UdpSocket::bind("192.0.2.66:0")?;
            socket.set_multicast_ttl_v4(8)?;
            socket.set_multicast_loop_v4(false)?;
            Ok::<_, std::io::Error>(socket)
        })
        .unwrap()
        .unwrap();
    let base = u32::from(v4("239.100.0.0"));
    let payload = [0x5au8; 32];
    let start = Instant::now();
    let (mut sent, mut errors) = (0, 0);
    let mut i = 0;
    'ticks: for tick in 1u32.. {
        for _ in 0..per_tick {
            if i == count || start.elapsed() >= deadline {
                break 'ticks;
            }
            let to = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(base + i)), PORT);
            match socket.send_to(&payload, to) {
                Ok(_) => sent += 1,
                Err(_) => errors += 1,
            }
            i += 1;
        }
        let next = start + Duration::from_millis(10) * tick;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    FloodReport {
        sent,
        errors,
        took: start.elapsed(),
    }
}

/// One look at the forwarding tables during the flood.
#[derive(Clone, Copy, Debug, Default)]
struct TableSample {
    /// Resolved kernel entries whose input is the attacker's LAN.
    kernel_from_attacker: usize,
    /// Resolved kernel entries with any other input.
    kernel_other: usize,
    /// The kernel's unresolved (queued) entries.
    kernel_unresolved: usize,
}

impl TableSample {
    fn max(self, other: TableSample) -> TableSample {
        TableSample {
            kernel_from_attacker: self.kernel_from_attacker.max(other.kernel_from_attacker),
            kernel_other: self.kernel_other.max(other.kernel_other),
            kernel_unresolved: self.kernel_unresolved.max(other.kernel_unresolved),
        }
    }
}

/// The router's MFC (`/proc/net/ip_mr_cache`) by kind. The file is read a page at a time while
/// the daemon may replace entries, so under churn a reading may count an entry that was already
/// gone when a newer one was read: a bound can only be checked on [`exact_sample`].
fn sample_kernel(rtr: &Netns, attacker_vif: u32) -> TableSample {
    let mut sample = TableSample::default();
    for entry in netlab::mfc_v4(rtr).unwrap_or_default() {
        match entry.iif {
            None => sample.kernel_unresolved += 1,
            Some(vif) if vif == attacker_vif => sample.kernel_from_attacker += 1,
            Some(_) => sample.kernel_other += 1,
        }
    }
    sample
}

/// A consistent reading of the resolved entries: only the daemon adds and removes them, so the
/// daemon is stopped (SIGSTOP, until the kernel reports it stopped) for the reading and then
/// continued. It misses at most the reading's time of upcalls (tens of milliseconds).
fn exact_sample(proxy: &Proxy, rtr: &Netns, attacker_vif: u32) -> TableSample {
    let pid = proxy.child.pid();
    proxy.child.signal(netlab::Signal::SIGSTOP).unwrap();
    let stopped = netlab::wait_until(Duration::from_secs(2), Duration::from_millis(1), || {
        proc_status_field(pid, "State:").starts_with('T')
    });
    let sample = sample_kernel(rtr, attacker_vif);
    proxy.child.signal(netlab::Signal::SIGCONT).unwrap();
    assert!(stopped, "the daemon did not stop for a reading");
    sample
}

/// src ─ rtr; LAN A: dn1 ─ attacker (192.0.2.66); LAN B: dn2 ─ bridge ─ viewer1 (203.0.113.2),
/// viewer2 (203.0.113.3). Two upstream streams flow before the attack; viewer1 watches the
/// first and has also joined a third group whose source is silent. The attacker sends to
/// 20 000 distinct (S,G) at about 1 000 a second; two seconds in, viewer2 joins the second
/// stream; four seconds in, the third source starts (its entry needs an upcall, from up0, in
/// the middle of the flood's). `dn_extra` is added to the downstream blocks.
fn flood_from_one_lan(tag: &str, dn_extra: &str) -> (FloodSummary, Lab) {
    let lab = Lab::new(tag).unwrap();
    let [src, rtr, attacker, viewer1, viewer2] =
        ["src", "rtr", "attacker", "viewer1", "viewer2"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    lab.veth((&rtr, "dn1"), (&attacker, "e0")).unwrap();
    rtr.add_addr("dn1", "192.0.2.1/24").unwrap();
    attacker.add_addr("e0", "192.0.2.66/24").unwrap();
    attacker.add_route("default via 192.0.2.1").unwrap();
    attacker.add_route("224.0.0.0/4 dev e0").unwrap();
    let _sw = bridged_lan(
        &lab,
        &rtr,
        "dn2",
        "203.0.113",
        &[(&viewer1, 2), (&viewer2, 3)],
    );
    let proxy = Proxy::start(&lab, &rtr, &config("", &["dn1", "dn2"], dn_extra));
    let (second, third) = ("239.1.2.4", "239.1.2.5");
    let _streams = [stream(&src, GROUP, 90), stream(&src, second, 90)];
    let rx1 = Receiver::join(&viewer1, "e0", ip(GROUP), PORT).unwrap();
    let rx3 = Receiver::join(&viewer1, "e0", ip(third), PORT).unwrap();
    assert!(
        rx1.wait_for_packets(25, WAIT),
        "viewer1 gets no stream before the attack:\n{}",
        proxy.log()
    );
    // "Already flowing": the daemon has installed the second stream's entry (no outputs yet).
    let installed = netlab::wait_until(WAIT, POLL, || {
        route_oifs(&rtr, SOURCE, second) == Some(vec![])
    });
    assert!(
        installed,
        "no entry for the second stream: {:?}\n{}",
        kernel_oifs(&rtr, second),
        proxy.log()
    );
    let attacker_vif = netlab::vifs_v4(&rtr)
        .unwrap()
        .iter()
        .find(|v| v.name == "dn1")
        .expect("dn1 has a VIF")
        .index;
    let dn1_ifindex = u64::from(rtr.ifindex("dn1").unwrap());
    let rss_before = rss_kib(&proxy);
    let status_before = proxy.status();

    let flood_ns = attacker.clone();
    let flood_start = Instant::now();
    let flood =
        std::thread::spawn(move || udp_flood(&flood_ns, 20_000, 10, Duration::from_secs(25)));

    let mut max_read = TableSample::default();
    let mut max = TableSample::default();
    let mut exact_samples = 0;
    let mut max_status_routes = (0usize, 0usize); // (from dn1, other)
    let mut max_rss = rss_before;
    let mut rx2: Option<(Instant, Receiver)> = None;
    let mut third_source: Option<(Instant, Source)> = None;
    let mut last_status = Instant::now() - Duration::from_secs(1);
    let mut flood_done_at: Option<Instant> = None;
    // Sample while the flood runs and for 3 s after it.
    while flood_done_at.is_none_or(|t| t.elapsed() < Duration::from_secs(3)) {
        if flood_done_at.is_none() && flood.is_finished() {
            flood_done_at = Some(Instant::now());
        }
        if rx2.is_none() && flood_start.elapsed() >= Duration::from_secs(2) {
            let joined_at = Instant::now();
            rx2 = Some((
                joined_at,
                Receiver::join(&viewer2, "e0", ip(second), PORT).unwrap(),
            ));
        }
        if third_source.is_none() && flood_start.elapsed() >= Duration::from_secs(4) {
            third_source = Some((Instant::now(), stream(&src, third, 60)));
        }
        max_read = max_read.max(sample_kernel(&rtr, attacker_vif));
        if last_status.elapsed() >= Duration::from_secs(1) {
            last_status = Instant::now();
            max = max.max(exact_sample(&proxy, &rtr, attacker_vif));
            exact_samples += 1;
            if let Some(status) = proxy.try_status() {
                let routes = status["routes"].as_array().cloned().unwrap_or_default();
                let from_dn1 = routes
                    .iter()
                    .filter(|r| r["iif"].as_u64() == Some(dn1_ifindex))
                    .count();
                max_status_routes.0 = max_status_routes.0.max(from_dn1);
                max_status_routes.1 = max_status_routes.1.max(routes.len() - from_dn1);
            }
            max_rss = max_rss.max(rss_kib(&proxy));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let report = flood.join().unwrap();
    let ended = Instant::now();
    let final_sample = exact_sample(&proxy, &rtr, attacker_vif);
    let status = proxy.status();
    let (joined_at, rx2) = rx2.expect("viewer2 joined");
    let join_to_first = rx2
        .datagrams()
        .first()
        .map(|d| d.rx.saturating_duration_since(joined_at));
    let (started_at, _third_source) = third_source.expect("third source started");
    let start_to_first = rx3
        .datagrams()
        .first()
        .map(|d| d.rx.saturating_duration_since(started_at));
    // The kernel's unresolved entries expire 10 s after their first packet.
    let flood_done_at = flood_done_at.expect("the flood ended");
    let drained = netlab::wait_until(UNRESOLVED_DRAIN, Duration::from_millis(250), || {
        sample_kernel(&rtr, attacker_vif).kernel_unresolved == 0
    });
    let drained_after = drained.then(|| flood_done_at.elapsed());
    let silence1 = max_silence(&rx1, flood_start, ended);
    max_rss = max_rss.max(rss_kib(&proxy));
    let delta = |reason| rejected(&status, reason) - rejected(&status_before, reason);
    let summary = FloodSummary {
        sent: report.sent,
        errors: report.errors,
        took: report.took,
        max,
        exact_samples,
        max_read,
        final_sample,
        max_status_routes,
        final_status_routes: status["routes"].as_array().map_or(0, Vec::len),
        rss_before,
        max_rss,
        join_to_first,
        viewer2_count: rx2.count(),
        start_to_first,
        drained_after,
        silence1,
        upcall_rate_rejections: delta("UpcallRate"),
        route_limit_rejections: delta("RouteLimit"),
        log: proxy.log(),
    };
    println!("{tag}: {summary}");
    (summary, lab)
}

struct FloodSummary {
    sent: u64,
    errors: u64,
    took: Duration,
    /// Largest of the consistent readings ([`exact_sample`]), one a second.
    max: TableSample,
    exact_samples: usize,
    /// Largest of the plain readings, five a second (may over-count under churn).
    max_read: TableSample,
    final_sample: TableSample,
    max_status_routes: (usize, usize),
    final_status_routes: usize,
    rss_before: u64,
    max_rss: u64,
    join_to_first: Option<Duration>,
    viewer2_count: usize,
    start_to_first: Option<Duration>,
    drained_after: Option<Duration>,
    silence1: Duration,
    upcall_rate_rejections: u64,
    route_limit_rejections: u64,
    log: String,
}

impl std::fmt::Display for FloodSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.took.as_secs_f64();
        let rate = self.sent as f64 / secs.max(0.001);
        write!(
            f,
            "flood of {} datagrams to distinct (S,G) ({} send errors) in {secs:.2} s = {rate:.0}/s; \
             kernel entries max ({} readings with the daemon stopped): {} from the attacker's LAN, \
             {} other, {} unresolved; plain readings max {} / {} / {}; 3 s after the flood: \
             {} / {} / {}; status routes max {} from dn1, {} other, {} at the end; rejected \
             UpcallRate +{}, RouteLimit +{}; RSS {} KiB before, {} KiB max; viewer2 join to first \
             datagram {:?} ms ({} datagrams); third source start to viewer1's first datagram {:?} \
             ms; viewer1 longest silence {} ms; unresolved entries gone {:?} ms after the flood",
            self.sent,
            self.errors,
            self.exact_samples,
            self.max.kernel_from_attacker,
            self.max.kernel_other,
            self.max.kernel_unresolved,
            self.max_read.kernel_from_attacker,
            self.max_read.kernel_other,
            self.max_read.kernel_unresolved,
            self.final_sample.kernel_from_attacker,
            self.final_sample.kernel_other,
            self.final_sample.kernel_unresolved,
            self.max_status_routes.0,
            self.max_status_routes.1,
            self.final_status_routes,
            self.upcall_rate_rejections,
            self.route_limit_rejections,
            self.rss_before,
            self.max_rss,
            self.join_to_first.map(|d| d.as_millis()),
            self.viewer2_count,
            self.start_to_first.map(|d| d.as_millis()),
            self.silence1.as_millis(),
            self.drained_after.map(|d| d.as_millis()),
        )
    }
}

/// The assertions common to both flood tests.
fn assert_flood_contained(s: &FloodSummary) {
    // The three upstream streams are the only legitimate entries.
    let legit = 3;
    assert!(
        s.join_to_first.is_some_and(|d| d <= Duration::from_secs(2)),
        "viewer2's stream came {:?} after its join (during the flood)\n{}",
        s.join_to_first,
        s.log
    );
    assert!(
        s.start_to_first
            .is_some_and(|d| d <= Duration::from_secs(2)),
        "a new upstream source's stream came {:?} after it started (during the flood)\n{}",
        s.start_to_first,
        s.log
    );
    assert!(
        s.silence1 <= MAX_SILENCE,
        "viewer1's stream stopped for {:?} during the flood",
        s.silence1
    );
    assert!(
        s.max.kernel_from_attacker <= MAXROUTES && s.max.kernel_other <= legit,
        "kernel entries: {} from the attacker's LAN (maxroutes {MAXROUTES}), {} others",
        s.max.kernel_from_attacker,
        s.max.kernel_other
    );
    assert!(
        s.drained_after.is_some(),
        "the kernel's unresolved entries ({} at most, {} 3 s after the flood) were not gone \
         {UNRESOLVED_DRAIN:?} later",
        s.max.max(s.max_read).kernel_unresolved,
        s.final_sample.kernel_unresolved,
    );
    assert!(
        s.max_status_routes.0 <= MAXROUTES && s.max_status_routes.1 <= legit,
        "daemon routes: {} from dn1, {} others",
        s.max_status_routes.0,
        s.max_status_routes.1
    );
    assert!(
        s.max_rss < RSS_LIMIT_KIB,
        "resident memory {} KiB during the flood",
        s.max_rss
    );
}

/// With the defaults (`upcallrate 100`, `maxroutes 1024`) a host on LAN A sends to 20 000
/// (S,G) in 20 s. The upcall rate lets about 2 100 of them through, so LAN A's entries reach
/// `maxroutes` and the oldest are replaced. On LAN B, viewer1 keeps its stream, viewer2 joining
/// a stream that already flows gets it within 2 s, and a source starting upstream in the middle
/// of the flood reaches viewer1 within 2 s. The kernel's forwarding entries and the daemon's
/// routes stay within `maxroutes` for LAN A plus the three legitimate ones; the kernel's
/// unresolved entries (upcalls the rate turned away, which the kernel keeps 10 s) are gone
/// within 15 s of the flood's end; the daemon stays below 64 MiB.
#[test]
fn an_sg_flood_from_one_lan_does_not_starve_another() {
    if !Lab::require_root() {
        return;
    }
    let (summary, _lab) = flood_from_one_lan("sgflood", "");
    assert_flood_contained(&summary);
    assert_eq!(
        summary.max.kernel_from_attacker, MAXROUTES,
        "the flood never filled LAN A's {MAXROUTES} entries (so the bound was not exercised)"
    );
    assert!(
        summary.upcall_rate_rejections > 0,
        "20 000 (S,G) passed the upcall rate"
    );
}

/// The same flood with LAN A's upcall rate raised far above the flood's (`upcallrate 100000`):
/// the daemon takes every upcall, so it installs and replaces LAN A's entries at the flood's
/// rate (1 000 a second) with only `maxroutes` to hold the table; the same bounds hold and LAN B
/// is served as before.
#[test]
fn an_sg_flood_past_maxroutes_replaces_only_that_lans_entries() {
    if !Lab::require_root() {
        return;
    }
    let (summary, _lab) = flood_from_one_lan("sgfloodmax", "upcallrate 100000");
    assert_flood_contained(&summary);
    assert_eq!(
        summary.max.kernel_from_attacker, MAXROUTES,
        "the flood never filled LAN A's {MAXROUTES} entries (so the bound was not exercised)"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. IPv6: spoofed MLDv2 reporters.

const GROUP6: &str = "ff0e::1:3";
/// The daemon's default `maxhosts` (mrproxy.conf(5)): hosts tracked per group and link.
const MAXHOSTS: usize = 1024;

/// src (2001:db8:1::2) ─ rtr ─ dn1 ─ bridge ─ viewer (2001:db8:2::2), attacker; an IPv6
/// stream to [`GROUP6`] flows to the viewer (an MLDv2 kernel host).
struct MldLan {
    proxy: Proxy,
    rx: Receiver,
    attacker: Netns,
    _source: Source,
    _sw: Netns,
    lab: Lab,
}

fn mld_lan(tag: &str) -> MldLan {
    let lab = Lab::new(tag).unwrap();
    let [src, rtr, viewer, attacker] =
        ["src", "rtr", "viewer", "attacker"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    src.add_addr("s0", "2001:db8:1::2/64").unwrap();
    rtr.add_addr("up0", "2001:db8:1::1/64").unwrap();
    let sw = bridged_lan(
        &lab,
        &rtr,
        "dn1",
        "192.0.2",
        &[(&viewer, 2), (&attacker, 66)],
    );
    rtr.add_addr("dn1", "2001:db8:2::1/64").unwrap();
    viewer.add_addr("e0", "2001:db8:2::2/64").unwrap();
    attacker.add_addr("e0", "2001:db8:2::66/64").unwrap();
    let proxy = Proxy::start(&lab, &rtr, &config("", &["dn1"], ""));
    let spec = SourceSpec::new("s0", ip(GROUP6), PORT)
        .ttl(8)
        .interval(PERIOD)
        .count(90 * 50);
    let source = Source::start(&src, spec).unwrap();
    let rx = Receiver::join(&viewer, "e0", ip(GROUP6), PORT).unwrap();
    assert!(
        rx.wait_for_packets(25, Duration::from_secs(10)),
        "the IPv6 viewer gets no stream before the attack:\n{}",
        proxy.log()
    );
    MldLan {
        proxy,
        rx,
        attacker,
        _source: source,
        _sw: sw,
        lab,
    }
}

/// An MLDv2 report from `from` with one record of `record_type` for [`GROUP6`], no sources.
fn mld_report(from: Ipv6Addr, record_type: RecordType) -> Vec<u8> {
    let dst = mrproxy_wire::mld::ALL_MLDV2_ROUTERS;
    let icmp = mrproxy_wire::mld::Repr::ReportV2 {
        records: vec![mrproxy_wire::mld::AddressRecord {
            record_type,
            group: GROUP6.parse().unwrap(),
            sources: Vec::new(),
            aux_data: Vec::new(),
        }],
    }
    .to_bytes(&from, &dst);
    netlab::packet::mld_packet(from, dst, &icmp)
}

/// The `i`th spoofed source, fe80::a77:ac00:0:0 + i: link-local, as MLD requires, and nobody's.
fn spoofed_source(i: u32) -> Ipv6Addr {
    let hi = u16::try_from(i >> 16).unwrap();
    let lo = u16::try_from(i & 0xffff).unwrap();
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0x0a77, 0xac00, hi, lo)
}

/// Sends one report of `record_type` from each of `count` spoofed sources, 10 every 10 ms;
/// calls `every_1000` after each thousand.
fn spoof_reports(
    injector: &Injector,
    count: u32,
    record_type: RecordType,
    mut every_1000: impl FnMut(),
) {
    let start = Instant::now();
    for i in 0..count {
        injector
            .send_ipv6(&mld_report(spoofed_source(i), record_type))
            .unwrap();
        if i % 10 == 9 {
            let next = start + Duration::from_millis(10) * (i / 10 + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        if i % 1000 == 999 {
            every_1000();
        }
    }
}

/// The status entry of [`GROUP6`] on dn1, and how many hosts it lists.
fn group6_entry(status: &Value) -> (Option<Value>, usize) {
    let entry = port_group_entries(status, "dn1", "V6")
        .into_iter()
        .find(|g| g["group"].as_str().and_then(|s| s.parse().ok()) == Some(ip(GROUP6)));
    let hosts = entry
        .as_ref()
        .and_then(|g| g["hosts"].as_array().map(Vec::len))
        .unwrap_or(0);
    (entry, hosts)
}

/// An attacker on an IPv6 viewer's LAN sends MLDv2 reports for the viewer's group from 5 000
/// spoofed link-local sources: each joins (MODE_IS_EXCLUDE {}), then each leaves
/// (CHANGE_TO_INCLUDE {}), about 1 000 reports a second. Every leave starts last-listener
/// queries, which the real viewer answers: its stream goes on, the group stays, and the
/// daemon stays below 64 MiB.
#[test]
fn spoofed_mld_reporters_do_not_cut_an_ipv6_viewer() {
    if !Lab::require_root() {
        return;
    }
    let t = mld_lan("mldspoof");
    let proxy = &t.proxy;
    let rss_before = rss_kib(proxy);
    let spoofed = 5000u32;
    let injector = Injector::open(&t.attacker, "e0").unwrap();
    let mut max_rss = rss_before;
    let attack_start = Instant::now();
    spoof_reports(&injector, spoofed, RecordType::ModeIsExclude, || {
        max_rss = max_rss.max(rss_kib(proxy));
    });
    std::thread::sleep(Duration::from_millis(500));
    let (_, hosts_after_joins) = group6_entry(&proxy.status());
    spoof_reports(&injector, spoofed, RecordType::ChangeToInclude, || {
        max_rss = max_rss.max(rss_kib(proxy));
    });
    let attack_end = Instant::now();
    // The last leaves' queries (2 × 1 s) and the viewer's answers: watch 4 s more.
    std::thread::sleep(Duration::from_secs(4));
    let watched_until = Instant::now();
    max_rss = max_rss.max(rss_kib(proxy));
    let status = proxy.status();
    let silence = max_silence(&t.rx, attack_start, watched_until);
    let (entry, hosts_at_end) = group6_entry(&status);
    println!(
        "MLD spoofing: {} reports from {spoofed} sources in {:.2} s; viewer received {} \
         datagrams, longest silence {} ms; hosts listed for the group after the joins \
         {hosts_after_joins}, at the end {hosts_at_end} (group tracked: {}); RSS {rss_before} \
         KiB before, {max_rss} KiB max",
        2 * spoofed,
        attack_end.duration_since(attack_start).as_secs_f64(),
        received_between(&t.rx, attack_start, watched_until),
        silence.as_millis(),
        entry.is_some(),
    );
    assert!(
        silence <= MAX_SILENCE,
        "the IPv6 viewer's stream stopped for {silence:?} during the spoofed reports:\n{}",
        proxy.log()
    );
    assert!(entry.is_some(), "the viewer's group is gone: {status:#}");
    assert!(
        max_rss < RSS_LIMIT_KIB,
        "resident memory {max_rss} KiB during the spoofed reports"
    );
}

/// Host tracking is bounded by `maxhosts` (default 1024 per group and link; past it a report
/// still counts, its host as an untracked listener, mrproxy.conf(5)): 2 000 spoofed reporters
/// of one group leave at most 1 024 hosts listed for it. Without the bound, the link-local
/// sources an attacker can spoof (2^64) set no limit to the daemon's memory.
#[test]
fn spoofed_mld_reporters_are_tracked_only_up_to_maxhosts() {
    if !Lab::require_root() {
        return;
    }
    let t = mld_lan("mldmaxhosts");
    let spoofed = 2000u32;
    let injector = Injector::open(&t.attacker, "e0").unwrap();
    spoof_reports(&injector, spoofed, RecordType::ModeIsExclude, || {});
    let listed = netlab::wait_until(Duration::from_secs(5), POLL, || {
        t.proxy
            .try_status()
            .is_some_and(|s| group6_entry(&s).1 >= MAXHOSTS)
    });
    std::thread::sleep(Duration::from_millis(500));
    let (entry, hosts) = group6_entry(&t.proxy.status());
    // The reporters past the bound are folded into the anonymous listener, listed as `::`.
    let listed_hosts: Vec<&str> = entry
        .as_ref()
        .and_then(|g| g["hosts"].as_array())
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let anonymous = listed_hosts.iter().filter(|h| **h == "::").count();
    let tracked = listed_hosts.len() - anonymous;
    println!(
        "MLD maxhosts: {spoofed} spoofed reporters; hosts listed for the group {hosts}: {tracked} \
         tracked, {anonymous} anonymous (reached {MAXHOSTS}: {listed}); RSS {} KiB",
        rss_kib(&t.proxy)
    );
    assert!(entry.is_some(), "the group is gone");
    assert_eq!(listed_hosts.len(), hosts, "every listed host is an address");
    assert!(
        tracked <= MAXHOSTS,
        "{tracked} hosts tracked for one group (maxhosts {MAXHOSTS})\nlab: {}",
        t.lab.dir().display()
    );
    assert_eq!(
        anonymous, 1,
        "the {} reporters past maxhosts must still count, as the anonymous listener",
        spoofed as usize - tracked
    );
}
