//! The daemon: one tokio task on one thread owns the engine. Socket readers, netlink, signals,
//! the status socket and the engine's own deadline are the inputs; the kernel executor applies
//! the engine's actions.

mod convert;
mod kernel;
mod names;
mod report;

use crate::cli::RunOptions;
use crate::control::{self, ControlSocket};
use kernel::Kernel;
use mrproxy_engine::{Engine, Event, Timestamp};
use mrproxy_linux::LinkMonitor;
use names::Names;
use report::Reporter;
use std::future::pending;
use std::process::ExitCode;
use std::time::Instant;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

pub fn run(opts: RunOptions) -> ExitCode {
    // Configuration errors are fatal at start only, and said before going to the background.
    let config = match crate::check::load(&opts.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    if !opts.foreground {
        if let Err(e) = mrproxy_linux::daemonize() {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    }
    if opts.log_to_stderr || opts.foreground {
        crate::logging::to_stderr(opts.verbosity);
    } else {
        crate::logging::to_syslog(opts.verbosity);
    }
    for w in &config.warnings {
        warn!("{w}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            error!("cannot start the event loop: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(opts, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Logged once: on stderr in the foreground, in syslog in the background.
            error!("{e}");
            ExitCode::from(1)
        }
    }
}

/// What woke the loop.
enum Input {
    Event(Event),
    Events(Vec<Event>),
    Nothing,
    Reload,
    Stop(&'static str),
    Status(tokio::net::UnixStream),
}

struct Daemon {
    engine: Engine,
    kernel: Kernel,
    names: Names,
    reporter: Reporter,
    start: Instant,
}

impl Daemon {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Feed one event and execute the resulting actions, feeding answers (route counters) back.
    fn dispatch(&mut self, event: Event) {
        if let Event::InterfaceChanged(info) = &event {
            self.names.set(info.ifindex, &info.name);
        }
        let removed = match &event {
            Event::InterfaceRemoved { ifindex } => Some(*ifindex),
            _ => None,
        };
        let mut queue = vec![event];
        while let Some(event) = queue.pop() {
            let now = self.now();
            for action in self.engine.handle(now, event) {
                self.reporter.action(&action, &self.names);
                if let Some(answer) = self.kernel.apply(&action, &self.names) {
                    queue.push(answer);
                }
            }
        }
        if let Some(i) = removed {
            self.names.remove(i);
        }
    }
}

async fn serve(opts: RunOptions, config: mrproxy_config::Config) -> Result<(), String> {
    let kernel = Kernel::open()?;
    let mut links = LinkMonitor::new().map_err(|e| e.to_string())?;
    let mut control = match ControlSocket::bind(&opts.control).await {
        Ok(c) => Some(c),
        Err(e) => {
            warn!("no status socket: {e}");
            None
        }
    };
    let start = Instant::now();
    let mut daemon = Daemon {
        engine: Engine::new(config, Timestamp::ZERO),
        kernel,
        names: Names::default(),
        reporter: Reporter::default(),
        start,
    };
    for link in links.dump().await.map_err(|e| e.to_string())? {
        daemon.dispatch(Event::InterfaceChanged(convert::link(link)));
    }
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    info!(config = %opts.config.display(), "mrproxy {} running", env!("CARGO_PKG_VERSION"));

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
                    Some(m) => m
                        .recv(&mut buf6)
                        .await
                        .map(|r| convert::received6(r, &buf6)),
                    None => pending().await,
                }
            };
            let status = async {
                match control.as_mut() {
                    Some(c) => c.next_request().await,
                    None => pending().await,
                }
            };
            tokio::select! {
                r = v4.recv(&mut buf4) => match r {
                    Ok(r) => convert::received4(r, &buf4).map_or(Input::Nothing, Input::Event),
                    Err(e) => { warn!("receiving on the IPv4 mroute socket: {e}"); Input::Nothing }
                },
                r = recv6 => match r {
                    Ok(e) => e.map_or(Input::Nothing, Input::Event),
                    Err(e) => { warn!("receiving on the IPv6 mroute socket: {e}"); Input::Nothing }
                },
                r = links.next_events() => match r {
                    Ok(events) => Input::Events(events.into_iter().map(convert::link_event).collect()),
                    Err(e) => return Err(format!("netlink connection lost: {e}")),
                },
                () = wake => Input::Event(Event::Timeout),
                _ = sigterm.recv() => Input::Stop("SIGTERM"),
                _ = sigint.recv() => Input::Stop("SIGINT"),
                _ = sighup.recv() => Input::Reload,
                r = status => match r {
                    Ok((stream, _request)) => Input::Status(stream),
                    Err(e) => { warn!("status socket: {e}"); Input::Nothing }
                },
            }
        };
        match input {
            Input::Event(e) => daemon.dispatch(e),
            Input::Events(events) => events.into_iter().for_each(|e| daemon.dispatch(e)),
            Input::Nothing => {}
            Input::Reload => match crate::check::load(&opts.config) {
                Ok(config) => {
                    for w in &config.warnings {
                        warn!("{w}");
                    }
                    info!(config = %opts.config.display(), "SIGHUP: configuration reloaded");
                    daemon.dispatch(Event::ConfigReplaced(Box::new(config)));
                }
                Err(e) => error!("SIGHUP: {e}; keeping the running configuration"),
            },
            Input::Status(stream) => {
                let status = daemon.engine.status(daemon.now());
                let body = serde_json::to_string_pretty(&status)
                    .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
                control::reply(stream, &body).await;
            }
            Input::Stop(signal) => {
                info!("{signal}: removing forwarding entries and VIFs, leaving upstream groups");
                daemon.kernel.shutdown();
                return Ok(());
            }
        }
    }
}
