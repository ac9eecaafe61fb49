use std::fmt;

/// Why a packet was rejected. Every variant names the cause so that logs and counters can
/// say exactly what was wrong with the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Error {
    /// The buffer is shorter than the fixed header.
    Truncated,
    /// A length or count field points past the end of the buffer.
    LengthOverrun,
    /// The checksum does not verify.
    BadChecksum,
    /// IPv4/IPv6 version field is wrong, an IHL/option length is invalid, or the datagram is
    /// an IPv4 fragment.
    Malformed,
    /// A message type this module does not know.
    UnknownType(u8),
    /// IGMP query of length 9–11 (RFC 9776 §7.1: MUST be ignored), or an MLD query that is
    /// neither 24 nor ≥ 28 octets (RFC 9777 §8.1).
    BadQueryLength,
    /// An IPv6 option this decoder does not know whose type says "discard the packet"
    /// (two high-order bits not 00, RFC 8200 §4.2).
    UnrecognizedOption(u8),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => write!(f, "packet shorter than its fixed header"),
            Error::LengthOverrun => {
                write!(f, "a length or count field runs past the end of the packet")
            }
            Error::BadChecksum => write!(f, "checksum does not verify"),
            Error::Malformed => write!(f, "malformed header"),
            Error::UnknownType(t) => write!(f, "unknown message type {t:#04x}"),
            Error::BadQueryLength => write!(
                f,
                "query length not allowed by RFC 9776 §7.1 / RFC 9777 §8.1"
            ),
            Error::UnrecognizedOption(t) => write!(
                f,
                "unrecognized IPv6 option {t:#04x} that requires discarding"
            ),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
