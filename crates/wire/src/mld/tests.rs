//! Byte vectors next to the message they mean, and malformed inputs each with its error.
//! Goldens from scapy for every message kind are in `tests/golden_v6.rs`.

use super::*;
use crate::RecordType;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

const SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

/// MLDv2 general query (10 s, QRV 2, QQIC 125) from fe80::1 to ff02::1, built by scapy 2.8.
const GENERAL_QUERY: &str = "820056962710000000000000000000000000000000000000027d0000";

fn general_query() -> Repr {
    Repr::QueryV2 {
        max_resp_code: 10_000,
        group: Ipv6Addr::UNSPECIFIED,
        s_flag: false,
        qrv: 2,
        qqic: 125,
        sources: vec![],
    }
}

/// MLDv2 report, TO_EX(ff3e::1:2, {}) from fe80::1 to ff02::16.
const REPORT: &str = "8f006fcb0000000104000000ff3e0000000000000000000000010002";

fn report() -> Repr {
    Repr::ReportV2 {
        records: vec![AddressRecord {
            record_type: RecordType::ChangeToExclude,
            group: addr("ff3e::1:2"),
            sources: vec![],
            aux_data: vec![],
        }],
    }
}

#[test]
fn vectors_both_ways() {
    assert_eq!(
        Repr::parse_bytes(&hex(GENERAL_QUERY), &SRC, &ALL_NODES),
        Ok(general_query())
    );
    assert_eq!(
        general_query().to_bytes(&SRC, &ALL_NODES),
        hex(GENERAL_QUERY)
    );
    assert_eq!(
        Repr::parse_bytes(&hex(REPORT), &SRC, &ALL_MLDV2_ROUTERS),
        Ok(report())
    );
    assert_eq!(report().to_bytes(&SRC, &ALL_MLDV2_ROUTERS), hex(REPORT));
}

#[test]
fn checksum_covers_the_pseudo_header() {
    let bytes = hex(REPORT);
    // The same octets sent to another destination do not verify...
    assert_eq!(
        Repr::parse_bytes(&bytes, &SRC, &ALL_NODES),
        Err(Error::BadChecksum)
    );
    assert_eq!(
        Repr::parse_bytes(&bytes, &addr("fe80::2"), &ALL_MLDV2_ROUTERS),
        Err(Error::BadChecksum)
    );
    // ...but raw sockets, whose kernel verified already, can skip the check.
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse_unverified(&packet), Ok(report()));
}

/// Sets a valid checksum for fe80::1 → ff02::1 on a hand-made message.
fn with_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    Packet::new_unchecked(&mut bytes[..]).fill_checksum(&SRC, &ALL_NODES);
    bytes
}

fn parse(bytes: &[u8]) -> Result<Repr> {
    Repr::parse_bytes(bytes, &SRC, &ALL_NODES)
}

#[test]
fn query_version_follows_length() {
    let v2 = hex(GENERAL_QUERY);
    // RFC 9777 §8.1: exactly 24 octets is MLDv1, whatever the code; 28 or more is MLDv2.
    let v1 = with_checksum(v2[..24].to_vec());
    assert_eq!(
        parse(&v1),
        Ok(Repr::QueryV1 {
            max_resp_delay: 10_000,
            group: Ipv6Addr::UNSPECIFIED
        })
    );
    for len in (4..24).chain(25..28) {
        let q = with_checksum(v2[..len].to_vec());
        assert_eq!(parse(&q), Err(Error::BadQueryLength), "len {len}");
    }
    // Trailing octets after the sources are ignored (and checksummed).
    let long = with_checksum([&v2[..], &[1, 2, 3, 4, 5][..]].concat());
    assert_eq!(parse(&long), Ok(general_query()));
}

#[test]
fn reserved_bits_ignored_on_parse_zero_on_emit() {
    let mut q = hex(GENERAL_QUERY);
    q[1] = 0x55; // code
    q[6] = 0xff; // reserved
    q[24] = 0xfa; // Resv 1111, S 1, QRV 2
    let q = with_checksum(q);
    let expected = Repr::QueryV2 {
        max_resp_code: 10_000,
        group: Ipv6Addr::UNSPECIFIED,
        s_flag: true,
        qrv: 2,
        qqic: 125,
        sources: vec![],
    };
    assert_eq!(parse(&q), Ok(expected.clone()));
    let emitted = expected.to_bytes(&SRC, &ALL_NODES);
    assert_eq!((emitted[1], emitted[6], emitted[24]), (0, 0, 0x0a));
}

#[test]
fn truncations_and_overruns() {
    for len in 0..4 {
        assert_eq!(
            parse(&hex(REPORT)[..len]),
            Err(Error::Truncated),
            "len {len}"
        );
    }
    let report_bytes = hex(REPORT);
    for len in 4..8 {
        assert_eq!(
            parse(&with_checksum(report_bytes[..len].to_vec())),
            Err(Error::Truncated),
            "len {len}"
        );
    }
    for len in 9..report_bytes.len() {
        let cut = with_checksum(report_bytes[..len].to_vec());
        assert_eq!(parse(&cut), Err(Error::LengthOverrun), "len {len}");
    }
    let v1_report = Repr::ReportV1 {
        group: addr("ff3e::1"),
    }
    .to_bytes(&SRC, &ALL_NODES);
    for len in 4..24 {
        assert_eq!(
            parse(&with_checksum(v1_report[..len].to_vec())),
            Err(Error::Truncated),
            "len {len}"
        );
    }
    // Source count one above what the query carries.
    let mut q = hex(GENERAL_QUERY);
    q[27] = 1;
    assert_eq!(parse(&with_checksum(q)), Err(Error::LengthOverrun));
    // Record count one above what the report carries; then a source count that overruns.
    let mut r = hex(REPORT);
    r[7] = 2;
    assert_eq!(parse(&with_checksum(r.clone())), Err(Error::LengthOverrun));
    r[7] = 1;
    r[11] = 1;
    assert_eq!(parse(&with_checksum(r)), Err(Error::LengthOverrun));
}

#[test]
fn unknown_type_and_bad_checksum() {
    let ns = with_checksum(hex("8700000000000000"));
    assert_eq!(parse(&ns), Err(Error::UnknownType(135)));
    let mut q = hex(GENERAL_QUERY);
    q[5] ^= 1;
    assert_eq!(
        Repr::parse_bytes(&q, &SRC, &ALL_NODES),
        Err(Error::BadChecksum)
    );
}

#[test]
fn v1_messages_zero_their_delay_field() {
    for repr in [
        Repr::ReportV1 {
            group: addr("ff3e::1"),
        },
        Repr::DoneV1 {
            group: addr("ff3e::1"),
        },
    ] {
        let bytes = repr.to_bytes(&SRC, &ALL_ROUTERS);
        assert_eq!(bytes.len(), 24);
        assert_eq!(&bytes[4..8], [0, 0, 0, 0]);
        assert_eq!(Repr::parse_bytes(&bytes, &SRC, &ALL_ROUTERS), Ok(repr));
    }
}

/// The checksum covers the message only, whatever the buffer holds after it.
#[test]
fn emit_checksums_only_the_message() {
    let mut buffer = [0x55u8; 64];
    report().emit(
        &mut Packet::new_unchecked(&mut buffer[..]),
        &SRC,
        &ALL_MLDV2_ROUTERS,
    );
    assert_eq!(&buffer[..28], hex(REPORT));
    assert_eq!(&buffer[28..], [0x55; 36]);
}
