//! MLD messages: MLDv1 (RFC 2710 §3) and MLDv2 (RFC 9777 §5). The buffer is the ICMPv6
//! message; the checksum covers the IPv6 pseudo-header, so parse/emit take the addresses.

use crate::checksum;
use crate::ipv6::NEXT_HEADER_ICMPV6;
use crate::record::{self, MAX_COUNT};
use crate::{Error, Result};
use std::net::Ipv6Addr;

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Repr {
    /// Type 130, exactly 24 octets. Maximum Response Delay in ms.
    QueryV1 {
        max_resp_delay: u16,
        group: Ipv6Addr,
    },
    /// Type 130, ≥ 28 octets (RFC 9777 §5.1). 16-bit Maximum Response Code.
    QueryV2 {
        max_resp_code: u16,
        group: Ipv6Addr,
        s_flag: bool,
        qrv: u8,
        qqic: u8,
        sources: Vec<Ipv6Addr>,
    },
    /// Type 131.
    ReportV1 { group: Ipv6Addr },
    /// Type 132.
    DoneV1 { group: Ipv6Addr },
    /// Type 143 (RFC 9777 §5.2).
    ReportV2 { records: Vec<AddressRecord> },
}

/// One MLDv2 multicast address record (RFC 9777 §5.2.4).
pub type AddressRecord = record::GroupRecord<Ipv6Addr>;

/// Destination of general queries (RFC 9777 §5.1).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Destination of MLDv1 Done messages (RFC 2710 §3).
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// Destination of MLDv2 reports (RFC 9777 §5.2.14).
pub const ALL_MLDV2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);

/// ICMPv6 types of MLD (RFC 2710 §3, RFC 9777 §5).
pub mod msg_type {
    pub const QUERY: u8 = 130;
    pub const REPORT_V1: u8 = 131;
    pub const DONE_V1: u8 = 132;
    pub const REPORT_V2: u8 = 143;
}

/// The ICMPv6 header: type, code, checksum.
pub const ICMPV6_HEADER_LEN: usize = 4;
/// MLDv2 report header (RFC 9777 §5.2).
pub const V2_REPORT_HEADER_LEN: usize = 8;
/// MLDv1 messages (RFC 2710 §3) and the exact length of an MLDv1 query (RFC 9777 §8.1).
pub const V1_LEN: usize = 24;
/// Shortest MLDv2 query (RFC 9777 §8.1).
pub const V2_QUERY_HEADER_LEN: usize = 28;

mod field {
    pub type Field = std::ops::Range<usize>;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    // Queries and MLDv1 messages (RFC 9777 §5.1, RFC 2710 §3).
    pub const MAX_RESP_CODE: Field = 4..6;
    pub const RESERVED: Field = 6..8;
    pub const MCAST_ADDR: Field = 8..24;
    pub const FLAGS_S_QRV: usize = 24;
    pub const QQIC: usize = 25;
    pub const NUM_SOURCES: Field = 26..28;
    pub const SOURCES_START: usize = 28;
    // MLDv2 reports (RFC 9777 §5.2): octet 1 and 4..6 (MAX_RESP_CODE above) are reserved.
    pub const NUM_RECORDS: Field = 6..8;
    pub const RECORDS_START: usize = 8;
}

/// S flag and QRV share one octet: Flags(4) | S(1) | QRV(3) (RFC 9777 §5.1).
/// The Flags (Resv before the RFC 9776/9777 revisions) are ignored on parse, zero on emit.
const S_FLAG: u8 = 0x08;
const QRV_MASK: u8 = 0x07;

/// A view over a buffer holding exactly one MLD message (the ICMPv6 message).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// The only way in for untrusted bytes.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The ICMPv6 header must be there ([`Error::Truncated`]). A query is exactly 24 octets
    /// (MLDv1) or at least 28 (MLDv2), anything else is [`Error::BadQueryLength`] (RFC 9777
    /// §8.1); an MLDv2 query's source count must fit ([`Error::LengthOverrun`]). MLDv1 reports
    /// and Dones need 24 octets, MLDv2 reports 8 ([`Error::Truncated`]).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < ICMPV6_HEADER_LEN {
            return Err(Error::Truncated);
        }
        match self.msg_type() {
            msg_type::QUERY if len == V1_LEN => Ok(()),
            msg_type::QUERY => {
                let nsrc = self.num_sources().ok_or(Error::BadQueryLength)?;
                if V2_QUERY_HEADER_LEN + usize::from(nsrc) * 16 > len {
                    return Err(Error::LengthOverrun);
                }
                Ok(())
            }
            msg_type::REPORT_V1 | msg_type::DONE_V1 if len < V1_LEN => Err(Error::Truncated),
            msg_type::REPORT_V2 if len < V2_REPORT_HEADER_LEN => Err(Error::Truncated),
            _ => Ok(()),
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, range: field::Field) -> Option<u16> {
        let b = self.buffer.as_ref().get(range)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// ICMPv6 code: zero on send, ignored on receipt (RFC 9777 §5.1).
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM).unwrap_or(0)
    }

    /// Maximum Response Code of queries (MLDv1: Maximum Response Delay in ms).
    pub fn max_resp_code(&self) -> Option<u16> {
        self.u16_at(field::MAX_RESP_CODE)
    }

    /// Multicast Address of queries and MLDv1 messages.
    pub fn multicast_addr(&self) -> Option<Ipv6Addr> {
        let b = self.buffer.as_ref().get(field::MCAST_ADDR)?;
        let mut octets = [0; 16];
        octets.copy_from_slice(b);
        Some(Ipv6Addr::from(octets))
    }

    /// S flag of an MLDv2 query (RFC 9777 §5.1).
    pub fn s_flag(&self) -> Option<bool> {
        self.buffer
            .as_ref()
            .get(field::FLAGS_S_QRV)
            .map(|b| b & S_FLAG != 0)
    }

    /// QRV of an MLDv2 query (RFC 9777 §5.1); the reserved bits are ignored.
    pub fn qrv(&self) -> Option<u8> {
        self.buffer
            .as_ref()
            .get(field::FLAGS_S_QRV)
            .map(|b| b & QRV_MASK)
    }

    /// QQIC of an MLDv2 query, coded like IGMPv3's (RFC 9777 §5.1).
    pub fn qqic(&self) -> Option<u8> {
        self.buffer.as_ref().get(field::QQIC).copied()
    }

    /// Number of Sources of an MLDv2 query (RFC 9777 §5.1).
    pub fn num_sources(&self) -> Option<u16> {
        self.u16_at(field::NUM_SOURCES)
    }

    /// Nr of Mcast Address Records of an MLDv2 report (RFC 9777 §5.2.3).
    pub fn num_records(&self) -> Option<u16> {
        self.u16_at(field::NUM_RECORDS)
    }

    /// Whether the ICMPv6 checksum, over the pseudo-header and the whole message, verifies
    /// (RFC 4443 §2.3).
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let bytes = self.buffer.as_ref();
        checksum::verifies(checksum::combine(&[
            pseudo_header(src, dst, bytes.len()),
            checksum::data(bytes),
        ]))
    }
}

/// The pseudo-header sum for an ICMPv6 message of `len` octets.
fn pseudo_header(src: &Ipv6Addr, dst: &Ipv6Addr, len: usize) -> u16 {
    checksum::pseudo_header_v6(
        src,
        dst,
        NEXT_HEADER_ICMPV6,
        u32::try_from(len).unwrap_or(u32::MAX),
    )
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, range: field::Field, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets type, code (zero) and the 16 bits after the checksum: Maximum Response Code of
    /// queries, zero in other messages (where they are reserved).
    pub fn set_header(&mut self, msg_type: u8, max_resp_code: u16) {
        let b = self.buffer.as_mut();
        b[field::TYPE] = msg_type;
        b[field::CODE] = 0;
        self.set_u16_at(field::MAX_RESP_CODE, max_resp_code);
    }

    /// Sets the Multicast Address of a query or MLDv1 message, and the reserved field before
    /// it to zero.
    pub fn set_multicast_addr(&mut self, addr: Ipv6Addr) {
        self.set_u16_at(field::RESERVED, 0);
        self.buffer.as_mut()[field::MCAST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the S flag and QRV of an MLDv2 query, the reserved bits zero. QRV is masked to
    /// 3 bits.
    pub fn set_s_flag_and_qrv(&mut self, s_flag: bool, qrv: u8) {
        let s = if s_flag { S_FLAG } else { 0 };
        self.buffer.as_mut()[field::FLAGS_S_QRV] = s | (qrv & QRV_MASK);
    }

    pub fn set_qqic(&mut self, value: u8) {
        self.buffer.as_mut()[field::QQIC] = value;
    }

    pub fn set_num_sources(&mut self, value: u16) {
        self.set_u16_at(field::NUM_SOURCES, value);
    }

    /// Sets Nr of Mcast Address Records of an MLDv2 report.
    pub fn set_num_records(&mut self, value: u16) {
        self.set_u16_at(field::NUM_RECORDS, value);
    }

    /// Computes the checksum over the pseudo-header and the whole buffer, which must be
    /// exactly the message.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_u16_at(field::CHECKSUM, 0);
        let bytes = self.buffer.as_ref();
        let sum = checksum::combine(&[pseudo_header(src, dst, bytes.len()), checksum::data(bytes)]);
        self.set_u16_at(field::CHECKSUM, checksum::finish(sum));
    }
}

impl Repr {
    /// Decodes a message received from `src` to `dst`: checks lengths, then the checksum over
    /// the pseudo-header ([`Error::BadChecksum`]), then the type ([`Error::UnknownType`]).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) -> Result<Repr> {
        packet.check_len()?;
        if !packet.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        Repr::parse_unverified(packet)
    }

    /// Decodes a message whose checksum the kernel already verified (ICMPv6 raw sockets
    /// always do). The query version follows RFC 9777 §8.1; trailing octets after a message's
    /// fields are ignored.
    pub fn parse_unverified<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        let bytes = packet.buffer.as_ref();
        // check_len guarantees the fixed fields of each known type.
        let group = packet.multicast_addr().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let code = packet.max_resp_code().unwrap_or(0);
        match packet.msg_type() {
            msg_type::QUERY => match (
                packet.s_flag(),
                packet.qrv(),
                packet.qqic(),
                packet.num_sources(),
            ) {
                (Some(s_flag), Some(qrv), Some(qqic), Some(nsrc)) => Ok(Repr::QueryV2 {
                    max_resp_code: code,
                    group,
                    s_flag,
                    qrv,
                    qqic,
                    sources: record::read_addrs(&bytes[field::SOURCES_START..], usize::from(nsrc))?,
                }),
                _ => Ok(Repr::QueryV1 {
                    max_resp_delay: code,
                    group,
                }),
            },
            msg_type::REPORT_V1 => Ok(Repr::ReportV1 { group }),
            msg_type::DONE_V1 => Ok(Repr::DoneV1 { group }),
            msg_type::REPORT_V2 => {
                let count = packet.num_records().unwrap_or(0);
                let records =
                    record::parse_records::<Ipv6Addr>(&bytes[field::RECORDS_START..], count)?;
                Ok(Repr::ReportV2 { records })
            }
            other => Err(Error::UnknownType(other)),
        }
    }

    /// Decodes exactly one ICMPv6 message, verifying its checksum.
    pub fn parse_bytes(bytes: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> Result<Repr> {
        Repr::parse(&Packet::new_checked(bytes)?, src, dst)
    }

    /// Message length as emitted; lists longer than a 16-bit count are clamped.
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::QueryV2 { sources, .. } => {
                V2_QUERY_HEADER_LEN + sources.len().min(MAX_COUNT) * 16
            }
            Repr::ReportV2 { records } => {
                let emitted = &records[..records.len().min(MAX_COUNT)];
                V2_REPORT_HEADER_LEN
                    + emitted
                        .iter()
                        .map(record::GroupRecord::buffer_len)
                        .sum::<usize>()
            }
            _ => V1_LEN,
        }
    }

    /// Writes the message into the first [`Repr::buffer_len`] octets with the checksum over
    /// the pseudo-header for `src` → `dst` and exactly those octets. Code and reserved fields
    /// are zero, QRV is masked to 3 bits, lists are clamped to 65535 entries and auxiliary
    /// data padded to 32-bit words, as for IGMP.
    ///
    /// # Panics
    /// If the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Packet<&mut T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) {
        let len = self.buffer_len();
        let mut msg = Packet::new_unchecked(&mut packet.buffer.as_mut()[..len]);
        match self {
            Repr::QueryV1 {
                max_resp_delay: code,
                group,
            }
            | Repr::QueryV2 {
                max_resp_code: code,
                group,
                ..
            } => {
                msg.set_header(msg_type::QUERY, *code);
                msg.set_multicast_addr(*group);
            }
            // Maximum Response Delay is zero in MLDv1 reports and dones (RFC 2710 §3.4).
            Repr::ReportV1 { group } => {
                msg.set_header(msg_type::REPORT_V1, 0);
                msg.set_multicast_addr(*group);
            }
            Repr::DoneV1 { group } => {
                msg.set_header(msg_type::DONE_V1, 0);
                msg.set_multicast_addr(*group);
            }
            Repr::ReportV2 { records } => {
                let records = &records[..records.len().min(MAX_COUNT)];
                msg.set_header(msg_type::REPORT_V2, 0);
                msg.set_num_records(record::count_field(records.len()));
                let mut at = field::RECORDS_START;
                for r in records {
                    let out = &mut msg.buffer[at..];
                    at += record::emit_record(out, r);
                }
            }
        }
        if let Repr::QueryV2 {
            s_flag,
            qrv,
            qqic,
            sources,
            ..
        } = self
        {
            let sources = &sources[..sources.len().min(MAX_COUNT)];
            msg.set_s_flag_and_qrv(*s_flag, *qrv);
            msg.set_qqic(*qqic);
            msg.set_num_sources(record::count_field(sources.len()));
            record::write_addrs(&mut msg.buffer[field::SOURCES_START..], sources);
        }
        msg.fill_checksum(src, dst);
    }

    pub fn to_bytes(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> Vec<u8> {
        let mut bytes = vec![0; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut bytes[..]), src, dst);
        bytes
    }
}

#[cfg(test)]
mod tests;
