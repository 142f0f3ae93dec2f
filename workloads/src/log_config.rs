//! String-heavy log and configuration processing: a device formats log
//! lines, a log shipper splits and tokenises them, counts by level and
//! component, redacts and rewrites them; a configuration daemon parses
//! INI-style text, merges overrides, and renders it back. Many small
//! strings of varied length, concatenation and growth.

use crate::common::{key, Checksum, Params, Report, Rng};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const NAME: &str = "log-config";
const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
const COMPONENTS: [&str; 8] = [
    "wifi", "mqtt", "sensor", "ota", "storage", "power", "ble", "http",
];
const WORDS: [&str; 12] = [
    "connected",
    "retry",
    "timeout",
    "value",
    "threshold",
    "exceeded",
    "reading",
    "queued",
    "flushed",
    "session",
    "checksum",
    "ok",
];

fn log_line(rng: &mut Rng, i: u64) -> String {
    let mut s = format!(
        "2024-05-{:02}T{:02}:{:02}:{:02}.{:03}Z {} [{}] ",
        1 + i % 28,
        rng.range(0, 23),
        rng.range(0, 59),
        rng.range(0, 59),
        rng.range(0, 999),
        LEVELS[rng.below(5)],
        COMPONENTS[rng.below(8)]
    );
    for w in 0..rng.range(2, 14) {
        if w > 0 {
            s.push(' ');
        }
        if rng.chance(3) {
            let _ = write!(s, "{}={}", WORDS[rng.below(12)], rng.range(0, 100_000));
        } else {
            s.push_str(WORDS[rng.below(12)]);
        }
    }
    if rng.chance(10) {
        let _ = write!(s, " user=alice@example.com token={:016x}", rng.next_u64());
    }
    s
}

fn config_text(rng: &mut Rng) -> String {
    let mut s = String::new();
    for sec in 0..rng.range(3, 9) {
        let _ = writeln!(s, "[{}.{}]", COMPONENTS[rng.below(8)], sec);
        for k in 0..rng.range(2, 12) {
            let _ = writeln!(
                s,
                "{}_{} = {}{}",
                WORDS[rng.below(12)],
                k,
                WORDS[rng.below(12)],
                rng.range(0, 9999)
            );
        }
        s.push_str("# comment line\n\n");
    }
    s
}

type Config = BTreeMap<String, BTreeMap<String, String>>;

fn parse_config(text: &str) -> Config {
    let mut cfg = Config::new();
    let mut section = String::from("global");
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            cfg.entry(section.clone())
                .or_default()
                .insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    cfg
}

fn render_config(cfg: &Config) -> String {
    let mut s = String::new();
    for (sec, kv) in cfg {
        let _ = writeln!(s, "[{sec}]");
        for (k, v) in kv {
            let _ = writeln!(s, "{k} = {v}");
        }
        s.push('\n');
    }
    s
}

pub fn run(p: &Params) -> Report {
    let lines = p.scaled(1_000_000, 100);
    let mut rng = Rng::new(key(p.seed, &[0x10]));
    let mut sum = Checksum::default();
    let mut by_level: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_component: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut redacted, mut configs, mut bytes) = (0u64, 0u64, 0u64);
    let mut config = Config::new();

    for i in 0..lines {
        let line = log_line(&mut rng, i);
        bytes += line.len() as u64;
        let fields: Vec<&str> = line.split(' ').collect();
        *by_level.entry(fields[1].to_string()).or_insert(0) += 1;
        let comp = fields[2].trim_matches(|c| c == '[' || c == ']').to_string();
        // Redact personal data before shipping, as a log shipper must.
        let shipped = if line.contains("user=") {
            redacted += 1;
            fields
                .iter()
                .map(|f| {
                    if f.starts_with("user=") || f.starts_with("token=") {
                        "<redacted>".to_string()
                    } else {
                        f.to_uppercase()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            line.replace("value=", "v=")
        };
        sum.add_bytes(shipped.as_bytes());
        let recent = by_component.entry(comp).or_default();
        recent.push(shipped);
        if recent.len() > 64 {
            // Keep a bounded window of recent lines per component.
            let old = recent.drain(..32).map(|s| s.len() as u64).sum::<u64>();
            sum.add(old);
        }
        if i % 2000 == 0 {
            // Configuration reload: parse, merge over the running config, render.
            let text = config_text(&mut rng);
            let update = parse_config(&text);
            for (sec, kv) in update {
                config.entry(sec).or_default().extend(kv);
            }
            if config.len() > 40 {
                let first = config.keys().next().cloned().unwrap();
                config.remove(&first);
            }
            let rendered = render_config(&config);
            if parse_config(&rendered) != config {
                crate::common::verification_failed(
                    NAME,
                    &format!("config reload {configs} does not round-trip"),
                );
            }
            sum.add_bytes(rendered.as_bytes());
            configs += 1;
        }
    }
    for (lvl, n) in &by_level {
        sum.add_bytes(lvl.as_bytes());
        sum.add(*n);
    }
    if by_level.values().sum::<u64>() != lines {
        crate::common::verification_failed(NAME, "level counts do not add up");
    }
    let mut r = Report::new(1, false);
    r.op("lines", lines)
        .op("bytes", bytes)
        .op("redacted", redacted)
        .op("config_reloads", configs);
    r.checksum = sum.0;
    r
}
