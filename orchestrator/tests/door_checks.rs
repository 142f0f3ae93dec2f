//! Bad input refused at the door: every `lwm` command-line value and the
//! exit-status contract (0 success, 1 measured failure, 2 bad usage or
//! configuration, 130 interrupted), checked on the real binary. A refused
//! command prints one line naming the flag, exits 2 and creates nothing.

mod report_fixture;

use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwm-door-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn lwm(results: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lwm"))
        .arg("--results")
        .arg(results)
        .args(args)
        .output()
        .expect("lwm runs")
}

/// `lwm eval ARGS` must exit 2 with one line on stderr containing `names`,
/// and leave `results` empty.
fn refused(results: &Path, args: &[&str], names: &str) {
    let out = lwm(results, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "{args:?}: one line: {stderr}"
    );
    assert!(
        stderr.contains(names),
        "{args:?}: should name {names}: {stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(results).unwrap().collect();
    assert!(
        left.is_empty(),
        "{args:?}: nothing may be created: {left:?}"
    );
}

#[test]
fn every_bad_eval_value_is_refused_with_exit_2_naming_the_flag() {
    let results = scratch("values");
    for (args, names) in [
        (&["eval", "--noise", "nan"][..], "--noise"),
        (&["eval", "--noise=-1"], "--noise"),
        (&["eval", "--noise", "inf"], "--noise"),
        (&["eval", "--noise", "1.5"], "--noise"),
        (
            &["eval", "--workloads", "steady-soak"],
            "--duration: steady-soak runs for a wall-clock time",
        ),
        (
            &["eval", "--workloads", "steady-soak", "--duration", "soon"],
            "--duration: `soon` is not a duration",
        ),
        (
            &["eval", "--workloads", "steady-soak", "--duration", "0s"],
            "--duration: `0s` is not a duration",
        ),
        (
            &["eval", "--target-ci", "0.02", "--max-reps", "0"],
            "--max-reps",
        ),
        (&["eval", "--max-reps", "10"], "--max-reps"),
        (&["eval", "--target-ci", "nan"], "--target-ci"),
        (&["eval", "--threads", "0"], "--threads"),
        (&["eval", "--threads", "100000"], "--threads"),
        (&["eval", "--scale", "0"], "--scale"),
        (&["eval", "--scale", "nan"], "--scale"),
        (&["eval", "--scale", "1e308"], "--scale"),
        (&["eval", "--reps", "0"], "--reps"),
        (&["eval", "--reps", "-1"], "--reps"),
        (&["eval", "--warmup", "-3"], "--warmup"),
        (&["eval", "--reps", "10000000"], "--reps"),
        (&["eval", "--workloads", "nosuch"], "nosuch"),
        (&["eval", "--workloads", ""], "--workloads"),
        (
            &["eval", "--allocators", "nosuchalloc,system"],
            "nosuchalloc",
        ),
        (&["eval", "--allocators", "system"], "--allocators"),
        (&["eval", "--allocators", "lwmalloc"], "--allocators"),
        (&["eval", "--allocators", "system,x=lib.so"], "--allocators"),
        (
            &["eval", "--allocators", "system,Bad=/x.so"],
            "--allocators",
        ),
        (&["eval", "--extend"], "--resume"),
        (&["eval", "--bogus-flag"], "--bogus-flag"),
        (&["compare", "a", "b", "--noise", "nan"], "noise"),
    ] {
        refused(&results, args, names);
    }
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
fn help_documents_the_exit_statuses_and_exits_0() {
    let results = scratch("help");
    for args in [&["--help"][..], &["eval", "--help"]] {
        let out = lwm(&results, args);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        for line in [
            "0    success",
            "1    a measured failure",
            "2    bad usage",
            "130  interrupted",
        ] {
            assert!(text.contains(line), "{args:?} help lacks {line:?}:\n{text}");
        }
    }
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
fn report_and_compare_follow_the_same_contract() {
    let results = scratch("contract");
    // A missing run is bad usage: 2.
    let out = lwm(&results, &["report", "no-such-run"]);
    assert_eq!(out.status.code(), Some(2));
    // A run compared with itself: 0.
    let run = results.join("r1");
    report_fixture::write_run(
        &run,
        "r1",
        &[report_fixture::BoardSpec {
            name: "pi4",
            emulation: "none",
            workloads: &["sqlite"],
            allocators: &["system", "lwmalloc"],
            reps: 5,
            measure: &report_fixture::standard_measure,
            failures: &[],
        }],
    );
    let out = lwm(&results, &["compare", "r1", "r1"]);
    assert_eq!(out.status.code(), Some(0));
    let out = lwm(&results, &["report", "r1"]);
    assert_eq!(out.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
fn resume_refuses_flags_that_would_change_the_campaign() {
    let results = scratch("resume");
    let run = results.join("r1");
    report_fixture::write_run(
        &run,
        "r1",
        &[report_fixture::BoardSpec {
            name: "pi4",
            emulation: "none",
            workloads: &["sqlite", "small-burst"],
            allocators: &["system", "lwmalloc"],
            reps: 4,
            measure: &report_fixture::standard_measure,
            failures: &[],
        }],
    );
    let before = std::fs::read(run.join("manifest.json")).unwrap();
    let boards = report_fixture::scratch("resume-boards");

    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--reps", "9", "--workloads", "sqlite"],
            &["--reps 9", "--workloads sqlite", "--extend"],
        ),
        (
            &["--threads", "8"],
            &["--threads 8 (the run has each board's CPU count)"],
        ),
        (&["--board", "local"], &["--board local (the run has pi4)"]),
        (&["--run-id", "other"], &["--run-id other"]),
        // --extend adds repetitions, never changes what they measure.
        (&["--extend", "--seed", "7"], &["--seed 7"]),
        (&["--extend", "--reps", "2"], &["--reps 2 (the run has 4)"]),
    ];
    for (extra, names) in cases {
        let mut args = vec![
            "--boards-dir",
            boards.to_str().unwrap(),
            "eval",
            "--resume",
            "r1",
        ];
        args.extend_from_slice(extra);
        let out = lwm(&results, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        for n in *names {
            assert!(stderr.contains(n), "{extra:?}: should name {n}: {stderr}");
        }
        assert_eq!(
            std::fs::read(run.join("manifest.json")).unwrap(),
            before,
            "a refused resume changes nothing"
        );
        assert!(!run.join("events.jsonl").exists());
    }
    let _ = std::fs::remove_dir_all(&results);
    let _ = std::fs::remove_dir_all(&boards);
}

/// The workload names and the thread limit `lwm` checks at the door are
/// the ones `lwm-workload` has.
#[test]
fn the_door_knows_the_workloads_lwm_workload_has() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/src");
    let registry = std::fs::read_to_string(root.join("registry.rs")).unwrap();
    let names: Vec<&str> = registry
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name: \""))
        .filter_map(|l| l.strip_suffix("\","))
        .collect();
    let lwm_knows: Vec<&str> = lwm::limits::KNOWN_WORKLOADS
        .iter()
        .chain(lwm::limits::DURATION_WORKLOADS)
        .chain(lwm::limits::ON_REQUEST_WORKLOADS)
        .copied()
        .collect();
    assert_eq!(names, lwm_knows);
    let main = std::fs::read_to_string(root.join("main.rs")).unwrap();
    assert!(
        main.contains(&format!("(1..={}).contains(&v)", lwm::limits::MAX_THREADS)),
        "workloads/src/main.rs's --threads range changed"
    );
}
