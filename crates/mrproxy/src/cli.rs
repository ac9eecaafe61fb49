//! The command line, compatible with igmpproxy's `getopt("vdnh")` (docs/igmpproxy-differences.md §2; igmpproxy:
//! `-n` do not run as a daemon, `-d` debug mode, i.e. foreground and log to stderr, `-v` more):
//! `mrproxy [-h] [-V] [-n] [-d] [-v [-v]] [--check [--strict]] [CONFIGFILE]`, plus mrproxy's own
//! options and the client subcommands `mrproxy status` and `mrproxy reload` (mrproxy(8)). Long
//! options take their value as the next argument or after `=`. (The lab is its own binary,
//! `mrproxy-lab`, so the daemon does not link the test harness.)

use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/mrproxy.conf";
/// In a directory of its own, so that a service manager can create it for the daemon's user
/// (systemd's `RuntimeDirectory=mrproxy`); the daemon creates it when it is missing.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/mrproxy/mrproxy.sock";

pub const USAGE: &str = "\
Usage: mrproxy [-h] [-V] [-n] [-d] [-v [-v]] [--control PATH] [--control-group NAME]
               [CONFIGFILE]
       mrproxy --check [--strict] [CONFIGFILE]
       mrproxy status [interfaces|groups|hosts|upstream|routes|stats] [--json|--prometheus]
                      [--control PATH]
       mrproxy reload [--control PATH]

  -h, --help  print this help and exit
  -V, --version
              print the version and exit
  -n          do not run in the background (what igmpproxy's -n does, and init scripts
              and systemd pass); log to syslog
  -d          debug mode: do not run in the background, log to stderr
  -v          log more (-v: info, -vv: debug; default: warnings)
  --check     validate CONFIGFILE (its user and chroot too), warn about what cannot work
              on this machine, print the effective settings and exit
  --strict    with --check: warnings make the exit status 2
  --control PATH
              the status socket (default /run/mrproxy/mrproxy.sock); created with mode
              0660, owner and group may connect; a file there that is not a socket is an error
  --control-group NAME
              group of the status socket, whose members may run `mrproxy status`
              (default: the daemon's group)
  CONFIGFILE  igmpproxy.conf syntax plus mrproxy extensions (default /etc/mrproxy.conf)

  status      print the running daemon's state as tables: one view, or all of them;
              --json: the same as JSON; --prometheus: metrics in the Prometheus text format
  reload      make the running daemon read its configuration again; exits 1 with the
              error when the new file is refused (the running configuration stays)

Without -n or -d mrproxy goes to the background once its sockets and interfaces are set up;
a start-up that fails exits 1 with the reason on stderr either way. Logs go to syslog (ident
mrproxy, facility daemon), to stderr with -d, and to the journal with their priorities when
stderr is the systemd journal. Once started, mrproxy keeps no capability (umask 027,
no_new_privs), with or without a 'user' line.

See mrproxy(8) and mrproxy.conf(5).
";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Run(RunOptions),
    Check {
        config: PathBuf,
        strict: bool,
    },
    Status {
        control: PathBuf,
        view: View,
        format: Format,
    },
    Reload {
        control: PathBuf,
    },
}

/// What `mrproxy status` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    All,
    Interfaces,
    Groups,
    Hosts,
    Upstream,
    Routes,
    Stats,
}

impl View {
    pub const NAMED: [(&str, View); 6] = [
        ("interfaces", View::Interfaces),
        ("groups", View::Groups),
        ("hosts", View::Hosts),
        ("upstream", View::Upstream),
        ("routes", View::Routes),
        ("stats", View::Stats),
    ];
}

/// How `mrproxy status` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Prometheus,
    /// `--engine`: the engine's internal snapshot as JSON, for developers and the project's own
    /// tests; its shape follows the code and is not a stable interface (HACKING.md).
    Engine,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    pub config: PathBuf,
    pub foreground: bool,
    pub log_to_stderr: bool,
    /// 0 = warnings, 1 = info, 2 = debug, 3 = trace.
    pub verbosity: u8,
    pub control: PathBuf,
    /// `--control-group NAME`: the group given the status socket.
    pub control_group: Option<String>,
}

/// A usage error: the message, printed with the usage text; exit status 1 like igmpproxy.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

/// The arguments, with `--name=value` split into `--name` `value`.
fn split_values<I: IntoIterator<Item = String>>(args: I) -> Vec<String> {
    let mut out = Vec::new();
    let mut only_positional = false;
    for arg in args {
        if only_positional {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            only_positional = true;
            out.push(arg);
        } else if let Some((name, value)) = arg.split_once('=').filter(|_| arg.starts_with("--")) {
            out.push(name.to_owned());
            out.push(value.to_owned());
        } else {
            out.push(arg);
        }
    }
    out
}

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, UsageError> {
    let mut args = split_values(args).into_iter().peekable();
    match args.peek().map(String::as_str) {
        Some("status") => {
            args.next();
            return parse_status(args);
        }
        Some("reload") => {
            args.next();
            let mut control = PathBuf::from(DEFAULT_CONTROL_SOCKET);
            while let Some(a) = args.next() {
                match a.as_str() {
                    "--control" => control = value(&mut args, "--control")?.into(),
                    other => return Err(unexpected(other, "reload")),
                }
            }
            return Ok(Command::Reload { control });
        }
        _ => {}
    }
    let mut opts = RunOptions {
        config: PathBuf::new(),
        foreground: false,
        log_to_stderr: false,
        verbosity: 0,
        control: PathBuf::from(DEFAULT_CONTROL_SOCKET),
        control_group: None,
    };
    let (mut check, mut strict) = (false, false);
    let mut positional: Vec<String> = Vec::new();
    let mut only_positional = false;
    while let Some(arg) = args.next() {
        if only_positional || !arg.starts_with('-') || arg == "-" {
            positional.push(arg);
            continue;
        }
        match arg.as_str() {
            "--" => only_positional = true,
            "--check" => check = true,
            "--strict" => strict = true,
            "--version" => return Ok(Command::Version),
            "--help" => return Ok(Command::Help),
            "--control" => opts.control = value(&mut args, "--control")?.into(),
            "--control-group" => {
                opts.control_group = Some(value(&mut args, "--control-group")?);
            }
            long if long.starts_with("--") => {
                return Err(UsageError(format!("unknown option '{long}'")));
            }
            short => {
                // getopt semantics: flags may be combined (-vv, -dv, -nvv).
                for flag in short.chars().skip(1) {
                    match flag {
                        'h' => return Ok(Command::Help),
                        'V' => return Ok(Command::Version),
                        'n' => opts.foreground = true,
                        'd' => {
                            opts.log_to_stderr = true;
                            opts.foreground = true;
                        }
                        'v' => opts.verbosity = opts.verbosity.saturating_add(1).min(3),
                        other => return Err(UsageError(format!("unknown option '-{other}'"))),
                    }
                }
            }
        }
    }
    if positional.len() > 1 {
        return Err(UsageError(format!(
            "expected one configuration file, got {}: {}",
            positional.len(),
            positional.join(" ")
        )));
    }
    opts.config = positional
        .pop()
        .map_or_else(|| PathBuf::from(DEFAULT_CONFIG), PathBuf::from);
    if strict && !check {
        return Err(UsageError("--strict goes with --check".into()));
    }
    if check {
        return Ok(Command::Check {
            config: opts.config,
            strict,
        });
    }
    Ok(Command::Run(opts))
}

fn parse_status(mut args: impl Iterator<Item = String>) -> Result<Command, UsageError> {
    let mut control = PathBuf::from(DEFAULT_CONTROL_SOCKET);
    let mut view = None;
    let mut format = Format::Table;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--control" => control = value(&mut args, "--control")?.into(),
            "--json" | "--prometheus" | "--engine" if format != Format::Table => {
                return Err(UsageError(
                    "--json, --prometheus and --engine exclude each other".into(),
                ));
            }
            "--json" => format = Format::Json,
            "--prometheus" => format = Format::Prometheus,
            "--engine" => format = Format::Engine,
            name if view.is_none() && !name.starts_with('-') => {
                let found = View::NAMED.iter().find(|(n, _)| *n == name);
                view = Some(found.map(|(_, v)| *v).ok_or_else(|| {
                    UsageError(format!(
                        "unknown status view '{name}': interfaces, groups, hosts, upstream, \
                         routes or stats"
                    ))
                })?);
            }
            other => return Err(unexpected(other, "status")),
        }
    }
    Ok(Command::Status {
        control,
        view: view.unwrap_or(View::All),
        format,
    })
}

fn unexpected(arg: &str, command: &str) -> UsageError {
    UsageError(format!("unexpected argument '{arg}' for {command}"))
}

fn value(args: &mut impl Iterator<Item = String>, name: &str) -> Result<String, UsageError> {
    args.next()
        .ok_or_else(|| UsageError(format!("{name} needs a value")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    fn run(args: &[&str]) -> RunOptions {
        match p(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("expected Run for {args:?}, got {other:?}"),
        }
    }

    #[test]
    fn igmpproxy_init_script_lines_parse() {
        // Debian: igmpproxy -n /etc/igmpproxy.conf; OpenWrt: igmpproxy -n -v -v /var/etc/igmpproxy.conf
        let o = run(&["-n", "/etc/igmpproxy.conf"]);
        assert!(o.foreground && !o.log_to_stderr);
        assert_eq!(o.config, PathBuf::from("/etc/igmpproxy.conf"));
        let o = run(&["-n", "-v", "-v", "/var/etc/igmpproxy.conf"]);
        assert_eq!(o.verbosity, 2);
        let o = run(&["-nvv", "/var/etc/igmpproxy.conf"]);
        assert_eq!((o.foreground, o.verbosity), (true, 2));
    }

    #[test]
    fn debug_flag_implies_foreground_and_stderr() {
        let o = run(&["-d", "x.conf"]);
        assert!(o.foreground && o.log_to_stderr);
    }

    #[test]
    fn default_config_path() {
        assert_eq!(run(&[]).config, PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn help_and_errors() {
        assert_eq!(p(&["-h"]), Ok(Command::Help));
        assert_eq!(p(&["-nh", "a"]), Ok(Command::Help));
        assert!(p(&["-x"]).is_err());
        assert!(p(&["a.conf", "b.conf"]).is_err());
        assert!(p(&["--bogus"]).is_err());
    }

    #[test]
    fn control_socket_path_and_group() {
        let o = run(&[
            "-n",
            "--control",
            "/run/m/s.sock",
            "--control-group",
            "netdev",
            "x.conf",
        ]);
        assert_eq!(o.control, PathBuf::from("/run/m/s.sock"));
        assert_eq!(o.control_group.as_deref(), Some("netdev"));
        assert_eq!(run(&["x.conf"]).control_group, None);
        assert!(p(&["--control-group"]).is_err());
    }

    #[test]
    fn check_and_subcommands() {
        assert_eq!(
            p(&["--check", "a.conf"]),
            Ok(Command::Check {
                config: "a.conf".into(),
                strict: false,
            })
        );
        assert_eq!(
            p(&["--check", "--strict", "a.conf"]),
            Ok(Command::Check {
                config: "a.conf".into(),
                strict: true,
            })
        );
        assert!(p(&["--strict", "a.conf"]).is_err());
        assert_eq!(
            p(&["status"]),
            Ok(Command::Status {
                control: DEFAULT_CONTROL_SOCKET.into(),
                view: View::All,
                format: Format::Table,
            })
        );
        assert_eq!(
            p(&["reload"]),
            Ok(Command::Reload {
                control: DEFAULT_CONTROL_SOCKET.into()
            })
        );
        // A config file that happens to be called "status" can still be given with "--".
        assert!(
            matches!(p(&["--", "status"]), Ok(Command::Run(o)) if o.config == std::path::Path::new("status"))
        );
    }

    #[test]
    fn status_views_and_formats() {
        assert_eq!(
            p(&["status", "routes", "--json", "--control=/run/x.sock"]),
            Ok(Command::Status {
                control: "/run/x.sock".into(),
                view: View::Routes,
                format: Format::Json,
            })
        );
        assert_eq!(
            p(&["status", "--prometheus"]),
            Ok(Command::Status {
                control: DEFAULT_CONTROL_SOCKET.into(),
                view: View::All,
                format: Format::Prometheus,
            })
        );
        for (name, view) in View::NAMED {
            assert!(
                matches!(p(&["status", name]), Ok(Command::Status { view: v, .. }) if v == view)
            );
        }
        assert!(p(&["status", "route"]).is_err());
        assert!(p(&["status", "routes", "groups"]).is_err());
        assert!(p(&["status", "--json", "--prometheus"]).is_err());
        assert!(p(&["reload", "now"]).is_err());
    }

    #[test]
    fn long_options_take_their_value_after_an_equals_sign() {
        let o = run(&[
            "--control=/run/m/s.sock",
            "--control-group=netdev",
            "x.conf",
        ]);
        assert_eq!(o.control, PathBuf::from("/run/m/s.sock"));
        assert_eq!(o.control_group.as_deref(), Some("netdev"));
        // After "--" an argument with '=' is a file name.
        assert_eq!(run(&["--", "--a=b"]).config, PathBuf::from("--a=b"));
    }

    #[test]
    fn version_flags() {
        assert_eq!(p(&["-V"]), Ok(Command::Version));
        assert_eq!(p(&["--version"]), Ok(Command::Version));
    }
}
