//! The status document as metrics in the Prometheus text exposition format (version 0.0.4):
//! `mrproxy status --prometheus` (for node_exporter's textfile collector) and the `metrics`
//! HTTP listener. Names follow Prometheus conventions: `mrproxy_` prefix, `_total` for
//! counters, base units (seconds, bytes); interfaces, families and reasons are labels.

use super::model::Document;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The Content-Type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Metrics {
    out: String,
}

impl Metrics {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(doc: &Document) -> String {
    let mut m = Metrics { out: String::new() };
    m.family(
        "mrproxy_uptime_seconds",
        "gauge",
        "Seconds since mrproxy started.",
    );
    m.sample("mrproxy_uptime_seconds", &[], doc.uptime_seconds);

    m.family(
        "mrproxy_interface_up",
        "gauge",
        "1 when the interface is up and running.",
    );
    for i in &doc.interfaces {
        m.sample(
            "mrproxy_interface_up",
            &[("interface", &i.name), ("role", &i.role)],
            u64::from(i.up),
        );
    }
    m.family(
        "mrproxy_querier",
        "gauge",
        "1 when mrproxy is the querier of the downstream link.",
    );
    for i in &doc.interfaces {
        for f in i.families.iter().filter(|f| f.querier.is_some()) {
            let is_self = f.querier.as_deref() == Some("self");
            m.sample(
                "mrproxy_querier",
                &[("interface", &i.name), ("family", &f.family)],
                u64::from(is_self),
            );
        }
    }

    for (name, help, counts) in [
        (
            "mrproxy_groups",
            "Groups with members on the downstream link.",
            per_link(
                doc.groups
                    .iter()
                    .map(|g| (g.interface.as_str(), g.family.as_str())),
            ),
        ),
        (
            "mrproxy_hosts",
            "Hosts heard on the downstream link that want a group.",
            per_link(
                doc.hosts
                    .iter()
                    .map(|h| (h.interface.as_str(), h.family.as_str())),
            ),
        ),
        (
            "mrproxy_upstream_groups",
            "Groups mrproxy is a member of on the upstream interface.",
            per_link(
                doc.upstream
                    .iter()
                    .map(|u| (u.interface.as_str(), u.family.as_str())),
            ),
        ),
    ] {
        m.family(name, "gauge", help);
        for ((interface, family), n) in &counts {
            m.sample(name, &[("interface", interface), ("family", family)], *n);
        }
    }
    m.family(
        "mrproxy_pending_retries",
        "gauge",
        "Kernel changes refused and to be asked for again.",
    );
    m.sample(
        "mrproxy_pending_retries",
        &[],
        doc.pending_retries.len() as u64,
    );

    routes(&mut m, doc);
    messages(&mut m, doc);
    m.out
}

fn routes(m: &mut Metrics, doc: &Document) {
    let mut per_family: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &doc.routes {
        *per_family.entry(&r.family).or_default() += 1;
    }
    m.family(
        "mrproxy_routes",
        "gauge",
        "Forwarding entries installed in the kernel.",
    );
    for (family, n) in &per_family {
        m.sample("mrproxy_routes", &[("family", family)], *n);
    }
    for (name, help, value) in [
        (
            "mrproxy_route_packets_total",
            "Packets forwarded by the entry (the kernel's counter).",
            (|r: &super::model::Route| r.packets) as fn(&super::model::Route) -> Option<u64>,
        ),
        (
            "mrproxy_route_bytes_total",
            "Bytes forwarded by the entry (the kernel's counter).",
            |r| r.bytes,
        ),
    ] {
        m.family(name, "counter", help);
        for r in &doc.routes {
            if let Some(v) = value(r) {
                let (source, group) = (r.source.to_string(), r.group.to_string());
                m.sample(
                    name,
                    &[("source", &source), ("group", &group), ("input", &r.input)],
                    v,
                );
            }
        }
    }
}

/// How many of `items` each (interface, family) has.
fn per_link<'a>(
    items: impl Iterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<(&'a str, &'a str), u64> {
    let mut counts = BTreeMap::new();
    for key in items {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn messages(m: &mut Metrics, doc: &Document) {
    for (name, help, label, pick) in [
        (
            "mrproxy_messages_received_total",
            "IGMP/MLD messages received, by interface and type.",
            "type",
            0,
        ),
        (
            "mrproxy_messages_sent_total",
            "IGMP/MLD messages sent, by interface and type.",
            "type",
            1,
        ),
        (
            "mrproxy_messages_dropped_total",
            "Inputs rejected, by interface and reason.",
            "reason",
            2,
        ),
    ] {
        m.family(name, "counter", help);
        for i in &doc.stats.interfaces {
            let counts = [&i.received, &i.sent, &i.dropped][pick];
            for (kind, n) in counts {
                m.sample(name, &[("interface", &i.interface), (label, kind)], *n);
            }
        }
        if pick == 2 {
            for (kind, n) in &doc.stats.dropped_elsewhere {
                m.sample(name, &[("interface", ""), (label, kind)], *n);
            }
        }
    }
    m.family(
        "mrproxy_kernel_failures_total",
        "counter",
        "Changes the kernel refused, by interface, operation and errno.",
    );
    for k in &doc.stats.kernel_failures {
        let interface = k.interface.as_deref().unwrap_or("");
        m.sample(
            "mrproxy_kernel_failures_total",
            &[
                ("interface", interface),
                ("operation", &k.operation),
                ("reason", &k.reason),
            ],
            k.count,
        );
    }
    let n = &doc.stats.netlink;
    for (name, help, v) in [
        (
            "mrproxy_netlink_overruns_total",
            "Interface notifications the kernel dropped (ENOBUFS).",
            n.overruns,
        ),
        (
            "mrproxy_netlink_redumps_total",
            "Times every interface was read again.",
            n.redumps,
        ),
        (
            "mrproxy_netlink_reconnects_total",
            "Netlink connections replaced after an error.",
            n.reconnects,
        ),
    ] {
        m.family(name, "counter", help);
        m.sample(name, &[], v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::model::{InterfaceCounters, Route};

    #[test]
    fn the_text_parses_as_prometheus_metrics_with_escaped_labels() {
        let mut doc = Document {
            uptime_seconds: 12,
            routes: vec![Route {
                family: "ipv4".into(),
                source: "192.0.2.9".parse().unwrap(),
                group: "239.1.1.1".parse().unwrap(),
                input: "up\"0".into(),
                packets: Some(5),
                bytes: Some(6500),
                ..Route::default()
            }],
            ..Document::default()
        };
        doc.stats.interfaces.push(InterfaceCounters {
            interface: "dn1".into(),
            received: [("igmp_report_v2".to_owned(), 3)].into(),
            dropped: [("bad_ttl".to_owned(), 2)].into(),
            ..InterfaceCounters::default()
        });
        let text = render(&doc);
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
        let value = |name: &str, label: (&str, &str)| {
            scrape
                .samples
                .iter()
                .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
                .map(|s| match s.value {
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Untyped(v) => v,
                    _ => f64::NAN,
                })
        };
        assert_eq!(
            // The parser keeps label values as written: the quote arrives escaped.
            value("mrproxy_route_packets_total", ("input", "up\\\"0")),
            Some(5.0)
        );
        assert_eq!(
            value("mrproxy_route_bytes_total", ("group", "239.1.1.1")),
            Some(6500.0)
        );
        assert_eq!(
            value(
                "mrproxy_messages_received_total",
                ("type", "igmp_report_v2")
            ),
            Some(3.0)
        );
        assert_eq!(
            value("mrproxy_messages_dropped_total", ("reason", "bad_ttl")),
            Some(2.0)
        );
        assert_eq!(
            scrape
                .docs
                .get("mrproxy_uptime_seconds")
                .map(String::as_str),
            Some("Seconds since mrproxy started.")
        );
    }
}
