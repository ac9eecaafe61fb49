//! What IGMPv3 and MLDv2 reports share: the record types, and the record itself with its codec.
//! The Group Record of RFC 9776 §4.2 and the Multicast Address Record of RFC 9777 §5.2.4 have
//! the same layout, with 4-octet and 16-octet addresses.

use crate::{Error, Result};
use std::net::{Ipv4Addr, Ipv6Addr};

/// IGMPv3 group record / MLDv2 address record types (RFC 9776 §4.2.13, RFC 9777 §5.2.12;
/// RFC 3376 numbered the IGMP list §4.2.12).
/// Unknown types are kept so that a report round-trips; the engine ignores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RecordType {
    ModeIsInclude,
    ModeIsExclude,
    ChangeToInclude,
    ChangeToExclude,
    AllowNewSources,
    BlockOldSources,
    Unknown(u8),
}

impl From<u8> for RecordType {
    fn from(v: u8) -> Self {
        match v {
            1 => RecordType::ModeIsInclude,
            2 => RecordType::ModeIsExclude,
            3 => RecordType::ChangeToInclude,
            4 => RecordType::ChangeToExclude,
            5 => RecordType::AllowNewSources,
            6 => RecordType::BlockOldSources,
            other => RecordType::Unknown(other),
        }
    }
}

impl From<RecordType> for u8 {
    fn from(t: RecordType) -> u8 {
        match t {
            RecordType::ModeIsInclude => 1,
            RecordType::ModeIsExclude => 2,
            RecordType::ChangeToInclude => 3,
            RecordType::ChangeToExclude => 4,
            RecordType::AllowNewSources => 5,
            RecordType::BlockOldSources => 6,
            RecordType::Unknown(v) => v,
        }
    }
}

/// One record of a report: an IGMPv3 group record (RFC 9776 §4.2, `A` = [`Ipv4Addr`], also
/// named [`crate::igmp::GroupRecord`]) or an MLDv2 multicast address record (RFC 9777 §5.2.4,
/// `A` = [`Ipv6Addr`], also named [`crate::mld::AddressRecord`]). `aux_data` length is a
/// multiple of 4.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GroupRecord<A> {
    pub record_type: RecordType,
    pub group: A,
    pub sources: Vec<A>,
    pub aux_data: Vec<u8>,
}

impl<A: WireAddr> GroupRecord<A> {
    /// Length of the record as emitted (sources clamped to 65535, auxiliary data to 255
    /// words and padded to whole words).
    pub fn buffer_len(&self) -> usize {
        record_len::<A>(self.sources.len(), self.aux_data.len())
    }
}

/// An address type carried on the wire as `LEN` big-endian octets: [`Ipv4Addr`] in IGMP,
/// [`Ipv6Addr`] in MLD.
pub trait WireAddr: Copy {
    const LEN: usize;
    /// `bytes` is exactly `LEN` long (callers slice with `chunks_exact(LEN)`).
    fn read(bytes: &[u8]) -> Self;
    fn write(&self, out: &mut [u8]);
}

impl WireAddr for Ipv4Addr {
    const LEN: usize = 4;
    fn read(bytes: &[u8]) -> Self {
        let mut octets = [0; 4];
        octets.copy_from_slice(bytes);
        Ipv4Addr::from(octets)
    }
    fn write(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.octets());
    }
}

impl WireAddr for Ipv6Addr {
    const LEN: usize = 16;
    fn read(bytes: &[u8]) -> Self {
        let mut octets = [0; 16];
        octets.copy_from_slice(bytes);
        Ipv6Addr::from(octets)
    }
    fn write(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.octets());
    }
}

/// Reads `count` addresses from the start of `bytes`; a count that runs past the end of the
/// buffer is [`Error::LengthOverrun`].
pub(crate) fn read_addrs<A: WireAddr>(bytes: &[u8], count: usize) -> Result<Vec<A>> {
    let len = count.checked_mul(A::LEN).ok_or(Error::LengthOverrun)?;
    let list = bytes.get(..len).ok_or(Error::LengthOverrun)?;
    Ok(list.chunks_exact(A::LEN).map(A::read).collect())
}

/// Writes `addrs` back to back at the start of `out`, which holds at least `addrs.len() * LEN`.
pub(crate) fn write_addrs<A: WireAddr>(out: &mut [u8], addrs: &[A]) {
    for (addr, slot) in addrs.iter().zip(out.chunks_exact_mut(A::LEN)) {
        addr.write(slot);
    }
}

/// Most entries a 16-bit count field can announce. Emitters clamp lists to this: a message
/// that long cannot fit an IP datagram anyway, and callers split by MTU far earlier
/// (RFC 9776 §4.2.17), so clamping only guarantees that emit never panics.
pub(crate) const MAX_COUNT: usize = u16::MAX as usize;
/// A list length as a 16-bit count field; callers clamp lists to [`MAX_COUNT`] first.
pub(crate) fn count_field(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

/// Most auxiliary data a record can carry: 255 32-bit words.
pub(crate) const MAX_AUX_LEN: usize = u8::MAX as usize * 4;

/// Record header: type (1), aux data len in words (1), number of sources (2), address.
fn record_header_len<A: WireAddr>() -> usize {
    4 + A::LEN
}

/// Parses `count` records from the start of `bytes`. Every record, its sources and its
/// auxiliary data included, is bounded against the buffer (RFC 9776 §4.2): anything that
/// runs past the end is [`Error::LengthOverrun`]. Octets after the last record are ignored.
pub(crate) fn parse_records<A: WireAddr>(bytes: &[u8], count: u16) -> Result<Vec<GroupRecord<A>>> {
    // Each record takes at least its header, so a count the buffer cannot hold fails early
    // instead of reserving memory for it.
    let capacity = usize::from(count).min(bytes.len() / record_header_len::<A>());
    let mut records = Vec::with_capacity(capacity);
    let mut rest = bytes;
    for _ in 0..count {
        let header = rest
            .get(..record_header_len::<A>())
            .ok_or(Error::LengthOverrun)?;
        let (fixed, group) = header.split_at(4);
        let aux_len = usize::from(fixed[1]) * 4;
        let nsrc = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
        let body = &rest[record_header_len::<A>()..];
        let sources = read_addrs::<A>(body, nsrc)?;
        let sources_len = nsrc * A::LEN;
        let aux_data = body
            .get(sources_len..sources_len + aux_len)
            .ok_or(Error::LengthOverrun)?
            .to_vec();
        records.push(GroupRecord {
            record_type: RecordType::from(fixed[0]),
            group: A::read(group),
            sources,
            aux_data,
        });
        rest = &body[sources_len + aux_len..];
    }
    Ok(records)
}

/// What [`emit_record`] writes for a record: sources clamped to [`MAX_COUNT`], aux data to
/// [`MAX_AUX_LEN`] and padded with zeros to whole 32-bit words (the length field counts words).
fn emitted_lens(nsrc: usize, aux_len: usize) -> (usize, usize) {
    (
        nsrc.min(MAX_COUNT),
        aux_len.min(MAX_AUX_LEN).div_ceil(4) * 4,
    )
}

/// Length of one record as [`emit_record`] writes it.
fn record_len<A: WireAddr>(nsrc: usize, aux_len: usize) -> usize {
    let (nsrc, aux) = emitted_lens(nsrc, aux_len);
    record_header_len::<A>() + nsrc * A::LEN + aux
}

/// Writes one record at the start of `out` (at least [`record_len`] octets) and returns its
/// length.
pub(crate) fn emit_record<A: WireAddr>(out: &mut [u8], record: &GroupRecord<A>) -> usize {
    let (nsrc, aux_len) = emitted_lens(record.sources.len(), record.aux_data.len());
    let total = record.buffer_len();
    let out = &mut out[..total];
    out[0] = u8::from(record.record_type);
    out[1] = u8::try_from(aux_len / 4).unwrap_or(u8::MAX);
    out[2..4].copy_from_slice(&count_field(nsrc).to_be_bytes());
    record.group.write(&mut out[4..record_header_len::<A>()]);
    let body = &mut out[record_header_len::<A>()..];
    let (src_area, aux_area) = body.split_at_mut(nsrc * A::LEN);
    write_addrs(src_area, &record.sources[..nsrc]);
    let aux_data = &record.aux_data;
    let copied = aux_data.len().min(aux_len);
    aux_area[..copied].copy_from_slice(&aux_data[..copied]);
    aux_area[copied..].fill(0);
    total
}
