//! mrproxy: an IGMP/MLD multicast routing proxy for Linux (RFC 4605), a drop-in replacement for
//! igmpproxy. This binary parses the command line and hands over to the daemon, the status
//! client or the lab.

mod check;
mod cli;
mod control;
mod daemon;
mod logging;
mod metrics;
mod status;

use cli::Command;
use std::process::ExitCode;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(cli::UsageError(msg)) => {
            eprintln!("mrproxy: {msg}\n\n{}", cli::USAGE);
            return ExitCode::from(1);
        }
    };
    match command {
        Command::Help => {
            eprintln!("mrproxy {}\n\n{}", env!("CARGO_PKG_VERSION"), cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("mrproxy {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Check { config, strict } => check::run(&config, strict),
        Command::Run(opts) => daemon::run(opts),
        Command::Status {
            control,
            view,
            format,
        } => status_client(&control, view, format),
        Command::Reload { control } => reload_client(&control),
    }
}

/// `mrproxy status`: asks the daemon for its status document (or, with `--engine`, the engine's
/// snapshot) and prints it as asked.
fn status_client(control: &std::path::Path, view: cli::View, format: cli::Format) -> ExitCode {
    let request = if format == cli::Format::Engine {
        "engine"
    } else {
        "status"
    };
    let answer = match control::client(control, request) {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("mrproxy: {e}");
            return ExitCode::from(1);
        }
    };
    if format == cli::Format::Engine {
        print!("{answer}");
        return ExitCode::SUCCESS;
    }
    let doc: status::model::Document = match serde_json::from_str(&answer) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!(
                "mrproxy: the daemon's status answer is not a status document ({e}); is the \
                 daemon of another version? Restart it or use the matching mrproxy"
            );
            return ExitCode::from(1);
        }
    };
    match format {
        cli::Format::Table => print!("{}", status::table::render(&doc, view)),
        cli::Format::Prometheus => print!("{}", status::prometheus::render(&doc)),
        _ => match serde_json::to_string_pretty(&status::view::select(&doc, view)) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("mrproxy: {e}");
                return ExitCode::from(1);
            }
        },
    }
    ExitCode::SUCCESS
}

/// `mrproxy reload`: the daemon reads its configuration again and answers whether it took it.
fn reload_client(control: &std::path::Path) -> ExitCode {
    match control::client(control, "reload") {
        Ok(answer) => match serde_json::from_str::<control::ReloadAnswer>(&answer) {
            Ok(control::ReloadAnswer { ok: true, .. }) => {
                println!("mrproxy: configuration reloaded");
                ExitCode::SUCCESS
            }
            Ok(control::ReloadAnswer { error, .. }) => {
                eprintln!(
                    "mrproxy: reload refused, the running configuration stays: {}",
                    error.unwrap_or_default()
                );
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("mrproxy: unexpected answer to reload ({e}): {answer}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("mrproxy: {e}");
            ExitCode::from(1)
        }
    }
}
