//! lwm-workload: deterministic, self-verifying allocator workloads.
//!
//! Every allocation goes through libc malloc (Rust's default System
//! allocator, or libc::malloc directly for C-style buffers), so LD_PRELOAD
//! decides which allocator serves it. Output: one JSON line on stdout.

mod alloc_test;
mod cache_scratch;
mod common;
mod edge_ai_frames;
mod frag_soak;
mod json_telemetry;
mod larson;
mod log_config;
mod malloc_large;
mod mstress;
mod peak_return;
mod realloc_growth;
mod registry;
mod sensor_queue;
mod small_burst;
mod sqlite;
mod steady_soak;
mod thread_churn;
mod xmalloc;

use common::{Params, Stopwatch};
// The agent reads its --limit-as with the same rule.
use lwm_contract::request::parse_byte_count;
use serde_json::{json, Map, Value};
use std::process::ExitCode;

const USAGE: &str = "usage: lwm-workload list [--long]
       lwm-workload NAME [--seed S] [--scale X] [--threads T]
       lwm-workload steady-soak --duration D [--period D] [--live BYTES] [--seed S] [--threads T]
       lwm-workload peak-return [--live BYTES] [--seed S] [--threads T]

  --seed S      seed of every random choice (default 1)
  --scale X     work multiplier (default 1.0: about 10-30 s on a Raspberry Pi 4)
  --threads T   threads for multi-threaded workloads (default 4)
  --duration D  wall-clock length of a timed workload (required by them):
                90, 90s, 10m, 2h, 250ms; --scale does not change it
  --period D    how often a timed workload samples its RSS (default 1s)
  --live BYTES  live bytes a timed workload holds (default 8M; K, M, G), or
                peak-return's peak (default 200M); --scale does not change it

Prints one JSON line: workload, parameters, operation counts, checksum, elapsed_s.
Exit status 3 means the workload's own data check failed; 5 that a timed
workload stopped early (its RSS passed 32 times its live target).";

fn die(msg: &str) -> ExitCode {
    eprintln!("lwm-workload: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(first) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match first.as_str() {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "list" => {
            let long = args.iter().any(|a| a == "--long");
            for w in registry::all() {
                if long {
                    println!("{:<16} {}", w.name, w.about);
                } else {
                    println!("{}", w.name);
                }
            }
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let Some(workload) = registry::find(first) else {
        return die(&format!(
            "unknown workload '{first}' (see `lwm-workload list`)"
        ));
    };
    let mut p = Params {
        seed: 1,
        scale: 1.0,
        threads: 4,
        duration: None,
        period: std::time::Duration::from_secs(1),
        live_bytes: 8 << 20,
    };
    let timed = registry::is_timed(workload.name);
    let mut timed_flags = Vec::new();
    let mut live_given = false;
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag.as_str(), None),
        };
        let Some(value) = inline.or_else(|| it.next().cloned()) else {
            return die(&format!("option {name} needs a value"));
        };
        let bad = |what: &str| die(&format!("option {name}: '{value}' is not {what}"));
        match name {
            "--seed" => match value.parse() {
                Ok(v) => p.seed = v,
                Err(_) => return bad("an unsigned integer"),
            },
            "--scale" => match value.parse::<f64>() {
                Ok(v) if v > 0.0 && v.is_finite() => p.scale = v,
                _ => return bad("a positive number"),
            },
            "--threads" => match value.parse::<usize>() {
                Ok(v) if (1..=1024).contains(&v) => p.threads = v,
                _ => return bad("a thread count from 1 to 1024"),
            },
            "--duration" | "--period" => match common::parse_duration(&value) {
                Some(d) => {
                    timed_flags.push(name.to_string());
                    if name == "--duration" {
                        p.duration = Some(d);
                    } else {
                        p.period = d;
                    }
                }
                None => return bad("a duration from 1ms to 7 days (e.g. 30s, 10m, 2h)"),
            },
            "--live" => match parse_byte_count(&value) {
                Some(v) if (64 << 10..=1 << 40).contains(&v) => {
                    live_given = true;
                    p.live_bytes = v;
                }
                _ => return bad("a byte count of at least 64K (suffixes K, M, G)"),
            },
            _ => return die(&format!("unknown option '{name}'\n{USAGE}")),
        }
    }
    if timed && p.duration.is_none() {
        return die(&format!(
            "{} runs for a wall-clock time: give --duration (e.g. 30s, 10m, 2h)",
            workload.name
        ));
    }
    let sized_by_live = registry::SIZED_BY_LIVE.contains(&workload.name);
    if live_given && !sized_by_live {
        return die(&format!(
            "option --live: {} does not take it (those that do: {})",
            workload.name,
            registry::SIZED_BY_LIVE.join(", ")
        ));
    }
    if workload.name == "peak-return" && !live_given {
        p.live_bytes = 200 << 20;
    }
    if let (false, Some(flag)) = (timed, timed_flags.first()) {
        return die(&format!(
            "option {flag}: {} is not a timed workload (those are: {})",
            workload.name,
            registry::TIMED
                .iter()
                .map(|w| w.name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let clock = Stopwatch::start();
    let report = (workload.run)(&p);
    let elapsed = clock.secs();

    let ops: Map<String, Value> = report
        .ops
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let mut line = json!({
        "workload": workload.name,
        "seed": p.seed,
        "scale": p.scale,
        "threads_requested": p.threads,
        "threads": report.threads,
        "depends_on_threads": report.depends_on_threads,
        "ops": ops,
        "checksum": format!("{:016x}", report.checksum),
        "verified": true,
        "elapsed_s": elapsed,
    });
    line.as_object_mut().unwrap().extend(report.extra);
    println!("{line}");
    if let Some(why) = report.failure {
        eprintln!("lwm-workload: {}: {why}", workload.name);
        return ExitCode::from(5);
    }
    ExitCode::SUCCESS
}
