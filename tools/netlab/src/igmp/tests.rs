use super::*;
use crate::packet::{internet_checksum, parse_ip};

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// docs/test-strategy.md §5: TO_EX 239.1.2.3 and ALLOW 232.1.1.1 {192.0.2.2}.
const V3_VECTOR: &str = "220038f20000000204000000ef01020305000001e8010101c0000202";

#[test]
fn known_vectors_parse() {
    let g = Ipv4Addr::new(239, 1, 2, 3);
    assert_eq!(
        Message::parse(&hex("1600f8faef010203")),
        Some(Message::V2Report { group: g })
    );
    assert_eq!(
        Message::parse(&hex("1700f7faef010203"))
            .unwrap()
            .left_groups(),
        vec![g]
    );
    let v3 = Message::parse(&hex(V3_VECTOR)).unwrap();
    assert_eq!(
        v3.joined_groups(),
        vec![g, Ipv4Addr::new(232, 1, 1, 1)],
        "TO_EX({{}}) and ALLOW with a source both want the group"
    );
    assert_eq!(v3.report_version(), Some(3));
    assert_eq!(
        Message::parse(&hex("110aeef500000000")),
        Some(Message::Query {
            query: Query::General,
            max_response: Duration::from_secs(1)
        })
    );
}

#[test]
fn built_report_round_trips_with_a_valid_checksum() {
    let g = Ipv4Addr::new(239, 10, 0, 7);
    let report = |kind| Message::V3Report {
        records: vec![Record {
            kind,
            group: g,
            sources: vec![],
        }],
    };
    let bytes = report(TO_EX).bytes();
    assert_eq!(internet_checksum(&bytes), 0);
    assert_eq!(Message::parse(&bytes).unwrap().joined_groups(), vec![g]);
    let leave = Message::parse(&report(TO_IN).bytes()).unwrap();
    assert_eq!(
        (leave.joined_groups(), leave.left_groups()),
        (vec![], vec![g])
    );
}

#[test]
fn truncated_input_is_none() {
    let full = hex(V3_VECTOR);
    for len in 0..full.len() {
        assert_eq!(Message::parse(&full[..len]), None, "cut at {len}");
    }
}

#[test]
fn packets_are_valid_and_queries_parse() {
    let host = a("198.18.0.10");
    let g = a("239.1.0.3");
    let report = Message::V3Report {
        records: vec![Record {
            kind: ALLOW,
            group: g,
            sources: vec![a("198.51.100.2")],
        }],
    };
    for (m, dst) in [
        (report, a("224.0.0.22")),
        (Message::V2Leave { group: g }, a("224.0.0.2")),
        (Message::V2Report { group: g }, g),
    ] {
        let bytes = m.packet(host);
        let ip = parse_ip(&bytes).unwrap();
        assert_eq!((ip.src, ip.dst, ip.ttl), (host.into(), dst.into(), 1));
        assert!(ip.router_alert);
        assert_eq!(internet_checksum(ip.payload), 0);
    }
    // IGMPv3 group-and-source query, Max Resp Code 10; an IGMPv2 general query of 2 s;
    // an IGMPv3 code of 0x8f (exp 0, mant 15: 248 tenths).
    let mut v3 = vec![0x11, 10, 0, 0, 239, 1, 0, 3, 2, 5, 0, 1, 198, 51, 100, 2];
    assert_eq!(
        Query::parse(&v3),
        Some((
            Query::GroupSources(g, vec![a("198.51.100.2")]),
            Duration::from_secs(1)
        ))
    );
    v3[1] = 0x8f;
    assert_eq!(Query::parse(&v3).unwrap().1, Duration::from_millis(24_800));
    assert_eq!(
        Query::parse(&[0x11, 20, 0, 0, 0, 0, 0, 0]),
        Some((Query::General, Duration::from_secs(2)))
    );
    assert_eq!(Query::parse(&[0x16, 0, 0, 0, 239, 1, 0, 3]), None);
    let query = Message::Query {
        query: Query::General,
        max_response: Duration::from_secs(1),
    }
    .packet(host);
    let ip = parse_ip(&query).unwrap();
    assert_eq!(ip.dst, std::net::IpAddr::V4(a("224.0.0.1")));
    assert_eq!(
        Query::parse(ip.payload),
        Some((Query::General, Duration::from_secs(1)))
    );
}

#[test]
fn built_queries_parse_back_with_their_response_time() {
    let g = a("239.1.0.3");
    for (query, tenths) in [
        (Query::General, 100),
        (Query::Group(g), 10),
        (Query::GroupSources(g, vec![a("198.51.100.2")]), 248),
        (Query::General, 31_744),
    ] {
        let max_response = Duration::from_millis(tenths * 100);
        let message = Message::Query {
            query,
            max_response,
        };
        let ip_bytes = message.packet(a("192.0.2.1"));
        let ip = parse_ip(&ip_bytes).unwrap();
        assert_eq!(internet_checksum(ip.payload), 0);
        assert_eq!(Message::parse(ip.payload), Some(message));
    }
}

#[test]
fn reports_parse_back() {
    let g = a("239.1.0.3");
    let records = vec![
        Record {
            kind: IS_IN,
            group: g,
            sources: vec![a("198.51.100.2"), a("198.51.100.4")],
        },
        Record {
            kind: IS_EX,
            group: a("239.1.0.4"),
            sources: vec![],
        },
    ];
    let bytes = Message::V3Report {
        records: records.clone(),
    }
    .packet(a("198.18.0.10"));
    let ip = parse_ip(&bytes).unwrap();
    assert_eq!(
        Message::parse(ip.payload),
        Some(Message::V3Report { records })
    );
    assert_eq!(Message::parse(&ip.payload[..ip.payload.len() - 1]), None);
    assert_eq!(
        Message::parse(&[0x16, 0, 0, 0, 239, 1, 0, 3]),
        Some(Message::V2Report { group: g })
    );
}
