//! The daemon: one tokio task on one thread owns the engine. Socket readers, netlink, signals,
//! the status socket and the engine's own deadline are the inputs; the kernel executor applies
//! the engine's actions.
//!
//! The loop never waits on anyone but the kernel's sockets: interface changes are debounced and
//! re-read by the netlink monitor's own task, status clients are read from and written to by
//! tasks of their own, and every input reaches the loop through a cancel-safe receive, so a
//! busy input (a LAN sending junk) cannot postpone another one.

mod counters;
mod kernel;
mod limiter;
mod names;
mod netlink;
mod order;
pub(crate) mod privileges;
mod receive;
mod report;
mod startup;

use crate::cli::RunOptions;
use crate::control::{self, ControlSocket};
use kernel::Kernel;
use limiter::LogLimiter;
use mrproxy_engine::{Engine, Event, Output, Timestamp};
use mrproxy_linux::{Detached, LinkMonitor, LinkUpdate, Notifier};
use mrproxy_types::Family;
use names::Names;
use receive::ReceiveFamily;
use report::Reporter;
use startup::Startup;
use std::future::pending;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::time::Instant;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{debug, error, info, warn};

pub fn run(opts: RunOptions) -> ExitCode {
    // Nothing the daemon creates is for others (the status socket gets its mode explicitly).
    mrproxy_linux::set_umask(UMASK);
    // Configuration errors are fatal at start only, and said before going to the background.
    let config = match crate::check::load(&opts.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    // `chroot` and `user` are resolved now (the user database is outside the new root) and
    // applied once every socket is open; a missing directory or user is said on the terminal.
    let plan = match privileges::Plan::resolve(&config, &opts.config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    // The status socket's group and path, also said on the terminal: a file that is not a
    // socket is never replaced.
    let control_group = match opts.control_group.as_deref().map(control::lookup_group) {
        None => None,
        Some(Ok(gid)) => Some(gid),
        Some(Err(e)) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = control::check_path(&opts.control) {
        eprintln!("mrproxy: {e}");
        return ExitCode::from(1);
    }
    let target = crate::logging::Target::choose(&opts);
    // Forked before any socket is opened and before the runtime starts a thread; the parent
    // exits with the child's start-up outcome.
    let mut startup = if opts.foreground {
        Startup::foreground(target.is_stderr())
    } else {
        match mrproxy_linux::detach() {
            Ok(Detached::Parent(starting)) => return startup::parent_exit(starting.wait()),
            Ok(Detached::Child(report)) => Startup::Background(report),
            Err(e) => {
                eprintln!("mrproxy: cannot go to the background (fork): {e}");
                return ExitCode::from(1);
            }
        }
    };
    crate::logging::init(target, opts.verbosity);
    for w in &config.warnings {
        warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let e = format!("cannot start the event loop: {e}");
            error!("{e}");
            startup.failed(&e);
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(opts, config, plan, control_group, &mut startup)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Logged once; before the daemon was ready also on the operator's terminal.
            error!("{e}");
            startup.failed(&e);
            ExitCode::from(1)
        }
    }
}

/// The daemon's umask: no permission for others, none to write for the group.
const UMASK: u32 = 0o027;

/// Tells systemd (`Type=notify`, `$NOTIFY_SOCKET`) what the daemon is doing; failures are
/// logged at debug level and otherwise ignored, as sd_notify(3) callers do.
struct Readiness(Option<Notifier>);

impl Readiness {
    /// Connects to `$NOTIFY_SOCKET` now: before a chroot, while its path still resolves.
    fn from_env() -> Readiness {
        match Notifier::from_env() {
            Ok(n) => Readiness(n),
            Err(e) => {
                warn!("NOTIFY_SOCKET unusable, no readiness notifications: {e}");
                Readiness(None)
            }
        }
    }

    fn say(&self, state: &str) {
        if let Some(n) = &self.0 {
            match n.notify(state) {
                Ok(()) => debug!(state, "told the service manager"),
                Err(e) => debug!(state, "cannot notify the service manager: {e}"),
            }
        }
    }

    /// `RELOADING=1` with the `MONOTONIC_USEC` that systemd ≥ 253 wants for `Type=notify-reload`.
    fn reloading(&self) {
        match mrproxy_linux::monotonic_usec() {
            Ok(usec) => self.say(&format!("RELOADING=1\nMONOTONIC_USEC={usec}")),
            Err(_) => self.say("RELOADING=1"),
        }
    }
}

/// What woke the loop.
enum Input {
    /// The engine's next deadline has come.
    Timeout,
    /// Interface changes, or a snapshot of all interfaces, from the netlink monitor.
    Links(LinkUpdate),
    /// The IPv4 mroute socket had data: the first datagram (`None` if it was not for the
    /// engine); the rest of the queue is drained before the engine's actions are executed.
    Received4(Option<Event>),
    Received6(Option<Event>),
    /// Receiving on the mroute socket of this family failed.
    ReceiveError(Family, std::io::Error),
    Reload,
    Stop(&'static str),
    Status(control::Request),
    /// A scrape of the metrics listener.
    Scrape(control::Request),
    /// The status socket stopped accepting clients; the daemon goes on without it.
    StatusGone(std::io::Error),
}

struct Daemon {
    engine: Engine,
    /// Messages per interface, for the status and the metrics.
    counters: counters::Counters,
    /// When each forwarding entry was first installed, for the status (as many as the engine
    /// keeps routes: it bounds them).
    routes_installed: std::collections::HashMap<(std::net::IpAddr, std::net::IpAddr), Instant>,
    kernel: Kernel,
    names: Names,
    reporter: Reporter,
    /// Receive errors of the mroute sockets, which can repeat per packet.
    warnings: LogLimiter,
    start: Instant,
}

impl Daemon {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Feeds the events to the engine in order, then executes the whole output as one batch.
    fn dispatch(&mut self, events: Vec<Event>) {
        let mut removed = Vec::new();
        let mut output = Output::new();
        for event in events {
            match &event {
                Event::InterfaceChanged(info) => self.names.set(info.ifindex, &info.name),
                Event::InterfaceRemoved { ifindex } => removed.push(*ifindex),
                _ => {}
            }
            self.counters.event(&event);
            let now = self.now();
            output.append(self.engine.handle(now, event));
        }
        self.execute(output);
        // Names are dropped last: the log lines still name the interface.
        for ifindex in removed {
            self.names.remove(ifindex);
            self.counters.forget(ifindex);
        }
    }

    /// The engine's deadline came: its timers run, reading forwarding entries' packet counters
    /// from the kernel for their idle expiry.
    fn timeout(&mut self) {
        let now = self.now();
        let output = self.engine.timeout(now, &self.kernel);
        self.execute(output);
    }

    /// Logs the notices, then executes the actions in [`order::execution_order`], feeding the
    /// kernel's answers (refusals, and the confirmations the engine waits for) back until none
    /// are left.
    fn execute(&mut self, mut output: Output) {
        while !output.is_empty() {
            for notice in &output.notices {
                self.reporter.notice(notice, &self.names);
                self.counters.notice(notice);
            }
            let mut answers = Vec::new();
            for action in order::execution_order(output.actions) {
                self.counters.action(&action);
                self.note_route(&action);
                match self.kernel.apply(&action, &self.names) {
                    // Successes matter only for changes the kernel refused before
                    // (docs/kernel-faults.md); the others are not worth an engine call.
                    Some(Event::KernelConfirmed { what })
                        if !self.engine.awaits_confirmation(&what) => {}
                    Some(answer) => answers.push(answer),
                    None => {}
                }
            }
            output = Output::new();
            for answer in answers {
                let now = self.now();
                output.append(self.engine.handle(now, answer));
            }
        }
    }

    fn note_route(&mut self, action: &mrproxy_engine::Action) {
        use mrproxy_engine::Action;
        match action {
            Action::SetRoute { sg, .. } => {
                self.routes_installed
                    .entry((sg.source(), sg.group()))
                    .or_insert_with(Instant::now);
            }
            Action::DeleteRoute(sg) => {
                self.routes_installed.remove(&(sg.source(), sg.group()));
            }
            _ => {}
        }
    }

    /// The status document (docs/status.md).
    fn status_document(
        &self,
        netlink: mrproxy_linux::MonitorCounters,
    ) -> crate::status::model::Document {
        use crate::status::{build, model};
        let names = |ifindex: u32| self.names.of(mrproxy_engine::IfIndex(ifindex));
        let route_counters = |s, g| {
            let sg = mrproxy_types::AnySourceGroup::from_ips(s, g)?;
            let c = self.kernel.route_counters(sg)?;
            Some(build::RouteCounters {
                packets: c.packets,
                bytes: c.bytes,
                wrong_interface: c.wrong_interface,
            })
        };
        let route_age = |s, g| {
            self.routes_installed
                .get(&(s, g))
                .map_or(0, |at: &Instant| at.elapsed().as_secs())
        };
        let counters = model::Stats {
            interfaces: self.counters.per_interface(|i| self.names.of(i)),
            dropped_elsewhere: self.counters.elsewhere(),
            kernel_failures: Vec::new(),
            netlink: model::NetlinkCounters {
                overruns: netlink.overruns,
                redumps: netlink.redumps,
                reconnects: netlink.reconnects,
            },
        };
        build::document(
            self.engine.status(self.now()),
            build::Extras {
                name: &names,
                route_counters: &route_counters,
                route_age: &route_age,
                counters,
            },
        )
    }

    /// One request of the status socket (crate::control): its answer.
    fn answer(
        &mut self,
        line: &str,
        config: &std::path::Path,
        plan: &privileges::Plan,
        readiness: &Readiness,
        netlink: mrproxy_linux::MonitorCounters,
    ) -> String {
        let text = |r: serde_json::Result<String>| {
            r.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
        };
        match line {
            "status" => text(serde_json::to_string(&self.status_document(netlink))),
            "metrics" => crate::status::prometheus::render(&self.status_document(netlink)),
            "engine" => {
                let status = self.engine.status(self.now());
                text(serde_json::to_value(&status).and_then(|mut status| {
                    status["netlink"] = netlink::status_counters(netlink);
                    serde_json::to_string_pretty(&status)
                }))
            }
            "reload" => {
                readiness.reloading();
                let outcome = self.reload(config, plan, "mrproxy reload");
                readiness.say("READY=1");
                text(serde_json::to_string(&crate::control::ReloadAnswer {
                    ok: outcome.is_ok(),
                    error: outcome.err(),
                }))
            }
            other => serde_json::json!({ "error": format!("unknown request '{other}': status, engine, metrics or reload") })
                .to_string(),
        }
    }

    /// SIGHUP or `mrproxy reload` (`by`): reads `file` again and applies it, or keeps the running
    /// configuration with one error saying why (inside a chroot the path resolves in the new
    /// root). The error is also the answer to `mrproxy reload`.
    fn reload(
        &mut self,
        file: &std::path::Path,
        plan: &privileges::Plan,
        by: &str,
    ) -> Result<(), String> {
        match crate::check::load(file) {
            Ok(config) => {
                for w in &config.warnings {
                    warn!("{w}");
                }
                if config.metrics != self.engine.config().metrics {
                    warn!("{by}: 'metrics' applies at start only; restart mrproxy to change it");
                }
                if !plan.made_from(&config) {
                    warn!(
                        "{by}: 'chroot' and 'user' apply at start only; restart mrproxy to change them"
                    );
                }
                info!(config = %file.display(), "{by}: configuration reloaded");
                self.dispatch(vec![Event::ConfigReplaced(Box::new(config))]);
                Ok(())
            }
            Err(e) => {
                let e = match &plan.chroot {
                    Some(dir) => format!(
                        "{e} (read inside the chroot {}: put the file at {}{} to reload it)",
                        dir.display(),
                        dir.display(),
                        file.display()
                    ),
                    None => e,
                };
                error!("{by}: {e}; keeping the running configuration");
                Err(e)
            }
        }
    }
}

async fn serve(
    opts: RunOptions,
    config: mrproxy_config::Config,
    plan: privileges::Plan,
    control_group: Option<u32>,
    startup: &mut Startup,
) -> Result<(), String> {
    let kernel = Kernel::open()?;
    let links = LinkMonitor::open(netlink::options_from_env()).map_err(|e| e.to_string())?;
    let mut control = match ControlSocket::bind(&opts.control, control_group).await {
        Ok(c) => Some(c),
        Err(e) => {
            warn!("no status socket: {e}");
            None
        }
    };
    // Bound before privileges are dropped; a failure is fatal, like a busy mroute socket: the
    // operator asked for metrics and would otherwise scrape nothing without knowing why.
    let mut metrics = match config.metrics {
        Some(address) => {
            let m = crate::metrics::Metrics::bind(address).await?;
            info!(address = %m.address, "serving metrics over HTTP at /metrics");
            Some(m)
        }
        None => None,
    };
    let start = Instant::now();
    let mut daemon = Daemon {
        engine: Engine::new(config, Timestamp::ZERO),
        counters: counters::Counters::default(),
        routes_installed: std::collections::HashMap::new(),
        kernel,
        names: Names::default(),
        reporter: Reporter::default(),
        warnings: LogLimiter::default(),
        start,
    };
    for link in links.dump().await.map_err(|e| e.to_string())? {
        daemon.dispatch(vec![Event::InterfaceChanged(link)]);
    }
    // From here on, changes come debounced from the monitor's own task, which also re-reads
    // everything after an overrun and reconnects after an error (docs/interfaces.md).
    let mut links = links.watch();
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    info!(config = %opts.config.display(), "mrproxy {} running", env!("CARGO_PKG_VERSION"));
    // The mroute sockets, VIFs and the status socket are set up and the loop runs next.
    let readiness = Readiness::from_env();
    // Everything the loop needs is open (the notification socket too): give up the root
    // directory, root itself and every capability.
    plan.apply(&opts.control, control.as_mut())?;
    startup.ready();
    readiness.say("READY=1");

    let mut buf4 = vec![0u8; 65_536];
    let mut buf6 = vec![0u8; 65_536];
    loop {
        let deadline = daemon.engine.next_deadline();
        let input = {
            let v4 = &daemon.kernel.v4;
            let v6 = daemon.kernel.v6.as_ref();
            let wake = async {
                match deadline {
                    Some(t) => {
                        let at = start + std::time::Duration::from_millis(t.as_millis());
                        tokio::time::sleep_until(at.into()).await
                    }
                    None => pending().await,
                }
            };
            let recv6 = async {
                match v6 {
                    Some(m) => m.recv(&mut buf6).await.map(Ipv6Addr::event),
                    None => pending().await,
                }
            };
            let status = async {
                match control.as_mut() {
                    Some(c) => c.next_request().await,
                    None => pending().await,
                }
            };
            let scrape = async {
                match metrics.as_mut() {
                    Some(m) => m.next_request().await,
                    None => pending().await,
                }
            };
            tokio::select! {
                r = v4.recv(&mut buf4) => match r {
                    Ok(r) => Input::Received4(Ipv4Addr::event(r)),
                    Err(e) => Input::ReceiveError(Family::V4, e),
                },
                r = recv6 => match r {
                    Ok(e) => Input::Received6(e),
                    Err(e) => Input::ReceiveError(Family::V6, e),
                },
                update = links.recv() => Input::Links(update),
                () = wake => Input::Timeout,
                _ = sigterm.recv() => Input::Stop("SIGTERM"),
                _ = sigint.recv() => Input::Stop("SIGINT"),
                _ = sighup.recv() => Input::Reload,
                r = status => match r {
                    Ok(request) => Input::Status(request),
                    Err(e) => Input::StatusGone(e),
                },
                r = scrape => match r {
                    Ok(request) => Input::Scrape(request),
                    Err(e) => {
                        warn!("metrics listener: {e}; continuing without it");
                        metrics = None;
                        continue;
                    }
                },
            }
        };
        match input {
            Input::Timeout => daemon.timeout(),
            Input::Links(update) => daemon.links(update, links.counters()),
            Input::Received4(first) => daemon.receive::<Ipv4Addr>(first, &mut buf4),
            Input::Received6(first) => daemon.receive::<Ipv6Addr>(first, &mut buf6),
            Input::ReceiveError(family, e) => daemon.receive_error(family, &e),
            Input::Reload => {
                readiness.reloading();
                // Said in the log; nobody waits for an answer to a signal.
                let _ = daemon.reload(&opts.config, &plan, "SIGHUP");
                // Ready again, with the new configuration or the one kept.
                readiness.say("READY=1");
            }
            Input::Status(request) => {
                debug!(request = %request.line, "status request");
                let body = daemon.answer(
                    &request.line,
                    &opts.config,
                    &plan,
                    &readiness,
                    links.counters(),
                );
                // Written by the client's own task, which drops a client that does not read.
                request.answer(body);
            }
            Input::Scrape(request) => {
                let body =
                    daemon.answer("metrics", &opts.config, &plan, &readiness, links.counters());
                request.answer(body);
            }
            Input::StatusGone(e) => {
                warn!("status socket: {e}; continuing without it");
                control = None;
            }
            Input::Stop(signal) => {
                readiness.say("STOPPING=1");
                info!("{signal}: removing forwarding entries and VIFs, leaving upstream groups");
                daemon.kernel.shutdown();
                return Ok(());
            }
        }
    }
}
