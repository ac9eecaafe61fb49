//! What an operator sees and touches, against a running daemon: `mrproxy status` in each view as
//! tables and JSON (docs/status.md) checked against the real state, the Prometheus text from
//! `--prometheus` and from the `metrics` HTTP listener, and `mrproxy reload` with a good and a
//! broken file.

mod common;
use common::*;
use netlab::{Lab, Receiver};
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

fn client(proxy: &Proxy, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--control", proxy.control.to_str().unwrap()]);
    Command::new(binary())
        .args(&all)
        .output()
        .expect("run mrproxy")
}

fn text(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(proxy: &Proxy, view: &str) -> Value {
    let mut args = vec!["status"];
    if !view.is_empty() {
        args.push(view);
    }
    args.push("--json");
    serde_json::from_str(&text(&client(proxy, &args))).expect("status --json is JSON")
}

/// The packet counter of the (SOURCE, GROUP) route in the status document.
fn route_packets(doc: &Value) -> Option<u64> {
    doc["routes"]
        .as_array()?
        .iter()
        .find(|r| r["source"] == SOURCE && r["group"] == GROUP)?["packets"]
        .as_u64()
}

#[test]
fn status_views_show_hosts_groups_routes_and_counters_of_the_running_daemon() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("opstatus");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    let _src = stream(&t, GROUP, 5000, 20);
    assert!(rx.wait_for_packets(20, WAIT), "no stream:\n{}", proxy.log());

    // The host that joined is in `hosts` and `groups`, on dn1 only.
    let hosts = json(&proxy, "hosts");
    assert_eq!(hosts["schema"], 1, "{hosts:#}");
    let h1: Vec<&Value> = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["host"] == "192.0.2.2")
        .collect();
    assert_eq!(h1.len(), 1, "{hosts:#}");
    assert_eq!(h1[0]["interface"], "dn1");
    assert_eq!(h1[0]["family"], "ipv4");
    assert!(
        h1[0]["groups"]
            .as_array()
            .unwrap()
            .contains(&Value::from(GROUP))
    );
    let groups = json(&proxy, "groups");
    let g: Vec<&Value> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["group"] == GROUP)
        .collect();
    assert_eq!(g.len(), 1, "{groups:#}");
    assert_eq!(
        (&g[0]["interface"], &g[0]["mode"]),
        (&Value::from("dn1"), &Value::from("exclude"))
    );
    assert_eq!(g[0]["version"], 3);
    assert!(
        g[0]["expires_in_ms"].as_u64().is_some_and(|ms| ms > 0),
        "{groups:#}"
    );

    // The interface view names roles and says mrproxy is the querier on its LANs.
    let interfaces = json(&proxy, "interfaces");
    let dn1 = interfaces["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "dn1")
        .unwrap_or_else(|| panic!("{interfaces:#}"));
    assert_eq!(dn1["role"], "downstream");
    assert_eq!(dn1["families"][0]["querier"], "self", "{interfaces:#}");
    assert_eq!(dn1["families"][0]["querier_address"], "192.0.2.1");

    // The route names its interfaces and its packet counter rises while the stream flows.
    let upstream = json(&proxy, "upstream");
    assert!(
        upstream["upstream"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["interface"] == "up0" && u["group"] == GROUP && u["mode"] == "exclude"),
        "{upstream:#}"
    );
    let routes = json(&proxy, "routes");
    let route = routes["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == GROUP)
        .unwrap_or_else(|| panic!("{routes:#}"))
        .clone();
    assert_eq!(route["input"], "up0");
    assert_eq!(route["outputs"], serde_json::json!(["dn1"]));
    let first = route_packets(&routes).expect("a packet count");
    assert!(rx.wait_for_packets(rx.count() + 50, WAIT));
    let routes = json(&proxy, "routes");
    let second = route_packets(&routes).expect("a packet count");
    assert!(second > first, "packets {first} then {second}");
    // Every datagram counted carries at least its UDP header (8 octets) and payload.
    let bytes = routes["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == GROUP)
        .and_then(|r| r["bytes"].as_u64())
        .unwrap_or_else(|| panic!("a byte count: {routes:#}"));
    assert!(bytes >= 8 * second, "{second} packets, {bytes} bytes");
    // Shown with --nocapture: the JSON example of docs/status.md.
    println!("{}", text(&client(&proxy, &["status", "routes", "--json"])));

    // The tables say the same, aligned, with names.
    let table = text(&client(&proxy, &["status", "routes"]));
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("SOURCE") && header.contains("PACKETS"),
        "{table}"
    );
    let row = lines
        .find(|l| l.contains(GROUP))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.starts_with(SOURCE) && row.contains(" up0 ") && row.contains(" dn1 "),
        "{table}"
    );
    assert_eq!(header.find("GROUP"), row.find(GROUP), "{table}");
    let all = text(&client(&proxy, &["status"]));
    // Shown with --nocapture: the example output of README.md and docs/status.md.
    println!("{all}");
    for title in [
        "Interfaces:",
        "Groups:",
        "Hosts:",
        "Upstream:",
        "Routes:",
        "Stats:",
    ] {
        assert!(all.contains(title), "{title} missing:\n{all}");
    }

    // A query from an address that is not on the LAN is dropped and counted on its interface.
    let forged = igmpv2_general_query("198.18.0.5".parse().unwrap(), 100);
    netlab::inject_ipv4(&t.h1, "e0", &forged).expect("send a forged query");
    let dropped = |doc: &Value| {
        doc["stats"]["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["interface"] == "dn1")
            .and_then(|i| i["dropped"]["off_link_querier"].as_u64())
            .unwrap_or(0)
    };
    assert!(
        netlab::wait_until(WAIT, Duration::from_millis(50), || dropped(&json(
            &proxy, "stats"
        )) >= 1),
        "{:#}\n{}",
        json(&proxy, "stats"),
        proxy.log()
    );
    let stats = json(&proxy, "stats");
    let dn1 = stats["stats"]["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["interface"] == "dn1")
        .unwrap()
        .clone();
    assert!(
        dn1["received"]["igmp_report_v3"].as_u64().unwrap_or(0) >= 1,
        "{dn1:#}"
    );
    assert!(
        dn1["sent"]["igmp_query_v3"].as_u64().unwrap_or(0) >= 1,
        "{dn1:#}"
    );

    // The Prometheus text carries the same figures and parses.
    let metrics = text(&client(&proxy, &["status", "--prometheus"]));
    let scrape = parse_metrics(&metrics);
    let packets = sample(&scrape, "mrproxy_route_packets_total", &[("group", GROUP)]);
    assert!(packets.is_some_and(|p| p >= second as f64), "{metrics}");
    let drops = sample(
        &scrape,
        "mrproxy_messages_dropped_total",
        &[("interface", "dn1"), ("reason", "off_link_querier")],
    );
    assert!(drops.is_some_and(|d| d >= 1.0), "{metrics}");
    assert_eq!(proxy.stop(), Some(0));
}

fn parse_metrics(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("not the Prometheus text format ({e}):\n{text}"))
}

fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[test]
fn the_metrics_keyword_serves_the_prometheus_text_over_http() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("opmetrics");
    let config = format!("metrics 127.0.0.1:9116\n{}", Basic::config(FAST_TIMERS));
    let proxy = Proxy::start(&t.lab, &t.rtr, &config);
    let _rx = Receiver::join(&t.h1, "e0", ip(GROUP), 5000).unwrap();
    assert!(
        netlab::wait_until(WAIT, Duration::from_millis(50), || {
            json(&proxy, "groups")["groups"]
                .as_array()
                .is_some_and(|g| !g.is_empty())
        }),
        "{}",
        proxy.log()
    );
    let answer = scrape(&t.rtr, "127.0.0.1:9116");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    let scrape = parse_metrics(body);
    assert_eq!(
        sample(
            &scrape,
            "mrproxy_groups",
            &[("interface", "dn1"), ("family", "ipv4")]
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &scrape,
            "mrproxy_querier",
            &[("interface", "dn1"), ("family", "ipv4")]
        ),
        Some(1.0),
        "{body}"
    );
    assert!(
        scrape.docs.contains_key("mrproxy_messages_received_total"),
        "{body}"
    );
    assert_eq!(proxy.stop(), Some(0));
}

#[test]
fn reload_reports_a_broken_file_and_keeps_the_running_configuration() {
    if !Lab::require_root() {
        return;
    }
    let t = Basic::new("opreload");
    let proxy = Proxy::start(&t.lab, &t.rtr, &Basic::config(FAST_TIMERS));
    let roles = |proxy: &Proxy| {
        let doc = json(proxy, "interfaces");
        doc["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_owned(),
                    i["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert!(roles(&proxy).contains(&("dn2".into(), "downstream".into())));

    // A broken file: exit 1 with file:line:column, and nothing changes.
    std::fs::write(&proxy.config, "phyint up0 upstream\nphyint dn2 downstrem\n").unwrap();
    let o = client(&proxy, &["reload"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    let at = format!("{}:2:12:", proxy.config.display());
    assert!(
        e.contains("reload refused, the running configuration stays") && e.contains(&at),
        "{e}"
    );
    assert!(roles(&proxy).contains(&("dn2".into(), "downstream".into())));

    // A good file: exit 0 once it applies (dn2 is no longer downstream when reload returns).
    let good = Basic::config(FAST_TIMERS).replace("phyint dn2 downstream", "phyint dn2 disabled");
    std::fs::write(&proxy.config, good).unwrap();
    let o = client(&proxy, &["reload"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !roles(&proxy).contains(&("dn2".into(), "downstream".into())),
        "{:?}",
        roles(&proxy)
    );
    assert_eq!(proxy.stop(), Some(0));
}
