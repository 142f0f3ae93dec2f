//! JSON telemetry: a gateway builds telemetry documents from sensor readings,
//! emits them as JSON text, parses incoming JSON (commands and other
//! devices' telemetry), and folds them into per-device summaries that are
//! emitted in batches. Every string, map node and array here is a malloc.

use crate::common::{key, Checksum, Params, Report, Rng};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const NAME: &str = "json-telemetry";

fn reading(rng: &mut Rng, device: u64, ts: u64) -> Value {
    let n = rng.range(1, 12) as usize;
    let values: Vec<Value> = (0..n)
        .map(|_| json!((rng.range(0, 200_000) as f64) / 100.0 - 500.0))
        .collect();
    let mut tags = Map::new();
    for t in 0..rng.range(0, 4) {
        tags.insert(
            format!("tag{t}"),
            Value::String(format!("site-{}-{}", device % 7, rng.range(0, 999))),
        );
    }
    let kind = ["temperature", "humidity", "pressure", "vibration"][rng.below(4)];
    json!({
        "device": format!("dev-{device:05}"),
        "ts": ts,
        "kind": kind,
        "values": values,
        "battery": rng.range(0, 100),
        "tags": tags,
        "ok": !rng.chance(20),
    })
}

pub fn run(p: &Params) -> Report {
    let messages = p.scaled(400_000, 20);
    let mut rng = Rng::new(key(p.seed, &[0x75]));
    let mut sum = Checksum::default();
    let mut summaries: BTreeMap<String, (u64, f64, f64)> = BTreeMap::new();
    let (mut bytes_emitted, mut bytes_parsed, mut batches) = (0u64, 0u64, 0u64);

    for i in 0..messages {
        let device = rng.range(0, 499);
        let doc = reading(&mut rng, device, 1_700_000_000 + i);
        let text = serde_json::to_string(&doc).expect("serialise telemetry");
        bytes_emitted += text.len() as u64;
        // The uplink side parses what the device side emitted.
        let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            crate::common::verification_failed(NAME, &format!("message {i} does not parse: {e}"))
        });
        bytes_parsed += text.len() as u64;
        if parsed != doc {
            crate::common::verification_failed(
                NAME,
                &format!("message {i} changed in a round trip"),
            );
        }
        let dev = parsed["device"].as_str().unwrap_or_default().to_string();
        let vals = parsed["values"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let e = summaries.entry(dev).or_insert((0, f64::MAX, f64::MIN));
        for v in vals {
            let v = v.as_f64().unwrap_or_default();
            e.0 += 1;
            e.1 = e.1.min(v);
            e.2 = e.2.max(v);
        }
        sum.add_bytes(text.as_bytes());

        // Every 1000 messages: emit a summary batch and start a new window.
        if (i + 1) % 1000 == 0 || i + 1 == messages {
            let batch: Vec<Value> = summaries
                .iter()
                .map(|(d, (n, lo, hi))| json!({"device": d, "count": n, "min": lo, "max": hi}))
                .collect();
            let text = serde_json::to_string_pretty(&json!({"window": batches, "devices": batch}))
                .expect("serialise batch");
            bytes_emitted += text.len() as u64;
            sum.add_bytes(text.as_bytes());
            summaries.clear();
            batches += 1;
        }
    }
    let mut r = Report::new(1, false);
    r.op("messages", messages)
        .op("batches", batches)
        .op("bytes_emitted", bytes_emitted)
        .op("bytes_parsed", bytes_parsed);
    r.checksum = sum.0;
    r
}
