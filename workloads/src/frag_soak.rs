//! Fragmentation soak: firmware running for days, compressed. The run is a
//! sequence of phases ("hours") with shifting size mixes and lifetimes:
//! long-lived caches and connection state, medium-lived buffers, short-lived
//! scratch. After each phase the workload records the bytes it holds live
//! (what it asked for) and its own RSS, so peak RSS over peak live bytes
//! (the fragmentation and overhead factor) can be computed.

use crate::common::{key, self_rss_kib, CBuf, Checksum, Params, Report, Rng, Stopwatch};
use serde_json::{json, Value};

const NAME: &str = "frag-soak";
const PHASES: u64 = 48;
const LONG_SLOTS: usize = 4096;
const MEDIUM_SLOTS: usize = 2048;
const LONG_BUDGET: u64 = 16 << 20;
const MEDIUM_BUDGET: u64 = 8 << 20;

/// The size mixes firmware cycles through: (min, max, weight of long life).
const MIXES: [(&str, u64, u64, u64); 6] = [
    ("tiny-events", 8, 96, 1),
    ("messages", 64, 1024, 2),
    ("buffers", 1024, 16 * 1024, 3),
    ("mixed", 8, 32 * 1024, 2),
    ("bulk-transfer", 16 * 1024, 256 * 1024, 1),
    ("config-cache", 32, 4096, 6),
];

pub fn run(p: &Params) -> Report {
    let per_phase = p.scaled(100_000, 50);
    let clock = Stopwatch::start();
    let mut rng = Rng::new(key(p.seed, &[0xf5]));
    let mut sum = Checksum::default();
    // Three generations with different lifetimes.
    let mut long: Vec<Option<(CBuf, u64)>> = (0..LONG_SLOTS).map(|_| None).collect();
    let mut medium: Vec<Option<(CBuf, u64)>> = (0..MEDIUM_SLOTS).map(|_| None).collect();
    let mut live_bytes = 0u64;
    let (mut peak_live, mut mallocs, mut frees) = (0u64, 0u64, 0u64);
    let mut timeline: Vec<Value> = Vec::new();

    for phase in 0..PHASES {
        let (mix_name, lo, hi, long_weight) = MIXES[(phase as usize + rng.below(2)) % MIXES.len()];
        for op in 0..per_phase {
            let len = rng.range(lo, hi) as usize;
            let k = key(p.seed, &[phase, op]);
            let mut b = CBuf::alloc(len);
            b.touch_pages(k);
            mallocs += 1;
            live_bytes += len as u64;
            peak_live = peak_live.max(live_bytes);
            let table = match rng.below(16) as u64 {
                x if x < long_weight => Some(&mut long),
                x if x < long_weight + 5 => Some(&mut medium),
                _ => None, // scratch: dies at once
            };
            match table {
                Some(t) => {
                    // Keep each generation within a byte budget, whatever the
                    // mix: a device has a fixed amount of RAM.
                    let budget = if t.len() == LONG_SLOTS {
                        LONG_BUDGET
                    } else {
                        MEDIUM_BUDGET
                    };
                    let slots = (budget / ((lo + hi) / 2)).clamp(16, t.len() as u64) as usize;
                    let s = rng.below(slots);
                    if let Some((old, ok)) = t[s].replace((b, k)) {
                        live_bytes -= old.len() as u64;
                        sum.add(old.verify_pages(ok, NAME));
                        frees += 1;
                    }
                }
                None => {
                    live_bytes -= len as u64;
                    sum.add(b.verify_pages(k, NAME));
                    frees += 1;
                }
            }
        }
        // End of an "hour": medium-lived state is partly released
        // (connections closing), as a quiet period would.
        for (i, slot) in medium.iter_mut().enumerate() {
            if matches!((i as u64 + phase) % 3, 0) {
                if let Some((old, ok)) = slot.take() {
                    live_bytes -= old.len() as u64;
                    sum.add(old.verify_pages(ok, NAME));
                    frees += 1;
                }
            }
        }
        timeline.push(json!({
            "phase": phase,
            "mix": mix_name,
            "t_ms": clock.ms(),
            "live_bytes": live_bytes,
            "rss_kib": self_rss_kib(),
        }));
        sum.add(live_bytes);
    }
    for (b, k) in long
        .iter_mut()
        .chain(medium.iter_mut())
        .filter_map(Option::take)
    {
        sum.add(b.verify_pages(k, NAME));
        frees += 1;
    }
    let peak_rss = timeline.iter().filter_map(|v| v["rss_kib"].as_u64()).max();
    let mut r = Report::new(1, false);
    r.op("phases", PHASES)
        .op("mallocs", mallocs)
        .op("frees", frees)
        .op("peak_live_bytes", peak_live);
    r.checksum = sum.0;
    r.extra
        .insert("live_timeline".into(), Value::Array(timeline));
    // Sampled at phase ends only: the agent's own samples and wait4 give the true peak.
    r.extra
        .insert("phase_end_peak_rss_kib".into(), json!(peak_rss));
    r
}
