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
mod realloc_growth;
mod registry;
mod sensor_queue;
mod small_burst;
mod sqlite;
mod thread_churn;
mod xmalloc;

use common::{Params, Stopwatch};
use serde_json::{json, Map, Value};
use std::process::ExitCode;

const USAGE: &str = "usage: lwm-workload list [--long]
       lwm-workload NAME [--seed S] [--scale X] [--threads T]

  --seed S     seed of every random choice (default 1)
  --scale X    work multiplier (default 1.0: about 10-30 s on a Raspberry Pi 4)
  --threads T  threads for multi-threaded workloads (default 4)

Prints one JSON line: workload, parameters, operation counts, checksum, elapsed_s.
Exit status 3 means the workload's own data check failed.";

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
            for w in registry::WORKLOADS {
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
    };
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
            _ => return die(&format!("unknown option '{name}'\n{USAGE}")),
        }
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
    ExitCode::SUCCESS
}
