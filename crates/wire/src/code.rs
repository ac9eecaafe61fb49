//! Floating-point time codes of IGMPv3 and MLDv2, both ways.
//!
//! * 8-bit codes: IGMPv3 Max Resp Code (RFC 9776 §4.1.1, 1/10 s) and QQIC (RFC 9776 §4.1.7, s);
//!   MLDv2 QQIC uses the same format (RFC 9777 §5.1).
//! * 16-bit code: MLDv2 Maximum Response Code (RFC 9777 §5.1.3, ms).
//!
//! Encoders return the code whose decoded value is the largest one not above the input,
//! saturating at the largest code: a querier must never announce a longer interval than the one
//! it actually uses, so rounding is always down.

use std::time::Duration;

/// Below this an 8-bit code is the value itself.
const LINEAR_LIMIT_8: u32 = 0x80;
/// Below this a 16-bit code is the value itself.
const LINEAR_LIMIT_16: u32 = 0x8000;

/// Largest value an 8-bit code can carry: (0x0F | 0x10) << (7 + 3).
pub const MAX_VALUE_8: u32 = 31_744;
/// Largest value a 16-bit code can carry: (0x0FFF | 0x1000) << (7 + 3).
pub const MAX_VALUE_16: u32 = 8_387_584;

/// Decodes an 8-bit code (RFC 9776 §4.1.1): `0x80 | exp << 4 | mant` means
/// `(mant | 0x10) << (exp + 3)`.
pub fn decode_8bit(code: u8) -> u32 {
    let code = u32::from(code);
    if code < LINEAR_LIMIT_8 {
        code
    } else {
        let exp = (code >> 4) & 0x07;
        let mant = code & 0x0F;
        (mant | 0x10) << (exp + 3)
    }
}

/// Encodes `value` as the 8-bit code of the largest representable value not above it.
pub fn encode_8bit(value: u32) -> u8 {
    if value < LINEAR_LIMIT_8 {
        // Lossless: the linear range is the value itself.
        return u8::try_from(value).unwrap_or(u8::MAX);
    }
    if value >= MAX_VALUE_8 {
        return u8::MAX;
    }
    // The 5-bit significand (mant | 0x10) has its top bit at position exp + 3 + 4.
    let exp = (31 - value.leading_zeros()) - 7;
    let mant = (value >> (exp + 3)) & 0x0F;
    u8::try_from(0x80 | (exp << 4) | mant).unwrap_or(u8::MAX)
}

/// Decodes the 16-bit MLDv2 Maximum Response Code (RFC 9777 §5.1.3):
/// `0x8000 | exp << 12 | mant` means `(mant | 0x1000) << (exp + 3)`.
pub fn decode_16bit(code: u16) -> u32 {
    let code = u32::from(code);
    if code < LINEAR_LIMIT_16 {
        code
    } else {
        let exp = (code >> 12) & 0x07;
        let mant = code & 0x0FFF;
        (mant | 0x1000) << (exp + 3)
    }
}

/// Encodes `value` as the 16-bit code of the largest representable value not above it.
pub fn encode_16bit(value: u32) -> u16 {
    if value < LINEAR_LIMIT_16 {
        return u16::try_from(value).unwrap_or(u16::MAX);
    }
    if value >= MAX_VALUE_16 {
        return u16::MAX;
    }
    // The 13-bit significand (mant | 0x1000) has its top bit at position exp + 3 + 12.
    let exp = (31 - value.leading_zeros()) - 15;
    let mant = (value >> (exp + 3)) & 0x0FFF;
    u16::try_from(0x8000 | (exp << 12) | mant).unwrap_or(u16::MAX)
}

/// Whole `unit`s in `d`, saturating at `u32::MAX` (any such count encodes to the largest code).
fn whole_units(d: Duration, unit: Duration) -> u32 {
    u32::try_from(d.as_nanos() / unit.as_nanos()).unwrap_or(u32::MAX)
}

const TENTH: Duration = Duration::from_millis(100);
const SECOND: Duration = Duration::from_secs(1);
const MILLI: Duration = Duration::from_millis(1);

/// IGMP Max Resp Time from its code: v3 float code (RFC 9776 §4.1.1) in 1/10 s. For IGMPv2
/// (RFC 2236 §2.2, codes 0–255 taken literally) use `Duration::from_millis(100 * code)`.
pub fn igmp_max_resp(code: u8) -> Duration {
    TENTH * decode_8bit(code)
}

/// IGMPv3 Max Resp Code for a response time, rounded down (RFC 9776 §4.1.1).
pub fn igmp_max_resp_code(d: Duration) -> u8 {
    encode_8bit(whole_units(d, TENTH))
}

/// Querier's Query Interval from QQIC, in seconds (RFC 9776 §4.1.7).
pub fn igmp_qqi(code: u8) -> Duration {
    SECOND * decode_8bit(code)
}

/// QQIC for a query interval, rounded down (RFC 9776 §4.1.7).
pub fn igmp_qqic(d: Duration) -> u8 {
    encode_8bit(whole_units(d, SECOND))
}

/// MLDv2 Maximum Response Delay from its code, in ms (RFC 9777 §5.1.3). For MLDv1 the field
/// is plain milliseconds (RFC 2710 §3.4), which equals this decoding only below 32768.
pub fn mld_max_resp(code: u16) -> Duration {
    MILLI * decode_16bit(code)
}

/// MLDv2 Maximum Response Code for a delay, rounded down (RFC 9777 §5.1.3).
pub fn mld_max_resp_code(d: Duration) -> u16 {
    encode_16bit(whole_units(d, MILLI))
}

/// MLDv2 QQI from QQIC: same format and unit as IGMPv3 (RFC 9777 §5.1).
pub fn mld_qqi(code: u8) -> Duration {
    igmp_qqi(code)
}

/// MLDv2 QQIC for a query interval, rounded down (RFC 9777 §5.1).
pub fn mld_qqic(d: Duration) -> u8 {
    igmp_qqic(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_8bit_codes() {
        assert_eq!(decode_8bit(0), 0);
        assert_eq!(decode_8bit(100), 100);
        assert_eq!(decode_8bit(127), 127);
        assert_eq!(decode_8bit(0x80), 128);
        assert_eq!(decode_8bit(0x8F), 248);
        assert_eq!(decode_8bit(0x90), 256);
        assert_eq!(decode_8bit(0xFF), MAX_VALUE_8);
        // 125 s default query interval fits the linear range; 260 s does not.
        assert_eq!(encode_8bit(125), 125);
        assert_eq!(encode_8bit(260), 0x90);
        assert_eq!(decode_8bit(encode_8bit(260)), 256);
    }

    #[test]
    fn known_16bit_codes() {
        assert_eq!(decode_16bit(10_000), 10_000);
        assert_eq!(decode_16bit(0x7FFF), 32_767);
        assert_eq!(decode_16bit(0x8000), 32_768);
        assert_eq!(decode_16bit(0xFFFF), MAX_VALUE_16);
        assert_eq!(encode_16bit(32_768), 0x8000);
        assert_eq!(encode_16bit(32_775), 0x8000);
        assert_eq!(encode_16bit(32_776), 0x8001);
    }

    /// decode(encode(decode(c))) == decode(c) for every 8-bit code, and codes are monotonic.
    #[test]
    fn every_8bit_code_round_trips() {
        let mut previous = None;
        for code in 0..=u8::MAX {
            let value = decode_8bit(code);
            assert_eq!(decode_8bit(encode_8bit(value)), value, "code {code:#x}");
            if let Some(prev) = previous {
                assert!(value > prev, "code {code:#x} not increasing");
            }
            previous = Some(value);
        }
    }

    #[test]
    fn every_16bit_code_round_trips() {
        let mut previous = None;
        for code in 0..=u16::MAX {
            let value = decode_16bit(code);
            assert_eq!(decode_16bit(encode_16bit(value)), value, "code {code:#x}");
            if let Some(prev) = previous {
                assert!(value > prev, "code {code:#x} not increasing");
            }
            previous = Some(value);
        }
    }

    /// The encoder picks the largest representable value not above the input: checked for
    /// every input up to past the maximum.
    #[test]
    fn encode_8bit_rounds_down_to_the_nearest_code() {
        for value in 0..=MAX_VALUE_8 + 1000 {
            let code = encode_8bit(value);
            assert!(decode_8bit(code) <= value, "value {value}");
            if let Some(next) = code.checked_add(1) {
                assert!(
                    decode_8bit(next) > value,
                    "value {value}: code {code:#x} not the largest"
                );
            } else {
                assert!(value >= MAX_VALUE_8);
            }
        }
    }

    #[test]
    fn encode_16bit_rounds_down_to_the_nearest_code() {
        // Every code boundary and its neighbours, then saturation.
        for code in 0..=u16::MAX {
            let value = decode_16bit(code);
            for probe in [value, value + 1, value.saturating_sub(1)] {
                let enc = encode_16bit(probe);
                assert!(decode_16bit(enc) <= probe, "probe {probe}");
                if let Some(next) = enc.checked_add(1) {
                    assert!(decode_16bit(next) > probe, "probe {probe}");
                }
            }
        }
        assert_eq!(encode_16bit(u32::MAX), u16::MAX);
    }

    #[test]
    fn typed_helpers_use_the_right_units() {
        assert_eq!(igmp_max_resp(100), Duration::from_secs(10));
        assert_eq!(igmp_max_resp_code(Duration::from_secs(10)), 100);
        assert_eq!(igmp_max_resp_code(Duration::from_millis(1_050)), 10);
        assert_eq!(igmp_qqi(125), Duration::from_secs(125));
        assert_eq!(igmp_qqic(Duration::from_secs(125)), 125);
        assert_eq!(mld_max_resp(10_000), Duration::from_secs(10));
        assert_eq!(mld_max_resp_code(Duration::from_secs(10)), 10_000);
        assert_eq!(mld_qqic(Duration::from_secs(3600)), encode_8bit(3600));
        assert_eq!(
            mld_qqi(mld_qqic(Duration::from_secs(3600))),
            Duration::from_secs(3584)
        );
        // Saturation instead of wrapping for absurd durations.
        assert_eq!(igmp_max_resp_code(Duration::MAX), u8::MAX);
        assert_eq!(mld_max_resp_code(Duration::MAX), u16::MAX);
        assert_eq!(igmp_qqic(Duration::from_secs(1 << 40)), u8::MAX);
    }
}
