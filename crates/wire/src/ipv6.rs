//! IPv6 fixed header (RFC 8200 §3) and the Hop-by-Hop Options header (RFC 8200 §4.3) with the
//! Router Alert option (RFC 2711), as MLD needs it: every MLD message is sent with hop limit 1
//! behind a Hop-by-Hop header carrying Router Alert value 0 (RFC 2710 §3, RFC 9777 §5).

use crate::{Error, Result};
use std::net::Ipv6Addr;

/// Next Header value of the Hop-by-Hop Options header.
pub const NEXT_HEADER_HOP_BY_HOP: u8 = 0;
/// Next Header value of ICMPv6 (and so MLD).
pub const NEXT_HEADER_ICMPV6: u8 = 58;
/// Router Alert value for MLD messages (RFC 2711 §2.1).
pub const ROUTER_ALERT_MLD: u16 = 0;

/// The fixed header.
pub const HEADER_LEN: usize = 40;

mod field {
    pub type Field = std::ops::Range<usize>;
    pub const VER_TC_FLOW: Field = 0..4;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Field = 8..24;
    pub const DST: Field = 24..40;
}

/// A view over a buffer holding an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// The only way in for untrusted bytes: after this every getter is in bounds.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the version and that the Payload Length fits the buffer (octets after it, such
    /// as link padding, are ignored). Jumbograms (RFC 2675) are not supported.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::Malformed);
        }
        if HEADER_LEN + usize::from(self.payload_len()) > len {
            return Err(Error::LengthOverrun);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn addr_at(&self, range: field::Field) -> Ipv6Addr {
        let mut octets = [0; 16];
        octets.copy_from_slice(&self.buffer.as_ref()[range]);
        Ipv6Addr::from(octets)
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW.start] >> 4
    }

    pub fn payload_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::PAYLOAD_LEN];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        self.addr_at(field::SRC)
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        self.addr_at(field::DST)
    }

    /// Everything after the fixed header, up to Payload Length (extension headers included).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }

    /// Walks to the upper-layer header. Only a leading Hop-by-Hop header is handled (the only
    /// extension header MLD uses); any other Next Header value is returned as the upper layer.
    /// A Hop-by-Hop header may only follow the fixed header (RFC 8200 §4.1), so one that
    /// leads to another is [`Error::Malformed`], as Linux also drops it.
    pub fn upper_layer(&self) -> Result<UpperLayer> {
        if self.next_header() != NEXT_HEADER_HOP_BY_HOP {
            return Ok(UpperLayer {
                next_header: self.next_header(),
                offset: HEADER_LEN,
                router_alert: None,
            });
        }
        let hop_by_hop = HopByHop::new_checked(self.payload())?;
        let repr = HopByHopRepr::parse(&hop_by_hop)?;
        if repr.next_header == NEXT_HEADER_HOP_BY_HOP {
            return Err(Error::Malformed);
        }
        Ok(UpperLayer {
            next_header: repr.next_header,
            offset: HEADER_LEN + hop_by_hop.header_len(),
            router_alert: repr.router_alert,
        })
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Version 6, traffic class 0 (MLD is sent with it, RFC 9777 §5), flow label 0.
    pub fn set_version(&mut self) {
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&[0x60, 0, 0, 0]);
    }

    pub fn set_payload_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::PAYLOAD_LEN].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value;
    }

    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }
}

/// Where the upper-layer header starts, as found by [`Packet::upper_layer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpperLayer {
    pub next_header: u8,
    /// Offset of the upper-layer header from the start of the IPv6 packet.
    pub offset: usize,
    /// The Router Alert value, if a Hop-by-Hop header carried one.
    pub router_alert: Option<u16>,
}

mod hbh;
pub use hbh::{HopByHop, HopByHopRepr};

/// A decoded IPv6 header plus its Hop-by-Hop Router Alert. Traffic class and flow label are
/// not kept (MLD uses neither); Hop-by-Hop options other than Router Alert are not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// The upper-layer protocol, after any Hop-by-Hop header. Never 0 (Hop-by-Hop) in a parsed
    /// packet: a Hop-by-Hop header cannot follow another (RFC 8200 §4.1).
    pub next_header: u8,
    pub hop_limit: u8,
    /// Value of a Router Alert option in a Hop-by-Hop header (RFC 2711); emit writes a
    /// Hop-by-Hop header exactly when this is set.
    pub router_alert: Option<u16>,
    /// Length of the upper-layer message (Payload Length minus the Hop-by-Hop header).
    pub payload_len: usize,
}

impl Repr {
    /// An MLD header as RFC 9777 §5 asks: hop limit 1, Router Alert 0, ICMPv6.
    pub fn mld(src: Ipv6Addr, dst: Ipv6Addr, payload_len: usize) -> Repr {
        Repr {
            src,
            dst,
            next_header: NEXT_HEADER_ICMPV6,
            hop_limit: 1,
            router_alert: Some(ROUTER_ALERT_MLD),
            payload_len,
        }
    }

    /// Decodes the fixed header and a Hop-by-Hop header if present. Errors:
    /// [`Error::Truncated`], [`Error::Malformed`] (version, option lengths),
    /// [`Error::LengthOverrun`] (Payload Length or Hop-by-Hop length past the end),
    /// [`Error::UnrecognizedOption`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        Repr::parse_locating_payload(packet).map(|(repr, _)| repr)
    }

    /// [`Repr::parse`], also returning the offset of the upper-layer message.
    fn parse_locating_payload<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
    ) -> Result<(Repr, usize)> {
        packet.check_len()?;
        let upper = packet.upper_layer()?;
        let repr = Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            next_header: upper.next_header,
            hop_limit: packet.hop_limit(),
            router_alert: upper.router_alert,
            // upper_layer() bounded the extension header by Payload Length.
            payload_len: (HEADER_LEN + usize::from(packet.payload_len()))
                .saturating_sub(upper.offset),
        };
        Ok((repr, upper.offset))
    }

    /// Decodes a whole packet into its headers and the upper-layer message.
    pub fn parse_with_payload(bytes: &[u8]) -> Result<(Repr, &[u8])> {
        let (repr, offset) = Repr::parse_locating_payload(&Packet::new_checked(bytes)?)?;
        let payload = bytes
            .get(offset..offset + repr.payload_len)
            .ok_or(Error::LengthOverrun)?;
        Ok((repr, payload))
    }

    pub fn parse_bytes(bytes: &[u8]) -> Result<Repr> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    fn hop_by_hop(&self) -> Option<HopByHopRepr> {
        self.router_alert.map(|value| HopByHopRepr {
            next_header: self.next_header,
            router_alert: Some(value),
        })
    }

    /// Length of the headers: 40, or 48 with the Hop-by-Hop header.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.hop_by_hop().map_or(0, |h| h.buffer_len())
    }

    /// Writes the fixed header and, when `router_alert` is set, the Hop-by-Hop header. The
    /// upper-layer area is left to the caller. Payload Length saturates at 65535.
    ///
    /// # Panics
    /// If the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        let ext_len = self.buffer_len() - HEADER_LEN;
        packet.set_version();
        packet.set_payload_len(u16::try_from(ext_len + self.payload_len).unwrap_or(u16::MAX));
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src);
        packet.set_dst_addr(self.dst);
        match self.hop_by_hop() {
            Some(hbh) => {
                packet.set_next_header(NEXT_HEADER_HOP_BY_HOP);
                let area = &mut packet.buffer.as_mut()[HEADER_LEN..HEADER_LEN + ext_len];
                hbh.emit(&mut HopByHop::new_unchecked(area));
            }
            None => packet.set_next_header(self.next_header),
        }
    }

    /// The headers alone.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        bytes
    }

    /// A whole packet: these headers followed by `payload`, whose length replaces
    /// `payload_len` (truncated so that Payload Length fits 16 bits).
    pub fn packet(&self, payload: &[u8]) -> Vec<u8> {
        let room = usize::from(u16::MAX) - (self.buffer_len() - HEADER_LEN);
        let payload = &payload[..payload.len().min(room)];
        let repr = Repr {
            payload_len: payload.len(),
            ..*self
        };
        let mut bytes = repr.to_bytes();
        bytes.extend_from_slice(payload);
        bytes
    }
}

#[cfg(test)]
mod tests;
