//! mrproxy: an IGMP/MLD multicast routing proxy for Linux (RFC 4605), a drop-in replacement for
//! igmpproxy. This binary parses the command line and hands over to the daemon, the status
//! client or the lab.

mod check;
mod cli;
mod control;
mod daemon;
mod logging;

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
        Command::Check { config } => check::run(&config),
        Command::Run(opts) => daemon::run(opts),
        Command::Status { control } => match control::client(&control, "status") {
            Ok(answer) => {
                print!("{answer}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mrproxy: {e}");
                ExitCode::from(1)
            }
        },
    }
}
