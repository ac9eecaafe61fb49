//! Process-level kernel interaction for the daemon: going to the background.

use crate::error::Error;

/// Detach from the terminal like a classic daemon (fork, setsid, stdio to /dev/null), keeping
/// the working directory. Must be called before any thread (the tokio runtime) is started.
pub fn daemonize() -> Result<(), Error> {
    nix::unistd::daemon(true, false)
        .map_err(|e| Error::io("going to the background (daemon(3))".to_string(), e.into()))
}
