//! Start-up as an operator and an init script see it: a start that cannot succeed (a second
//! instance, a missing capability) exits 1 with the one-line reason on stderr, in the
//! background as in the foreground; in the background the parent exits 0 only once the daemon
//! serves. The running daemon keeps no privilege at all (no capability in any set, no_new_privs,
//! umask 027), also without a `user` line, and still does everything it does later. Logs go to
//! syslog with `-n` and in the background, to stderr with `-d`, and carry `<N>` priorities
//! without timestamps when stderr is the journal.

mod common;
#[path = "e2e_startup/support.rs"]
mod support;
use common::*;
use netlab::{Lab, Receiver};
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::*;

/// A second instance while the first runs: in the background and in the foreground (`-n`) it
/// exits 1 with exactly the one-line reason on stderr; the first keeps running untouched.
#[test]
fn a_second_instance_exits_1_with_the_reason_on_stderr() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("second");
    let first = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    for (name, options) in [("background", &[][..]), ("foreground", &["-n"][..])] {
        let started = Instant::now();
        let (second, control) = spawn(&t.lab, &t.rtr, name, &Basic::config(""), &[], options);
        let code = exit_code(&second);
        let stderr = second.log().unwrap();
        println!(
            "second instance ({name}): exit {code:?} after {:?}, stderr {stderr:?}",
            started.elapsed()
        );
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert_eq!(stderr, IN_USE, "{name}");
        assert!(!control.exists(), "{name}: left a status socket behind");
    }
    assert!(first.child.is_running(), "{}", first.log());
    assert_eq!(netlab::vifs_v4(&t.rtr).unwrap().len(), 3);
    assert!(first.try_status().is_some(), "{}", first.log());
    assert_eq!(first.stop(), Some(0), "{}", first.log());
}

/// CAP_NET_RAW is what start-up needs (the raw sockets): without it the daemon exits 1 with the
/// reason on stderr, in the background and in the foreground. CAP_NET_ADMIN it does not need
/// (MRT_INIT asks for none; SO_RCVBUFFORCE falls back to SO_RCVBUF): without it the daemon
/// starts, in the background, with every VIF and MIF.
#[test]
fn without_cap_net_raw_the_start_fails_on_stderr_and_cap_net_admin_is_optional() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("nocap");
    let no_raw = ["setpriv", "--inh-caps=-all", "--bounding-set=-net_raw"];
    for (name, options) in [("background", &[][..]), ("foreground", &["-n"][..])] {
        let (child, _) = spawn(&t.lab, &t.rtr, name, &Basic::config(""), &no_raw, options);
        let code = exit_code(&child);
        let stderr = child.log().unwrap();
        println!("without CAP_NET_RAW ({name}): exit {code:?}, stderr {stderr:?}");
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.starts_with("mrproxy: opening the IPv4 multicast routing socket needs ")
                && stderr.contains("CAP_NET_RAW"),
            "{name}: {stderr}"
        );
    }
    assert!(netlab::vifs_v4(&t.rtr).unwrap().is_empty());

    let syslog = Syslog::new(&t.lab);
    let mut wrapper = syslog.wrapper();
    wrapper.extend(["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin"]);
    let (parent, control) = spawn(
        &t.lab,
        &t.rtr,
        "noadmin",
        &Basic::config(""),
        &wrapper,
        &["-v"],
    );
    let code = exit_code(&parent);
    let lines = syslog.until("running", WAIT);
    let pid = lines.iter().find_map(|l| syslog_pid(l));
    let vifs = (
        netlab::vifs_v4(&t.rtr).unwrap().len(),
        netlab::vifs_v6(&t.rtr).unwrap().len(),
    );
    let answered = answers(&control);
    let stopped = pid.is_some_and(terminate);
    println!("without CAP_NET_ADMIN: exit {code:?}, VIFs/MIFs {vifs:?}, syslog {lines:#?}");
    assert_eq!(code, Some(0), "{}", parent.log().unwrap());
    assert_eq!(vifs, (3, 3), "{lines:#?}");
    assert!(answered);
    assert!(stopped, "{lines:#?}");
    assert_log_lacks(&lines.join("\n"), &["WARN", "ERROR", "ermission"]);
}

/// In the background the process that was started exits 0 only once the daemon serves (every
/// VIF is there when it exits), with nothing on stderr; the daemon is another process, in a
/// session of its own, with stdin, stdout and stderr on /dev/null, and logs to syslog.
#[test]
fn in_the_background_the_parent_exits_0_once_the_daemon_serves() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("bg");
    let syslog = Syslog::new(&t.lab);
    let started = Instant::now();
    let (parent, control) = spawn(
        &t.lab,
        &t.rtr,
        "mrproxy",
        &Basic::config(FAST_TIMERS),
        &syslog.wrapper(),
        &["-v"],
    );
    let code = exit_code(&parent);
    let elapsed = started.elapsed();
    // Read right after the exit: start-up was complete before it.
    let vifs = netlab::vifs_v4(&t.rtr).unwrap().len();
    let lines = syslog.until("running", WAIT);
    let pid = lines.iter().find_map(|l| syslog_pid(l));
    let Some(pid) = pid else {
        panic!("no syslog line with a PID: {lines:#?}");
    };
    let stdio: Vec<_> = (0..3)
        .map(|fd| std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok())
        .collect();
    // /proc/PID/stat: pid (comm) state ppid pgrp session …
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let session = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.split_whitespace().nth(3).map(str::to_owned));
    let answered = answers(&control);
    println!(
        "background start: parent exit {code:?} after {elapsed:?} with {vifs} VIFs; daemon pid \
         {pid} (parent {}), session {session:?}, stdio {stdio:?}",
        parent.pid()
    );
    assert_eq!(code, Some(0), "{}", parent.log().unwrap());
    assert_eq!(parent.log().unwrap(), "", "stderr of the parent");
    assert_eq!(vifs, 3, "{lines:#?}");
    assert_ne!(pid, parent.pid());
    assert_eq!(session, Some(pid.to_string()), "{stat}");
    let null = Some(PathBuf::from("/dev/null"));
    assert_eq!(stdio, vec![null.clone(), null.clone(), null]);
    assert!(answered);
    // syslog(3) lines: facility daemon (3 << 3), severity notice (5) for INFO.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<29>") && l.contains("mrproxy 0.1.0 running")),
        "{lines:#?}"
    );
    // SIGTERM: the daemon removes its VIFs and exits.
    assert!(terminate(pid), "the daemon {pid} did not stop on SIGTERM");
    assert!(netlab::vifs_v4(&t.rtr).unwrap().is_empty());
}

/// Without a `user` line the daemon stays uid 0 but keeps no capability in any set of any
/// thread (effective, permitted, inheritable, ambient, bounding), has no_new_privs and umask
/// 027; the status socket still gets mode 0660. And it needs none: a viewer gets the stream
/// (the upstream membership's socket is opened after the drop), an interface created after
/// start gets its VIF and MIF and its queries, a SIGHUP reload that takes an interface away
/// removes its VIF, and SIGTERM removes everything, all without a single refusal.
#[test]
fn without_a_user_line_no_capability_is_left_and_everything_still_works() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("nopriv");
    let config = Basic::config(FAST_TIMERS) + "phyint dn3 downstream ratelimit 0 threshold 1\n";
    let proxy = Proxy::start(&t.lab, &t.rtr, &config);
    assert!(
        proxy.wait_log("privileges dropped", WAIT),
        "{}",
        proxy.log()
    );
    let pid = proxy.child.pid();
    let mut sets = Vec::new();
    for set in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:", "CapBnd:"] {
        for value in task_fields(pid, set) {
            sets.push(format!("{set} {value}"));
            assert_eq!(value, "0000000000000000", "{set}\n{}", proxy.log());
        }
    }
    let no_new_privs = task_fields(pid, "NoNewPrivs:");
    let umask = proc_status_field(pid, "Umask:");
    let uid = proc_status_field(pid, "Uid:");
    let threads = proc_status_field(pid, "Threads:");
    use std::os::unix::fs::PermissionsExt;
    let socket_mode = std::fs::metadata(&proxy.control)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    println!(
        "running daemon: {sets:?}, NoNewPrivs {no_new_privs:?}, Umask {umask}, Uid {uid}, \
         Threads {threads}, status socket {socket_mode:o}"
    );
    assert!(no_new_privs.iter().all(|v| v == "1"), "{no_new_privs:?}");
    assert_eq!(umask, "0027");
    assert_eq!(uid, "0\t0\t0\t0");
    assert_eq!(socket_mode, 0o660);
    assert!(
        proxy
            .log()
            .contains("privileges dropped: no capabilities, empty bounding set, no_new_privs"),
        "{}",
        proxy.log()
    );

    // A viewer on dn1: the stream comes, and the router's kernel joined the group on up0
    // through a membership socket opened now, without privilege.
    let rx1 = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 60);
    assert!(
        rx1.wait_for_packets(20, WAIT),
        "no stream at h1:\n{}",
        proxy.log()
    );
    let joined = netlab::wait_until(WAIT, Duration::from_millis(50), || {
        upstream_joined(&t.rtr, "up0", "030201EF")
    });
    assert!(
        joined,
        "up0 has not joined {GROUP}: {:?}",
        t.rtr.read_proc("net/igmp")
    );

    // dn3 appears after start: VIF and MIF, queries of both families, the stream for its host.
    let h3 = t.lab.ns("h3").unwrap();
    t.lab.veth((&t.rtr, "dn3"), (&h3, "e0")).unwrap();
    t.rtr.add_addr("dn3", "203.0.113.129/25").unwrap();
    h3.add_addr("e0", "203.0.113.130/25").unwrap();
    let attached = netlab::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let v4 = netlab::vifs_v4(&t.rtr).unwrap_or_default();
        let v6 = netlab::vifs_v6(&t.rtr).unwrap_or_default();
        v4.iter().any(|v| v.name == "dn3") && v6.iter().any(|v| v.name == "dn3")
    });
    assert!(attached, "dn3 got no VIF/MIF:\n{}", proxy.log());
    assert!(
        proxy.wait_log("sent IGMP iface=dn3", WAIT) && proxy.wait_log("sent MLD iface=dn3", WAIT),
        "no queries on dn3:\n{}",
        proxy.log()
    );
    let rx3 = Receiver::join(&h3, "e0", ip(GROUP), 5000).unwrap();
    assert!(
        rx3.wait_for_packets(20, Duration::from_secs(10)),
        "no stream at h3 on the late interface:\n{}",
        proxy.log()
    );

    // SIGHUP with dn2 disabled: the file is read again (uid 0 keeps its access to it) and
    // dn2's VIF goes; the others stay.
    std::fs::write(
        &proxy.config,
        config.replace("phyint dn2 downstream", "phyint dn2 disabled"),
    )
    .unwrap();
    proxy.child.signal(Signal::SIGHUP).unwrap();
    assert!(
        proxy.wait_log("SIGHUP: configuration reloaded", WAIT),
        "{}",
        proxy.log()
    );
    let detached = netlab::wait_until(WAIT, Duration::from_millis(50), || {
        let names: Vec<String> = netlab::vifs_v4(&t.rtr)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        !names.contains(&"dn2".to_owned()) && names.contains(&"dn3".to_owned())
    });
    assert!(
        detached,
        "dn2 kept its VIF after the reload: {:?}\n{}",
        netlab::vifs_v4(&t.rtr),
        proxy.log()
    );
    let before = rx3.count();
    assert!(
        rx3.wait_for_packets(before + 20, WAIT),
        "the stream stopped after the reload:\n{}",
        proxy.log()
    );

    let log = proxy.log();
    assert_log_lacks(
        &log,
        &[
            "ermission",
            "not permitted",
            "EPERM",
            "EACCES",
            " ERROR ",
            " WARN ",
        ],
    );
    assert_eq!(proxy.stop(), Some(0), "{}", proxy.log());
    assert!(netlab::vifs_v4(&t.rtr).unwrap().is_empty());
    assert!(netlab::vifs_v6(&t.rtr).unwrap().is_empty());
    assert!(netlab::mfc_v4(&t.rtr).unwrap().is_empty());
}

/// `-n`, what init scripts pass: the daemon stays in the foreground and logs to syslog (ident
/// mrproxy, facility daemon, its PID) and writes nothing at all on stderr or stdout.
#[test]
fn with_n_the_lines_go_to_syslog_and_nothing_to_stderr() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("logn");
    let syslog = Syslog::new(&t.lab);
    let (child, control) = spawn(
        &t.lab,
        &t.rtr,
        "mrproxy",
        &Basic::config(FAST_TIMERS),
        &syslog.wrapper(),
        &["-n", "-vv"],
    );
    let lines = syslog.until("running", START);
    let up = netlab::wait_until(WAIT, Duration::from_millis(20), || answers(&control));
    child.signal(Signal::SIGTERM).unwrap();
    let code = exit_code(&child);
    let more = syslog.until("SIGTERM", WAIT);
    println!(
        "-n: exit {code:?}, stderr {:?}, {} syslog lines, first {:?}",
        child.log().unwrap(),
        more.len(),
        lines.first()
    );
    assert!(up, "{lines:#?}");
    assert_eq!(code, Some(0));
    assert_eq!(child.log().unwrap(), "", "stdout and stderr");
    let pid = format!("mrproxy[{}]: ", child.pid());
    assert!(
        lines.iter().all(|l| l.contains(&pid)),
        "not all from {pid}: {lines:#?}"
    );
    // Facility daemon (3 << 3) plus the severity syslog-tracing gives the level: INFO is
    // notice (5), DEBUG info (6).
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<29>") && l.contains("INFO mrproxy 0.1.0 running")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<30>") && l.contains("DEBUG sent IGMP")),
        "{lines:#?}"
    );
    assert!(
        more.iter()
            .any(|l| l.starts_with("<29>") && l.contains("SIGTERM")),
        "{more:#?}"
    );
}

/// `-d` logs to stderr with timestamps; when stderr is the journal (`$JOURNAL_STREAM` names its
/// device and inode) every line starts with its priority (`<6>` info, `<7>` debug) and carries
/// no timestamp, with `-d` and with `-n` alike.
#[test]
fn d_logs_to_stderr_and_the_journal_gets_priorities_without_timestamps() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("logd");
    let plain = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    assert!(plain.wait_log("mrproxy 0.1.0 running", WAIT));
    let line = plain
        .log()
        .lines()
        .find(|l| l.contains("mrproxy 0.1.0 running"))
        .unwrap()
        .to_owned();
    assert_eq!(plain.stop(), Some(0));
    println!("-d: {line:?}");
    // 2026-01-02T03:04:05.678901Z  INFO mrproxy 0.1.0 running …
    assert!(
        line.starts_with(|c: char| c.is_ascii_digit()) && line.contains(" INFO "),
        "{line}"
    );

    for (name, option) in [("journal-d", "-d"), ("journal-n", "-n")] {
        use std::os::unix::fs::MetadataExt;
        let log = t.lab.path(&format!("{name}.log"));
        std::fs::write(&log, "").unwrap();
        let meta = std::fs::metadata(&log).unwrap();
        let stream = format!("JOURNAL_STREAM={}:{}", meta.dev(), meta.ino());
        let (child, control) = spawn(
            &t.lab,
            &t.rtr,
            name,
            &Basic::config(FAST_TIMERS),
            &["env", &stream],
            &[option, "-vv"],
        );
        let up = netlab::wait_until(START, Duration::from_millis(20), || answers(&control));
        child.signal(Signal::SIGTERM).unwrap();
        let code = exit_code(&child);
        let text = child.log().unwrap();
        println!(
            "{option} with {stream}: exit {code:?}, first lines {:?}",
            text.lines().take(3).collect::<Vec<_>>()
        );
        assert!(up && code == Some(0), "{option}:\n{text}");
        assert!(
            text.contains("<6>mrproxy 0.1.0 running"),
            "{option}:\n{text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("<7>")),
            "{option}:\n{text}"
        );
        for l in text.lines() {
            let body = l
                .strip_prefix("<3>")
                .or_else(|| l.strip_prefix("<4>"))
                .or_else(|| l.strip_prefix("<6>"))
                .or_else(|| l.strip_prefix("<7>"));
            let Some(body) = body else {
                panic!("{option}: a line without a priority: {l:?}\n{text}");
            };
            assert!(
                !body.starts_with(|c: char| c.is_ascii_digit() || c == ' '),
                "{option}: a timestamp or level column in {l:?}"
            );
        }
    }
}
