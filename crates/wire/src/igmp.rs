//! IGMP messages: v1 (RFC 1112 App. I), v2 (RFC 2236 §2), v3 (RFC 9776 §4).
//! The buffer given to `Packet::new_checked` is exactly the IGMP message (IP total length minus
//! the IP header length): the query version is decided by that length (RFC 9776 §7.1).

use crate::checksum;
use crate::record::{self, MAX_COUNT};
use crate::{Error, Result};
use std::net::Ipv4Addr;

/// A decoded IGMP message. Codes are kept raw so that `parse(emit(x)) == x`; use
/// [`crate::code`] to convert them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Repr {
    /// 8 octets, type 0x11, Max Resp Code 0 (RFC 9776 §7.1).
    QueryV1 { group: Ipv4Addr },
    /// 8 octets, type 0x11, Max Resp Code ≠ 0 (in 1/10 s).
    QueryV2 { max_resp_time: u8, group: Ipv4Addr },
    /// ≥ 12 octets, type 0x11 (RFC 9776 §4.1).
    QueryV3 {
        max_resp_code: u8,
        group: Ipv4Addr,
        s_flag: bool,
        qrv: u8,
        qqic: u8,
        sources: Vec<Ipv4Addr>,
    },
    /// Type 0x12.
    ReportV1 { group: Ipv4Addr },
    /// Type 0x16.
    ReportV2 { group: Ipv4Addr },
    /// Type 0x17.
    LeaveV2 { group: Ipv4Addr },
    /// Type 0x22 (RFC 9776 §4.2).
    ReportV3 { records: Vec<GroupRecord> },
}

/// One IGMPv3 group record (RFC 9776 §4.2).
pub type GroupRecord = record::GroupRecord<Ipv4Addr>;

/// Destination of general queries (RFC 9776 §4.1.12).
pub const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
/// Destination of IGMPv2 Leave Group messages (RFC 2236 §9).
pub const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
/// Destination of IGMPv3 reports (RFC 9776 §4.2.15).
pub const ALL_IGMPV3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);

/// Message types (RFC 9776 §4, RFC 2236 §2, RFC 1112 App. I).
pub mod msg_type {
    pub const QUERY: u8 = 0x11;
    pub const REPORT_V1: u8 = 0x12;
    pub const REPORT_V2: u8 = 0x16;
    pub const LEAVE_V2: u8 = 0x17;
    pub const REPORT_V3: u8 = 0x22;
}

/// Length of IGMPv1/v2 messages and the shortest IGMPv3 report.
pub const HEADER_LEN: usize = 8;
/// Shortest IGMPv3 query (RFC 9776 §7.1).
pub const V3_QUERY_HEADER_LEN: usize = 12;

mod field {
    pub type Field = std::ops::Range<usize>;
    pub const TYPE: usize = 0;
    pub const MAX_RESP_CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const GROUP: Field = 4..8;
    // IGMPv3 query (RFC 9776 §4.1).
    pub const FLAGS_S_QRV: usize = 8;
    pub const QQIC: usize = 9;
    pub const NUM_SOURCES: Field = 10..12;
    pub const SOURCES_START: usize = 12;
    // IGMPv3 report (RFC 9776 §4.2): octet 1 is Reserved, 4..6 are Flags (none this decoder
    // acts on; ignored on parse, zero on emit).
    pub const REPORT_FLAGS: Field = 4..6;
    pub const NUM_RECORDS: Field = 6..8;
    pub const RECORDS_START: usize = 8;
}

/// S flag and QRV share one octet: Flags(4) | S(1) | QRV(3) (RFC 9776 §4.1.4–§4.1.6).
/// The Flags (Resv before the RFC 9776/9777 revisions) are ignored on parse, zero on emit.
const S_FLAG: u8 = 0x08;
const QRV_MASK: u8 = 0x07;

/// A view over a buffer holding exactly one IGMP message (the IP payload).
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

    /// Every message has 8 octets ([`Error::Truncated`]). A query of 9–11 octets is
    /// [`Error::BadQueryLength`] (RFC 9776 §7.1); a v3 query's source count must fit
    /// ([`Error::LengthOverrun`]). v3 report records are bounded by [`Repr::parse`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.msg_type() == msg_type::QUERY && len != HEADER_LEN {
            let nsrc = self.num_sources().ok_or(Error::BadQueryLength)?;
            if V3_QUERY_HEADER_LEN + usize::from(nsrc) * 4 > len {
                return Err(Error::LengthOverrun);
            }
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

    /// The message length: the whole buffer.
    pub fn len(&self) -> usize {
        self.buffer.as_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// Max Resp Code of queries (unused in reports).
    pub fn max_resp_code(&self) -> u8 {
        self.buffer.as_ref()[field::MAX_RESP_CODE]
    }

    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// Group Address of queries, v1/v2 reports and leaves.
    pub fn group_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::GROUP];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The octet after the group of a v3 query; `None` when the message is too short for it.
    fn v3_query_octet(&self, at: usize) -> Option<u8> {
        self.buffer.as_ref().get(at).copied()
    }

    /// S flag of a v3 query (RFC 9776 §4.1.5).
    pub fn s_flag(&self) -> Option<bool> {
        self.v3_query_octet(field::FLAGS_S_QRV)
            .map(|b| b & S_FLAG != 0)
    }

    /// QRV of a v3 query (RFC 9776 §4.1.6); the reserved bits are ignored.
    pub fn qrv(&self) -> Option<u8> {
        self.v3_query_octet(field::FLAGS_S_QRV)
            .map(|b| b & QRV_MASK)
    }

    /// QQIC of a v3 query (RFC 9776 §4.1.7).
    pub fn qqic(&self) -> Option<u8> {
        self.v3_query_octet(field::QQIC)
    }

    /// Number of Sources of a v3 query (RFC 9776 §4.1.8).
    pub fn num_sources(&self) -> Option<u16> {
        let b = self.buffer.as_ref().get(field::NUM_SOURCES)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Number of Group Records of a v3 report (RFC 9776 §4.2).
    pub fn num_group_records(&self) -> u16 {
        self.u16_at(field::NUM_RECORDS)
    }

    /// Whether the checksum over the whole message verifies (RFC 9776 §4.1.2: trailing octets
    /// are included).
    pub fn verify_checksum(&self) -> bool {
        checksum::verifies(checksum::data(self.buffer.as_ref()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, range: field::Field, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    pub fn set_max_resp_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::MAX_RESP_CODE] = value;
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16_at(field::CHECKSUM, value);
    }

    pub fn set_group_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::GROUP].copy_from_slice(&addr.octets());
    }

    /// Sets the S flag and QRV of a v3 query, the reserved bits zero. QRV is masked to 3 bits.
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

    /// Sets Number of Group Records of a v3 report, and the reserved field before it to zero.
    pub fn set_num_group_records(&mut self, value: u16) {
        self.set_u16_at(field::REPORT_FLAGS, 0);
        self.set_u16_at(field::NUM_RECORDS, value);
    }

    /// Computes the checksum over the whole buffer, which must be exactly the message.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.buffer.as_ref());
        self.set_checksum(checksum::finish(sum));
    }
}

impl Repr {
    /// Decodes a message: checks lengths, then the checksum ([`Error::BadChecksum`]), then
    /// the type ([`Error::UnknownType`]). The query version follows RFC 9776 §7.1: 8 octets
    /// with Max Resp Code 0 is v1, 8 octets otherwise v2, 12 or more v3; trailing octets after
    /// a message's fields are ignored (the Additional Data of RFC 9776 §4.1.10 and §4.2).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let bytes = packet.buffer.as_ref();
        let group = packet.group_addr();
        match packet.msg_type() {
            msg_type::QUERY => match (
                packet.s_flag(),
                packet.qrv(),
                packet.qqic(),
                packet.num_sources(),
            ) {
                (Some(s_flag), Some(qrv), Some(qqic), Some(nsrc)) => Ok(Repr::QueryV3 {
                    max_resp_code: packet.max_resp_code(),
                    group,
                    s_flag,
                    qrv,
                    qqic,
                    sources: record::read_addrs(&bytes[field::SOURCES_START..], usize::from(nsrc))?,
                }),
                _ if packet.max_resp_code() == 0 => Ok(Repr::QueryV1 { group }),
                _ => Ok(Repr::QueryV2 {
                    max_resp_time: packet.max_resp_code(),
                    group,
                }),
            },
            msg_type::REPORT_V1 => Ok(Repr::ReportV1 { group }),
            msg_type::REPORT_V2 => Ok(Repr::ReportV2 { group }),
            msg_type::LEAVE_V2 => Ok(Repr::LeaveV2 { group }),
            msg_type::REPORT_V3 => {
                let records = record::parse_records::<Ipv4Addr>(
                    &bytes[field::RECORDS_START..],
                    packet.num_group_records(),
                )?;
                Ok(Repr::ReportV3 { records })
            }
            other => Err(Error::UnknownType(other)),
        }
    }

    /// Decodes exactly one IGMP message (IP Total Length minus the IP header length).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Repr> {
        Repr::parse(&Packet::new_checked(bytes)?)
    }

    /// Message length as emitted. Lists longer than a 16-bit count are clamped (see
    /// [`Repr::emit`]).
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::QueryV3 { sources, .. } => V3_QUERY_HEADER_LEN + sources.len().min(MAX_COUNT) * 4,
            Repr::ReportV3 { records } => {
                let emitted = &records[..records.len().min(MAX_COUNT)];
                HEADER_LEN
                    + emitted
                        .iter()
                        .map(record::GroupRecord::buffer_len)
                        .sum::<usize>()
            }
            _ => HEADER_LEN,
        }
    }

    /// Writes the message into the first [`Repr::buffer_len`] octets and computes the checksum
    /// over exactly those octets, whatever the buffer holds after them (igmpproxy summed a
    /// fixed 24 octets, `docs/igmpproxy-differences.md` D27). Reserved fields are zero; QRV above 7 is masked
    /// to 3 bits. At most 65535 sources or records are written (a message that long cannot fit
    /// an IP datagram; callers split by MTU, RFC 9776 §4.2.17), and auxiliary data is padded
    /// to whole 32-bit words.
    ///
    /// # Panics
    /// If the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        let len = self.buffer_len();
        let mut msg = Packet::new_unchecked(&mut packet.buffer.as_mut()[..len]);
        let (kind, code, group) = match self {
            Repr::QueryV1 { group } => (msg_type::QUERY, 0, *group),
            Repr::QueryV2 {
                max_resp_time,
                group,
            } => (msg_type::QUERY, *max_resp_time, *group),
            Repr::QueryV3 {
                max_resp_code,
                group,
                ..
            } => (msg_type::QUERY, *max_resp_code, *group),
            Repr::ReportV1 { group } => (msg_type::REPORT_V1, 0, *group),
            Repr::ReportV2 { group } => (msg_type::REPORT_V2, 0, *group),
            Repr::LeaveV2 { group } => (msg_type::LEAVE_V2, 0, *group),
            Repr::ReportV3 { .. } => (msg_type::REPORT_V3, 0, Ipv4Addr::UNSPECIFIED),
        };
        msg.set_msg_type(kind);
        msg.set_max_resp_code(code);
        msg.set_group_addr(group);
        match self {
            Repr::QueryV3 {
                s_flag,
                qrv,
                qqic,
                sources,
                ..
            } => {
                let sources = &sources[..sources.len().min(MAX_COUNT)];
                msg.set_s_flag_and_qrv(*s_flag, *qrv);
                msg.set_qqic(*qqic);
                msg.set_num_sources(record::count_field(sources.len()));
                record::write_addrs(&mut msg.buffer[field::SOURCES_START..], sources);
            }
            Repr::ReportV3 { records } => {
                let records = &records[..records.len().min(MAX_COUNT)];
                msg.set_num_group_records(record::count_field(records.len()));
                let mut at = field::RECORDS_START;
                for r in records {
                    let out = &mut msg.buffer[at..];
                    at += record::emit_record(out, r);
                }
            }
            _ => {}
        }
        msg.fill_checksum();
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        bytes
    }
}

#[cfg(test)]
mod tests;
