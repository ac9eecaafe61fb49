//! Holo-style conformance runner. A scenario is `tests/conformance/<name>.jsonl`:
//!
//! * `#` lines are comments (say what the scenario proves, and why each expectation is right);
//! * the first JSON line is `{"config": "<igmpproxy.conf text>"}`;
//! * input lines carry `"at"` (ms) and one input (see `input.rs`);
//! * after each input come the expected outputs, one per line: the counters the engine read
//!   (`{"at": T, "sample": {"group", "source", "packets"}}`), then its actions
//!   (`{"at": T, "action": <Action>}`), then its notices (`{"at": T, "notice": <Notice>}`),
//!   or `{"at": T, "routes" | "upstreams" | "rejected" | "kernel": ...}` for checks of the
//!   status (`kernel`: the kernel failure counters and pending retries).
//!
//! Before each input, the runner fires every engine deadline up to the input's time, the way
//! the daemon calls `timeout` at `next_deadline`; those outputs carry their own time and are
//! written before the input line, so a file reads in time order.
//!
//! The runner plays the kernel's packet counters ([`Counters`]): a `counters` input line sets
//! an entry's counter from then on; an entry no line names carries traffic, so each reading
//! finds one packet more and the entry never goes idle.
//! `MRPROXY_BLESS=1` rewrites the expected lines from the actual behaviour; the result must
//! then be reviewed line by line against the RFCs.

pub mod input;

use input::Step;
use mrproxy_engine::{AnySourceGroup, Engine, Output, RouteCounters, Timestamp};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

enum Line {
    /// Comments, the config line and inputs: kept verbatim.
    Kept(String),
    Input {
        text: String,
        at: u64,
        step: Step,
    },
    Expected(Value),
}

fn classify(raw: &str, lineno: usize) -> Line {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Line::Kept(raw.to_owned());
    }
    let value: Value =
        serde_json::from_str(trimmed).unwrap_or_else(|e| panic!("line {lineno}: not JSON: {e}"));
    let obj = value
        .as_object()
        .unwrap_or_else(|| panic!("line {lineno}: not an object"));
    if [
        "sample",
        "action",
        "notice",
        "routes",
        "upstreams",
        "rejected",
        "kernel",
    ]
    .iter()
    .any(|k| obj.contains_key(*k))
    {
        return Line::Expected(value);
    }
    if !obj.contains_key("at") {
        // The initial configuration.
        return Line::Kept(raw.to_owned());
    }
    let at = obj
        .get("at")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("line {lineno}: bad \"at\""));
    let step = input::parse_step(&value).unwrap_or_else(|e| panic!("line {lineno}: {e}"));
    Line::Input {
        text: raw.to_owned(),
        at,
        step,
    }
}

fn output_line(at: u64, key: &str, value: &Value) -> String {
    format!("{{\"at\": {at}, \"{key}\": {value}}}")
}

/// The kernel's packet counters of forwarding entries, as the scenario sets them.
#[derive(Default)]
struct Counters {
    /// Set by `counters` lines: (source, group) → packets.
    set: BTreeMap<(IpAddr, IpAddr), u64>,
    /// Entries no line names: readings so far, each one packet more.
    flowing: RefCell<BTreeMap<(IpAddr, IpAddr), u64>>,
    /// Every reading since the last output, to be written as `sample` lines.
    read: RefCell<Vec<(IpAddr, IpAddr, u64)>>,
}

impl RouteCounters for Counters {
    fn packets(&self, sg: AnySourceGroup) -> Option<u64> {
        let (source, group) = (sg.source(), sg.group());
        let packets = match self.set.get(&(source, group)) {
            Some(packets) => *packets,
            None => {
                let mut flowing = self.flowing.borrow_mut();
                let packets = flowing.entry((source, group)).or_default();
                *packets += 1;
                *packets
            }
        };
        self.read.borrow_mut().push((source, group, packets));
        Some(packets)
    }
}

struct Runner {
    engine: Engine,
    counters: Counters,
    now: u64,
    outputs: Vec<String>,
}

impl Runner {
    fn record(&mut self, at: u64, output: Output) {
        for (source, group, packets) in self.counters.read.take() {
            let value = serde_json::json!({"source": source, "group": group, "packets": packets});
            self.outputs.push(output_line(at, "sample", &value));
        }
        for action in output.actions {
            let value = serde_json::to_value(&action).expect("actions serialise");
            self.outputs.push(output_line(at, "action", &value));
        }
        for notice in output.notices {
            let value = serde_json::to_value(&notice).expect("notices serialise");
            self.outputs.push(output_line(at, "notice", &value));
        }
    }

    /// Fires every deadline up to `until`, each at its own time.
    fn advance(&mut self, until: u64) {
        let mut fired_at_same_time = 0;
        while let Some(deadline) = self.engine.next_deadline() {
            let at = deadline.as_millis().max(self.now);
            if at > until {
                break;
            }
            fired_at_same_time = if at == self.now {
                fired_at_same_time + 1
            } else {
                0
            };
            assert!(
                fired_at_same_time < 1000,
                "next_deadline stays at {at} ms after Timeout"
            );
            self.now = at;
            let output = self.engine.timeout(Timestamp(at), &self.counters);
            self.record(at, output);
        }
        self.now = until;
    }

    fn check(&mut self, what: &str) {
        let status = self.engine.status(Timestamp(self.now));
        let value = match what {
            "routes" => serde_json::to_value(&status.routes),
            "upstreams" => serde_json::to_value(&status.upstreams),
            "rejected" => serde_json::to_value(&status.rejected),
            "kernel" => Ok(serde_json::json!({
                "failures": status.kernel_failures,
                "pending": status.pending_retries,
            })),
            other => panic!("unknown check {other:?}"),
        }
        .expect("status serialises");
        self.outputs.push(output_line(self.now, what, &value));
    }
}

pub fn run(name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(format!("{name}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<Line> = text
        .lines()
        .enumerate()
        .map(|(i, raw)| classify(raw, i + 1))
        .collect();

    let config_text = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .find(|v| v.get("at").is_none() && v.get("config").is_some())
        .and_then(|v| v.get("config").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| panic!("{name}: no initial {{\"config\": ...}} line"));
    let config = mrproxy_config::parse(&config_text, &format!("{name}.conf"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut runner = Runner {
        engine: Engine::new(config, Timestamp(0)),
        counters: Counters::default(),
        now: 0,
        outputs: Vec::new(),
    };

    // The rewritten file, and the actual and expected outputs in order.
    let mut rewritten: Vec<String> = Vec::new();
    let mut expected: Vec<Value> = Vec::new();
    let mut actual: Vec<(String, String)> = Vec::new(); // (input line, output)
    for line in lines {
        match line {
            Line::Kept(raw) => rewritten.push(raw),
            Line::Expected(value) => expected.push(value),
            Line::Input { text, at, step } => {
                assert!(at >= runner.now, "{name}: time goes backwards at {text}");
                // Timer outputs up to this time come before the input line: the file reads in
                // time order.
                runner.advance(at);
                for out in runner.outputs.drain(..) {
                    rewritten.push(out.clone());
                    actual.push((format!("timers before {text}"), out));
                }
                rewritten.push(text.clone());
                match step {
                    Step::Advance => {}
                    Step::Check(what) => runner.check(&what),
                    Step::Counters {
                        source,
                        group,
                        packets,
                    } => {
                        runner.counters.set.insert((source, group), packets);
                    }
                    Step::Event(event) => {
                        let output = runner.engine.handle(Timestamp(at), event);
                        runner.record(at, output);
                    }
                }
                for out in runner.outputs.drain(..) {
                    rewritten.push(out.clone());
                    actual.push((text.clone(), out));
                }
            }
        }
    }

    if std::env::var("MRPROXY_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, rewritten.join("\n") + "\n").expect("write blessed scenario");
        return;
    }
    for (i, (input, out)) in actual.iter().enumerate() {
        let got: Value = serde_json::from_str(out).expect("own output parses");
        match expected.get(i) {
            Some(want) if *want == got => {}
            Some(want) => panic!(
                "{name}: output {} differs\n after input: {input}\n expected: {want}\n actual:   {out}",
                i + 1
            ),
            None => panic!(
                "{name}: unexpected output {}\n after input: {input}\n actual: {out}",
                i + 1
            ),
        }
    }
    if let Some(missing) = expected.get(actual.len()) {
        panic!(
            "{name}: expected output {} never came: {missing}",
            actual.len() + 1
        );
    }
}

/// Every scenario file must be listed as a test.
pub fn scenario_files() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("tests/conformance exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".jsonl"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}
