//! Wire messages ↔ the membership crate's family-neutral messages, including the time codes.

use mrproxy_membership::{Message, Mode, Outgoing, PortConfig, Query, Record, RecordKind};
use mrproxy_wire::code;
use mrproxy_wire::{GroupRecord, RecordType, igmp, mld};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// RFC 2236 §4: an IGMPv1 query (Max Resp Code 0) means a 10 s response time.
const IGMPV1_MAX_RESPONSE: Duration = Duration::from_secs(10);

fn record_kind(t: RecordType) -> Option<RecordKind> {
    match t {
        RecordType::ModeIsInclude => Some(RecordKind::IsInclude),
        RecordType::ModeIsExclude => Some(RecordKind::IsExclude),
        RecordType::ChangeToInclude => Some(RecordKind::ToInclude),
        RecordType::ChangeToExclude => Some(RecordKind::ToExclude),
        RecordType::AllowNewSources => Some(RecordKind::Allow),
        RecordType::BlockOldSources => Some(RecordKind::Block),
        // RFC 9776 §4.2.12: unknown record types are ignored.
        RecordType::Unknown(_) => None,
    }
}

/// Report records as the router part sees them, IGMPv3 and MLDv2 alike; records of unknown
/// type are left out.
fn records<A: mrproxy_membership::Address>(records: Vec<GroupRecord<A>>) -> Vec<Record<A>> {
    records
        .into_iter()
        .filter_map(|r| {
            Some(Record {
                kind: record_kind(r.record_type)?,
                group: r.group,
                sources: r.sources,
            })
        })
        .collect()
}

fn general_or<A: mrproxy_membership::Address>(group: A) -> Option<A> {
    if group.is_unspecified() {
        None
    } else {
        Some(group)
    }
}

fn v1_v2_query<A: mrproxy_membership::Address>(
    version: Mode,
    group: A,
    max_response: Duration,
) -> Query<A> {
    Query {
        version,
        group: general_or(group),
        max_response,
        suppress: false,
        qrv: 0,
        qqi: Duration::ZERO,
        sources: Vec::new(),
    }
}

/// A received IGMP message as the router part sees it.
pub fn igmp_message(repr: igmp::Repr) -> Message<Ipv4Addr> {
    match repr {
        igmp::Repr::QueryV1 { group } => {
            Message::Query(v1_v2_query(Mode::V1, group, IGMPV1_MAX_RESPONSE))
        }
        igmp::Repr::QueryV2 {
            max_resp_time,
            group,
        } => {
            // RFC 2236 §2.2: the code is 1/10 s, linear.
            Message::Query(v1_v2_query(
                Mode::V2,
                group,
                Duration::from_millis(100 * u64::from(max_resp_time)),
            ))
        }
        igmp::Repr::QueryV3 {
            max_resp_code,
            group,
            s_flag,
            qrv,
            qqic,
            sources,
        } => Message::Query(Query {
            version: Mode::V3,
            group: general_or(group),
            max_response: code::igmp_max_resp(max_resp_code),
            suppress: s_flag,
            qrv,
            qqi: code::igmp_qqi(qqic),
            sources,
        }),
        igmp::Repr::ReportV1 { group } => Message::ReportV1 { group },
        igmp::Repr::ReportV2 { group } => Message::ReportV2 { group },
        igmp::Repr::LeaveV2 { group } => Message::Leave { group },
        igmp::Repr::ReportV3 { records: r } => Message::ReportV3 {
            records: records(r),
        },
    }
}

/// A received MLD message as the router part sees it (MLDv1 = [`Mode::V2`], MLDv2 = [`Mode::V3`]).
pub fn mld_message(repr: mld::Repr) -> Message<Ipv6Addr> {
    match repr {
        mld::Repr::QueryV1 {
            max_resp_delay,
            group,
        } => {
            // RFC 2710 §3.4: plain milliseconds.
            Message::Query(v1_v2_query(
                Mode::V2,
                group,
                Duration::from_millis(u64::from(max_resp_delay)),
            ))
        }
        mld::Repr::QueryV2 {
            max_resp_code,
            group,
            s_flag,
            qrv,
            qqic,
            sources,
        } => Message::Query(Query {
            version: Mode::V3,
            group: general_or(group),
            max_response: code::mld_max_resp(max_resp_code),
            suppress: s_flag,
            qrv,
            qqi: code::mld_qqi(qqic),
            sources,
        }),
        mld::Repr::ReportV1 { group } => Message::ReportV2 { group },
        mld::Repr::DoneV1 { group } => Message::Leave { group },
        mld::Repr::ReportV2 { records: r } => Message::ReportV3 {
            records: records(r),
        },
    }
}

/// QRV field: the robustness variable, or 0 when it does not fit 3 bits (RFC 9776 §4.1.6).
fn qrv(config: &PortConfig) -> u8 {
    if config.robustness <= 7 {
        config.robustness
    } else {
        0
    }
}

/// The IGMP query to send for what a port asked (in the port's configured version).
pub fn igmp_query(outgoing: &Outgoing<Ipv4Addr>, config: &PortConfig) -> igmp::Repr {
    let query = &outgoing.query;
    let group = query.group.unwrap_or(Ipv4Addr::UNSPECIFIED);
    match query.version {
        // RFC 1112 App. I: v1 queries are general and carry no response time.
        Mode::V1 => igmp::Repr::QueryV1 {
            group: Ipv4Addr::UNSPECIFIED,
        },
        Mode::V2 => {
            // RFC 2236 §2.2: 1/10 s; 0 would make it a v1 query, so at least 1.
            let tenths = (query.max_response.as_millis() / 100).clamp(1, 255);
            igmp::Repr::QueryV2 {
                max_resp_time: u8::try_from(tenths).unwrap_or(u8::MAX),
                group,
            }
        }
        Mode::V3 => igmp::Repr::QueryV3 {
            max_resp_code: code::igmp_max_resp_code(query.max_response),
            group,
            s_flag: query.suppress,
            qrv: qrv(config),
            qqic: code::igmp_qqic(config.query_interval),
            sources: query.sources.clone(),
        },
    }
}

/// The MLD query to send for what a port asked.
pub fn mld_query(outgoing: &Outgoing<Ipv6Addr>, config: &PortConfig) -> mld::Repr {
    let query = &outgoing.query;
    let group = query.group.unwrap_or(Ipv6Addr::UNSPECIFIED);
    match query.version {
        Mode::V1 | Mode::V2 => {
            let ms = u16::try_from(query.max_response.as_millis()).unwrap_or(u16::MAX);
            mld::Repr::QueryV1 {
                max_resp_delay: ms,
                group,
            }
        }
        Mode::V3 => mld::Repr::QueryV2 {
            max_resp_code: code::mld_max_resp_code(query.max_response),
            group,
            s_flag: query.suppress,
            qrv: qrv(config),
            qqic: code::mld_qqic(config.query_interval),
            sources: query.sources.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing<A: mrproxy_membership::Address>(
        version: Mode,
        group: Option<A>,
        ms: u64,
        sources: Vec<A>,
    ) -> Outgoing<A> {
        Outgoing {
            destination: group.unwrap_or(A::ALL_NODES),
            query: Query {
                version,
                group,
                max_response: Duration::from_millis(ms),
                suppress: true,
                qrv: 2,
                qqi: Duration::from_secs(125),
                sources,
            },
        }
    }

    #[test]
    fn igmp_queries_in_each_version() {
        let config = PortConfig::rfc_defaults(Mode::V3);
        let g: Ipv4Addr = "239.1.2.3".parse().unwrap();
        let s: Ipv4Addr = "192.0.2.9".parse().unwrap();
        assert_eq!(
            igmp_query(&outgoing(Mode::V1, None, 10_000, vec![]), &config),
            igmp::Repr::QueryV1 {
                group: Ipv4Addr::UNSPECIFIED
            }
        );
        assert_eq!(
            igmp_query(&outgoing(Mode::V2, Some(g), 1_000, vec![]), &config),
            igmp::Repr::QueryV2 {
                max_resp_time: 10,
                group: g
            }
        );
        assert_eq!(
            igmp_query(&outgoing(Mode::V2, None, 10, vec![]), &config),
            igmp::Repr::QueryV2 {
                max_resp_time: 1,
                group: Ipv4Addr::UNSPECIFIED
            }
        );
        // QQIC 125 (< 128: linear, 125 s); MRC 100 = 10 s.
        assert_eq!(
            igmp_query(&outgoing(Mode::V3, Some(g), 10_000, vec![s]), &config),
            igmp::Repr::QueryV3 {
                max_resp_code: 100,
                group: g,
                s_flag: true,
                qrv: 2,
                qqic: code::igmp_qqic(Duration::from_secs(125)),
                sources: vec![s]
            }
        );
        let mut robust = config.clone();
        robust.robustness = 9;
        let igmp::Repr::QueryV3 { qrv, .. } =
            igmp_query(&outgoing(Mode::V3, None, 10_000, vec![]), &robust)
        else {
            panic!("v3 query expected")
        };
        assert_eq!(qrv, 0, "RFC 9776 §4.1.6: QRV 0 when robustness exceeds 7");
    }

    #[test]
    fn mld_queries_in_each_version() {
        let config = PortConfig::rfc_defaults(Mode::V3);
        let g: Ipv6Addr = "ff15::1".parse().unwrap();
        assert_eq!(
            mld_query(&outgoing(Mode::V2, Some(g), 1_000, vec![]), &config),
            mld::Repr::QueryV1 {
                max_resp_delay: 1_000,
                group: g
            }
        );
        assert_eq!(
            mld_query(&outgoing(Mode::V3, None, 10_000, vec![]), &config),
            mld::Repr::QueryV2 {
                max_resp_code: 10_000,
                group: Ipv6Addr::UNSPECIFIED,
                s_flag: true,
                qrv: 2,
                qqic: code::mld_qqic(Duration::from_secs(125)),
                sources: vec![]
            }
        );
    }

    #[test]
    fn received_messages() {
        let g: Ipv4Addr = "239.1.2.3".parse().unwrap();
        let Message::Query(q) = igmp_message(igmp::Repr::QueryV2 {
            max_resp_time: 100,
            group: Ipv4Addr::UNSPECIFIED,
        }) else {
            panic!("query expected")
        };
        assert_eq!(
            (q.version, q.group, q.max_response),
            (Mode::V2, None, Duration::from_secs(10))
        );
        let Message::Query(q) = igmp_message(igmp::Repr::QueryV1 {
            group: Ipv4Addr::UNSPECIFIED,
        }) else {
            panic!("query expected")
        };
        assert_eq!(
            (q.version, q.max_response),
            (Mode::V1, Duration::from_secs(10))
        );
        let report = igmp::Repr::ReportV3 {
            records: vec![
                igmp::GroupRecord {
                    record_type: RecordType::Unknown(9),
                    group: g,
                    sources: vec![],
                    aux_data: vec![],
                },
                igmp::GroupRecord {
                    record_type: RecordType::ChangeToExclude,
                    group: g,
                    sources: vec![],
                    aux_data: vec![],
                },
            ],
        };
        assert_eq!(
            igmp_message(report),
            Message::ReportV3 {
                records: vec![Record {
                    kind: RecordKind::ToExclude,
                    group: g,
                    sources: vec![]
                }]
            }
        );
        let g6: Ipv6Addr = "ff15::1".parse().unwrap();
        assert_eq!(
            mld_message(mld::Repr::DoneV1 { group: g6 }),
            Message::Leave { group: g6 }
        );
        let Message::Query(q) = mld_message(mld::Repr::QueryV1 {
            max_resp_delay: 10_000,
            group: g6,
        }) else {
            panic!("query expected")
        };
        assert_eq!(
            (q.version, q.group, q.max_response),
            (Mode::V2, Some(g6), Duration::from_secs(10))
        );
    }
}
