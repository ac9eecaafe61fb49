//! Going to the background so that start-up still fails where the operator looks: the process
//! forks before anything is opened, the child does the whole start-up (sockets, VIFs, giving up
//! privileges) and reports the outcome over a pipe; the parent waits for it and exits non-zero
//! with the child's one-line reason, or 0 once the child serves.
//!
//! Protocol on the pipe (child to parent): `R` once ready, or `E` followed by the reason. End of
//! file with neither means the child died; the parent then reaps it and says how.
#![allow(unsafe_code)]

use nix::fcntl::OFlag;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

/// Which side of the fork this is.
pub enum Detached {
    /// The process that was started: it waits for the outcome and exits with it.
    Parent(Starting),
    /// The daemon, in a session of its own, with stdio still on the terminal until it is ready.
    Child(StartupReport),
}

/// How the start-up in the background ended, as the parent learns it.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Ready,
    /// The child's one-line reason.
    Failed(String),
    /// The child died without saying anything (a panic, a signal): how it ended.
    Died(String),
}

/// Forks. Must be called while the process has one thread (before the tokio runtime exists):
/// only the calling thread survives a fork. The child calls setsid(2) and keeps the working
/// directory, like daemon(3) with `nochdir`; its stdin, stdout and stderr go to /dev/null once
/// it reports ready (/dev/null is opened now, before any chroot can hide it).
pub fn detach() -> io::Result<Detached> {
    let devnull = File::options().read(true).write(true).open("/dev/null")?;
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    // SAFETY: the caller guarantees that no other thread exists, so the child is a complete
    // copy of the process and may run any code, not only async-signal-safe functions.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        ForkResult::Parent { child } => {
            drop(write);
            Ok(Detached::Parent(Starting {
                pipe: File::from(read),
                child,
            }))
        }
        ForkResult::Child => {
            drop(read);
            nix::unistd::setsid().map_err(io::Error::from)?;
            Ok(Detached::Child(StartupReport {
                pipe: Some(File::from(write)),
                devnull: Some(devnull.into()),
            }))
        }
    }
}

/// The parent's end.
pub struct Starting {
    pipe: File,
    child: Pid,
}

impl Starting {
    /// Blocks until the child reports, or dies.
    pub fn wait(mut self) -> Outcome {
        let mut first = [0u8; 1];
        let got = loop {
            match self.pipe.read(&mut first) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.unwrap_or(0),
            }
        };
        if got == 1 && first[0] == b'R' {
            return Outcome::Ready;
        }
        if got == 1 && first[0] == b'E' {
            let mut reason = Vec::new();
            let _ = self.pipe.read_to_end(&mut reason);
            return Outcome::Failed(String::from_utf8_lossy(&reason).trim_end().to_owned());
        }
        Outcome::Died(match waitpid(self.child, None) {
            Ok(WaitStatus::Exited(_, code)) => format!("exited with status {code}"),
            Ok(WaitStatus::Signaled(_, signal, _)) => format!("was killed by {signal}"),
            Ok(other) => format!("ended ({other:?})"),
            Err(e) => format!("cannot be waited for ({e})"),
        })
    }
}

/// The child's end: tells the parent how the start-up ended, once.
pub struct StartupReport {
    pipe: Option<File>,
    devnull: Option<OwnedFd>,
}

impl StartupReport {
    /// Whether the outcome is still to be reported.
    pub fn pending(&self) -> bool {
        self.pipe.is_some()
    }

    /// Start-up is complete: lets the parent exit 0 and moves stdin, stdout and stderr to
    /// /dev/null (the terminal belongs to the shell again).
    pub fn ready(&mut self) -> io::Result<()> {
        if let Some(mut pipe) = self.pipe.take() {
            // A parent that is gone (killed while waiting) is no reason to stop the daemon.
            let _ = pipe.write_all(b"R");
        }
        if let Some(null) = self.devnull.take() {
            nix::unistd::dup2_stdin(&null)?;
            nix::unistd::dup2_stdout(&null)?;
            nix::unistd::dup2_stderr(&null)?;
        }
        Ok(())
    }

    /// Start-up failed: the parent prints `reason` on its stderr and exits 1.
    pub fn failed(&mut self, reason: &str) {
        if let Some(mut pipe) = self.pipe.take() {
            let mut message = Vec::with_capacity(reason.len() + 1);
            message.push(b'E');
            message.extend_from_slice(reason.as_bytes());
            let _ = pipe.write_all(&message);
        }
    }
}
