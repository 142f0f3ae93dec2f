//! The workload binary: list, determinism from the seed, thread-count
//! independence where documented, the JSON report, and clear errors.

use serde_json::Value;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lwm-workload");

fn names() -> Vec<String> {
    let out = Command::new(BIN).arg("list").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn run(name: &str, seed: u64, threads: u32) -> Value {
    let out = Command::new(BIN)
        .args([
            name,
            "--seed",
            &seed.to_string(),
            "--scale",
            "0.01",
            "--threads",
            &threads.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "{name} must print exactly one line"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}: {text}"))
}

fn work(v: &Value) -> (Value, Value) {
    (v["ops"].clone(), v["checksum"].clone())
}

#[test]
fn list_names_the_whole_suite() {
    let n = names();
    for expected in [
        "small-burst",
        "sensor-queue",
        "json-telemetry",
        "edge-ai-frames",
        "log-config",
        "larson",
        "xmalloc",
        "mstress",
        "thread-churn",
        "alloc-test",
        "cache-scratch",
        "realloc-growth",
        "malloc-large",
        "frag-soak",
        "sqlite",
    ] {
        assert!(n.iter().any(|x| x == expected), "missing {expected}");
    }
    let mut sorted = n.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), n.len(), "duplicate names");
}

#[test]
fn every_workload_is_deterministic_and_self_describing() {
    for name in names() {
        let a = run(&name, 5, 2);
        let b = run(&name, 5, 2);
        let other_seed = run(&name, 6, 2);
        eprintln!(
            "{name}: {:.3} s at scale 0.01",
            a["elapsed_s"].as_f64().unwrap()
        );
        assert_eq!(a["workload"], name.as_str());
        assert_eq!(a["seed"], 5);
        assert_eq!(a["verified"], true);
        assert!(
            a["elapsed_s"].as_f64().unwrap() < 2.0,
            "{name} is too slow for a test scale"
        );
        assert!(a["ops"]
            .as_object()
            .is_some_and(|o| !o.is_empty() && o.values().all(Value::is_u64)));
        assert_eq!(a["checksum"].as_str().map(str::len), Some(16));
        assert_eq!(work(&a), work(&b), "{name}: same seed, different work");
        assert_ne!(
            a["checksum"], other_seed["checksum"],
            "{name}: the seed changes nothing"
        );
        // Where the workload says its result does not depend on --threads, it must not.
        if a["depends_on_threads"] == false {
            let t1 = run(&name, 5, 1);
            let t3 = run(&name, 5, 3);
            assert_eq!(work(&a), work(&t1), "{name}: threads 2 vs 1");
            assert_eq!(work(&a), work(&t3), "{name}: threads 2 vs 3");
        }
    }
}

#[test]
fn frag_soak_reports_live_bytes_over_time() {
    let v = run("frag-soak", 1, 1);
    let t = v["live_timeline"].as_array().unwrap();
    assert_eq!(t.len() as u64, v["ops"]["phases"].as_u64().unwrap());
    let peak = v["ops"]["peak_live_bytes"].as_u64().unwrap();
    assert!(peak > 0);
    assert!(t
        .iter()
        .all(|p| p["live_bytes"].as_u64().unwrap() <= peak && p["rss_kib"].as_u64().is_some()));
}

#[test]
fn thread_churn_spawns_fresh_threads_every_generation() {
    let mut seen = Vec::new();
    // 100 threads: more than the 64 chunks, so some threads get no work.
    for threads in [1, 4, 100] {
        let v = run("thread-churn", 3, threads);
        let ops = &v["ops"];
        let generations = ops["generations"].as_u64().unwrap();
        assert!(generations >= 4, "{v}");
        assert_eq!(v["threads"], threads);
        assert_eq!(
            v["threads_spawned"].as_u64(),
            Some(generations * threads as u64),
            "{v}"
        );
        assert_eq!(ops["mallocs"], ops["frees"], "{v}");
        // Blocks of exited threads are freed by the next generation.
        assert!(ops["takeover_frees"].as_u64().unwrap() > 0, "{v}");
        seen.push(work(&v));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

#[test]
fn bad_arguments_are_clear_errors() {
    for (args, msg) in [
        (vec!["nope"], "unknown workload 'nope'"),
        (
            vec!["larson", "--scale", "-1"],
            "--scale: '-1' is not a positive number",
        ),
        (
            vec!["larson", "--threads", "0"],
            "--threads: '0' is not a thread count",
        ),
        (vec!["larson", "--seed"], "--seed needs a value"),
        (
            vec!["larson", "--frobnicate", "1"],
            "unknown option '--frobnicate'",
        ),
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("lwm-workload: ") && err.contains(msg),
            "{args:?}: {err}"
        );
    }
}
