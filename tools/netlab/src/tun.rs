//! A PPP stand-in: two tun devices in two namespaces, joined by an in-process relay thread
//! (docs/test-strategy.md §4). The link is layer 3 point-to-point without ARP; its flags are those of a
//! PPP link (0x10d1: UP, POINTOPOINT, RUNNING, NOARP, MULTICAST). Closing the tun file
//! descriptors removes the devices, which is how "PPP went down" is emulated
//! (docs/igmpproxy-differences.md D13).
#![allow(unsafe_code)] // the TUNSETIFF ioctl

use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::netns::Netns;

/// `struct ifreq` as TUNSETIFF reads it: the name and the flags (the rest of the union unused).
#[repr(C)]
struct TunIfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// One side of a [`TunLink`]: the namespace, the device name and the local address (the
/// other side's address is configured as the peer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunEnd {
    /// Namespace holding the device.
    pub ns: Netns,
    /// Device name (at most 15 bytes).
    pub ifname: String,
    /// Local address of this side.
    pub local: IpAddr,
}

/// A point-to-point link made of two tun devices and a relay thread. Created with
/// [`crate::Lab::tun_link`]; torn down when dropped or when the lab is dropped.
///
/// Routes a test added through the devices vanish with them on [`TunLink::cut`]: add them
/// again after [`TunLink::restore`].
#[derive(Debug)]
pub struct TunLink {
    a: TunEnd,
    b: TunEnd,
    relay: Arc<Mutex<Option<Relay>>>,
}

#[derive(Debug)]
struct Relay {
    /// Closing this write end wakes the relay thread, which then closes both tun fds.
    stop: OwnedFd,
    thread: JoinHandle<()>,
}

impl TunLink {
    /// Creates both devices, starts the relay, configures `local peer remote` addresses and
    /// brings both devices up.
    pub(crate) fn create(a: TunEnd, b: TunEnd) -> io::Result<TunLink> {
        let link = TunLink {
            a,
            b,
            relay: Arc::new(Mutex::new(None)),
        };
        link.bring_up()?;
        Ok(link)
    }

    /// A handle the lab keeps to stop the relay at teardown.
    pub(crate) fn stopper(&self) -> impl FnOnce() + Send + 'static {
        let relay = Arc::clone(&self.relay);
        move || stop_relay(&relay)
    }

    /// The first side (as given to `tun_link`).
    pub fn a(&self) -> &TunEnd {
        &self.a
    }

    /// The second side.
    pub fn b(&self) -> &TunEnd {
        &self.b
    }

    /// Whether the link is up (the relay runs and the devices exist).
    pub fn is_up(&self) -> bool {
        lock(&self.relay).is_some()
    }

    /// "PPP went down": stops the relay and closes both tun fds, so both devices disappear
    /// (with their addresses and routes). Idempotent.
    pub fn cut(&self) {
        stop_relay(&self.relay);
    }

    /// "PPP came back": recreates the devices with the same names and addresses.
    pub fn restore(&self) -> io::Result<()> {
        self.bring_up()
    }

    /// "PPP came back" with new addresses (for example a new address from the ISP).
    pub fn restore_with(&mut self, local_a: IpAddr, local_b: IpAddr) -> io::Result<()> {
        self.cut();
        self.a.local = local_a;
        self.b.local = local_b;
        self.bring_up()
    }

    fn bring_up(&self) -> io::Result<()> {
        let mut relay = lock(&self.relay);
        if relay.is_some() {
            return Ok(());
        }
        let fd_a = self.a.ns.run(|| open_tun(&self.a.ifname))??;
        let fd_b = self.b.ns.run(|| open_tun(&self.b.ifname))??;
        *relay = Some(start_relay(fd_a, fd_b)?);
        drop(relay);
        for (end, peer) in [(&self.a, &self.b), (&self.b, &self.a)] {
            let (local, remote) = (end.local.to_string(), peer.local.to_string());
            end.ns
                .ip(&["addr", "add", &local, "peer", &remote, "dev", &end.ifname])?;
            end.ns.set_up(&end.ifname)?;
        }
        Ok(())
    }
}

impl Drop for TunLink {
    fn drop(&mut self) {
        self.cut();
    }
}

fn lock(relay: &Mutex<Option<Relay>>) -> MutexGuard<'_, Option<Relay>> {
    relay.lock().unwrap_or_else(|p| p.into_inner())
}

fn stop_relay(relay: &Mutex<Option<Relay>>) {
    if let Some(Relay { stop, thread }) = lock(relay).take() {
        drop(stop);
        // The thread owns the tun fds; once joined they are closed and the devices are gone.
        let _ = thread.join();
    }
}

/// Runs inside the namespace: a non-persistent tun device that lives as long as the fd.
fn open_tun(ifname: &str) -> io::Result<OwnedFd> {
    let mut req = TunIfReq {
        name: [0; libc::IFNAMSIZ],
        flags: 0,
        _pad: [0; 22],
    };
    let name = ifname.as_bytes();
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad interface name {ifname:?}"),
        ));
    }
    req.name[..name.len()].copy_from_slice(name);
    req.flags =
        libc::c_short::try_from(libc::IFF_TUN | libc::IFF_NO_PI).map_err(io::Error::other)?;
    let file = File::options()
        .read(true)
        .write(true)
        .open("/dev/net/tun")?;
    // SAFETY: TUNSETIFF reads and writes a `struct ifreq`; `req` has its size and layout and
    // outlives the call; the fd is open.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &raw mut req) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("TUNSETIFF {ifname}: {e}")));
    }
    Ok(OwnedFd::from(file))
}

fn start_relay(a: OwnedFd, b: OwnedFd) -> io::Result<Relay> {
    let (stop_rx, stop) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    let thread = thread::Builder::new()
        .name("netlab-tun-relay".into())
        .spawn(move || relay(&a, &b, &stop_rx))?;
    Ok(Relay { stop, thread })
}

/// Copies packets both ways until the stop pipe closes or a device fails.
fn relay(a: &OwnedFd, b: &OwnedFd, stop: &OwnedFd) {
    let mut buf = vec![0u8; 65536];
    loop {
        let mut fds = [
            PollFd::new(a.as_fd(), PollFlags::POLLIN),
            PollFd::new(b.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
        let ready: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        if ready.get(2).is_some_and(|r| !r.is_empty()) {
            return;
        }
        for (revents, from, to) in [(ready.first(), a, b), (ready.get(1), b, a)] {
            let revents = revents.copied().unwrap_or(PollFlags::empty());
            if revents.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL) {
                return;
            }
            if revents.contains(PollFlags::POLLIN) {
                match nix::unistd::read(from, &mut buf) {
                    // EIO while the other side is down: drop the packet, as a dead line would.
                    Ok(n) => drop(nix::unistd::write(to, buf.get(..n).unwrap_or(&[]))),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(_) => return,
                }
            }
        }
    }
}
