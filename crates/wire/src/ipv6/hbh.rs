//! The Hop-by-Hop Options header (RFC 8200 §4.3) and its options (RFC 8200 §4.2). It is also
//! what Linux hands over as `IPV6_HOPOPTS` ancillary data, so it has a view of its own.

use crate::{Error, Result};

mod field {
    pub const NEXT_HEADER: usize = 0;
    pub const LENGTH: usize = 1;
    pub const OPTIONS_START: usize = 2;
}

/// Option types (RFC 8200 §4.2, RFC 2711 §2.1).
const OPT_PAD1: u8 = 0;
const OPT_PADN: u8 = 1;
const OPT_ROUTER_ALERT: u8 = 5;
/// Data length of the Router Alert option.
const ROUTER_ALERT_DATA_LEN: usize = 2;

/// The header is a whole number of 8-octet units.
const UNIT: usize = 8;

/// A view over a buffer starting with a Hop-by-Hop Options header.
#[derive(Debug, Clone)]
pub struct HopByHop<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> HopByHop<T> {
    pub fn new_unchecked(buffer: T) -> HopByHop<T> {
        HopByHop { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<HopByHop<T>> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// The two fixed octets must be there; a Hdr Ext Len past the buffer is
    /// [`Error::LengthOverrun`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < field::OPTIONS_START {
            return Err(Error::Truncated);
        }
        if self.header_len() > len {
            return Err(Error::LengthOverrun);
        }
        Ok(())
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    /// Length in octets: (Hdr Ext Len + 1) × 8.
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[field::LENGTH]) + 1) * UNIT
    }

    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS_START..self.header_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> HopByHop<T> {
    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value;
    }

    /// Sets Hdr Ext Len for a header of `len` octets (a multiple of 8, at least 8).
    pub fn set_header_len(&mut self, len: usize) {
        let units = (len / UNIT).saturating_sub(1);
        self.buffer.as_mut()[field::LENGTH] = u8::try_from(units).unwrap_or(u8::MAX);
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::OPTIONS_START..end]
    }
}

/// A decoded Hop-by-Hop header: where it leads and its Router Alert value. Padding and
/// skippable options are not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HopByHopRepr {
    pub next_header: u8,
    pub router_alert: Option<u16>,
}

impl HopByHopRepr {
    /// Walks the options: Pad1 is one octet, every other option is type, data length, data.
    /// An option that overruns the header, or a Router Alert whose data is not 2 octets, is
    /// [`Error::Malformed`]. An unknown option whose two high-order type bits are not 00 means
    /// "discard the packet" (RFC 8200 §4.2): [`Error::UnrecognizedOption`]. If Router Alert
    /// appears twice the first one counts.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(header: &HopByHop<&T>) -> Result<HopByHopRepr> {
        header.check_len()?;
        let mut options = header.options();
        let mut router_alert = None;
        while let Some((&kind, rest)) = options.split_first() {
            if kind == OPT_PAD1 {
                options = rest;
                continue;
            }
            let data_len = usize::from(*rest.first().ok_or(Error::Malformed)?);
            let data = rest.get(1..1 + data_len).ok_or(Error::Malformed)?;
            match kind {
                OPT_PADN => {}
                OPT_ROUTER_ALERT => {
                    let value: [u8; ROUTER_ALERT_DATA_LEN] =
                        data.try_into().map_err(|_| Error::Malformed)?;
                    router_alert.get_or_insert(u16::from_be_bytes(value));
                }
                _ if kind >> 6 == 0 => {}
                _ => return Err(Error::UnrecognizedOption(kind)),
            }
            options = &rest[1 + data_len..];
        }
        Ok(HopByHopRepr {
            next_header: header.next_header(),
            router_alert,
        })
    }

    pub fn parse_bytes(bytes: &[u8]) -> Result<HopByHopRepr> {
        HopByHopRepr::parse(&HopByHop::new_checked(bytes)?)
    }

    /// Length of the options before padding.
    fn options_len(&self) -> usize {
        self.router_alert.map_or(0, |_| 2 + ROUTER_ALERT_DATA_LEN)
    }

    /// 8 octets: the fixed part, Router Alert if any, and padding.
    pub fn buffer_len(&self) -> usize {
        (field::OPTIONS_START + self.options_len()).div_ceil(UNIT) * UNIT
    }

    /// Writes the header, Router Alert first, padded to 8 octets with Pad1/PadN (RFC 8200 §4.2).
    ///
    /// # Panics
    /// If the buffer is shorter than [`HopByHopRepr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, header: &mut HopByHop<&mut T>) {
        header.set_next_header(self.next_header);
        header.set_header_len(self.buffer_len());
        let options = header.options_mut();
        let mut at = 0;
        if let Some(value) = self.router_alert {
            options[0] = OPT_ROUTER_ALERT;
            options[1] = 2;
            options[2..4].copy_from_slice(&value.to_be_bytes());
            at = 4;
        }
        let pad = &mut options[at..];
        match pad.len() {
            0 => {}
            1 => pad[0] = OPT_PAD1,
            n => {
                pad[0] = OPT_PADN;
                pad[1] = u8::try_from(n - 2).unwrap_or(u8::MAX);
                pad[2..].fill(0);
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0; self.buffer_len()];
        self.emit(&mut HopByHop::new_unchecked(&mut bytes[..]));
        bytes
    }
}
