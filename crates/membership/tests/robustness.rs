//! Robustness: anything the network or a configuration file can put in (any configuration,
//! any message from any address at any time): no panic, and after every call no deadline is
//! left in the past.

mod common;
use common::*;
use mrproxy_membership::{Message, Mode, PortConfig, Query, Record, RecordKind};
use proptest::prelude::*;
use std::net::Ipv4Addr;
use std::time::Duration;

fn kind() -> impl Strategy<Value = RecordKind> {
    use RecordKind::*;
    prop_oneof![
        Just(IsInclude),
        Just(IsExclude),
        Just(ToInclude),
        Just(ToExclude),
        Just(Allow),
        Just(Block)
    ]
}

use mrproxy_membership::{Output, Port, QuerierPolicy, Timestamp};

fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (0u64..10_000_000).prop_map(Duration::from_millis)
    ]
}

fn any_config() -> impl Strategy<Value = PortConfig> {
    (
        prop_oneof![Just(Mode::V1), Just(Mode::V2), Just(Mode::V3)],
        any::<u8>(),
        (
            any_duration(),
            any_duration(),
            any_duration(),
            any_duration(),
        ),
        (any::<u8>(), any::<u8>(), any::<bool>(), any::<bool>()),
        (
            0usize..4,
            0usize..4,
            0usize..4,
            0usize..4,
            0usize..4,
            0usize..4,
            0usize..8,
        ),
    )
        .prop_map(
            |(
                version,
                robustness,
                (qi, qri, sqi, lmqi),
                (sqc, lmqc, fast_leave, always),
                (g, s, h, hosts, sh, records, entries),
            )| {
                PortConfig {
                    version,
                    robustness,
                    query_interval: qi,
                    query_response_interval: qri,
                    startup_query_interval: sqi,
                    startup_query_count: sqc,
                    last_member_query_interval: lmqi,
                    last_member_query_count: lmqc,
                    fast_leave,
                    querier_policy: if always {
                        QuerierPolicy::Always
                    } else {
                        QuerierPolicy::Auto
                    },
                    max_groups: g,
                    max_sources_per_group: s,
                    max_groups_per_host: h,
                    max_hosts: hosts,
                    max_sources_per_host: sh,
                    max_records: records,
                    max_host_entries: entries,
                }
            },
        )
}

fn any_address() -> impl Strategy<Value = A> {
    prop_oneof![
        Just(Ipv4Addr::UNSPECIFIED),
        Just(ME),
        (0u32..8).prop_map(|n| Ipv4Addr::from(0xC000_0200 + n))
    ]
}

fn any_message() -> impl Strategy<Value = Message<A>> {
    let addresses = || proptest::collection::vec(any_address(), 0..4);
    prop_oneof![
        (any_address(), addresses(), kind()).prop_map(|(group, sources, kind)| {
            Message::ReportV3 {
                records: vec![Record {
                    kind,
                    group,
                    sources,
                }],
            }
        }),
        any_address().prop_map(|group| Message::ReportV1 { group }),
        any_address().prop_map(|group| Message::ReportV2 { group }),
        any_address().prop_map(|group| Message::Leave { group }),
        (
            prop_oneof![Just(Mode::V1), Just(Mode::V2), Just(Mode::V3)],
            proptest::option::of(any_address()),
            any_duration(),
            any::<bool>(),
            any::<u8>(),
            any_duration(),
            addresses(),
        )
            .prop_map(
                |(version, group, max_response, suppress, qrv, qqi, sources)| {
                    Message::Query(Query {
                        version,
                        group,
                        max_response,
                        suppress,
                        qrv,
                        qqi,
                        sources,
                    })
                }
            ),
    ]
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics_nor_leaves_past_deadlines(
        config in any_config(),
        steps in proptest::collection::vec((0u64..400_000, any_address(), any_message()), 1..40),
    ) {
        let mut port: Port<A> = Port::new(config, Timestamp::ZERO);
        let mut now = Timestamp::ZERO;
        let mut out = Output::new();
        port.set_address(Some(ME), now, &mut out);
        for (advance, from, message) in steps {
            now = now + Duration::from_millis(advance);
            let mut out = Output::new();
            port.receive(now, from, message, &mut out);
            // Work the message made due at once (LMQI 0, say) is done by the next timeout.
            port.timeout(now, &mut out);
            prop_assert!(port.next_deadline().is_none_or(|at| at > now));
            let snapshot = port.snapshot(now);
            prop_assert!(snapshot.groups.windows(2).all(|w| w[0].group < w[1].group));
        }
    }
}
