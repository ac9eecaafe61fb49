//! IPv4 header (RFC 791) with the Router Alert option (RFC 2113), as IGMP needs it: IGMPv2 and
//! v3 messages are sent with TTL 1 and Router Alert (RFC 2236 §2, RFC 9776 §4).

use crate::checksum;
use crate::{Error, Result};
use std::net::Ipv4Addr;

/// IP protocol number of IGMP.
pub const PROTOCOL_IGMP: u8 = 2;
/// Type of Service for IGMP messages: Internetwork Control (RFC 9776 §4).
pub const TOS_INTERNETWORK_CONTROL: u8 = 0xC0;
/// The Router Alert option as emitted: copied flag, option 20, length 4, value 0 ("every router
/// examines the packet", RFC 2113 §2.1).
pub const ROUTER_ALERT_OPTION: [u8; 4] = [0x94, 0x04, 0x00, 0x00];

/// Header without options.
pub const MIN_HEADER_LEN: usize = 20;

mod field {
    pub type Field = std::ops::Range<usize>;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLAGS_FRAG: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC: Field = 12..16;
    pub const DST: Field = 16..20;
    pub const OPTIONS_START: usize = 20;
}

/// Option types that are walked specially (RFC 791 §3.1; RFC 2113 §2.1).
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_ROUTER_ALERT: u8 = 0x94;

const FLAG_DONT_FRAGMENT: u16 = 0x4000;
const FLAG_MORE_FRAGMENTS: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1FFF;

/// A view over a buffer holding an IPv4 datagram.
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

    /// Checks the version, that the header (IHL) fits the buffer, and that the Total Length
    /// covers the header and fits the buffer. Octets after Total Length (link padding) are
    /// allowed and ignored.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 || self.header_len() < MIN_HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < self.header_len() {
            return Err(Error::Truncated);
        }
        let total = usize::from(self.total_len());
        if total < self.header_len() {
            return Err(Error::Malformed);
        }
        if total > len {
            return Err(Error::LengthOverrun);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, range: field::Field) -> u16 {
        let b = &self.buffer.as_ref()[range];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn addr_at(&self, range: field::Field) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[range];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in octets (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0F) * 4
    }

    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    pub fn total_len(&self) -> u16 {
        self.u16_at(field::TOTAL_LEN)
    }

    pub fn ident(&self) -> u16 {
        self.u16_at(field::IDENT)
    }

    pub fn dont_fragment(&self) -> bool {
        self.u16_at(field::FLAGS_FRAG) & FLAG_DONT_FRAGMENT != 0
    }

    pub fn more_fragments(&self) -> bool {
        self.u16_at(field::FLAGS_FRAG) & FLAG_MORE_FRAGMENTS != 0
    }

    /// Fragment offset in 8-octet units.
    pub fn frag_offset(&self) -> u16 {
        self.u16_at(field::FLAGS_FRAG) & FRAG_OFFSET_MASK
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        self.addr_at(field::SRC)
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        self.addr_at(field::DST)
    }

    /// The option octets between the fixed header and IHL × 4.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS_START..self.header_len()]
    }

    /// The payload: from the end of the header to Total Length.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }

    /// Whether the header checksum verifies (RFC 791 §3.1).
    pub fn verify_checksum(&self) -> bool {
        checksum::verifies(checksum::data(self.header_bytes()))
    }

    /// The IHL × 4 octets of the header, cut at the end of the buffer so that checksum
    /// helpers stay in bounds even on a view that was never checked.
    fn header_bytes(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        &bytes[..self.header_len().min(bytes.len())]
    }

    /// Walks the options (RFC 791 §3.1): End of Option List stops the walk, No Operation is one
    /// octet, every other option is type, length (≥ 2, counting both) and data. Returns whether
    /// a Router Alert option with value 0 is present (RFC 2113 §2.1; like Linux, other values,
    /// reserved by the RFC, do not count). An option that overruns the header, or a Router
    /// Alert whose length is not 4, is [`Error::Malformed`].
    pub fn router_alert(&self) -> Result<bool> {
        let mut options = self.options();
        let mut found = false;
        while let Some((&kind, rest)) = options.split_first() {
            match kind {
                OPT_END => break,
                OPT_NOP => options = rest,
                _ => {
                    let len = usize::from(*rest.first().ok_or(Error::Malformed)?);
                    if len < 2 {
                        return Err(Error::Malformed);
                    }
                    let option = options.get(..len).ok_or(Error::Malformed)?;
                    if kind == OPT_ROUTER_ALERT {
                        if len != ROUTER_ALERT_OPTION.len() {
                            return Err(Error::Malformed);
                        }
                        found |= option[2..4] == [0, 0];
                    }
                    options = &options[len..];
                }
            }
        }
        Ok(found)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, range: field::Field, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets version 4 and the header length (a multiple of 4, at most 60).
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        let ihl = u8::try_from(header_len / 4).unwrap_or(0x0F).min(0x0F);
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ihl;
    }

    pub fn set_tos(&mut self, value: u8) {
        self.buffer.as_mut()[field::TOS] = value;
    }

    pub fn set_total_len(&mut self, value: u16) {
        self.set_u16_at(field::TOTAL_LEN, value);
    }

    pub fn set_ident(&mut self, value: u16) {
        self.set_u16_at(field::IDENT, value);
    }

    /// Sets the flags and fragment offset: only Don't Fragment, never a fragment.
    pub fn set_dont_fragment(&mut self, df: bool) {
        self.set_u16_at(field::FLAGS_FRAG, if df { FLAG_DONT_FRAGMENT } else { 0 });
    }

    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    pub fn set_protocol(&mut self, value: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = value;
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16_at(field::CHECKSUM, value);
    }

    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum over IHL × 4 octets and stores it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.header_bytes());
        self.set_checksum(checksum::finish(sum));
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

/// A decoded IPv4 header. Options other than Router Alert are not kept; fragments are not
/// accepted (raw sockets see reassembled datagrams, and IGMP messages are never fragmented).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub dont_fragment: bool,
    /// A Router Alert option with value 0 is present (RFC 2113).
    pub router_alert: bool,
    /// Octets after the header, up to Total Length.
    pub payload_len: usize,
}

impl Repr {
    /// An IGMP header as RFC 2236 §2 and RFC 9776 §4 ask: TTL 1, TOS 0xC0, Router Alert.
    pub fn igmp(src: Ipv4Addr, dst: Ipv4Addr, payload_len: usize) -> Repr {
        Repr {
            src,
            dst,
            protocol: PROTOCOL_IGMP,
            ttl: 1,
            tos: TOS_INTERNETWORK_CONTROL,
            ident: 0,
            dont_fragment: false,
            router_alert: true,
            payload_len,
        }
    }

    /// Decodes a header. Errors: [`Error::Truncated`], [`Error::Malformed`] (version, IHL,
    /// Total Length below the header, options, fragments), [`Error::LengthOverrun`] (Total Length
    /// past the buffer), [`Error::BadChecksum`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        Repr::parse_unverified(packet)
    }

    /// Decodes a header as a Linux raw socket delivers it: as [`Repr::parse`], without the
    /// checksum. The kernel verified it on input, dropped datagrams with malformed options and
    /// reassembled fragments before any raw socket sees them; its option processing may then
    /// rewrite Record Route and Timestamp data in place without refreshing the checksum
    /// (docs/kernel-interface.md §2).
    pub fn parse_unverified<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.more_fragments() || packet.frag_offset() != 0 {
            return Err(Error::Malformed);
        }
        let router_alert = packet.router_alert()?;
        Ok(Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_fragment: packet.dont_fragment(),
            router_alert,
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
        })
    }

    /// Decodes a whole datagram into its header and payload (bounded by Total Length).
    pub fn parse_with_payload(bytes: &[u8]) -> Result<(Repr, &[u8])> {
        let packet = Packet::new_checked(bytes)?;
        let repr = Repr::parse(&packet)?;
        let payload = &bytes[packet.header_len()..usize::from(packet.total_len())];
        Ok((repr, payload))
    }

    /// As [`Repr::parse_with_payload`], without the checksum ([`Repr::parse_unverified`]).
    pub fn parse_unverified_with_payload(bytes: &[u8]) -> Result<(Repr, &[u8])> {
        let packet = Packet::new_checked(bytes)?;
        let repr = Repr::parse_unverified(&packet)?;
        let payload = &bytes[packet.header_len()..usize::from(packet.total_len())];
        Ok((repr, payload))
    }

    /// Decodes the header of a whole datagram.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Repr> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    /// Header length: 20, or 24 with the Router Alert option.
    pub fn buffer_len(&self) -> usize {
        MIN_HEADER_LEN
            + if self.router_alert {
                ROUTER_ALERT_OPTION.len()
            } else {
                0
            }
    }

    /// Total Length as emitted: saturates at 65535 for a payload that cannot fit a datagram.
    fn total_len(&self) -> u16 {
        u16::try_from(self.buffer_len() + self.payload_len).unwrap_or(u16::MAX)
    }

    /// Writes the header (with IHL 6 and Router Alert when asked) and its checksum. The payload
    /// area is left to the caller.
    ///
    /// # Panics
    /// If the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        let header_len = self.buffer_len();
        packet.set_version_and_header_len(header_len);
        packet.set_tos(self.tos);
        packet.set_total_len(self.total_len());
        packet.set_ident(self.ident);
        packet.set_dont_fragment(self.dont_fragment);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src);
        packet.set_dst_addr(self.dst);
        if self.router_alert {
            packet.buffer.as_mut()[field::OPTIONS_START..header_len]
                .copy_from_slice(&ROUTER_ALERT_OPTION);
        }
        packet.fill_checksum();
    }

    /// The header alone.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        bytes
    }

    /// A whole datagram: this header followed by `payload`, whose length replaces
    /// `payload_len` (truncated so that Total Length fits 16 bits).
    pub fn datagram(&self, payload: &[u8]) -> Vec<u8> {
        let room = usize::from(u16::MAX) - self.buffer_len();
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
