//! contrib/mrproxy.service, proven without systemd: the real daemon, started as the unit starts it
//! (`-n`, an unprivileged user holding only the unit's ambient capabilities, `$NOTIFY_SOCKET`,
//! stderr as the journal), runs under `strace -f` through everything it does in service: start,
//! IGMP and MLD joins on a downstream (upcalls, forwarding entries, upstream joins), a leave,
//! `mrproxy status` in tables, JSON and Prometheus text, the `metrics` listener, `mrproxy reload`,
//! SIGHUP, an interface that appears, and SIGTERM. Every system call it made must be allowed by
//! `SystemCallFilter=@system-service` + `SystemCallFilter=~@resources` (the sets as the installed
//! `systemd-analyze syscall-filter` defines them), every socket it opened must be of a family in
//! `RestrictAddressFamilies=`, and nothing may trip `MemoryDenyWriteExecute=` (systemd.exec(5)).

mod common;
use common::*;
#[path = "e2e_unit/trace.rs"]
mod trace;
use netlab::{Lab, Receiver, Source, SourceSpec};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use trace::{allowed_syscalls, parse_groups, parse_trace};

/// The unit's `RestrictAddressFamilies=`.
const FAMILIES: [&str; 4] = ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"];
/// The unprivileged user the daemon runs as (the unit's `DynamicUser=` stands for one like it).
const NOBODY: u32 = 65_534;
const GROUP6: &str = "ff0e::1:3";
const METRICS: &str = "127.0.0.1:9116";

/// The absolute path of a tool the test cannot do without; a one-line failure if it is missing,
/// so that a machine without it never passes silently.
fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is missing: install {package} (scripts/setup.sh does) to check the unit")
        })
}

/// The pid of `parent`'s child (strace runs the daemon as its only child).
fn child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid …: comm may hold spaces, so split after its ')'.
        let ppid: u32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        (ppid == parent).then_some(pid)
    })
}

fn client(proxy: &Proxy, args: &[&str]) -> String {
    let o = Command::new(binary())
        .args(args)
        .args(["--control", proxy.control.to_str().unwrap()])
        .output()
        .expect("run mrproxy");
    assert!(
        o.status.success(),
        "mrproxy {args:?}: exit {:?}: {}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr),
        proxy.log()
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_daemon_stays_within_the_units_system_call_filter_families_and_memory_policy() {
    let strace = tool("strace", "strace");
    let analyze = tool("systemd-analyze", "systemd");
    let setpriv = tool("setpriv", "util-linux");
    let listing = Command::new(&analyze)
        .arg("syscall-filter")
        .output()
        .expect("run systemd-analyze");
    assert!(
        listing.status.success(),
        "systemd-analyze syscall-filter failed"
    );
    let allowed = allowed_syscalls(&parse_groups(&String::from_utf8_lossy(&listing.stdout)));
    if !Lab::require_root() {
        return;
    }

    let t = Basic::new("unit");
    for (ns, ifname, cidr) in [
        (&t.src, "s0", "2001:db8:1::2/64"),
        (&t.rtr, "up0", "2001:db8:1::1/64"),
        (&t.rtr, "dn1", "2001:db8:2::1/64"),
        (&t.h1, "e0", "2001:db8:2::2/64"),
    ] {
        ns.add_addr(ifname, cidr).unwrap();
    }
    // RuntimeDirectory=: the status socket's directory belongs to the daemon's user.
    let run = t.lab.path("run");
    std::fs::create_dir(&run).unwrap();
    std::os::unix::fs::chown(&run, Some(NOBODY), Some(NOBODY)).unwrap();
    let (notify, notify_env) = notify_socket(&t.lab);
    std::fs::set_permissions(t.lab.path("notify.sock"), PermissionsExt::from_mode(0o777)).unwrap();
    // stderr is "the journal" ($JOURNAL_STREAM names it): the log gets the journal's format.
    let log = t.lab.path("mrproxy.log");
    let meta = std::fs::File::create(&log).unwrap().metadata().unwrap();
    let journal_env = format!("JOURNAL_STREAM={}:{}", meta.dev(), meta.ino());
    let config = t.lab.path("mrproxy.conf");
    let text = format!("metrics {METRICS}\n{}", Basic::config(FAST_TIMERS))
        + "phyint dn3 downstream ratelimit 0 threshold 1\n";
    std::fs::write(&config, text).unwrap();
    let trace_file = t.lab.path("mrproxy.strace");
    let control = run.join("mrproxy.sock");

    let id = NOBODY.to_string();
    let caps = "-all,+net_admin,+net_raw,+setpcap";
    let args = [
        "-f".to_owned(),
        "-qq".to_owned(),
        "-e".to_owned(),
        "trace=all".to_owned(),
        "-o".to_owned(),
        trace_file.display().to_string(),
        setpriv.display().to_string(),
        format!("--reuid={id}"),
        format!("--regid={id}"),
        "--clear-groups".to_owned(),
        format!("--inh-caps={caps}"),
        format!("--ambient-caps={caps}"),
        format!("--bounding-set={caps}"),
        "/usr/bin/env".to_owned(),
        notify_env,
        journal_env,
        binary().to_owned(),
        "-n".to_owned(),
        "-vv".to_owned(),
        "--control".to_owned(),
        control.display().to_string(),
        config.display().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = t
        .lab
        .spawn(&t.rtr, strace.to_str().unwrap(), &args, "mrproxy.log")
        .expect("spawn strace");
    let proxy = Proxy {
        child,
        control,
        config,
    };
    assert_eq!(
        next_notification(&notify, Duration::from_secs(60)).as_deref(),
        Some("READY=1"),
        "no READY=1:\n{}",
        proxy.log()
    );
    let pid = child_of(proxy.child.pid()).expect("the daemon under strace");
    let daemon = Pid::from_raw(i32::try_from(pid).unwrap());
    assert_eq!(proc_status_field(pid, "CapEff:"), "0000000000000000");

    // IGMP and MLD joins on dn1 with streams: reports, upcalls, forwarding entries, upstream
    // joins.
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let rx6 = Receiver::join(&t.h1, "e0", ip(GROUP6), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 60);
    let spec6 = SourceSpec::new("s0", ip(GROUP6), 5000)
        .ttl(8)
        .interval(Duration::from_millis(10))
        .count(6000);
    let _src6 = Source::start(&t.src, spec6).unwrap();
    assert!(rx.wait_for_packets(20, WAIT), "no stream:\n{}", proxy.log());
    assert!(
        rx6.wait_for_packets(20, WAIT),
        "no IPv6 stream:\n{}",
        proxy.log()
    );

    // What an operator runs, over the status socket and the metrics listener.
    let _ = proxy.status();
    client(&proxy, &["status"]);
    let doc: serde_json::Value = serde_json::from_str(&client(&proxy, &["status", "--json"]))
        .expect("status --json is JSON");
    assert!(
        doc["routes"].as_array().is_some_and(|r| !r.is_empty()),
        "{doc:#}"
    );
    client(&proxy, &["status", "routes", "--json"]);
    client(&proxy, &["status", "--prometheus"]);
    let answer = scrape(&t.rtr, METRICS);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");

    // `mrproxy reload`, then SIGHUP as systemd's ExecReload= alternative sends it.
    client(&proxy, &["reload"]);
    let notified = |what: &str| {
        let note = next_notification(&notify, WAIT).unwrap_or_default();
        assert!(
            note.starts_with(what),
            "{note:?} instead of {what}:\n{}",
            proxy.log()
        );
    };
    notified("RELOADING=1");
    notified("READY=1");
    kill(daemon, Signal::SIGHUP).unwrap();
    notified("RELOADING=1");
    notified("READY=1");

    // dn3 appears: a VIF and a MIF for it.
    let h3 = t.lab.ns("h3").unwrap();
    t.lab.veth((&t.rtr, "dn3"), (&h3, "e0")).unwrap();
    t.rtr.add_addr("dn3", "203.0.113.129/25").unwrap();
    h3.add_addr("e0", "203.0.113.130/25").unwrap();
    let attached = netlab::wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        let v4 = netlab::vifs_v4(&t.rtr).unwrap_or_default();
        let v6 = netlab::vifs_v6(&t.rtr).unwrap_or_default();
        v4.iter().any(|v| v.name == "dn3") && v6.iter().any(|v| v.name == "dn3")
    });
    assert!(attached, "no VIF/MIF for dn3:\n{}", proxy.log());

    // The host leaves: last-member queries, then the upstream membership goes.
    rx.leave().unwrap();
    let left = netlab::wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        !host_groups(&t.rtr, "up0").contains(&GROUP.parse().unwrap())
    });
    assert!(
        left,
        "still joined upstream after the leave:\n{}",
        proxy.log()
    );

    // SIGTERM: STOPPING=1 and a clean exit (strace exits with the daemon's status).
    kill(daemon, Signal::SIGTERM).unwrap();
    notified("STOPPING=1");
    let status = proxy.child.wait_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", proxy.log());

    let text = std::fs::read_to_string(&trace_file).expect("the trace");
    let trace = parse_trace(&text, binary());
    let outside: Vec<String> = trace
        .syscalls
        .iter()
        .filter(|(name, _)| !allowed.contains(*name))
        .map(|(name, n)| format!("{name} ({n}×)"))
        .collect();
    assert!(
        outside.is_empty(),
        "system calls outside @system-service minus @resources: {}\n(trace: {})",
        outside.join(", "),
        trace_file.display()
    );
    let families: Vec<&String> = trace
        .families
        .iter()
        .filter(|f| !FAMILIES.contains(&f.as_str()))
        .collect();
    assert!(
        families.is_empty(),
        "sockets of families outside RestrictAddressFamilies=: {families:?}"
    );
    assert!(
        trace.write_execute.is_empty(),
        "refused by MemoryDenyWriteExecute=:\n{}",
        trace.write_execute.join("\n")
    );
    eprintln!(
        "system calls: {:?}\nsocket families: {:?}",
        trace.syscalls, trace.families
    );
    // The trace covered what it claims to: sockets of every family, capabilities dropped.
    for family in FAMILIES {
        assert!(
            trace.families.contains(family),
            "no {family} socket: {trace:?}"
        );
    }
    assert!(
        trace.syscalls.contains_key("capset"),
        "{:?}",
        trace.syscalls
    );
}
