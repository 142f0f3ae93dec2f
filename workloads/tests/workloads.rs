//! The workload binary: list, determinism from the seed, thread-count
//! independence where documented, the JSON report, and clear errors.

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_lwm-workload");

/// The workloads that run for a --duration (registry::TIMED), tested below.
const TIMED: &[&str] = &["steady-soak"];

/// The workloads run only when named (registry::ON_REQUEST), tested below.
const ON_REQUEST: &[&str] = &["peak-return"];

/// The fixed-work workloads.
fn names() -> Vec<String> {
    let mut n = listed();
    n.retain(|w| !TIMED.contains(&w.as_str()) && !ON_REQUEST.contains(&w.as_str()));
    n
}

fn listed() -> Vec<String> {
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
    // Timed and on-request workloads are listed (they can be named), last.
    let all = listed();
    assert_eq!(&all[n.len()..], [TIMED, ON_REQUEST].concat());
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

/// Runs steady-soak with `args`, returning its report, its exit status and
/// how long it took.
fn steady(args: &[&str]) -> (Value, Option<i32>, Duration, String) {
    let t = Instant::now();
    let out = Command::new(BIN)
        .arg("steady-soak")
        .args(args)
        .output()
        .unwrap();
    let took = t.elapsed();
    let text = String::from_utf8(out.stdout).unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::Null);
    (
        v,
        out.status.code(),
        took,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn steady_soak_runs_for_its_duration_at_constant_live_bytes() {
    let (v, code, took, err) = steady(&[
        "--duration",
        "4s",
        "--period",
        "250ms",
        "--live",
        "2M",
        "--threads",
        "2",
        "--scale",
        "0.01",
    ]);
    assert_eq!(code, Some(0), "{err}");
    // The scale shortens work, never the duration.
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert_eq!(v["duration_s"], 4.0);
    assert_eq!(v["period_ms"], 250);
    assert_eq!(v["verified"], true);
    let t = v["live_timeline"].as_array().unwrap();
    // One sample per period: 16, fewer when the sampler is starved on a
    // loaded machine (it skips the points it missed), never more.
    assert!((12..=16).contains(&t.len()), "{} samples", t.len());
    assert_eq!(v["ops"]["samples"], t.len());
    let ms: Vec<u64> = t.iter().map(|p| p["t_ms"].as_u64().unwrap()).collect();
    assert!(ms.windows(2).all(|w| w[0] < w[1]), "{ms:?}");
    assert!(*ms.last().unwrap() <= 5000, "{ms:?}");
    // Held at the target once filled: within the largest block (512 KiB)
    // per thread of 2 MiB.
    for p in &t[2..] {
        let live = p["live_bytes"].as_u64().unwrap();
        assert!(
            (1 << 20..=(2 << 20) + 2 * (512 << 10)).contains(&live),
            "{p}"
        );
        assert!(p["rss_kib"].as_u64().unwrap() <= p["rss_max_kib"].as_u64().unwrap());
    }
    let ops = &v["ops"];
    assert_eq!(ops["mallocs"], ops["frees"], "{v}");
    assert!(ops["reallocs"].as_u64().unwrap() > 0, "{v}");
    assert!(ops["cross_thread_frees"].as_u64().unwrap() > 0, "{v}");
}

#[test]
fn steady_soak_stops_an_allocator_that_never_reuses_memory() {
    // glibc with a free that does nothing, preloaded.
    let dir = std::env::temp_dir().join(format!("steady-leak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("leak.c");
    std::fs::write(
        &c,
        "#include <stddef.h>\nextern void *__libc_malloc(size_t);\n\
         void *malloc(size_t n) { return __libc_malloc(n); }\nvoid free(void *p) { (void)p; }\n",
    )
    .unwrap();
    let lib = dir.join("libleak.so");
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&c)
        .status()
        .expect("cc runs");
    assert!(st.success());
    let t = Instant::now();
    let out = Command::new(BIN)
        .args(["steady-soak", "--duration", "60s", "--live", "2M"])
        .env("LD_PRELOAD", &lib)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert!(
        err.contains("steady-soak: RSS")
            && err.contains("passed its guard of 32 times the live target (64 MiB)"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["rss_guard"]["rss_kib"].as_u64().unwrap() > 64 << 10,
        "{v}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn steady_soak_refuses_a_missing_zero_or_garbage_duration() {
    for (args, msg) in [
        (
            vec![],
            "steady-soak runs for a wall-clock time: give --duration",
        ),
        (
            vec!["--duration", "0"],
            "--duration: '0' is not a duration from 1ms to 7 days",
        ),
        (
            vec!["--duration", "soon"],
            "--duration: 'soon' is not a duration",
        ),
        (
            vec!["--duration", "-3s"],
            "--duration: '-3s' is not a duration",
        ),
        (
            vec!["--duration", "8d"],
            "--duration: '8d' is not a duration",
        ),
        (vec!["--duration"], "--duration needs a value"),
        (
            vec!["--duration", "1s", "--live", "1K"],
            "--live: '1K' is not a byte count of at least 64K",
        ),
    ] {
        let (_, code, _, err) = steady(&args);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("lwm-workload: ") && err.contains(msg),
            "{args:?}: {err}"
        );
    }
    // And a duration means nothing to a fixed-work workload.
    let out = Command::new(BIN)
        .args(["larson", "--duration", "5s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--duration: larson is not a timed workload (those are: steady-soak)"));
    // Nor a live-byte size to a workload sized by --scale.
    let out = Command::new(BIN)
        .args(["larson", "--live", "8M"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--live: larson does not take it (those that do: steady-soak, peak-return)"));
}

fn peak_return(live: &str, threads: &str) -> Value {
    let out = Command::new(BIN)
        .args([
            "peak-return",
            "--live",
            live,
            "--threads",
            threads,
            "--scale",
            "0.01",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn peak_return_holds_its_peak_and_reads_rss_around_it() {
    let kib = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    let a = peak_return("48M", "2");
    // --live sets the peak and --scale does not shrink it.
    let bytes = kib(&a, "peak_bytes");
    assert!(
        (48 << 20..(48 << 20) + 2 * (64 << 10)).contains(&bytes),
        "{bytes}"
    );
    assert_eq!(a["ops"]["malloc"], a["ops"]["free"]);
    // Every byte was written, so the peak is resident: at least 90 % of it
    // above the starting RSS (the rest is blocks' own rounding).
    let (before, peak, after) = (
        kib(&a, "rss_before_kib"),
        kib(&a, "rss_peak_kib"),
        kib(&a, "rss_after_kib"),
    );
    assert!(peak >= before + (bytes >> 10) * 9 / 10, "{a}");
    assert!(after < peak, "{a}");
    assert!(kib(&a, "anon_peak_kib") <= peak, "{a}");
    let share = a["rss_after_above_before"].as_f64().unwrap();
    assert!(
        (share - (after as f64 / before as f64 - 1.0)).abs() < 1e-9,
        "{a}"
    );
    // Same seed and threads, same blocks; other threads, other blocks.
    let b = peak_return("48M", "2");
    assert_eq!(work(&a), work(&b));
    assert_ne!(a["checksum"], peak_return("48M", "3")["checksum"]);
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
