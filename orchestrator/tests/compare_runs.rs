//! `compare` between two run directories built from real agent documents.

mod report_fixture;

use std::path::Path;

use lwm::compare::compare;
use report_fixture::*;

/// Changes one measurement: (workload, allocator, (wall_s, max_rss_kib)).
type Tweak<'a> = &'a dyn Fn(&str, &str, (f64, u64)) -> (f64, u64);

/// A standard run whose measurements pass through `tweak` (w, a, rep, (t, m)),
/// with jitter `phase` so that two runs differ by noise like real ones.
fn run(name: &str, phase: u32, workloads: &[&str], tweak: Tweak) -> std::path::PathBuf {
    let dir = scratch(name);
    let measure =
        |w: &str, a: &str, rep: u32| tweak(w, a, standard_measure_phase(w, a, rep, phase));
    write_run(
        &dir,
        name,
        &[BoardSpec {
            name: "pi4",
            emulation: "none",
            workloads,
            allocators: &ALLOCATORS,
            reps: 7,
            measure: &measure,
            failures: &[],
        }],
    );
    dir
}

fn same(_: &str, _: &str, m: (f64, u64)) -> (f64, u64) {
    m
}

#[test]
fn a_planted_20_percent_slowdown_is_a_regression() {
    let a = run("cmp-a", 0, &WORKLOADS, &same);
    let b = run("cmp-b-slow", 2, &WORKLOADS, &|w, al, (t, m)| {
        if w == "sqlite" && al == "lwmalloc" {
            (t * 1.2, m)
        } else {
            (t, m)
        }
    });
    let (text, regressed) = compare(&a, &b, 0.02).unwrap();
    println!("{text}");
    assert!(regressed, "{text}");
    assert!(text.contains("regressions (1):"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("pi4/sqlite/lwmalloc"))
        .unwrap();
    assert!(
        line.contains("wall time") && line.contains("1.20x ["),
        "{line}"
    );
    assert!(
        line.contains("1.600 s -> 1.920 s") || line.contains("-> 1.9"),
        "{line}"
    );
    assert!(text.contains("improvements (0):"), "{text}");
    // 2 workloads × 3 allocators × 2 metrics, one changed.
    assert!(text.contains("unchanged: 11"), "{text}");
    cleanup(&a);
    cleanup(&b);
}

#[test]
fn identical_and_noise_only_runs_are_not_regressions() {
    let a = run("cmp-same-a", 0, &WORKLOADS, &same);
    let (text, regressed) = compare(&a, &a, 0.02).unwrap();
    assert!(!regressed, "{text}");
    assert!(
        text.contains("regressions (0):") && text.contains("unchanged: 12"),
        "{text}"
    );

    // Another run with the same means and different ±1 % noise.
    let b = run("cmp-same-b", 3, &WORKLOADS, &same);
    let (text, regressed) = compare(&a, &b, 0.02).unwrap();
    println!("{text}");
    assert!(!regressed, "{text}");
    assert!(
        text.contains("regressions (0):") && text.contains("improvements (0):"),
        "{text}"
    );
    cleanup(&a);
    cleanup(&b);
}

#[test]
fn improvements_memory_regressions_and_the_noise_threshold() {
    let a = run("cmp-mix-a", 0, &WORKLOADS, &same);
    // jemalloc uses 25 % less memory on small-burst; system grows 10 % on sqlite.
    let b = run("cmp-mix-b", 1, &WORKLOADS, &|w, al, (t, m)| match (w, al) {
        ("small-burst", "jemalloc") => (t, (m as f64 * 0.75) as u64),
        ("sqlite", "system") => (t, (m as f64 * 1.10) as u64),
        _ => (t, m),
    });
    let (text, regressed) = compare(&a, &b, 0.02).unwrap();
    println!("{text}");
    assert!(regressed, "more memory is a regression: {text}");
    let section = |title: &str| -> Vec<String> {
        text.split(title)
            .nth(1)
            .unwrap()
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.to_string())
            .collect()
    };
    let regressions = section("regressions");
    assert_eq!(regressions.len(), 1, "{text}");
    assert!(
        regressions[0].contains("pi4/sqlite/system") && regressions[0].contains("peak RSS"),
        "{text}"
    );
    let improvements = section("improvements");
    assert_eq!(improvements.len(), 1, "{text}");
    assert!(
        improvements[0].contains("pi4/small-burst/jemalloc") && improvements[0].contains("0.75x"),
        "{text}"
    );

    // With a 15 % noise threshold the 10 % growth is noise; the 25 % drop is not.
    let (text, regressed) = compare(&a, &b, 0.15).unwrap();
    assert!(!regressed, "{text}");
    assert!(text.contains("improvements (1):"), "{text}");
    cleanup(&a);
    cleanup(&b);
}

#[test]
fn workloads_boards_and_allocators_in_only_one_run_are_listed() {
    let a = run("cmp-only-a", 0, &WORKLOADS, &same);
    let b = run("cmp-only-b", 0, &WORKLOADS[..1], &same);
    std::fs::remove_dir_all(b.join("raw/pi4/small-burst/jemalloc")).unwrap();
    let (text, regressed) = compare(&a, &b, 0.02).unwrap();
    println!("{text}");
    assert!(!regressed);
    assert!(
        text.contains(
            "only in A (2):\n  workload pi4/sqlite\n  allocator pi4/small-burst/jemalloc\n"
        ),
        "{text}"
    );
    assert!(!text.contains("only in B"), "{text}");
    // Whole boards.
    std::fs::rename(b.join("raw/pi4"), b.join("raw/jetson")).unwrap();
    let (text, _) = compare(&a, &b, 0.02).unwrap();
    assert!(text.contains("only in A (1):\n  board pi4\n"), "{text}");
    assert!(text.contains("only in B (1):\n  board jetson\n"), "{text}");
    assert!(text.contains("unchanged: 0"), "{text}");
    cleanup(&a);
    cleanup(&b);
}

#[test]
fn errors_are_one_line_naming_the_file() {
    let a = run("cmp-err-a", 0, &WORKLOADS, &same);
    let missing = Path::new("/nonexistent/run-b");
    let e = format!("{:#}", compare(&a, missing, 0.02).unwrap_err());
    assert!(e.contains("/nonexistent/run-b") && !e.contains('\n'), "{e}");

    let bad = scratch("cmp-err-bad");
    std::fs::write(bad.join("manifest.json"), "not json").unwrap();
    let e = format!("{:#}", compare(&bad, &a, 0.02).unwrap_err());
    assert!(
        e.contains(&bad.join("manifest.json").display().to_string()) && !e.contains('\n'),
        "{e}"
    );

    let e = format!("{:#}", compare(&a, &a, 1.5).unwrap_err());
    assert!(e.contains("noise threshold"), "{e}");
    cleanup(&a);
    cleanup(&bad);
}

#[test]
fn different_workload_settings_are_warned_about() {
    let a = run("cmp-set-a", 0, &WORKLOADS, &same);
    let b = run("cmp-set-b", 0, &WORKLOADS, &same);
    let path = b.join("manifest.json");
    let mut m: lwm::manifest::Manifest =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m.settings.scale = 2.0;
    write_json(&path, &m);
    let (text, _) = compare(&a, &b, 0.02).unwrap();
    assert!(
        text.contains("warning: workload settings differ (scale 1 vs 2)"),
        "{text}"
    );
    cleanup(&a);
    cleanup(&b);
}

/// The default thread count follows each board's CPU count, so runs are
/// compared on the count each board used: a version-1 run (4 threads
/// everywhere) against a run whose pi4 used its 2 CPUs did different work;
/// `--threads 2` against the CPU count 2 did the same.
#[test]
fn thread_counts_are_compared_per_board() {
    let a = run("cmp-thr-a", 0, &WORKLOADS, &same);
    let b = run("cmp-thr-b", 0, &WORKLOADS, &same);
    let edit = |dir: &std::path::Path, f: &dyn Fn(&mut lwm::manifest::Manifest)| {
        let path = dir.join("manifest.json");
        let mut m: lwm::manifest::Manifest =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        f(&mut m);
        write_json(&path, &m);
    };
    edit(&a, &|m| {
        m.schema_version = 1;
        m.settings.threads = Some(4);
        m.boards[0].threads = None;
    });
    let (text, _) = compare(&a, &b, 0.02).unwrap();
    assert!(
        text.contains("warning: workload settings differ (threads on pi4 4 vs 2)"),
        "{text}"
    );
    edit(&a, &|m| m.settings.threads = Some(2));
    let (text, _) = compare(&a, &b, 0.02).unwrap();
    assert!(!text.contains("settings differ"), "{text}");
    cleanup(&a);
    cleanup(&b);
}

#[test]
fn failures_new_in_b_are_regressions() {
    let a = run("cmp-fail-a", 0, &WORKLOADS, &same);
    let b = run("cmp-fail-b", 0, &WORKLOADS, &same);
    let failed = serde_json::json!({
        "schema": "lwm.failed-run", "schema_version": 1,
        "board": "pi4", "workload": "sqlite", "allocator": "lwmalloc", "rep": 7,
        "error": "timed out after 600 s", "stdout_tail": "", "stderr_tail": "",
    });
    write_json(
        &b.join("raw/pi4/sqlite/lwmalloc/rep-007.failed.json"),
        &failed,
    );
    let (text, regressed) = compare(&a, &b, 0.02).unwrap();
    assert!(regressed, "{text}");
    assert!(
        text.contains("new failures (1):\n  pi4/sqlite/lwmalloc: 1 failed repetition(s) in B, none in A; rep 7: timed out after 600 s\n"),
        "{text}"
    );
    // The other way round it is good news, not a regression.
    let (text, regressed) = compare(&b, &a, 0.02).unwrap();
    assert!(!regressed, "{text}");
    assert!(
        text.contains(
            "failures gone (1):\n  pi4/sqlite/lwmalloc: 1 failed repetition(s) in A, none in B\n"
        ),
        "{text}"
    );
    cleanup(&a);
    cleanup(&b);
}
