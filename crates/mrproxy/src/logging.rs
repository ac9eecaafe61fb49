//! Logging, where the platform expects it (docs/igmpproxy-differences.md D33):
//! - `-d` (debug): stderr, with timestamps and structured fields;
//! - `-n` (foreground, what Debian's and OpenWrt's init scripts pass) and in the background:
//!   syslog, ident `mrproxy`, facility daemon, as igmpproxy does;
//! - when stderr is the journal (`$JOURNAL_STREAM` names stderr's device and inode,
//!   systemd.exec(5)), with `-d` or `-n`: stderr, every line prefixed with its syslog priority
//!   (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug; sd-daemon(3)) and without a
//!   timestamp of its own, which the journal adds.

use crate::cli::RunOptions;
use std::fmt;
use std::io::IsTerminal;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Where the log lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// stderr, for a person reading it (`-d`).
    Stderr,
    /// stderr connected to the systemd journal: `<N>` priorities, no timestamps.
    Journal,
    /// syslog(3).
    Syslog,
}

impl Target {
    /// The target for `opts` in this process's environment.
    pub fn choose(opts: &RunOptions) -> Target {
        let journal = journal_is_stderr(
            std::env::var("JOURNAL_STREAM").ok().as_deref(),
            mrproxy_linux::stderr_identity(),
        );
        pick(opts.foreground, opts.log_to_stderr, journal)
    }

    /// Whether lines go to stderr, where an operator starting the daemon reads them.
    pub fn is_stderr(self) -> bool {
        self != Target::Syslog
    }
}

/// In the background stderr goes to /dev/null: syslog. In the foreground the journal, when
/// stderr is it, is the system log; otherwise `-d` means stderr and `-n` syslog.
fn pick(foreground: bool, log_to_stderr: bool, journal: bool) -> Target {
    match (foreground, log_to_stderr, journal) {
        (false, _, _) => Target::Syslog,
        (true, _, true) => Target::Journal,
        (true, true, false) => Target::Stderr,
        (true, false, false) => Target::Syslog,
    }
}

/// `$JOURNAL_STREAM` is `DEVICE:INODE` in decimal; it only counts when stderr is that stream
/// (a child whose stderr was redirected inherits the variable but not the stream).
fn journal_is_stderr(stream: Option<&str>, stderr: Option<(u64, u64)>) -> bool {
    let parsed = stream.and_then(|s| {
        let (dev, ino) = s.split_once(':')?;
        Some((dev.parse::<u64>().ok()?, ino.parse::<u64>().ok()?))
    });
    parsed.is_some() && parsed == stderr
}

fn level(verbosity: u8) -> &'static str {
    match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}

/// `RUST_LOG` overrides the level chosen with `-v`: a level (`debug`), or comma-separated
/// `target=level` directives with an optional default level (`warn,mrproxy_linux=trace`),
/// a target matching every module path it prefixes. A value that does not parse is ignored.
/// The subscriber itself passes every level (its builder's default is INFO); this filter,
/// layered on it, decides.
fn filter(verbosity: u8) -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| parse_filter(&v))
        .unwrap_or_else(|| parse_filter(level(verbosity)).unwrap_or_default())
}

fn parse_filter(directives: &str) -> Option<Targets> {
    directives.parse().ok()
}

pub fn init(target: Target, verbosity: u8) {
    match target {
        Target::Stderr => to_stderr(verbosity),
        Target::Journal => to_journal(verbosity),
        Target::Syslog => to_syslog(verbosity),
    }
}

fn to_stderr(verbosity: u8) {
    let _ = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .finish()
        .with(filter(verbosity))
        .try_init();
}

fn to_journal(verbosity: u8) {
    let _ = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(Prioritized::new())
        .finish()
        .with(filter(verbosity))
        .try_init();
}

fn to_syslog(verbosity: u8) {
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
                .with_max_level(Level::TRACE)
                .with_writer(writer)
                .with_ansi(false)
                .without_time()
                .with_target(false)
                .finish()
                .with(filter(verbosity))
                .try_init();
        }
        // Another syslog writer exists in this process (cannot happen in the daemon): keep stderr.
        None => to_stderr(verbosity),
    }
}

/// The syslog priority sd-daemon(3) reads from a `<N>` line prefix.
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// A line for the journal: `<N>` then the message and its fields, without time, level word or
/// colours (the journal records all three itself).
struct Prioritized<F>(F);

impl
    Prioritized<tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Full, ()>>
{
    fn new() -> Self {
        Prioritized(
            tracing_subscriber::fmt::format()
                .without_time()
                .with_level(false)
                .with_target(false)
                .with_ansi(false),
        )
    }
}

impl<S, N, F> FormatEvent<S, N> for Prioritized<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn n_is_syslog_d_is_stderr_and_the_journal_wins_in_the_foreground() {
        assert_eq!(pick(false, false, false), Target::Syslog);
        assert_eq!(pick(false, false, true), Target::Syslog);
        assert_eq!(pick(true, false, false), Target::Syslog);
        assert_eq!(pick(true, true, false), Target::Stderr);
        assert_eq!(pick(true, true, true), Target::Journal);
        assert_eq!(pick(true, false, true), Target::Journal);
    }

    #[test]
    fn journal_stream_must_name_stderr() {
        assert!(journal_is_stderr(Some("8:12345"), Some((8, 12345))));
        assert!(!journal_is_stderr(Some("8:12345"), Some((8, 12346))));
        assert!(!journal_is_stderr(Some("8:12345"), None));
        assert!(!journal_is_stderr(None, Some((8, 12345))));
        assert!(!journal_is_stderr(Some("8"), Some((8, 0))));
        assert!(!journal_is_stderr(Some("x:y"), Some((8, 12345))));
    }

    #[test]
    fn verbosity_and_rust_log_directives_choose_the_levels() {
        let warn = parse_filter(level(0)).unwrap();
        assert!(warn.would_enable("mrproxy::daemon", &Level::WARN));
        assert!(!warn.would_enable("mrproxy::daemon", &Level::INFO));
        let debug = parse_filter(level(2)).unwrap();
        assert!(debug.would_enable("mrproxy_linux::netlink", &Level::DEBUG));
        assert!(!debug.would_enable("mrproxy_linux::netlink", &Level::TRACE));
        let mixed = parse_filter("warn,mrproxy_linux=trace").unwrap();
        assert!(mixed.would_enable("mrproxy_linux::netlink::watch", &Level::TRACE));
        assert!(!mixed.would_enable("mrproxy::daemon", &Level::INFO));
        assert!(parse_filter("mrproxy=loud").is_none());
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn journal_lines_start_with_their_priority_and_carry_no_time() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .event_format(Prioritized::new())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!("e1");
            tracing::warn!("w1");
            tracing::info!(iface = "dn1", vif = 0, "attached");
            tracing::debug!("d1");
            tracing::trace!("t1");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "<3>e1",
                "<4>w1",
                "<6>attached iface=\"dn1\" vif=0",
                "<7>d1",
                "<7>t1"
            ]
        );
    }
}
