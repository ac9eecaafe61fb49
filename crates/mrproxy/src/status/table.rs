//! `mrproxy status [VIEW]`: the document as aligned tables, one per view.

use super::model::Document;
use crate::cli::View;
use std::fmt::Write;

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, out: &mut String) {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if self.rows.len() == 1 {
            out.push_str("(none)\n");
        }
    }
}

/// Remaining time in whole seconds, rounded up (a timer with 200 ms left is not yet at 0).
fn seconds(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".to_owned(), |ms| format!("{}s", ms.div_ceil(1000)))
}

fn list<T: ToString>(items: &[T]) -> String {
    if items.is_empty() {
        return "-".to_owned();
    }
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

pub fn render(doc: &Document, view: View) -> String {
    let mut out = String::new();
    let all = view == View::All;
    let section = |title: &str, out: &mut String, f: &dyn Fn(&mut String)| {
        if all {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "{title}:");
        }
        f(out);
    };
    if all || view == View::Interfaces {
        section("Interfaces", &mut out, &|out| interfaces(doc, out));
    }
    if all || view == View::Groups {
        section("Groups", &mut out, &|out| groups(doc, out));
    }
    if all || view == View::Hosts {
        section("Hosts", &mut out, &|out| hosts(doc, out));
    }
    if all || view == View::Upstream {
        section("Upstream", &mut out, &|out| upstream(doc, out));
    }
    if all || view == View::Routes {
        section("Routes", &mut out, &|out| routes(doc, out));
    }
    if all || view == View::Stats {
        section("Stats", &mut out, &|out| stats(doc, out));
    }
    out
}

fn interfaces(doc: &Document, out: &mut String) {
    let mut t = Table::new(&[
        "INTERFACE",
        "ROLE",
        "STATE",
        "FAMILY",
        "ADDRESS",
        "QUERIER",
        "VERSION",
    ]);
    for i in &doc.interfaces {
        let state = if i.up { "up" } else { "down" };
        if i.families.is_empty() {
            t.row(vec![
                i.name.clone(),
                i.role.clone(),
                state.into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        for f in &i.families {
            let querier = match (f.querier.as_deref(), f.querier_address) {
                (Some("self"), _) => "self".to_owned(),
                (Some(who), Some(a)) => format!("{who} {a}"),
                (Some(who), None) => who.to_owned(),
                (None, _) => "-".to_owned(),
            };
            let version = f.version.map_or_else(
                || "-".to_owned(),
                |v| {
                    let protocol = if f.family == "ipv4" { "IGMP" } else { "MLD" };
                    format!("{protocol}v{v}")
                },
            );
            t.row(vec![
                i.name.clone(),
                f.role.clone(),
                state.into(),
                f.family.clone(),
                opt(f.address),
                querier,
                version,
            ]);
        }
    }
    t.render(out);
}

fn groups(doc: &Document, out: &mut String) {
    let mut t = Table::new(&[
        "INTERFACE",
        "GROUP",
        "MODE",
        "VERSION",
        "EXPIRES",
        "SOURCES",
        "HOSTS",
    ]);
    for g in &doc.groups {
        let sources: Vec<String> = g
            .sources
            .iter()
            .map(|s| match s.expires_in_ms {
                Some(ms) => format!("{}({})", s.address, seconds(Some(ms))),
                None => format!("!{}", s.address),
            })
            .collect();
        t.row(vec![
            g.interface.clone(),
            g.group.to_string(),
            g.mode.clone(),
            format!("v{}", g.version),
            seconds(g.expires_in_ms),
            list(&sources),
            list(&g.hosts),
        ]);
    }
    t.render(out);
}

fn hosts(doc: &Document, out: &mut String) {
    let mut t = Table::new(&["INTERFACE", "HOST", "GROUPS"]);
    for h in &doc.hosts {
        t.row(vec![
            h.interface.clone(),
            h.host.to_string(),
            list(&h.groups),
        ]);
    }
    t.render(out);
}

fn upstream(doc: &Document, out: &mut String) {
    let mut t = Table::new(&["INTERFACE", "GROUP", "MODE", "SOURCES"]);
    for u in &doc.upstream {
        t.row(vec![
            u.interface.clone(),
            u.group.to_string(),
            u.mode.clone(),
            list(&u.sources),
        ]);
    }
    t.render(out);
    if !doc.pending_retries.is_empty() {
        out.push_str("\nPending retries:\n");
        let mut t = Table::new(&["WHAT", "OBJECT", "ERROR", "ATTEMPTS", "NEXT"]);
        for r in &doc.pending_retries {
            t.row(vec![
                r.what.clone(),
                r.object.clone(),
                r.error.clone(),
                r.attempts.to_string(),
                seconds(Some(r.next_retry_in_ms)),
            ]);
        }
        t.render(out);
    }
}

fn routes(doc: &Document, out: &mut String) {
    let mut t = Table::new(&[
        "SOURCE", "GROUP", "INPUT", "OUTPUTS", "PACKETS", "BYTES", "AGE",
    ]);
    for r in &doc.routes {
        let outputs = if r.accepted {
            list(&r.outputs)
        } else {
            "- (source not accepted)".to_owned()
        };
        t.row(vec![
            r.source.to_string(),
            r.group.to_string(),
            r.input.clone(),
            outputs,
            opt(r.packets),
            opt(r.bytes),
            format!("{}s", r.age_seconds),
        ]);
    }
    t.render(out);
}

fn stats(doc: &Document, out: &mut String) {
    let mut t = Table::new(&["INTERFACE", "DIRECTION", "TYPE", "COUNT"]);
    for i in &doc.stats.interfaces {
        for (direction, counts) in [
            ("received", &i.received),
            ("sent", &i.sent),
            ("dropped", &i.dropped),
        ] {
            for (kind, n) in counts {
                t.row(vec![
                    i.interface.clone(),
                    direction.into(),
                    kind.clone(),
                    n.to_string(),
                ]);
            }
        }
    }
    for (kind, n) in &doc.stats.dropped_elsewhere {
        t.row(vec![
            "-".into(),
            "dropped".into(),
            kind.clone(),
            n.to_string(),
        ]);
    }
    t.render(out);
    if !doc.stats.kernel_failures.is_empty() {
        out.push_str("\nKernel refusals:\n");
        let mut t = Table::new(&["INTERFACE", "OPERATION", "REASON", "COUNT"]);
        for k in &doc.stats.kernel_failures {
            t.row(vec![
                opt(k.interface.clone()),
                k.operation.clone(),
                k.reason.clone(),
                k.count.to_string(),
            ]);
        }
        t.render(out);
    }
    let n = &doc.stats.netlink;
    let _ = writeln!(
        out,
        "\nnetlink: {} overruns, {} re-reads, {} reconnections; up {}s",
        n.overruns, n.redumps, n.reconnects, doc.uptime_seconds
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::model::{Route, Stats};

    #[test]
    fn columns_are_aligned_and_an_empty_table_says_none() {
        let doc = Document {
            routes: vec![
                Route {
                    family: "ipv4".into(),
                    source: "192.0.2.9".parse().unwrap(),
                    group: "239.1.1.1".parse().unwrap(),
                    input: "up0".into(),
                    outputs: vec!["dn1".into(), "dn2".into()],
                    accepted: true,
                    packets: Some(1200),
                    bytes: Some(1_624_800),
                    wrong_interface: Some(0),
                    age_seconds: 42,
                },
                Route {
                    family: "ipv4".into(),
                    source: "198.51.100.77".parse().unwrap(),
                    group: "239.2.2.2".parse().unwrap(),
                    input: "up0".into(),
                    accepted: false,
                    ..Route::default()
                },
            ],
            stats: Stats::default(),
            ..Document::default()
        };
        let text = render(&doc, View::Routes);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let col = |l: &str| l.find("GROUP").or_else(|| l.find("239.")).unwrap();
        assert_eq!(col(lines[0]), col(lines[1]));
        assert_eq!(col(lines[1]), col(lines[2]));
        assert!(
            lines[1].contains("dn1,dn2") && lines[1].contains("1200") && lines[1].ends_with("42s")
        );
        assert!(lines[2].contains("source not accepted"), "{text}");
        assert_eq!(
            render(&doc, View::Hosts),
            "INTERFACE  HOST  GROUPS\n(none)\n"
        );
    }

    #[test]
    fn timers_round_up_to_whole_seconds() {
        assert_eq!(seconds(Some(200)), "1s");
        assert_eq!(seconds(Some(2000)), "2s");
        assert_eq!(seconds(None), "-");
    }
}
