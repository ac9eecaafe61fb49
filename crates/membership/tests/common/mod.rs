//! A small driver for one port with explicit time, shared by the integration tests.
#![allow(dead_code)]

use mrproxy_membership::{
    GroupSnapshot, Message, Mode, Outgoing, Output, Port, PortConfig, Query, Record, RecordKind,
    Timestamp,
};
use std::net::Ipv4Addr;
use std::time::Duration;

pub type A = Ipv4Addr;

/// Our address on the link.
pub const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// A router with a lower address (wins the election) and one with a higher address.
pub const LOWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const HIGHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
pub const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

pub fn group(n: u8) -> A {
    Ipv4Addr::new(239, 1, 1, n)
}
pub fn source(n: u8) -> A {
    Ipv4Addr::new(198, 51, 100, n)
}
pub fn host(n: u8) -> A {
    Ipv4Addr::new(192, 0, 2, 100 + n)
}
pub fn sources(ns: &[u8]) -> Vec<A> {
    ns.iter().map(|&n| source(n)).collect()
}

pub const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
pub const fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

pub fn record(kind: RecordKind, group: A, srcs: &[u8]) -> Record<A> {
    Record {
        kind,
        group,
        sources: sources(srcs),
    }
}

/// A v3 port with `max_groups`, `max_sources_per_group` and `max_groups_per_host` set.
pub fn limited(groups: usize, sources: usize, per_host: usize) -> Lab {
    let mut config = PortConfig::rfc_defaults(Mode::V3);
    config.max_groups = groups;
    config.max_sources_per_group = sources;
    config.max_groups_per_host = per_host;
    Lab::new(config)
}

pub struct Lab {
    pub port: Port<A>,
    pub now: Timestamp,
}

impl Lab {
    /// A port with an address, past its startup output (the first general query).
    pub fn new(config: PortConfig) -> Lab {
        let mut lab = Lab::without_address(config);
        let out = lab.set_address(Some(ME));
        assert_eq!(out.send.len(), 1, "startup query expected");
        lab
    }

    pub fn v3() -> Lab {
        Lab::new(PortConfig::rfc_defaults(Mode::V3))
    }

    pub fn without_address(config: PortConfig) -> Lab {
        Lab {
            port: Port::new(config, Timestamp::ZERO),
            now: Timestamp::ZERO,
        }
    }

    pub fn set_address(&mut self, address: Option<A>) -> Output<A> {
        let mut out = Output::new();
        self.port.set_address(address, self.now, &mut out);
        out
    }

    /// Moves time forward by `d`, running every timer due.
    pub fn advance(&mut self, d: Duration) -> Output<A> {
        self.now = self.now + d;
        let mut out = Output::new();
        self.port.timeout(self.now, &mut out);
        out
    }

    /// Moves time forward to the absolute `ms`.
    pub fn advance_to(&mut self, at_ms: u64) -> Output<A> {
        assert!(at_ms >= self.now.as_millis());
        self.advance(ms(at_ms - self.now.as_millis()))
    }

    pub fn receive(&mut self, from: A, message: Message<A>) -> Output<A> {
        let mut out = Output::new();
        self.port.receive(self.now, from, message, &mut out);
        out
    }

    pub fn report(&mut self, from: A, records: Vec<Record<A>>) -> Output<A> {
        self.receive(from, Message::ReportV3 { records })
    }

    pub fn group_state(&self, g: A) -> Option<GroupSnapshot<A>> {
        self.port
            .snapshot(self.now)
            .groups
            .into_iter()
            .find(|s| s.group == g)
    }

    /// Timer of one source in ms (0 = excluded), `None` if the source has no record.
    pub fn source_timer(&self, g: A, s: A) -> Option<u64> {
        self.group_state(g)?
            .sources
            .into_iter()
            .find(|(a, _)| *a == s)
            .map(|(_, t)| t)
    }
}

/// A specific query as the port should send it (IGMPv3 defaults: Max Resp = LMQI 1 s, QRV 2,
/// QQI 125 s).
pub fn v3_specific(g: A, suppress: bool, srcs: &[u8]) -> Outgoing<A> {
    Outgoing {
        destination: g,
        query: Query {
            version: Mode::V3,
            group: Some(g),
            max_response: secs(1),
            suppress,
            qrv: 2,
            qqi: secs(125),
            sources: sources(srcs),
        },
    }
}

pub fn v2_specific(g: A) -> Outgoing<A> {
    Outgoing {
        destination: g,
        query: Query {
            version: Mode::V2,
            group: Some(g),
            max_response: secs(1),
            suppress: false,
            qrv: 0,
            qqi: Duration::ZERO,
            sources: vec![],
        },
    }
}

pub fn general(version: Mode) -> Outgoing<A> {
    let v3 = version == Mode::V3;
    Outgoing {
        destination: ALL_SYSTEMS,
        query: Query {
            version,
            group: None,
            max_response: if version == Mode::V1 {
                Duration::ZERO
            } else {
                secs(10)
            },
            suppress: false,
            qrv: if v3 { 2 } else { 0 },
            qqi: if v3 { secs(125) } else { Duration::ZERO },
            sources: vec![],
        },
    }
}

/// A query heard from another router.
pub fn heard_query(
    version: Mode,
    g: Option<A>,
    max_response: Duration,
    suppress: bool,
    srcs: &[u8],
) -> Message<A> {
    Message::Query(Query {
        version,
        group: g,
        max_response,
        suppress,
        qrv: 0,
        qqi: Duration::ZERO,
        sources: sources(srcs),
    })
}
