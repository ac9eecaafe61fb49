//! The command line, compatible with igmpproxy's `getopt("vdnh")` (docs/igmpproxy-differences.md §2; igmpproxy:
//! `-n` do not run as a daemon, `-d` debug mode, i.e. foreground and log to stderr, `-v` more):
//! `mrproxy [-h] [-n] [-d] [-v [-v]] [--check] [CONFIGFILE]`, plus mrproxy's own options and subcommand
//! `mrproxy status`. (The lab is its own binary, `mrproxy-lab`, so the daemon does not link the
//! test harness.)

use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/mrproxy.conf";
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/mrproxy.sock";

pub const USAGE: &str = "\
Usage: mrproxy [-h] [-n] [-d] [-v [-v]] [--check] [--control PATH] [--control-group NAME]
               [CONFIGFILE]
       mrproxy status [--control PATH]

  -h          print this help and exit
  -n          do not run in the background (what igmpproxy's -n does, and init scripts
              and systemd pass); log to syslog
  -d          debug mode: do not run in the background, log to stderr
  -v          log more (-v: info, -vv: debug; default: warnings)
  --check     validate CONFIGFILE (its user and chroot too), print what it configures
              and exit
  --control   path of the status socket (default /run/mrproxy.sock); created with mode
              0660, owner and group may connect; a file there that is not a socket is an error
  --control-group
              group of the status socket, whose members may run `mrproxy status`
              (default: the daemon's group)
  --version   print the version and exit
  CONFIGFILE  igmpproxy.conf syntax plus mrproxy extensions (default /etc/mrproxy.conf);
              see docs/mrproxy.conf.5.md

  status      print the running daemon's state (interfaces, groups, routes) as JSON

Without -n or -d mrproxy goes to the background once its sockets and interfaces are set up;
a start-up that fails exits 1 with the reason on stderr either way. Logs go to syslog (ident
mrproxy, facility daemon), to stderr with -d, and to the journal with their priorities when
stderr is the systemd journal. Once started, mrproxy keeps no capability (umask 027,
no_new_privs), with or without a 'user' line.
";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Run(RunOptions),
    Check { config: PathBuf },
    Status { control: PathBuf },
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

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, UsageError> {
    let mut args = args.into_iter().peekable();
    if args.peek().map(String::as_str) == Some("status") {
        args.next();
        let mut control = PathBuf::from(DEFAULT_CONTROL_SOCKET);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--control" => control = value(&mut args, "--control")?.into(),
                other => {
                    return Err(UsageError(format!(
                        "unexpected argument '{other}' for status"
                    )));
                }
            }
        }
        return Ok(Command::Status { control });
    }
    let mut opts = RunOptions {
        config: PathBuf::new(),
        foreground: false,
        log_to_stderr: false,
        verbosity: 0,
        control: PathBuf::from(DEFAULT_CONTROL_SOCKET),
        control_group: None,
    };
    let mut check = false;
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
    if check {
        return Ok(Command::Check {
            config: opts.config,
        });
    }
    Ok(Command::Run(opts))
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
                config: "a.conf".into()
            })
        );
        assert_eq!(
            p(&["status"]),
            Ok(Command::Status {
                control: DEFAULT_CONTROL_SOCKET.into()
            })
        );
        // A config file that happens to be called "status" can still be given with "--".
        assert!(
            matches!(p(&["--", "status"]), Ok(Command::Run(o)) if o.config == std::path::Path::new("status"))
        );
    }
}
