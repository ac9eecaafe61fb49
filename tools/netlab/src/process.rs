//! Child processes started inside a namespace, tracked by the PID recorded at spawn.
//!
//! Hygiene (docs/test-strategy.md §2): a test stops only what it started, by PID, never by name. The
//! `Child` is kept behind a mutex and every signal is sent while holding it, after checking
//! the child has not been reaped, so a signal can never reach a recycled PID.
#![allow(unsafe_code)] // pre_exec: entering the namespace and resetting signals before exec

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::netns::Netns;
use crate::wait::DEFAULT_POLL;

/// How long [`ChildHandle::kill`] and the [`crate::Lab`] teardown wait after SIGTERM before
/// sending SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// A process started with [`crate::Lab::spawn`]. Cloning gives another handle to the same
/// process. The lab kills it on drop if it is still running.
#[derive(Clone, Debug)]
pub struct ChildHandle {
    inner: Arc<ChildInner>,
}

#[derive(Debug)]
pub(crate) struct ChildInner {
    pid: u32,
    description: String,
    log_path: PathBuf,
    child: Mutex<Child>,
}

impl ChildHandle {
    /// Starts `program args…` inside `ns`, with stdout and stderr appended to `log_path` and
    /// stdin from /dev/null.
    ///
    /// The forked child enters the namespace itself, as `ip netns exec` would (network
    /// namespace, private mount namespace, /sys remounted for the namespace), then execs. Doing
    /// it before exec rather than through `ip netns exec` means that when this returns the PID
    /// is already the program's and it already runs in the namespace: a signal sent right away
    /// cannot hit a half-started wrapper.
    pub(crate) fn spawn(
        ns: &Netns,
        program: &str,
        args: &[&str],
        log_path: &Path,
    ) -> io::Result<Self> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| {
                io::Error::new(e.kind(), format!("log file {}: {e}", log_path.display()))
            })?;
        let ns_path = Path::new("/run/netns").join(ns.name());
        // Opened with O_CLOEXEC: the child inherits it across fork and closes it at exec.
        let ns_file = File::open(&ns_path)
            .map_err(|e| io::Error::new(e.kind(), format!("open {}: {e}", ns_path.display())))?;
        let ns_fd = ns_file.as_raw_fd();
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe system calls on values prepared before the fork (`ns_fd` stays open
        // until `spawn` returns, `ns_file` is dropped after it); it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                enter_namespace(ns_fd)?;
                reset_signal_state()
            });
        }
        let child = command.spawn().map_err(|e| {
            io::Error::new(e.kind(), format!("spawn {program} in {}: {e}", ns.name()))
        })?;
        drop(ns_file);
        Ok(Self {
            inner: Arc::new(ChildInner {
                pid: child.id(),
                description: format!("{program} in {}", ns.name()),
                log_path: log_path.to_owned(),
                child: Mutex::new(child),
            }),
        })
    }

    pub(crate) fn inner(&self) -> Arc<ChildInner> {
        Arc::clone(&self.inner)
    }

    /// The process ID recorded at spawn.
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// Where the process's stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.inner.log_path
    }

    /// The log written so far (lossy UTF-8).
    pub fn log(&self) -> io::Result<String> {
        Ok(String::from_utf8_lossy(&std::fs::read(&self.inner.log_path)?).into_owned())
    }

    /// Sends `sig` (for example `Signal::SIGHUP`). Fails if the process has already exited.
    pub fn signal(&self, sig: Signal) -> io::Result<()> {
        self.inner.signal(sig)
    }

    /// Whether the process is still running (it is reaped here if it has exited).
    pub fn is_running(&self) -> bool {
        matches!(self.inner.lock().try_wait(), Ok(None))
    }

    /// The exit status if the process has exited, without waiting.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.inner.lock().try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to exit. `Ok(None)` means it is still running.
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.inner.wait_timeout(timeout)
    }

    /// Stops the process: SIGTERM, then SIGKILL after [`TERM_GRACE`]. Returns its exit status
    /// (also when it had exited before).
    pub fn kill(&self) -> io::Result<ExitStatus> {
        self.inner.terminate(TERM_GRACE)
    }
}

impl ChildInner {
    fn lock(&self) -> MutexGuard<'_, Child> {
        // A panic while holding the lock leaves the Child itself intact.
        self.child
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn signal(&self, sig: Signal) -> io::Result<()> {
        let mut child = self.lock();
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} (pid {}) already exited: {status}",
                    self.description, self.pid
                ),
            ));
        }
        let pid = i32::try_from(self.pid).map_err(io::Error::other)?;
        // Holding the lock: the child cannot be reaped (and its PID recycled) before the kill.
        kill(Pid::from_raw(pid), sig).map_err(io::Error::from)
    }

    pub(crate) fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.lock().try_wait()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            thread::sleep(DEFAULT_POLL.min(deadline - now));
        }
    }

    pub(crate) fn terminate(&self, grace: Duration) -> io::Result<ExitStatus> {
        // An error here means it exited meanwhile; the wait below collects the status.
        let _ = self.signal(Signal::SIGTERM);
        if let Some(status) = self.wait_timeout(grace)? {
            return Ok(status);
        }
        let _ = self.signal(Signal::SIGKILL);
        self.lock().wait()
    }
}

/// Stops every still-running child: SIGTERM to all, a shared grace period, then SIGKILL.
pub(crate) fn terminate_all(children: &[Arc<ChildInner>], grace: Duration) {
    for child in children {
        let _ = child.signal(Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    for child in children {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Err(e) = child.terminate(left) {
            eprintln!(
                "netlab: stopping {} (pid {}): {e}",
                child.description, child.pid
            );
        }
    }
}

/// Runs in the forked child: what `ip netns exec` does before exec. Joins the network
/// namespace, takes a private mount namespace that no longer propagates to the host's, and
/// mounts a sysfs that shows the namespace's interfaces.
fn enter_namespace(ns_fd: RawFd) -> io::Result<()> {
    // SAFETY: plain system calls on an open fd and 'static C strings; no memory is shared with
    // the parent after fork except these read-only literals.
    unsafe {
        if libc::setns(ns_fd, libc::CLONE_NEWNET) != 0 || libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(io::Error::last_os_error());
        }
        let none = std::ptr::null();
        if libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            none,
            libc::MS_SLAVE | libc::MS_REC,
            none.cast(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        // Failure means no sysfs was mounted there: the mount below then simply adds one.
        libc::umount2(c"/sys".as_ptr(), libc::MNT_DETACH);
        if libc::mount(
            c"sysfs".as_ptr(),
            c"/sys".as_ptr(),
            c"sysfs".as_ptr(),
            0,
            none.cast(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Runs in the forked child: default dispositions and an empty mask, so a daemon under test
/// sees SIGHUP etc. as a fresh process would even when the test runner ignores or blocks them
/// (docs/test-strategy.md §9.1: nohup and CI runners leave SIGHUP ignored).
fn reset_signal_state() -> io::Result<()> {
    // Standard signals only; real-time signals have no inherited meaning for a daemon.
    for signo in 1..32 {
        if signo == libc::SIGKILL || signo == libc::SIGSTOP {
            continue;
        }
        // SAFETY: signal() is async-signal-safe; failures for unsupported numbers are harmless.
        unsafe {
            libc::signal(signo, libc::SIG_DFL);
        }
    }
    // SAFETY: a zeroed sigset_t is valid storage for sigemptyset; both calls are
    // async-signal-safe and only touch this stack variable and the calling thread's mask.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
