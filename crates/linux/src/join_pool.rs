//! One address family's memberships, spread over as many unbound UDP sockets as the kernel's
//! per-socket limits require (igmpproxy.md D21). Used for the upstream memberships and for the
//! report groups the mroute sockets need on downstream links.

use crate::error::{Error, Family, Result};
use crate::membership::{FilterMode, family_of};
use crate::sys;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;

/// One family's memberships over a growing set of sockets.
#[derive(Debug)]
pub(crate) struct JoinPool {
    family: Family,
    groups_per_socket: usize,
    sockets: Vec<PoolSocket>,
    /// Every socket before this index is at its limit or `full`: new joins look from here, so
    /// filling 500 sockets one after the other does not rescan the full ones on every join.
    first_with_room: usize,
    held: HashMap<(u32, IpAddr), Held>,
}

#[derive(Debug)]
struct PoolSocket {
    socket: Socket,
    members: usize,
    /// The kernel refused a join with ENOBUFS: take no more groups on this socket.
    full: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Held {
    socket: usize,
    mode: FilterMode,
    sources: Vec<IpAddr>,
}

/// IPv6 has no membership count; memberships cost socket option memory (net.core.optmem_max),
/// so keep sockets moderately filled.
const V6_GROUPS_PER_SOCKET: usize = 64;
const V4_DEFAULT_MAX_MEMBERSHIPS: usize = 20;
/// IPv4 memberships per socket whatever `net.ipv4.igmp_max_memberships` allows. The kernel
/// walks the socket's membership list on every join and leave on it (`__ip_mc_join_group`),
/// so with the sysctl raised, as igmpproxy users are told to do, sockets holding thousands of
/// groups made each join slower: 10 000 joins with the sysctl at 20 000 took 7.7-8.3 us each
/// on 4 sockets (each filled until its option memory ran out, ENOBUFS), 4.3-4.5 us on 40
/// sockets of 256 (issue 4 finding 4). 256 also stays well below what the default option
/// memory holds (`net.core.optmem_max` 128 KiB: about 2 300 memberships).
const V4_MAX_GROUPS_PER_SOCKET: usize = 256;

impl JoinPool {
    /// A pool sized from the current network namespace's `igmp_max_memberships`.
    pub(crate) fn new(family: Family) -> JoinPool {
        let groups_per_socket = match family {
            // /proc/sys/net resolves to the calling thread's network namespace.
            Family::V4 => read_sysctl("/proc/sys/net/ipv4/igmp_max_memberships")
                .unwrap_or(V4_DEFAULT_MAX_MEMBERSHIPS)
                .min(V4_MAX_GROUPS_PER_SOCKET),
            Family::V6 => V6_GROUPS_PER_SOCKET,
        };
        JoinPool {
            family,
            groups_per_socket: groups_per_socket.max(1),
            sockets: Vec::new(),
            first_with_room: 0,
            held: HashMap::new(),
        }
    }

    fn level(&self) -> libc::c_int {
        match self.family {
            Family::V4 => libc::IPPROTO_IP,
            Family::V6 => libc::IPPROTO_IPV6,
        }
    }

    fn msf_sysctl(&self) -> &'static str {
        match self.family {
            Family::V4 => "net.ipv4.igmp_max_msf",
            Family::V6 => "net.ipv6.mld_max_msf",
        }
    }

    pub(crate) fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    pub(crate) fn get(&self, ifindex: u32, group: IpAddr) -> Option<(FilterMode, &[IpAddr])> {
        self.held
            .get(&(ifindex, group))
            .map(|h| (h.mode, h.sources.as_slice()))
    }

    pub(crate) fn set(
        &mut self,
        ifindex: u32,
        group: IpAddr,
        mode: FilterMode,
        sources: &[IpAddr],
    ) -> Result<()> {
        if let Some(bad) = std::iter::once(&group)
            .chain(sources)
            .find(|a| family_of(**a) != self.family)
        {
            return Err(Error::io(
                format!("{} membership of {group} with address {bad}", self.family),
                io::Error::from_raw_os_error(libc::EAFNOSUPPORT),
            ));
        }
        let mut sources = sources.to_vec();
        sources.sort_unstable();
        sources.dedup();
        let key = (ifindex, group);
        let leave = mode == FilterMode::Include && sources.is_empty();
        match self.held.get(&key).cloned() {
            None if leave => Ok(()),
            None => self.join(ifindex, group, mode, sources),
            Some(h) if h.mode == mode && h.sources == sources => Ok(()),
            Some(h) if leave => {
                let left = self.leave(h.socket, ifindex, group);
                self.held.remove(&key);
                left.map_err(|e| Error::io(format!("leaving {group} on interface {ifindex}"), e))
            }
            Some(h) => {
                let fd = self.socket(h.socket)?.as_fd();
                sys::set_source_filter(
                    fd,
                    self.level(),
                    ifindex,
                    group,
                    mode == FilterMode::Include,
                    &sources,
                )
                .map_err(|e| self.filter_error(ifindex, group, sources.len(), e))?;
                self.held.insert(
                    key,
                    Held {
                        socket: h.socket,
                        mode,
                        sources,
                    },
                );
                Ok(())
            }
        }
    }

    /// A new membership: pick a socket with room, join, then set the full filter.
    fn join(
        &mut self,
        ifindex: u32,
        group: IpAddr,
        mode: FilterMode,
        sources: Vec<IpAddr>,
    ) -> Result<()> {
        // A socket can turn out full before our count says so (the sysctl was lowered, or the
        // kernel ran out of option memory): then retry once on a fresh socket.
        let mut index = self.socket_with_room()?;
        let mut result = self.join_on(index, ifindex, group, mode, &sources);
        if is_enobufs(&result) && self.sockets.get(index).is_some_and(|s| s.members > 0) {
            if let Some(s) = self.sockets.get_mut(index) {
                s.full = true;
            }
            index = self.socket_with_room()?;
            result = self.join_on(index, ifindex, group, mode, &sources);
        }
        match result {
            Ok(()) => {
                if let Some(s) = self.sockets.get_mut(index) {
                    s.members += 1;
                }
                self.held.insert(
                    (ifindex, group),
                    Held {
                        socket: index,
                        mode,
                        sources,
                    },
                );
                Ok(())
            }
            Err(JoinError::Join(e))
                if e.raw_os_error() == Some(libc::ENOBUFS) && self.family == Family::V4 =>
            {
                Err(Error::io(
                    format!(
                        "joining {group} on interface {ifindex}: the kernel refuses memberships; raise sysctl net.ipv4.igmp_max_memberships"
                    ),
                    e,
                ))
            }
            Err(JoinError::Join(e)) => Err(Error::io(
                format!("joining {group} on interface {ifindex}"),
                e,
            )),
            Err(JoinError::Filter(e)) => Err(self.filter_error(ifindex, group, sources.len(), e)),
        }
    }

    fn join_on(
        &self,
        index: usize,
        ifindex: u32,
        group: IpAddr,
        mode: FilterMode,
        sources: &[IpAddr],
    ) -> Result<(), JoinError> {
        let fd = self
            .socket(index)
            .map_err(|_| JoinError::Join(io::Error::from_raw_os_error(libc::EBADF)))?
            .as_fd();
        let level = self.level();
        // INCLUDE starts from one source so that no transient any-source join goes upstream;
        // EXCLUDE starts as an any-source join (EXCLUDE {}).
        let joined = match (mode, sources.first()) {
            (FilterMode::Include, Some(first)) => sys::setsockopt(
                fd,
                level,
                libc::MCAST_JOIN_SOURCE_GROUP,
                &sys::group_source_req(ifindex, group, *first),
            ),
            _ => sys::setsockopt(
                fd,
                level,
                libc::MCAST_JOIN_GROUP,
                &sys::group_req(ifindex, group),
            ),
        };
        match joined {
            Ok(()) => {}
            // Already a member on this socket (state lost?): fall through to set the full filter.
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {}
            Err(e) => return Err(JoinError::Join(e)),
        }
        let complete = match mode {
            FilterMode::Include => sources.len() == 1,
            FilterMode::Exclude => sources.is_empty(),
        };
        if complete {
            return Ok(());
        }
        sys::set_source_filter(
            fd,
            level,
            ifindex,
            group,
            mode == FilterMode::Include,
            sources,
        )
        .map_err(|e| {
            // Undo the partial join so the previous state (not a member) is kept.
            let _ = sys::setsockopt(
                fd,
                level,
                libc::MCAST_LEAVE_GROUP,
                &sys::group_req(ifindex, group),
            );
            JoinError::Filter(e)
        })
    }

    /// Leaves `group` on `ifindex` and frees the socket's slot, also when the kernel refuses
    /// (the membership is forgotten either way; the error is the caller's to report).
    fn leave(&mut self, index: usize, ifindex: u32, group: IpAddr) -> io::Result<()> {
        let level = self.level();
        let Some(s) = self.sockets.get_mut(index) else {
            return Ok(());
        };
        let result = match sys::setsockopt(
            s.socket.as_fd(),
            level,
            libc::MCAST_LEAVE_GROUP,
            &sys::group_req(ifindex, group),
        ) {
            // The interface vanished; the kernel may already have dropped the membership (D13).
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EADDRNOTAVAIL)) => {
                tracing::debug!(ifindex, %group, error = %e, "leave after the interface vanished");
                Ok(())
            }
            other => other,
        };
        s.members = s.members.saturating_sub(1);
        if !s.full {
            self.first_with_room = self.first_with_room.min(index);
        }
        result
    }

    /// Leaves every group of `held` entries in `gone`; failures make one warning for the whole
    /// batch (one interface event or the shutdown), not one per group.
    fn leave_all(&mut self, gone: Vec<((u32, IpAddr), usize)>, why: &str) {
        let mut failed = 0usize;
        let mut first = None;
        for ((ifindex, group), socket) in gone {
            if let Err(e) = self.leave(socket, ifindex, group) {
                failed += 1;
                first.get_or_insert((ifindex, group, e));
            }
            self.held.remove(&(ifindex, group));
        }
        if let Some((ifindex, group, e)) = first {
            tracing::warn!(
                "{why}: {failed} upstream group(s) could not be left, the first {group} on \
                 interface {ifindex}: {e}"
            );
        }
    }

    pub(crate) fn forget_interface(&mut self, ifindex: u32) {
        let gone: Vec<_> = self
            .held
            .iter()
            .filter(|((i, _), _)| *i == ifindex)
            .map(|(k, h)| (*k, h.socket))
            .collect();
        // Leaving also frees the socket's slot; the kernel keeps it until then.
        self.leave_all(gone, "interface no longer upstream");
    }

    pub(crate) fn clear(&mut self) {
        let all: Vec<_> = self.held.iter().map(|(k, h)| (*k, h.socket)).collect();
        self.leave_all(all, "leaving every upstream group");
    }

    fn socket(&self, index: usize) -> Result<&Socket> {
        self.sockets.get(index).map(|s| &s.socket).ok_or_else(|| {
            Error::io(
                "membership socket",
                io::Error::from_raw_os_error(libc::EBADF),
            )
        })
    }

    fn socket_with_room(&mut self) -> Result<usize> {
        while let Some(s) = self.sockets.get(self.first_with_room) {
            if !s.full && s.members < self.groups_per_socket {
                return Ok(self.first_with_room);
            }
            self.first_with_room += 1;
        }
        let domain = match self.family {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| Error::io(format!("opening an {} membership socket", self.family), e))?;
        self.sockets.push(PoolSocket {
            socket,
            members: 0,
            full: false,
        });
        Ok(self.sockets.len() - 1)
    }

    fn filter_error(&self, ifindex: u32, group: IpAddr, count: usize, e: io::Error) -> Error {
        if e.raw_os_error() == Some(libc::ENOBUFS) {
            Error::TooManySources {
                group,
                ifindex,
                count,
                sysctl: self.msf_sysctl(),
            }
        } else {
            Error::io(
                format!("setting the source filter of {group} on interface {ifindex}"),
                e,
            )
        }
    }
}

enum JoinError {
    Join(io::Error),
    Filter(io::Error),
}

fn is_enobufs(r: &Result<(), JoinError>) -> bool {
    matches!(r, Err(JoinError::Join(e)) if e.raw_os_error() == Some(libc::ENOBUFS))
}

fn read_sysctl(path: &str) -> Option<usize> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
