//! systemd's readiness protocol (sd_notify(3)) without libsystemd: when the service manager set
//! `$NOTIFY_SOCKET`, state lines such as `READY=1` go to it as one datagram each. The socket is
//! a path, or an abstract name when it starts with `@` (what systemd uses since v254).
//! Without `$NOTIFY_SOCKET` (started by hand, by a SysV script, by the tests) nothing is sent.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// A connection to the service manager's notification socket.
///
/// Connected once, at construction: notifications then still arrive after a `chroot` (where a
/// path would be resolved inside the new root) or a switch to a user who could not connect.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`; `Ok(None)` when it is unset or empty (started by hand).
    pub fn from_env() -> io::Result<Option<Notifier>> {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(path) if !path.is_empty() => Notifier::to(&path.to_string_lossy()).map(Some),
            _ => Ok(None),
        }
    }

    /// To the socket `path` (`@name` for an abstract name).
    pub fn to(path: &str) -> io::Result<Notifier> {
        let address = match path.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name.as_bytes())?
            }
            None => SocketAddr::from_pathname(path)?,
        };
        let socket = UnixDatagram::unbound()?;
        // A stalled service manager must never block the daemon's loop.
        socket.set_nonblocking(true)?;
        socket.connect_addr(&address)?;
        Ok(Notifier { socket })
    }

    /// Sends `state` (newline-separated `KEY=value` lines) as one datagram.
    pub fn notify(&self, state: &str) -> io::Result<()> {
        self.socket.send(state.as_bytes()).map(|_| ())
    }
}

/// `MONOTONIC_USEC=…`, the CLOCK_MONOTONIC time in microseconds that systemd (≥ 253) wants
/// beside `RELOADING=1` for `Type=notify-reload`.
pub fn monotonic_usec() -> io::Result<u64> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)?;
    let secs = u64::try_from(t.tv_sec()).map_err(io::Error::other)?;
    let nanos = u64::try_from(t.tv_nsec()).map_err(io::Error::other)?;
    Ok(secs * 1_000_000 + nanos / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn sends_to_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("mrproxy-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::to(path.to_str().unwrap()).unwrap();
        n.notify("READY=1").unwrap();
        assert_eq!(receive(&rx), "READY=1");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_notifier_still_reaches_a_path_that_no_longer_resolves() {
        // As after a chroot: the socket's path is gone from where the daemon now looks.
        let dir = std::env::temp_dir().join(format!("mrproxy-notify-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::to(path.to_str().unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        n.notify("STOPPING=1").unwrap();
        assert_eq!(receive(&rx), "STOPPING=1");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("mrproxy-notify-test-{}", std::process::id());
        let rx = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
            .unwrap();
        let n = Notifier::to(&format!("@{name}")).unwrap();
        n.notify("STOPPING=1").unwrap();
        assert_eq!(receive(&rx), "STOPPING=1");
    }

    #[test]
    fn the_monotonic_clock_in_microseconds() {
        let (a, b) = (monotonic_usec().unwrap(), monotonic_usec().unwrap());
        assert!(a > 0 && b >= a);
    }
}
