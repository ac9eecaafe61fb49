//! Report burst: 1 000 simulated hosts on one LAN report 10 000 groups, one IGMPv3 report
//! (TO_EX {}, what a Linux host sends on a join) per group, as fast as the link takes them. All
//! groups are already streamed to the router's upstream (1 packet/s each). Measured: the time
//! until every group has its upstream membership (the proxy's report on the upstream wire) and
//! its forwarding state (a resolved kernel forwarding entry with the LAN as an output), the
//! rate of reports that implies, and the reports lost (groups that never got their
//! membership: each group is reported exactly once).
//!
//! The captures take IGMP only (filtered in the kernel) and the forwarding table is polled,
//! so that observing 10 000 streams costs the proxy under test no CPU.
//!
//! 1 000 hosts do not fit a TEST-NET /24, so this LAN is 198.18.0.0/15, the benchmarking range
//! of RFC 2544, which never leaves the benchmark's namespaces.

use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netlab::Netns;
use netlab::igmp::{Message, Record, TO_EX};
use netlab::payload::monotonic_ns;
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrIn, sendmmsg};
use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};

use crate::proxy::{Config, Kind, Running};
use crate::scenario::Ctx;
use crate::stream::Sweep;
use crate::topo::{Base, SOURCE, nth, upstream_groups};
use crate::wire::{Filter, Kind as WireKind, Wire};

const HOSTS: u32 = 1_000;
const FIRST_HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 0);
const FIRST_GROUP: Ipv4Addr = Ipv4Addr::new(239, 10, 0, 0);
const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
/// How long the streams flow before the burst, so both proxies have seen the sources.
const PREROLL: Duration = Duration::from_secs(3);
/// Figures still incomplete after this are reported as such.
const COMPLETION_TIMEOUT: Duration = Duration::from_secs(40);
/// Progress stopped: nothing new joined or forwarded for this long (five stream periods), so
/// the missing groups' reports were lost.
const STALL: Duration = Duration::from_secs(5);
/// How often the kernel's forwarding table is read (10 000 entries take a few ms to read).
const MFC_POLL: Duration = Duration::from_millis(100);

#[derive(Clone, Debug, Default, Serialize)]
pub struct Burst {
    pub groups: usize,
    pub hosts: u32,
    /// First report on the LAN wire → last one: the rate the generator and the link achieved.
    pub send_ms: f64,
    /// First report → the last group's first appearance in a proxy report on the upstream
    /// wire (the groups that got there; `complete` says whether all did).
    pub membership_ms: Option<f64>,
    /// First report → the last group's forwarding entry with the LAN as an output (the groups
    /// that got one; the table is read every 100 ms). A proxy that installs entries only when
    /// a packet asks for one (an upcall) also waits for the group's next datagram, up to 1 s.
    pub forwarding_ms: Option<f64>,
    /// Whether every group was joined upstream and forwarded within the timeout.
    pub complete: bool,
    /// Upstream memberships per second: the groups joined upstream over `membership_ms`. It
    /// includes the kernel's delay before it sends a membership change upstream (a few ms).
    pub reports_per_s: f64,
    /// Groups the router's kernel had joined upstream at the end (`/proc/net/igmp`). The
    /// simulated hosts never answer queries, so a proxy whose groups age out within the run
    /// shows fewer here (igmpproxy: two query rounds, 6–22 s each through its timer defect D1).
    pub joined_at_end: usize,
    /// Groups that never got their upstream membership (each group had one report).
    pub reports_lost: usize,
    /// Groups without a forwarding entry to the LAN at the end.
    pub groups_not_forwarded: usize,
    /// CPU time the proxy used from the burst until completion (or the timeout).
    pub cpu_ms: f64,
    /// Datagrams the streams sent per second, preroll included (nominally one per group per
    /// second; 0 without streams): shows whether the generator kept its rate.
    pub stream_rate: f64,
}

/// The burst twice: with every group's stream already reaching the upstream (the scenario
/// the targets assume, which also gives the forwarding state), and without any stream (the proxy
/// does nothing but process reports).
#[derive(Clone, Debug, Default, Serialize)]
pub struct BurstResult {
    pub with_streams: Burst,
    pub without_streams: Burst,
}

pub fn run(ctx: &Ctx, kind: Kind) -> Result<BurstResult, String> {
    Ok(BurstResult {
        with_streams: run_once(ctx, kind, true)?,
        without_streams: run_once(ctx, kind, false)?,
    })
}

/// First-seen times per group, filled by capture threads.
#[derive(Clone, Default)]
struct FirstSeen(Arc<Mutex<HashMap<Ipv4Addr, u64>>>);

impl FirstSeen {
    fn note(&self, group: Ipv4Addr, at_ns: u64) {
        self.lock().entry(group).or_insert(at_ns);
    }
    fn len(&self) -> usize {
        self.lock().len()
    }
    fn latest(&self) -> Option<u64> {
        self.lock().values().max().copied()
    }
    fn lock(&self) -> MutexGuard<'_, HashMap<Ipv4Addr, u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// First and last time something was seen.
#[derive(Clone, Default)]
struct Span(Arc<Mutex<Option<(u64, u64)>>>);

impl Span {
    fn note(&self, at_ns: u64) {
        let mut span = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (first, last) = span.get_or_insert((at_ns, at_ns));
        *first = (*first).min(at_ns);
        *last = (*last).max(at_ns);
    }
    fn get(&self) -> Option<(u64, u64)> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn run_once(ctx: &Ctx, kind: Kind, with_streams: bool) -> Result<Burst, String> {
    let groups_n = ctx.burst_groups;
    let base = Base::new("burst").map_err(|e| e.to_string())?;
    let gen_ns = base.lab.ns("gen").map_err(|e| e.to_string())?;
    let setup = || -> io::Result<()> {
        base.lan("dn1", "198.18.0.1/15", &gen_ns, "e0", "198.18.0.2/15")?;
        gen_ns.add_route("224.0.0.0/4 dev e0")?;
        if kind == Kind::Igmpproxy {
            Base::allow_memberships(&base.rtr, 2 * groups_n)?;
        }
        Ok(())
    };
    setup().map_err(|e| e.to_string())?;
    let config = Config {
        upstream: "up0".into(),
        downstreams: vec!["dn1".into()],
        // mrproxy bounds the groups tracked per interface (default 4096, a memory guard);
        // igmpproxy has no such bound.
        mrproxy_extra: vec![format!("maxgroups {}", 2 * groups_n)],
        ..Config::default()
    };
    let proxy = Running::start(&base.lab, &base.rtr, kind, &ctx.binaries, &config)?;
    let groups: Vec<Ipv4Addr> = (0..groups_n)
        .map(|i| nth(FIRST_GROUP, u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();

    let upstream = FirstSeen::default();
    let forwarded = FirstSeen::default();
    let reports = Span::default();
    let _up_wire = {
        let upstream = upstream.clone();
        Wire::start(&base.src, "s0", Filter::Igmp, move |e| {
            if let (false, WireKind::Igmp(Some(m))) = (e.outgoing, &e.kind) {
                m.joined_groups()
                    .into_iter()
                    .for_each(|g| upstream.note(g, e.at_ns));
            }
        })
        .map_err(|e| e.to_string())?
    };
    let _lan_wire = {
        let reports = reports.clone();
        Wire::start(&gen_ns, "e0", Filter::Igmp, move |e| {
            if e.outgoing {
                reports.note(e.at_ns);
            }
        })
        .map_err(|e| e.to_string())?
    };
    let lan_vif = vif_of(&base.rtr, "dn1")?;
    let streams_started = Instant::now();
    let streams = if with_streams {
        let sweep = Sweep::start(&base.src, SOURCE, groups.clone(), Duration::from_secs(1))
            .map_err(|e| e.to_string())?;
        std::thread::sleep(PREROLL);
        Some(sweep)
    } else {
        None
    };

    let packets = build_reports(&groups);
    let sender = open_injector(&gen_ns).map_err(|e| e.to_string())?;
    let cpu_before = proxy.usage()?.cpu;
    let t_send = monotonic_ns();
    inject(&sender, &packets).map_err(|e| format!("injecting reports: {e}"))?;
    // Without streams there is no forwarding state to wait for.
    let forwarding_needed = if with_streams { groups_n } else { 0 };
    let complete = || upstream.len() >= groups_n && forwarded.len() >= forwarding_needed;
    let mut progress = ((0, 0), Instant::now());
    let mut stop = || {
        if with_streams {
            note_forwarding(&base.rtr, lan_vif, &forwarded);
        }
        let now = (upstream.len(), forwarded.len());
        if now != progress.0 {
            progress = (now, Instant::now());
        }
        complete() || progress.1.elapsed() > STALL || ctx.check_interrupted().is_err()
    };
    netlab::wait_until(COMPLETION_TIMEOUT, MFC_POLL, &mut stop);
    let cpu = proxy.usage()?.cpu.saturating_sub(cpu_before);
    ctx.check_alive(&proxy)?;

    let (first, last) = reports.get().unwrap_or((t_send, t_send));
    let ms = |t: u64| t.saturating_sub(first) as f64 / 1e6;
    // The kernel's own table is the authority on membership; the capture gives the times.
    let joined = upstream_groups(&base.rtr, "up0").map_err(|e| e.to_string())?;
    let membership_ms = upstream.latest().map(ms);
    let reports_per_s = match membership_ms {
        Some(t) if t > 0.0 => upstream.len() as f64 / (t / 1e3),
        _ => 0.0,
    };
    Ok(Burst {
        groups: groups_n,
        hosts: HOSTS,
        send_ms: ms(last),
        membership_ms,
        forwarding_ms: forwarded.latest().map(ms),
        complete: complete(),
        reports_per_s,
        joined_at_end: joined,
        reports_lost: groups_n.saturating_sub(joined.max(upstream.len())),
        groups_not_forwarded: forwarding_needed.saturating_sub(forwarded.len()),
        cpu_ms: cpu.as_secs_f64() * 1e3,
        stream_rate: streams.map_or(0.0, |s| {
            s.sent() as f64 / streams_started.elapsed().as_secs_f64()
        }),
    })
}

/// The VIF number of `ifname` in the router's multicast table.
fn vif_of(rtr: &Netns, ifname: &str) -> Result<u32, String> {
    let vifs = netlab::vifs_v4(rtr).map_err(|e| e.to_string())?;
    vifs.iter()
        .find(|v| v.name == ifname)
        .map(|v| v.index)
        .ok_or_else(|| format!("{ifname} has no VIF"))
}

/// Notes, with the current time, every group whose forwarding entry now has `vif` as output.
fn note_forwarding(rtr: &Netns, vif: u32, forwarded: &FirstSeen) {
    let now = monotonic_ns();
    for entry in netlab::mfc_v4(rtr).unwrap_or_default() {
        if let std::net::IpAddr::V4(group) = entry.group
            && entry.is_resolved()
            && entry.oif_vifs().contains(&vif)
        {
            forwarded.note(group, now);
        }
    }
}

/// One IPv4 packet per group, from the hosts in turn (host n reports groups n, n + 1 000, …).
fn build_reports(groups: &[Ipv4Addr]) -> Vec<Vec<u8>> {
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let host = nth(FIRST_HOST, u32::try_from(i).unwrap_or(0) % HOSTS);
            // TO_EX({}): what a Linux host sends when an application joins (RFC 9776 §5.1).
            let record = Record {
                kind: TO_EX,
                group: *g,
                sources: Vec::new(),
            };
            Message::V3Report {
                records: vec![record],
            }
            .packet(host)
        })
        .collect()
}

/// A raw socket that sends complete IPv4 packets (`IPPROTO_RAW` implies `IP_HDRINCL`), so each
/// report carries its simulated host's source address; the kernel routes 224.0.0.22 out of the
/// LAN interface and fills in the header checksum.
fn open_injector(ns: &Netns) -> io::Result<Socket> {
    ns.run(|| {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(libc::IPPROTO_RAW)),
        )?;
        socket.set_multicast_loop_v4(false)?;
        socket.set_multicast_if_v4(&Ipv4Addr::new(198, 18, 0, 2))?;
        Ok(socket)
    })?
}

/// Packets handed to the kernel per `sendmmsg` call.
const SEND_BATCH: usize = 64;

/// Sends every packet as fast as the kernel accepts them, `SEND_BATCH` per system call (one
/// `sendto` per report made the generator, not the proxy, the bound of the burst rate); a full
/// queue is waited out, so no report is dropped by the sender itself.
fn inject(socket: &Socket, packets: &[Vec<u8>]) -> io::Result<()> {
    let to = SockaddrIn::from(std::net::SocketAddrV4::new(ALL_V3_ROUTERS, 0));
    let fd = socket.as_raw_fd();
    let mut headers = MultiHeaders::<SockaddrIn>::preallocate(SEND_BATCH, None);
    let mut next = 0;
    while next < packets.len() {
        let batch = &packets[next..packets.len().min(next + SEND_BATCH)];
        let slices: Vec<[IoSlice<'_>; 1]> = batch.iter().map(|p| [IoSlice::new(p)]).collect();
        let addrs = vec![Some(to); batch.len()];
        match sendmmsg(fd, &mut headers, &slices, &addrs, [], MsgFlags::empty()) {
            // A partial batch: the rest goes with the next call.
            Ok(sent) => next += sent.count(),
            Err(Errno::ENOBUFS | Errno::EAGAIN) => std::thread::yield_now(),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_is_reported_once_by_a_lan_host() {
        let groups: Vec<Ipv4Addr> = (0..2_500).map(|i| nth(FIRST_GROUP, i)).collect();
        let packets = build_reports(&groups);
        assert_eq!(packets.len(), groups.len());
        let mut hosts = std::collections::HashSet::new();
        for (packet, group) in packets.iter().zip(&groups) {
            let ip = netlab::packet::parse_ip(packet).expect("valid IPv4");
            assert!(ip.router_alert && ip.ttl == 1);
            assert_eq!(
                Message::parse(ip.payload).unwrap().joined_groups(),
                vec![*group]
            );
            hosts.insert(ip.src);
        }
        assert_eq!(hosts.len(), HOSTS as usize);
        assert!(hosts.contains(&std::net::IpAddr::V4(Ipv4Addr::new(198, 18, 4, 231))));
    }
}
