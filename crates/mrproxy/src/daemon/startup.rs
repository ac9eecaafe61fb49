//! How the outcome of start-up reaches the operator who started the daemon.
//!
//! In the background the process forks before opening anything (`mrproxy_linux::detach`); the
//! child opens every socket, adds the VIFs, gives up privileges and then says "ready" over a
//! pipe, or sends the one-line reason it cannot run. The parent waits for that and exits 0, or
//! 1 with the reason on its stderr: a second instance or a missing capability is seen on the
//! terminal (and by an init script's exit status), not only in syslog. In the foreground the
//! reason is printed on stderr too when the log goes to syslog.

use mrproxy_linux::{Outcome, StartupReport};
use std::process::ExitCode;

/// The daemon's side.
pub enum Startup {
    /// In the foreground; `echo`: the log does not go to stderr, so a failure is also printed
    /// there. `done` once the daemon serves.
    Foreground { echo: bool, done: bool },
    /// In the background: the parent waits on the other end of the pipe.
    Background(StartupReport),
}

impl Startup {
    pub fn foreground(log_on_stderr: bool) -> Startup {
        Startup::Foreground {
            echo: !log_on_stderr,
            done: false,
        }
    }

    /// Start-up is complete: the parent, if any, exits 0 and stdio leaves the terminal.
    pub fn ready(&mut self) {
        match self {
            Startup::Foreground { done, .. } => *done = true,
            Startup::Background(report) => {
                if let Err(e) = report.ready() {
                    tracing::warn!("cannot redirect stdin, stdout and stderr to /dev/null: {e}");
                }
            }
        }
    }

    /// The daemon stops with `reason` (already logged). Before it was ready, the reason goes
    /// to the operator's terminal; after, the log has it.
    pub fn failed(&mut self, reason: &str) {
        match self {
            Startup::Foreground { echo, done } => {
                if *echo && !*done {
                    eprintln!("mrproxy: {reason}");
                }
                *done = true;
            }
            Startup::Background(report) => report.failed(reason),
        }
    }
}

/// The parent's exit: 0 once the daemon serves, 1 with the reason otherwise.
pub fn parent_exit(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Ready => ExitCode::SUCCESS,
        Outcome::Failed(reason) => {
            eprintln!("mrproxy: {reason}");
            ExitCode::from(1)
        }
        Outcome::Died(how) => {
            eprintln!(
                "mrproxy: the daemon {how} during start-up; run it in the foreground with -d to \
                 see why"
            );
            ExitCode::from(1)
        }
    }
}
