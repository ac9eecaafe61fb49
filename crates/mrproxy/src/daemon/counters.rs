//! Messages counted per interface: received by type, sent by type, dropped by reason. The
//! engine counts what it needs for the protocol; these are for the operator (`mrproxy status
//! stats`, the Prometheus metrics).

use crate::status::model::{InterfaceCounters, snake_case};
use mrproxy_engine::{Action, Event, IfIndex, Notice, RejectReason};
use mrproxy_wire::{igmp, mld};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct Counters {
    interfaces: BTreeMap<IfIndex, PerInterface>,
    /// Rejections that name no interface.
    elsewhere: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
struct PerInterface {
    received: BTreeMap<&'static str, u64>,
    sent: BTreeMap<&'static str, u64>,
    dropped: BTreeMap<&'static str, u64>,
}

/// The name of an IGMP message type, as the counters key it.
pub fn igmp_kind(message: &igmp::Repr) -> &'static str {
    match message {
        igmp::Repr::QueryV1 { .. } => "igmp_query_v1",
        igmp::Repr::QueryV2 { .. } => "igmp_query_v2",
        igmp::Repr::QueryV3 { .. } => "igmp_query_v3",
        igmp::Repr::ReportV1 { .. } => "igmp_report_v1",
        igmp::Repr::ReportV2 { .. } => "igmp_report_v2",
        igmp::Repr::LeaveV2 { .. } => "igmp_leave",
        igmp::Repr::ReportV3 { .. } => "igmp_report_v3",
    }
}

pub fn mld_kind(message: &mld::Repr) -> &'static str {
    match message {
        mld::Repr::QueryV1 { .. } => "mld_query_v1",
        mld::Repr::QueryV2 { .. } => "mld_query_v2",
        mld::Repr::ReportV1 { .. } => "mld_report_v1",
        mld::Repr::DoneV1 { .. } => "mld_done",
        mld::Repr::ReportV2 { .. } => "mld_report_v2",
    }
}

impl Counters {
    /// Counts a message handed to the engine (whatever the engine makes of it).
    pub fn event(&mut self, event: &Event) {
        let (ifindex, kind) = match event {
            Event::Igmp {
                ifindex, message, ..
            } => (*ifindex, igmp_kind(message)),
            Event::Mld {
                ifindex, message, ..
            } => (*ifindex, mld_kind(message)),
            Event::Malformed { ifindex, .. } => (*ifindex, "malformed"),
            _ => return,
        };
        *self.at(ifindex).received.entry(kind).or_default() += 1;
    }

    /// Counts a message sent.
    pub fn action(&mut self, action: &Action) {
        match action {
            Action::SendIgmp {
                ifindex, message, ..
            } => {
                *self
                    .at(*ifindex)
                    .sent
                    .entry(igmp_kind(message))
                    .or_default() += 1
            }
            Action::SendMld {
                ifindex, message, ..
            } => *self.at(*ifindex).sent.entry(mld_kind(message)).or_default() += 1,
            _ => {}
        }
    }

    /// Counts an input rejected.
    pub fn notice(&mut self, notice: &Notice) {
        if let Notice::Rejected {
            ifindex, reason, ..
        } = notice
        {
            self.rejected(*ifindex, reason);
        }
    }

    fn rejected(&mut self, ifindex: Option<IfIndex>, reason: &RejectReason) {
        let counts = match ifindex {
            Some(i) => &mut self.at(i).dropped,
            None => &mut self.elsewhere,
        };
        *counts.entry(reason.kind()).or_default() += 1;
    }

    fn at(&mut self, ifindex: IfIndex) -> &mut PerInterface {
        self.interfaces.entry(ifindex).or_default()
    }

    /// An interface that is gone keeps no counters: its index may come back as another one.
    pub fn forget(&mut self, ifindex: IfIndex) {
        self.interfaces.remove(&ifindex);
    }

    pub fn per_interface(&self, name: impl Fn(IfIndex) -> String) -> Vec<InterfaceCounters> {
        let keyed =
            |m: &BTreeMap<&'static str, u64>| m.iter().map(|(k, v)| (snake_case(k), *v)).collect();
        self.interfaces
            .iter()
            .map(|(ifindex, c)| InterfaceCounters {
                interface: name(*ifindex),
                received: keyed(&c.received),
                sent: keyed(&c.sent),
                dropped: keyed(&c.dropped),
            })
            .collect()
    }

    pub fn elsewhere(&self) -> BTreeMap<String, u64> {
        self.elsewhere
            .iter()
            .map(|(k, v)| (snake_case(k), *v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn messages_are_counted_per_interface_by_type_and_drops_by_reason() {
        let mut c = Counters::default();
        let report = Event::Igmp {
            ifindex: IfIndex(3),
            source: Ipv4Addr::new(192, 0, 2, 10),
            destination: Ipv4Addr::new(239, 1, 1, 1),
            ttl: 1,
            router_alert: true,
            message: igmp::Repr::ReportV2 {
                group: Ipv4Addr::new(239, 1, 1, 1),
            },
        };
        c.event(&report);
        c.event(&report);
        c.notice(&Notice::Rejected {
            ifindex: Some(IfIndex(3)),
            from: None,
            reason: RejectReason::BadTtl(2),
        });
        c.notice(&Notice::Rejected {
            ifindex: None,
            from: None,
            reason: RejectReason::OwnPacket,
        });
        let per = c.per_interface(|i| format!("if{}", i.0));
        assert_eq!(per.len(), 1);
        assert_eq!(per[0].interface, "if3");
        assert_eq!(per[0].received["igmp_report_v2"], 2);
        assert_eq!(per[0].dropped["bad_ttl"], 1);
        assert_eq!(c.elsewhere()["own_packet"], 1);
        c.forget(IfIndex(3));
        assert!(c.per_interface(|i| i.to_string()).is_empty());
    }
}
