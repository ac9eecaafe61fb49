//! The command line as init scripts and operators use it (docs/igmpproxy-differences.md §2), and the one-line
//! errors an operator sees.

mod common;
use common::*;
use netlab::Lab;
use std::process::{Command, Output};

fn mrproxy(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("run mrproxy")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mrproxy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn help_goes_to_stderr_and_exits_0_like_igmpproxy() {
    let o = mrproxy(&["-h"]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("Usage: mrproxy [-h] [-V] [-n] [-d] [-v [-v]]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unknown_option_exits_1_with_usage() {
    let o = mrproxy(&["-x", "/etc/igmpproxy.conf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown option '-x'"), "{}", stderr(&o));
}

#[test]
fn check_accepts_igmpproxys_shipped_example() {
    // docs/igmpproxy-differences.md §3.8: the example igmpproxy ships (and Debian installs as /etc/igmpproxy.conf).
    let p = write(
        "shipped.conf",
        "quickleave\nphyint eth0 upstream  ratelimit 0  threshold 1\n        altnet 10.0.0.0/8\n        \
         altnet 192.168.0.0/24\nphyint eth1 downstream  ratelimit 0  threshold 1\nphyint eth2 disabled\n",
    );
    let o = mrproxy(&["--check", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("\nphyint eth0 upstream ratelimit 0 threshold 1\n")
            && out.contains("\nphyint eth1 downstream ratelimit 0 threshold 1\n")
            && out.contains("\nphyint eth2 disabled ratelimit 0 threshold 1\n"),
        "{out}"
    );
}

#[test]
fn config_errors_name_file_line_column_and_what_was_expected() {
    let p = write(
        "bad.conf",
        "quickleave\nphyint eth0 upstream ratelimit 0 threshold x\n",
    );
    let o = mrproxy(&["--check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("bad.conf:2:44: expected a number after 'threshold', found 'x'"),
        "{e}"
    );
    // The daemon refuses to start on the same file, before going to the background.
    let o = mrproxy(&["-n", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad.conf:2:44"), "{}", stderr(&o));
}

#[test]
fn missing_config_file_is_one_clear_line() {
    let o = mrproxy(&["-d", "/nonexistent/mrproxy.conf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read configuration file /nonexistent/mrproxy.conf"),
        "{}",
        stderr(&o)
    );
}

/// `user NAME` naming nobody known: the daemon stops at start, before going to the background
/// and before opening any socket (so this needs neither root nor multicast routing), with one
/// line that names the user, the cause and the fix. Likewise a `chroot` directory that is not
/// there.
#[test]
fn an_unknown_user_or_a_missing_chroot_is_one_line_at_start() {
    let p = write(
        "nouser.conf",
        "user mrproxy-no-such-user\nphyint eth0 upstream\nphyint eth1 downstream\n",
    );
    let o = mrproxy(&["-n", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let expected = format!(
        "mrproxy: user mrproxy-no-such-user: no such user (getent passwd mrproxy-no-such-user \
         finds nothing); create it (useradd --system --no-create-home mrproxy-no-such-user) or \
         change the 'user' line in {}\n",
        p.display()
    );
    assert_eq!(stderr(&o), expected);

    let p = write(
        "nochroot.conf",
        "chroot /nonexistent/mrproxy-root\nphyint eth0 upstream\n",
    );
    let o = mrproxy(&["-d", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "mrproxy: chroot /nonexistent/mrproxy-root: no such directory; create it (an empty \
             one will do) or remove the 'chroot' line from {}\n",
            p.display()
        )
    );
}

#[test]
fn status_without_a_daemon_says_how_to_fix_it() {
    let o = mrproxy(&["status", "--control", "/nonexistent/mrproxy.sock"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is it running?"), "{}", stderr(&o));
}

/// docs/kernel-interface.md §1: a second multicast router in one network namespace gets EADDRINUSE from
/// MRT_INIT; the operator is told in one line what to do.
#[test]
fn a_busy_mroute_socket_is_one_line_naming_the_cause() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("busy");
    let _first = Proxy::start(&t.lab, &t.rtr, &Basic::config(""));
    let config = t.lab.path("second.conf");
    std::fs::write(&config, Basic::config("")).unwrap();
    let second = t
        .lab
        .spawn(
            &t.rtr,
            binary(),
            &[
                "-d",
                "--control",
                t.lab.path("second.sock").to_str().unwrap(),
                config.to_str().unwrap(),
            ],
            "second.log",
        )
        .unwrap();
    let status = second
        .wait_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "second daemon did not exit 1"
    );
    let log = second.log().unwrap();
    assert!(log.contains("another multicast router"), "{log}");
    assert_eq!(
        log.lines().filter(|l| l.contains("ERROR")).count(),
        1,
        "{log}"
    );
}

/// D11: igmpproxy documents one upstream, takes 7 and dies on the 8th. mrproxy takes eight (and
/// more) upstreams; the only limit is the kernel's 32 VIFs per family, shared with the
/// downstreams, and a file that needs more is refused at load time in one line naming the
/// interface and the limit (not a crash, not a half-working daemon).
#[test]
fn eight_upstreams_load_and_the_33rd_interface_is_one_clear_line() {
    let mut eight = String::from("quickleave\n");
    for u in 0..8 {
        eight.push_str(&format!(
            "phyint up{u} upstream ratelimit 0 threshold 1\n  altnet 198.51.100.0/24\n"
        ));
    }
    eight.push_str("phyint lan0 downstream ratelimit 0 threshold 1\n");
    let p = write("d11-eight.conf", &eight);
    let o = mrproxy(&["--check", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for u in 0..8 {
        assert!(out.contains(&format!("phyint up{u} upstream ")), "{out}");
    }

    // 8 upstreams + 24 downstreams fill the 32 VIFs of each family: one downstream with IPv6
    // off and one with IPv4 off share a slot number, a disabled phyint takes none; the next
    // downstream (line 44) is one too many.
    let mut full = eight.replace("phyint lan0 downstream ratelimit 0 threshold 1\n", "");
    for l in 0..23 {
        full.push_str(&format!("phyint lan{l} downstream\n"));
    }
    full.push_str("phyint v4only downstream ipv6 off\nphyint v6only downstream ipv4 off\n");
    full.push_str("phyint spare disabled\n");
    let p = write("d11-full.conf", &full);
    let o = mrproxy(&["--check", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    full.push_str("phyint lan23 downstream\n");
    let p = write("d11-over.conf", &full);
    for args in [vec!["--check"], vec!["-n"]] {
        let mut args = args;
        args.push(p.to_str().unwrap());
        let o = mrproxy(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.contains("d11-over.conf:44:1: interface 'lan23' needs one of the Linux kernel's 32 IPv4 VIFs (MAXVIFS)"),
            "{e}"
        );
    }
}

/// `--control-group` names a group that does not exist: one line on the terminal, before
/// anything is opened.
#[test]
fn an_unknown_control_group_stops_the_start_with_one_line() {
    let p = write(
        "group.conf",
        "phyint eth0 upstream\nphyint eth1 downstream\n",
    );
    let o = mrproxy(&[
        "-d",
        "--control",
        "/nonexistent/mrproxy.sock",
        "--control-group",
        "mrproxy-no-such-group",
        p.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("mrproxy: --control-group mrproxy-no-such-group: no such group"),
        "{e}"
    );
}

/// `--check` resolves `user` and `chroot` as the daemon does at start: an unknown user or a
/// missing directory fails the check with the daemon's line; known ones are printed.
#[test]
fn check_resolves_the_user_and_the_chroot() {
    let p = write(
        "check-nouser.conf",
        "user mrproxy-no-such-user\nphyint eth0 upstream\n",
    );
    let o = mrproxy(&["--check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("mrproxy: user mrproxy-no-such-user: no such user"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));

    let p = write(
        "check-nochroot.conf",
        "chroot /nonexistent/mrproxy-root\nphyint eth0 upstream\n",
    );
    let o = mrproxy(&["--check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("mrproxy: chroot /nonexistent/mrproxy-root: no such directory"),
        "{}",
        stderr(&o)
    );

    let p = write(
        "check-ok.conf",
        "user root\nchroot /\nphyint eth0 upstream\n",
    );
    let o = mrproxy(&["--check", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("# user root: uid 0, gid 0") && out.contains("# chroot /: a directory"),
        "{out}"
    );
}

/// `--check` on a `user` this system does not know, a `chroot` that does not exist and one that
/// is a file: each is an error, not a warning (the daemon would stop at start on it), so the exit
/// status is 1 with or without `--strict`, nothing is printed on stdout, and the one line names
/// the keyword, the value and the fix.
#[test]
fn check_names_the_keyword_value_and_fix_of_a_user_or_chroot_that_cannot_work() {
    let file = write("check-a-file", "not a directory\n");
    let cases = [
        (
            "check-user.conf",
            "user mrproxy-no-such-user".to_owned(),
            "user mrproxy-no-such-user: no such user (getent passwd mrproxy-no-such-user finds \
             nothing); create it (useradd --system --no-create-home mrproxy-no-such-user) or \
             change the 'user' line in"
                .to_owned(),
        ),
        (
            "check-chroot.conf",
            "chroot /nonexistent/mrproxy-root".to_owned(),
            "chroot /nonexistent/mrproxy-root: no such directory; create it (an empty one will \
             do) or remove the 'chroot' line from"
                .to_owned(),
        ),
        (
            "check-chroot-file.conf",
            format!("chroot {}", file.display()),
            format!(
                "chroot {}: not a directory; make it a directory (an empty one will do) or \
                 remove the 'chroot' line from",
                file.display()
            ),
        ),
    ];
    for (name, line, message) in cases {
        let p = write(name, &format!("{line}\nphyint eth0 upstream\n"));
        for strict in [false, true] {
            let mut args = vec!["--check"];
            if strict {
                args.push("--strict");
            }
            args.push(p.to_str().unwrap());
            let o = mrproxy(&args);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
            assert_eq!(
                stderr(&o),
                format!("mrproxy: {message} {}\n", p.display()),
                "{args:?}"
            );
            assert!(
                o.stdout.is_empty(),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
}

/// Where the daemon cannot open its multicast routing socket (a kernel without multicast
/// routing, or no CAP_NET_RAW), start-up fails after going to the background: the process that
/// was started still exits 1 with the one-line reason on stderr. With `-n` (log to syslog) the
/// reason is on stderr too; with `-d` (log to stderr) it is there once, as the log's error line.
/// Skipped where the daemon could really start (root on a kernel with multicast routing).
#[test]
fn a_start_up_failure_is_on_stderr_in_the_background_and_in_the_foreground() {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:\t0\t")))
        .unwrap_or(false);
    if root && std::path::Path::new("/proc/net/ip_mr_vif").exists() {
        eprintln!("skipped: mrproxy would start here");
        return;
    }
    let p = write("nokernel.conf", "phyint eth0 upstream\n");
    let control = p.with_file_name("nokernel.sock");
    let args = |mode: &'static [&'static str]| {
        let mut a: Vec<&str> = mode.to_vec();
        a.extend(["--control", control.to_str().unwrap(), p.to_str().unwrap()]);
        a
    };
    for mode in [&[][..], &["-n"][..]] {
        let o = mrproxy(&args(mode));
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{mode:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{mode:?}: {e}");
        assert!(
            e.starts_with("mrproxy: ")
                && (e.contains("multicast routing") || e.contains("CAP_NET_RAW")),
            "{mode:?}: {e}"
        );
    }
    let o = mrproxy(&args(&["-d"]));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains(" ERROR "), "{e}");
}

#[test]
fn check_warns_about_what_cannot_work_here_and_strict_makes_it_fatal() {
    let p = write(
        "strict.conf",
        "phyint lo upstream\nphyint br-lna downstream whitelist 192.168.1.0/24\n",
    );
    let o = mrproxy(&["--check", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(":2: interface 'br-lna' does not exist now"),
        "{e}"
    );
    assert!(
        e.contains("whitelist 192.168.1.0/24 on 'br-lna' can never match"),
        "{e}"
    );
    let o = mrproxy(&["--check", "--strict", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2 warning(s); --strict makes them fatal"),
        "{}",
        stderr(&o)
    );
    // The effective settings read back as a configuration.
    let effective = write("effective.conf", &String::from_utf8_lossy(&o.stdout));
    let again = mrproxy(&["--check", effective.to_str().unwrap()]);
    assert_eq!(again.stdout, o.stdout, "{}", stderr(&again));
    // A clean file passes --strict.
    let clean = write("clean.conf", "phyint lo upstream\n");
    let o = mrproxy(&["--check", "--strict", clean.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn version_and_help_name_the_manual_pages() {
    for flag in ["-V", "--version"] {
        let o = mrproxy(&[flag]);
        assert!(o.status.success());
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!("mrproxy {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
    let o = mrproxy(&["-h"]);
    assert!(
        stderr(&o).contains("See mrproxy(8) and mrproxy.conf(5)."),
        "{}",
        stderr(&o)
    );
}
