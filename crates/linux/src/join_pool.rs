//! One address family's memberships, spread over as many unbound UDP sockets as the kernel's
//! per-socket limits require (docs/igmpproxy-differences.md D21). Used for the upstream memberships and for the
//! report groups the mroute sockets need on downstream links.
//!
//! Two limits are per socket, and both are spread where the semantics allow it:
//! * groups per socket (`net.ipv4.igmp_max_memberships`; for IPv6 option memory): a new
//!   membership goes to a socket with room, or to a new socket;
//! * sources per socket and group (`net.ipv4.igmp_max_msf`, `net.ipv6.mld_max_msf`): an
//!   INCLUDE list longer than that is split over several sockets, each including a part. The
//!   interface's state is the union of its sockets' INCLUDE lists (RFC 3376 §3.2, RFC 3810
//!   §4.2), so upstream sees the whole list. An EXCLUDE list cannot be split (the interface
//!   state of several EXCLUDE filters is the intersection of their lists): it is refused with
//!   [`Error::TooManySources`], and the engine asks again later (docs/kernel-faults.md).
//!
//! A socket that holds nothing any more is closed, and its slot is the first one a new socket
//! takes: the pool holds ceil(memberships / groups per socket) sockets, plus one per extra part
//! of a split list (docs/kernel-faults.md, "Descriptors").

use crate::error::{Error, Result};
use crate::sys;
use mrproxy_types::{Family, FilterMode, IfIndex, IpFamily};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;

/// One family's memberships (`A`: its address type) over a set of sockets that grows and
/// shrinks with them.
#[derive(Debug)]
pub(crate) struct JoinPool<A: IpFamily> {
    groups_per_socket: usize,
    /// Sources one socket may filter per group, as last learnt (the sysctl, or a refusal):
    /// INCLUDE lists longer than this are split.
    sources_per_socket: usize,
    /// `None`: a closed socket's slot, reused first (memberships name sockets by slot).
    sockets: Vec<Option<PoolSocket>>,
    /// Every slot before this index holds an open socket at its limit or `full`: new joins
    /// look from here, so filling 500 sockets one after the other does not rescan the full
    /// ones on every join.
    first_with_room: usize,
    held: HashMap<(IfIndex, A), Held<A>>,
}

#[derive(Debug)]
struct PoolSocket {
    socket: Socket,
    members: usize,
    /// The kernel refused a join with ENOBUFS: take no more groups on this socket.
    full: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Held<A> {
    mode: FilterMode,
    sources: Vec<A>,
    /// The slot of the socket holding the first part.
    socket: usize,
    /// The slots of the further parts of a split INCLUDE list (usually none); part `i` holds
    /// the `i`-th run of `sources` as long as the per-socket limit when it was laid out.
    more: Vec<usize>,
}

impl<A> Held<A> {
    fn sockets(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.socket).chain(self.more.iter().copied())
    }
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
/// sockets of 256. 256 also stays well below what the default option memory holds
/// (`net.core.optmem_max` 128 KiB: about 2 300 memberships).
pub(crate) const V4_MAX_GROUPS_PER_SOCKET: usize = 256;
/// The kernel's default `igmp_max_msf` / `mld_max_msf`, used when /proc cannot be read.
const DEFAULT_MAX_MSF: usize = 10;

impl<A: IpFamily> JoinPool<A> {
    /// A pool sized from the current network namespace's `igmp_max_memberships` and
    /// `igmp_max_msf` / `mld_max_msf`.
    pub(crate) fn new() -> JoinPool<A> {
        let groups_per_socket = match A::FAMILY {
            // /proc/sys/net resolves to the calling thread's network namespace.
            Family::V4 => read_sysctl("/proc/sys/net/ipv4/igmp_max_memberships")
                .unwrap_or(V4_DEFAULT_MAX_MEMBERSHIPS)
                .min(V4_MAX_GROUPS_PER_SOCKET),
            Family::V6 => V6_GROUPS_PER_SOCKET,
        };
        let mut pool = JoinPool {
            groups_per_socket: groups_per_socket.max(1),
            sources_per_socket: DEFAULT_MAX_MSF,
            sockets: Vec::new(),
            first_with_room: 0,
            held: HashMap::new(),
        };
        pool.sources_per_socket = pool.read_msf().unwrap_or(DEFAULT_MAX_MSF).max(1);
        pool
    }

    fn level(&self) -> libc::c_int {
        match A::FAMILY {
            Family::V4 => libc::IPPROTO_IP,
            Family::V6 => libc::IPPROTO_IPV6,
        }
    }

    fn msf_sysctl(&self) -> &'static str {
        match A::FAMILY {
            Family::V4 => "net.ipv4.igmp_max_msf",
            Family::V6 => "net.ipv6.mld_max_msf",
        }
    }

    fn read_msf(&self) -> Option<usize> {
        read_sysctl(&format!(
            "/proc/sys/{}",
            self.msf_sysctl().replace('.', "/")
        ))
    }

    /// Open sockets.
    pub(crate) fn socket_count(&self) -> usize {
        self.sockets.iter().flatten().count()
    }

    pub(crate) fn get(&self, ifindex: IfIndex, group: A) -> Option<(FilterMode, &[A])> {
        self.held
            .get(&(ifindex, group))
            .map(|h| (h.mode, h.sources.as_slice()))
    }

    pub(crate) fn set(
        &mut self,
        ifindex: IfIndex,
        group: A,
        mode: FilterMode,
        sources: &[A],
    ) -> Result<()> {
        let mut sources = sources.to_vec();
        sources.sort_unstable();
        sources.dedup();
        let key = (ifindex, group);
        let leave = mode == FilterMode::Include && sources.is_empty();
        let old = self.held.get(&key).cloned();
        match old {
            None if leave => Ok(()),
            Some(h) if h.mode == mode && h.sources == sources => Ok(()),
            Some(h) if leave => {
                self.held.remove(&key);
                let mut first = None;
                for socket in h.sockets() {
                    if let Err(e) = self.leave(socket, ifindex, group) {
                        first.get_or_insert(e);
                    }
                }
                match first {
                    None => Ok(()),
                    Some(e) => Err(Error::io(
                        format!("leaving {group} on interface {}", ifindex.0),
                        e,
                    )),
                }
            }
            old => self.change(ifindex, group, old, mode, sources),
        }
    }

    /// Brings (ifindex, group) from `old` to (mode, sources), splitting an INCLUDE list over
    /// as many sockets as the per-socket source limit requires. When the kernel turns out to
    /// allow fewer sources than thought (the sysctl was lowered), the limit is learnt and the
    /// list split further.
    fn change(
        &mut self,
        ifindex: IfIndex,
        group: A,
        mut old: Option<Held<A>>,
        mode: FilterMode,
        sources: Vec<A>,
    ) -> Result<()> {
        // An EXCLUDE list past the limit is refused without a system call: trying would join
        // the group any-source and leave it again (two state-change reports upstream) on every
        // retry. The sysctl is read again, so a raised limit is seen at once.
        if mode == FilterMode::Exclude
            && sources.len() > self.sources_per_socket
            && let Some(limit) = self.read_msf()
        {
            self.sources_per_socket = limit.max(1);
            if sources.len() > self.sources_per_socket {
                return Err(Error::TooManySources {
                    group: group.into_ip(),
                    ifindex,
                    count: sources.len(),
                    sysctl: self.msf_sysctl(),
                });
            }
        }
        loop {
            let per_part = match mode {
                FilterMode::Include if sources.len() > self.sources_per_socket => {
                    self.sources_per_socket
                }
                _ => sources.len().max(1),
            };
            match self.lay_out(ifindex, group, old.take(), mode, &sources, per_part) {
                Ok(held) => {
                    self.held.insert((ifindex, group), held);
                    return Ok(());
                }
                Err((kept, e)) => {
                    let splittable = mode == FilterMode::Include && per_part > 1;
                    match &kept {
                        Some(h) => self.held.insert((ifindex, group), h.clone()),
                        None => self.held.remove(&(ifindex, group)),
                    };
                    if matches!(e, Error::TooManySources { .. }) {
                        let sysctl = self.read_msf();
                        if splittable {
                            // Fewer than `per_part` per socket: the sysctl, or half as many.
                            self.sources_per_socket = sysctl
                                .filter(|&n| n >= 1 && n < per_part)
                                .unwrap_or(per_part / 2)
                                .max(1);
                            old = kept;
                            continue;
                        }
                        // An EXCLUDE list: the next attempt is checked against the sysctl
                        // before any system call.
                        if let Some(n) = sysctl {
                            self.sources_per_socket = n.max(1);
                        }
                    }
                    return Err(e);
                }
            }
        }
    }

    /// One attempt at the layout with `per_part` sources per socket. On error, returns what
    /// the kernel still holds: the old state when a single-socket change was refused (the
    /// kernel keeps a filter it refuses to replace), otherwise nothing (the parts already
    /// changed are left, so that the bookkeeping matches the kernel).
    fn lay_out(
        &mut self,
        ifindex: IfIndex,
        group: A,
        old: Option<Held<A>>,
        mode: FilterMode,
        sources: &[A],
        per_part: usize,
    ) -> Result<Held<A>, (Option<Held<A>>, Error)> {
        let parts: Vec<&[A]> = if sources.is_empty() {
            vec![&[]]
        } else {
            sources.chunks(per_part).collect()
        };
        let held = |socket, more| Held {
            mode,
            sources: sources.to_vec(),
            socket,
            more,
        };
        // The common cases: one socket before and after.
        if parts.len() == 1 {
            match old {
                Some(h) if h.more.is_empty() => {
                    return match self.filter(h.socket, ifindex, group, mode, sources) {
                        Ok(()) => Ok(held(h.socket, Vec::new())),
                        Err(e) => Err((Some(h), e)),
                    };
                }
                None => {
                    return match self.join(ifindex, group, mode, sources, &[]) {
                        Ok(socket) => Ok(held(socket, Vec::new())),
                        Err(e) => Err((None, e)),
                    };
                }
                Some(_) => {}
            }
        }
        // Several parts before or after: part i goes to the socket that held part i, new
        // parts to other sockets, and sockets of parts no longer needed leave.
        let old_sockets: Vec<usize> = old.iter().flat_map(|h| h.sockets()).collect();
        let mut used: Vec<usize> = Vec::with_capacity(parts.len());
        let mut failure = None;
        for (i, part) in parts.iter().enumerate() {
            let result = match old_sockets.get(i) {
                Some(&socket) => self
                    .filter(socket, ifindex, group, mode, part)
                    .map(|()| socket),
                None => {
                    let busy: Vec<usize> = old_sockets.iter().chain(&used).copied().collect();
                    self.join(ifindex, group, mode, part, &busy)
                }
            };
            match result {
                Ok(socket) => used.push(socket),
                // Nothing changed yet: a refused filter stays as it was, a refused join
                // undid itself.
                Err(e) if i == 0 => return Err((old, e)),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        match failure {
            None => {
                for &socket in old_sockets.iter().skip(parts.len()) {
                    let _ = self.leave(socket, ifindex, group);
                }
                let mut used = used.into_iter();
                let first = used.next().unwrap_or_default();
                Ok(held(first, used.collect()))
            }
            Some(e) => {
                // Half changed: leave every part, so that the kernel and the bookkeeping
                // agree on "not a member"; the caller (the engine) asks again.
                let joined_new = used.iter().skip(old_sockets.len()).copied();
                let all: Vec<usize> = old_sockets.iter().copied().chain(joined_new).collect();
                for socket in all {
                    let _ = self.leave(socket, ifindex, group);
                }
                Err((None, e))
            }
        }
    }

    /// Replaces the filter of an existing membership on `socket`.
    fn filter(
        &self,
        socket: usize,
        ifindex: IfIndex,
        group: A,
        mode: FilterMode,
        sources: &[A],
    ) -> Result<()> {
        let fd = self.socket(socket)?.as_fd();
        let include = mode == FilterMode::Include;
        sys::set_source_filter(fd, self.level(), ifindex, group, include, sources)
            .map_err(|e| self.filter_error(ifindex, group, sources.len(), e))
    }

    /// A new membership on a socket with room that is not in `busy` (sockets already holding
    /// a part of this group): join, then set the full filter. Returns the socket's slot.
    fn join(
        &mut self,
        ifindex: IfIndex,
        group: A,
        mode: FilterMode,
        sources: &[A],
        busy: &[usize],
    ) -> Result<usize> {
        // A socket can turn out full before our count says so (the sysctl was lowered, or the
        // kernel ran out of option memory): then retry once on a fresh socket.
        let mut index = self.socket_with_room(busy)?;
        let mut result = self.join_on(index, ifindex, group, mode, sources);
        if is_enobufs(&result) && self.members(index) > 0 {
            if let Some(Some(s)) = self.sockets.get_mut(index) {
                s.full = true;
            }
            index = self.socket_with_room(busy)?;
            result = self.join_on(index, ifindex, group, mode, sources);
        }
        match result {
            Ok(()) => {
                if let Some(Some(s)) = self.sockets.get_mut(index) {
                    s.members += 1;
                }
                Ok(index)
            }
            Err(e) => {
                // A socket opened for this join and left empty is closed again.
                self.close_if_empty(index);
                Err(match e {
                    JoinError::Join(e)
                        if e.raw_os_error() == Some(libc::ENOBUFS) && A::FAMILY == Family::V4 =>
                    {
                        Error::io(
                            format!(
                                "joining {group} on interface {}: the kernel refuses memberships; raise sysctl net.ipv4.igmp_max_memberships",
                                ifindex.0
                            ),
                            e,
                        )
                    }
                    JoinError::Join(e) => {
                        Error::io(format!("joining {group} on interface {}", ifindex.0), e)
                    }
                    JoinError::Filter(e) => self.filter_error(ifindex, group, sources.len(), e),
                })
            }
        }
    }

    fn join_on(
        &self,
        index: usize,
        ifindex: IfIndex,
        group: A,
        mode: FilterMode,
        sources: &[A],
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

    /// Leaves `group` on `ifindex` on one socket and frees its slot, also when the kernel
    /// refuses (the membership is forgotten either way; the error is the caller's to report).
    /// A socket left empty is closed.
    fn leave(&mut self, index: usize, ifindex: IfIndex, group: A) -> io::Result<()> {
        let level = self.level();
        let Some(Some(s)) = self.sockets.get_mut(index) else {
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
                tracing::debug!(ifindex = ifindex.0, %group, error = %e, "leave after the interface vanished");
                Ok(())
            }
            other => other,
        };
        s.members = s.members.saturating_sub(1);
        if !s.full {
            self.first_with_room = self.first_with_room.min(index);
        }
        self.close_if_empty(index);
        result
    }

    /// Closes the socket in slot `index` if it holds no membership; its slot is taken first
    /// by the next socket opened.
    fn close_if_empty(&mut self, index: usize) {
        if self.members(index) > 0 {
            return;
        }
        if let Some(slot) = self.sockets.get_mut(index) {
            *slot = None;
            self.first_with_room = self.first_with_room.min(index);
        }
        while matches!(self.sockets.last(), Some(None)) {
            self.sockets.pop();
        }
    }

    fn members(&self, index: usize) -> usize {
        match self.sockets.get(index) {
            Some(Some(s)) => s.members,
            _ => 0,
        }
    }

    /// Leaves every membership in `gone`; failures make one warning for the whole batch (one
    /// interface event or the shutdown), not one per group.
    fn leave_all(&mut self, gone: Vec<(IfIndex, A)>, why: &str) {
        let mut failed = 0usize;
        let mut first = None;
        for (ifindex, group) in gone {
            let Some(held) = self.held.remove(&(ifindex, group)) else {
                continue;
            };
            for socket in held.sockets() {
                if let Err(e) = self.leave(socket, ifindex, group) {
                    failed += 1;
                    first.get_or_insert((ifindex, group, e));
                }
            }
        }
        if let Some((ifindex, group, e)) = first {
            tracing::warn!(
                "{why}: {failed} upstream group(s) could not be left, the first {group} on \
                 interface {}: {e}",
                ifindex.0
            );
        }
    }

    pub(crate) fn forget_interface(&mut self, ifindex: IfIndex) {
        let gone: Vec<_> = self
            .held
            .keys()
            .filter(|(i, _)| *i == ifindex)
            .copied()
            .collect();
        // Leaving also frees the socket's slot; the kernel keeps it until then.
        self.leave_all(gone, "interface no longer upstream");
    }

    pub(crate) fn clear(&mut self) {
        let all: Vec<_> = self.held.keys().copied().collect();
        self.leave_all(all, "leaving every upstream group");
    }

    fn socket(&self, index: usize) -> Result<&Socket> {
        match self.sockets.get(index) {
            Some(Some(s)) => Ok(&s.socket),
            _ => Err(Error::io(
                "membership socket",
                io::Error::from_raw_os_error(libc::EBADF),
            )),
        }
    }

    /// The slot of an open socket with room that is not in `busy`, or of a socket opened now
    /// (in the first closed slot, or at the end).
    fn socket_with_room(&mut self, busy: &[usize]) -> Result<usize> {
        let has_room = |s: &PoolSocket, limit: usize| !s.full && s.members < limit;
        while let Some(Some(s)) = self.sockets.get(self.first_with_room) {
            if has_room(s, self.groups_per_socket) {
                break;
            }
            self.first_with_room += 1;
        }
        let mut index = self.first_with_room;
        loop {
            match self.sockets.get(index) {
                Some(Some(s)) if has_room(s, self.groups_per_socket) && !busy.contains(&index) => {
                    return Ok(index);
                }
                Some(Some(_)) => index += 1,
                Some(None) | None => break,
            }
        }
        let domain = match A::FAMILY {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| Error::io(format!("opening an {} membership socket", A::FAMILY), e))?;
        let opened = PoolSocket {
            socket,
            members: 0,
            full: false,
        };
        match self.sockets.get_mut(index) {
            Some(slot) => *slot = Some(opened),
            None => self.sockets.push(Some(opened)),
        }
        Ok(index)
    }

    fn filter_error(&self, ifindex: IfIndex, group: A, count: usize, e: io::Error) -> Error {
        if e.raw_os_error() == Some(libc::ENOBUFS) {
            Error::TooManySources {
                group: group.into_ip(),
                ifindex,
                count,
                sysctl: self.msf_sysctl(),
            }
        } else {
            Error::io(
                format!(
                    "setting the source filter of {group} on interface {}",
                    ifindex.0
                ),
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
