//! The crate's error type. Every message is one line that names the cause and, where there is
//! one, the fix: these strings end up in the daemon's log and on the operator's terminal.

use mrproxy_types::{Family, IfIndex, MAX_VIFS};
use std::io;
use std::net::IpAddr;

/// The kernel option that provides multicast routing for this family.
fn mroute_config(family: Family) -> &'static str {
    match family {
        Family::V4 => "CONFIG_IP_MROUTE",
        Family::V6 => "CONFIG_IPV6_MROUTE",
    }
}

fn multiple_tables_config(family: Family) -> &'static str {
    match family {
        Family::V4 => "CONFIG_IP_MROUTE_MULTIPLE_TABLES",
        Family::V6 => "CONFIG_IPV6_MROUTE_MULTIPLE_TABLES",
    }
}

/// What the kernel calls a virtual interface of this family's routing table.
pub(crate) fn vif_name(family: Family) -> &'static str {
    match family {
        Family::V4 => "VIF",
        Family::V6 => "MIF",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// MRT_INIT / MRT6_INIT gave EADDRINUSE: one mroute socket per table and namespace.
    #[error(
        "another multicast router (igmpproxy, smcroute, pimd or a second mrproxy) already owns the \
         {family} multicast routing table of this network namespace; stop it first"
    )]
    TableInUse { family: Family },

    /// MRT_INIT gave ENOPROTOOPT.
    #[error(
        "this kernel has no {family} multicast routing ({}); use a kernel built with it or load its module",
        mroute_config(*family)
    )]
    NoMulticastRouting { family: Family },

    /// MRT_TABLE gave ENOPROTOOPT.
    #[error(
        "this kernel cannot use {family} multicast routing table {table} ({} is off); remove the table setting or use a kernel built with it",
        multiple_tables_config(*family)
    )]
    NoMultipleTables { family: Family, table: u32 },

    /// EPERM / EACCES while opening or initialising a socket.
    #[error(
        "{what} needs CAP_NET_RAW (run as root or grant that capability; CAP_NET_ADMIN is optional)"
    )]
    Permission { what: &'static str },

    /// MAXVIFS / MAXMIFS reached.
    #[error(
        "all {MAX_VIFS} {family} {}s are in use (kernel limit MAXVIFS = {MAX_VIFS}); interface {} cannot be added",
        vif_name(*family),
        ifindex.0
    )]
    VifsExhausted { family: Family, ifindex: IfIndex },

    /// IPv6 MIFs carry the ifindex in a u16.
    #[error("interface index {} does not fit the kernel's 16-bit IPv6 MIF interface field", ifindex.0)]
    IfIndexTooLarge { ifindex: IfIndex },

    /// A route names an interface that has no VIF/MIF.
    #[error("interface {} has no {family} {} (add the interface before routing through it)", ifindex.0, vif_name(*family))]
    NoVif { family: Family, ifindex: IfIndex },

    /// MCAST_MSFILTER / MCAST_JOIN_SOURCE_GROUP gave ENOBUFS: the per-socket source limit.
    #[error(
        "group {group} on interface {}: {count} sources exceed the kernel's per-socket source \
         filter limit; raise sysctl {sysctl}",
        ifindex.0
    )]
    TooManySources {
        group: IpAddr,
        ifindex: IfIndex,
        count: usize,
        sysctl: &'static str,
    },

    /// Any other system call failure, with the operation that failed.
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the operation that produced it.
    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            op: op.into(),
            source,
        }
    }

    /// The errno behind this error, if any (for callers that tolerate specific conditions).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The errno the kernel gave (or, for a condition found before any system call, the one
    /// it would give), for counters and callers that describe the error without libc.
    pub fn errno(&self) -> i32 {
        match self {
            Error::TableInUse { .. } => libc::EADDRINUSE,
            Error::NoMulticastRouting { .. } | Error::NoMultipleTables { .. } => libc::ENOPROTOOPT,
            Error::Permission { .. } => libc::EPERM,
            Error::VifsExhausted { .. } => libc::ENFILE,
            Error::IfIndexTooLarge { .. } => libc::EINVAL,
            Error::NoVif { .. } => libc::ENODEV,
            Error::TooManySources { .. } => libc::ENOBUFS,
            Error::Io { source, .. } => source.raw_os_error().unwrap_or(0),
        }
    }

    /// Whether the kernel refused for a per-socket limit of its host part: memberships per
    /// socket, sources per socket and group, or socket option memory (ENOBUFS, ENOMEM).
    pub fn is_per_socket_limit(&self) -> bool {
        matches!(self.errno(), libc::ENOBUFS | libc::ENOMEM)
    }
}

/// The symbolic name of an errno value ("ENOBUFS"), `"errno N"` for rare ones.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        0 => "none",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ENOBUFS => "ENOBUFS",
        other => return format!("errno {other}"),
    };
    name.to_owned()
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps EPERM/EACCES to [`Error::Permission`], anything else to [`Error::Io`].
pub(crate) fn classify(what: &'static str, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => Error::Permission { what },
        _ => Error::io(what, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_lines_naming_the_fix() {
        let all = [
            Error::TableInUse { family: Family::V4 },
            Error::NoMulticastRouting { family: Family::V6 },
            Error::NoMultipleTables {
                family: Family::V4,
                table: 7,
            },
            Error::Permission {
                what: "opening the IPv4 mroute socket",
            },
            Error::VifsExhausted {
                family: Family::V4,
                ifindex: IfIndex(9),
            },
            Error::TooManySources {
                group: "239.1.2.3".parse().unwrap(),
                ifindex: IfIndex(3),
                count: 11,
                sysctl: "net.ipv4.igmp_max_msf",
            },
        ];
        for e in &all {
            let text = e.to_string();
            assert!(!text.contains('\n'), "{text}");
        }
        assert!(all[0].to_string().contains("stop it first"));
        assert!(all[1].to_string().contains("CONFIG_IPV6_MROUTE"));
        assert!(
            all[2]
                .to_string()
                .contains("CONFIG_IP_MROUTE_MULTIPLE_TABLES")
        );
        assert!(all[3].to_string().contains("needs CAP_NET_RAW"));
        assert!(all[4].to_string().contains("all 32 IPv4 VIFs are in use"));
        assert!(all[4].to_string().contains("interface 9 cannot be added"));
        assert!(
            all[5]
                .to_string()
                .contains("raise sysctl net.ipv4.igmp_max_msf")
        );
    }

    #[test]
    fn errnos_are_named_and_limits_recognised() {
        let e = Error::TooManySources {
            group: "239.1.2.3".parse().unwrap(),
            ifindex: IfIndex(3),
            count: 5,
            sysctl: "net.ipv4.igmp_max_msf",
        };
        assert_eq!(errno_name(e.errno()), "ENOBUFS");
        assert!(e.is_per_socket_limit());
        let e = Error::io("x", io::Error::from_raw_os_error(libc::ENODEV));
        assert_eq!(errno_name(e.errno()), "ENODEV");
        assert!(!e.is_per_socket_limit());
        assert_eq!(errno_name(4095), "errno 4095");
    }

    #[test]
    fn permission_errors_are_classified() {
        let e = classify("x", io::Error::from_raw_os_error(libc::EPERM));
        assert!(matches!(e, Error::Permission { what: "x" }));
        let e = classify("x", io::Error::from_raw_os_error(libc::EINVAL));
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    }
}
