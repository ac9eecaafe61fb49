//! End to end: changes the kernel refuses, against the real daemon (docs/kernel-faults.md).
//!
//! * An EXCLUDE join with more sources than `net.ipv4.igmp_max_msf` allows cannot be spread
//!   over sockets: the refusal is counted per (interface, reason) in the status, logged once,
//!   listed as pending, and the join goes through by itself once the sysctl is raised, without
//!   any new report. An INCLUDE list of the same length is spread over sockets at once.
//! * Descriptors: 10 000 groups joined on two upstreams take the documented number of
//!   membership sockets, and every one of them is closed again when the groups are left.
//!
//! Reports come from an injector (a spoofed on-link host): no kernel host on the LAN has joined
//! anything, so nothing re-reports behind the test's back. The figures are printed, visible
//! with `--nocapture`.

mod common;
use common::*;
use mrproxy_wire::RecordType;
use mrproxy_wire::igmp::{ALL_IGMPV3_ROUTERS, GroupRecord, Repr};
use netlab::{Injector, Lab, Netns};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);
/// The spoofed reporter on dn1's LAN (192.0.2.0/24).
const REPORTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 66);

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Sends one IGMPv3 report with `records` from [`REPORTER`].
fn report(injector: &Injector, records: Vec<GroupRecord>) {
    let bytes = Repr::ReportV3 { records }.to_bytes();
    injector
        .send_ipv4(&netlab::packet::igmp_packet(
            REPORTER,
            ALL_IGMPV3_ROUTERS,
            &bytes,
        ))
        .unwrap();
}

fn record(record_type: RecordType, group: Ipv4Addr, sources: &[Ipv4Addr]) -> GroupRecord {
    GroupRecord {
        record_type,
        group,
        sources: sources.to_vec(),
        aux_data: Vec::new(),
    }
}

/// The status's failure counter for (interface, operation, reason), 0 when absent.
fn failures(status: &Value, iface: &str, operation: &str, reason: &str) -> u64 {
    status["kernel_failures"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["interface"] == iface && f["operation"] == operation && f["reason"] == reason)
        .and_then(|f| f["count"].as_u64())
        .unwrap_or(0)
}

/// The pending retry of the upstream membership of `group`, if any.
fn pending_membership(status: &Value, group: &str) -> Option<Value> {
    status["pending_retries"]
        .as_array()?
        .iter()
        .find(|p| p["what"]["UpstreamMembership"]["group"] == group)
        .cloned()
}

/// The kernel's source filter lines of `group` on `ifname` in `ns`.
fn filters_of(ns: &Netns, ifname: &str, group: &str) -> Vec<SourceFilter> {
    source_filters(ns)
        .into_iter()
        .filter(|f| f.ifname == ifname && f.group == ip(group))
        .collect()
}

/// Groups the status says upstream `ifname` requests.
fn upstream_groups(status: &Value, ifname: &str) -> usize {
    status["upstreams"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["name"] == ifname)
        .and_then(|u| u["groups"].as_array())
        .map_or(0, Vec::len)
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn a_refused_exclude_join_is_retried_until_the_limit_is_raised_and_include_lists_are_spread() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("faultmsf").unwrap();
    let [src, rtr, host] = ["src", "rtr", "host"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    lan(&lab, &rtr, "dn1", &host, "192.0.2");
    // Per network namespace: two sources per socket and group.
    rtr.sysctl("net.ipv4.igmp_max_msf", "2").unwrap();
    // Default timers: a group lives 260 s without a new report, far longer than the test.
    let config = "phyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n\
                  phyint dn1 downstream ratelimit 0 threshold 1\n";
    let proxy = Proxy::start(&lab, &rtr, config);
    let injector = Injector::open(&host, "e0").unwrap();
    let sources: Vec<Ipv4Addr> = (10..15).map(|i| Ipv4Addr::new(198, 51, 100, i)).collect();

    // INCLUDE {5 sources} at igmp_max_msf 2: split over three sockets, joined at once.
    let ssm = "232.1.1.1";
    let started = Instant::now();
    report(
        &injector,
        vec![record(RecordType::ModeIsInclude, v4(ssm), &sources)],
    );
    let spread = netlab::wait_until(Duration::from_secs(10), POLL, || {
        filters_of(&rtr, "up0", ssm).len() == 5
    });
    let include_took = started.elapsed();
    let rows = filters_of(&rtr, "up0", ssm);
    println!("INCLUDE 5 sources at msf 2: {rows:?} after {include_took:?}");
    assert!(spread, "INCLUDE sources not all in mcfilter: {rows:?}");
    assert!(
        rows.iter().all(|f| f.include == 1 && f.exclude == 0),
        "{rows:?}"
    );
    let status = proxy.status();
    assert_eq!(pending_membership(&status, ssm), None, "{status}");
    assert_eq!(failures(&status, "up0", "UpstreamMembership", "ENOBUFS"), 0);

    // EXCLUDE {5 sources}: one socket must hold all five; refused and retried.
    let asm = "239.1.2.3";
    report(
        &injector,
        vec![record(RecordType::ModeIsExclude, v4(asm), &sources)],
    );
    let retried = netlab::wait_until(Duration::from_secs(20), POLL, || {
        proxy
            .try_status()
            .and_then(|s| pending_membership(&s, asm))
            .is_some_and(|p| p["attempts"].as_u64() >= Some(3))
    });
    let status = proxy.status();
    let pending = pending_membership(&status, asm);
    println!("pending: {pending:?}");
    println!("failures: {}", status["kernel_failures"]);
    assert!(retried, "no third attempt: {status}\n{}", proxy.log());
    let pending = pending.unwrap();
    assert_eq!(pending["interface"], "up0");
    assert_eq!(pending["error"]["name"], "ENOBUFS");
    assert_eq!(pending["error"]["kind"], "PerSocketLimit");
    assert!(
        pending["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("raise sysctl net.ipv4.igmp_max_msf")),
        "{pending}"
    );
    let next = pending["next_retry_in_ms"].as_u64().unwrap();
    assert!(next <= 30_000, "{pending}");
    let refusals = failures(&status, "up0", "UpstreamMembership", "ENOBUFS");
    assert!(refusals >= 3, "{}", status["kernel_failures"]);
    assert!(!host_groups(&rtr, "up0").contains(&v4(asm)));

    // Logged once as a warning; the later refusals at debug level.
    let log = proxy.log();
    let warned = log
        .lines()
        .filter(|l| {
            l.contains("WARN") && l.contains("refused the upstream membership of 239.1.2.3")
        })
        .count();
    let again = log
        .lines()
        .filter(|l| l.contains("refused the upstream membership of 239.1.2.3 on up0 again"))
        .count();
    println!("warnings: {warned}, debug lines for later refusals: {again}");
    assert_eq!(warned, 1, "{log}");
    assert!(again >= 2, "{log}");

    // Raise the limit: the next retry joins, with no new report.
    rtr.sysctl("net.ipv4.igmp_max_msf", "10").unwrap();
    let raised = Instant::now();
    let joined = netlab::wait_until(Duration::from_secs(45), POLL, || {
        let rows = filters_of(&rtr, "up0", asm);
        rows.len() == 5 && rows.iter().all(|f| f.exclude == 1)
    });
    let join_took = raised.elapsed();
    let status = proxy.status();
    println!(
        "EXCLUDE joined {join_took:?} after the sysctl was raised (next retry was due in {next} ms); \
         mcfilter: {:?}",
        filters_of(&rtr, "up0", asm)
    );
    assert!(joined, "not joined after the limit was raised: {status}");
    assert!(host_groups(&rtr, "up0").contains(&v4(asm)));
    assert_eq!(
        status["pending_retries"].as_array().map(Vec::len),
        Some(0),
        "{status}"
    );
    assert!(
        proxy.wait_log(
            "upstream membership of 239.1.2.3 on up0 restored after",
            Duration::from_secs(5)
        ),
        "{}",
        proxy.log()
    );
    // The counters keep the history.
    assert!(failures(&status, "up0", "UpstreamMembership", "ENOBUFS") >= refusals);
    assert_eq!(proxy.stop(), Some(0));
}

#[test]
fn membership_sockets_follow_the_groups_up_and_down() {
    if !Lab::require_root() {
        return;
    }
    let lab = Lab::new("faultfds").unwrap();
    let [src, src2, rtr, host] = ["src", "src2", "rtr", "host"].map(|n| lab.ns(n).unwrap());
    upstream_link(&lab, &src, &rtr);
    lab.veth((&rtr, "up1"), (&src2, "s0")).unwrap();
    rtr.add_addr("up1", "203.0.113.1/24").unwrap();
    src2.add_addr("s0", "203.0.113.2/24").unwrap();
    lan(&lab, &rtr, "dn1", &host, "192.0.2");
    // As igmpproxy users are told to do: with the kernel's default of 20 the pool would need
    // 1 000 sockets for these 20 000 memberships; raised, it puts 256 on each.
    rtr.sysctl("net.ipv4.igmp_max_memberships", "1024").unwrap();
    let groups = 10_000u32;
    let config = format!(
        "quickleave\n\
         phyint up0 upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n\
         phyint up1 upstream ratelimit 0 threshold 1\n\
         phyint dn1 downstream ratelimit 0 threshold 1\n  maxgroups {groups}\n  maxgroupsperhost {groups}\n"
    );
    let proxy = Proxy::start(&lab, &rtr, &config);
    let pid = proxy.child.pid();
    // Start-up done (report groups joined on dn1) before the baseline is taken.
    assert!(proxy.wait_log("running", Duration::from_secs(5)));
    std::thread::sleep(Duration::from_secs(1));
    let baseline = open_descriptors(pid);

    let injector = Injector::open(&host, "e0").unwrap();
    let base = u32::from(v4("239.30.0.0"));
    let per_report = 100u32;
    let send_all = |record_type: RecordType| {
        for chunk in 0..groups / per_report {
            let records = (0..per_report)
                .map(|i| {
                    record(
                        record_type,
                        Ipv4Addr::from(base + chunk * per_report + i),
                        &[],
                    )
                })
                .collect();
            report(&injector, records);
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let started = Instant::now();
    send_all(RecordType::ModeIsExclude);
    let all_joined = netlab::wait_until(Duration::from_secs(120), Duration::from_secs(1), || {
        proxy.try_status().is_some_and(|s| {
            upstream_groups(&s, "up0") == groups as usize
                && upstream_groups(&s, "up1") == groups as usize
        })
    });
    let join_took = started.elapsed();
    let joined = open_descriptors(pid);
    let memberships = 2 * groups as usize;
    // docs/kernel-faults.md: ceil(memberships / min(igmp_max_memberships, 256)) sockets.
    let bound = memberships.div_ceil(256);
    let status = proxy.status();
    println!(
        "descriptors: {baseline} at start, {joined} with {groups} groups on 2 upstreams \
         ({memberships} memberships, joined in {join_took:?}; documented bound {baseline} + {bound})"
    );
    assert!(all_joined, "not every group joined on both upstreams");
    assert!(
        joined <= baseline + bound,
        "{joined} descriptors > {baseline} + {bound}"
    );
    assert!(
        joined >= baseline + bound,
        "fewer sockets than memberships need: {joined} < {baseline} + {bound}"
    );
    assert_eq!(
        status["pending_retries"].as_array().map(Vec::len),
        Some(0),
        "{}",
        status["pending_retries"]
    );
    assert!(
        host_groups(&rtr, "up1").contains(&Ipv4Addr::from(base + groups - 1)),
        "the last group is joined on up1"
    );

    // Everyone leaves (fast leave: the reporter is tracked).
    let started = Instant::now();
    send_all(RecordType::ChangeToInclude);
    let all_left = netlab::wait_until(Duration::from_secs(120), Duration::from_secs(1), || {
        proxy
            .try_status()
            .is_some_and(|s| upstream_groups(&s, "up0") == 0 && upstream_groups(&s, "up1") == 0)
    });
    let leave_took = started.elapsed();
    let left = open_descriptors(pid);
    println!("descriptors after every group left: {left} (left in {leave_took:?})");
    assert!(all_left, "groups still joined upstream");
    assert!(
        left <= baseline + 1,
        "membership sockets not closed: {left} descriptors, {baseline} at start"
    );
    assert!(!host_groups(&rtr, "up0").contains(&Ipv4Addr::from(base)));
    assert_eq!(proxy.stop(), Some(0));
}
