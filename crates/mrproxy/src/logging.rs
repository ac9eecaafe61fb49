//! Logging: timestamps and structured fields on stderr in the foreground; syslog (ident
//! `mrproxy`, facility daemon) when running in the background (igmpproxy.md D33).

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

fn level(verbosity: u8) -> &'static str {
    match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}

/// `RUST_LOG` overrides the level chosen with `-v`.
fn filter(verbosity: u8) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level(verbosity)))
}

pub fn to_stderr(verbosity: u8) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(verbosity))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

pub fn to_syslog(verbosity: u8) {
    let identity = c"mrproxy";
    // LOG_NDELAY: connect to /dev/log now, not at the first message, which may come after a
    // `chroot` that hides /dev/log.
    let writer = syslog_tracing::Syslog::new(
        identity,
        syslog_tracing::Options::LOG_PID | syslog_tracing::Options::LOG_NDELAY,
        syslog_tracing::Facility::Daemon,
    );
    match writer {
        Some(writer) => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter(verbosity))
                .with_writer(writer)
                .with_ansi(false)
                .without_time()
                .with_target(false)
                .try_init();
        }
        // Another syslog writer exists in this process (cannot happen in the daemon): keep stderr.
        None => to_stderr(verbosity),
    }
}
