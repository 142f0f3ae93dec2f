//! `lwm qualify --resume` on the local board, with real parts: a
//! qualification interrupted by SIGINT (what Ctrl-C sends) in its main
//! campaign is sealed as interrupted and says how to go on; resumed, it
//! keeps every run already on disk byte for byte, makes only the missing
//! ones, runs the C-level and soak campaigns it never reached (the soak
//! for its duration, not cut by the resume), and seals a bundle
//! that `lwm qualify verify` accepts. Bad resumes are refused in one line
//! with exit 2 and the bundle left as it was.

use std::process::Stdio;
use std::time::Duration;

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/local_board.rs"]
mod local_board;

use campaign::{assert_kept, lwm, manifest, rep_docs, run, scratch, wait_until};

fn verdicts(bundle: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(bundle.join("verdicts.json")).unwrap()).unwrap()
}

/// Four repetitions of two short workloads, then the C-level checks and a
/// short soak: a main campaign long enough to be interrupted in, and two
/// campaigns it never reaches when it is.
const CRITERIA: &str = r#"
[qualification]
name = "resume-test"
description = "Enough runs to interrupt, and a campaign after them."

[campaign]
reps = 4
warmup = 0
scale = 0.05

[[requirement]]
id = "R-PERF-001"
description = "Time within a generous bound."
kind = "performance"
mandatory = true
workloads = ["small-burst", "larson"]
max_ratio_upper = 3.0

[[requirement]]
id = "R-CONF-001"
description = "The C-level conformance checks pass on the board."
kind = "c-conformance"
mandatory = true

[[requirement]]
id = "R-SOAK-001"
description = "No fast RSS growth at constant live bytes."
kind = "soak"
mandatory = true
duration = "10s"
max_rss_slope = 1000.0
max_peak_rss_per_live = 8.0
"#;

#[test]
fn an_interrupted_qualification_resumes_keeping_its_runs_and_its_bundle_verifies() {
    let dir = scratch("qualify-interrupt");
    local_board::write(&dir.join("boards"), &dir.join("board"));
    std::fs::write(dir.join("criteria.toml"), CRITERIA).unwrap();
    let bundle = dir.join("bundle");
    let main_runs = bundle.join("runs/main");

    let mut child = lwm(
        &dir,
        &[
            "qualify",
            "--board",
            "local",
            "--criteria",
            "criteria.toml",
            "--out",
            bundle.to_str().unwrap(),
            "--no-progress",
        ],
    )
    .current_dir(&dir)
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Interrupt once a few of the 16 measured runs are on disk.
    wait_until(Duration::from_secs(600), "third run", || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "lwm qualify ended before its third run"
        );
        rep_docs(&main_runs).len() >= 3
    });
    // SAFETY: kill(2) on our own unreaped child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let first = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr).into_owned();
    eprintln!("interrupted run's stderr:\n{stderr}");
    assert_eq!(first.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!("lwm qualify --resume {}", bundle.display())),
        "says how to go on: {stderr}"
    );
    let before = rep_docs(&main_runs);
    assert!(
        before.len() >= 3 && before.len() < 16,
        "interrupted mid-campaign: {} runs",
        before.len()
    );
    assert!(
        !bundle.join("runs/c-tests").exists() && !bundle.join("runs/soak").exists(),
        "neither the C-level campaign nor the soak is started after a Ctrl-C"
    );
    assert_eq!(verdicts(&bundle)["interrupted"], true);
    assert_eq!(verdicts(&bundle)["qualified"], false);

    // Resumed: the board, criteria and library come from the bundle.
    let resumed = run(
        &dir,
        &[
            "qualify",
            "--resume",
            bundle.to_str().unwrap(),
            "--no-progress",
        ],
    );
    let err = String::from_utf8_lossy(&resumed.stderr).into_owned();
    assert_eq!(resumed.status.code(), Some(0), "{err}");
    assert!(err.contains("lwm: qualified"), "{err}");
    // 2 workloads x 2 allocators x 4 reps, each made once.
    let after = rep_docs(&main_runs);
    assert_eq!(after.len(), 16, "{:?}", after.keys());
    assert_kept(&main_runs, &before);
    assert_eq!(
        manifest(&main_runs)["resumed_unix_ms"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "the main campaign was resumed, not started again"
    );
    assert!(
        !rep_docs(&bundle.join("runs/c-tests")).is_empty(),
        "the C-level campaign ran on resume"
    );
    // The soak ran on resume, once per allocator, for its whole duration.
    let soak = rep_docs(&bundle.join("runs/soak"));
    assert_eq!(soak.len(), 2, "{:?}", soak.keys());
    let lwm_rep: serde_json::Value = serde_json::from_slice(
        &std::fs::read(bundle.join("runs/soak/raw/local/steady-soak/lwmalloc/rep-000.json"))
            .unwrap(),
    )
    .unwrap();
    let report = &lwm_rep["runs"][0]["workload_report"];
    assert_eq!(report["duration_s"], 10.0, "{report}");
    assert!(report["elapsed_s"].as_f64().unwrap() >= 10.0, "{report}");
    let v = verdicts(&bundle);
    assert_eq!(v["interrupted"], false);
    assert_eq!(v["qualified"], true);
    let ids: Vec<&str> = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["R-PERF-001", "R-CONF-001", "R-SOAK-001"]);

    let verify = run(&dir, &["qualify", "verify", bundle.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(0));
    let tarball = dir.join("bundle.tar.gz");
    let verify = run(&dir, &["qualify", "verify", tarball.to_str().unwrap()]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "the tarball is the resumed bundle"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_resumes_are_refused_in_one_line_and_leave_the_bundle_alone() {
    let dir = scratch("qualify-refused");
    local_board::write(&dir.join("boards"), &dir.join("board"));

    // No such directory.
    let out = run(&dir, &["qualify", "--resume", "no-such-bundle"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no-such-bundle") && err.contains("no such bundle directory"),
        "{err}"
    );

    // A directory that is not a bundle.
    let not_a_bundle = dir.join("not-a-bundle");
    std::fs::create_dir_all(&not_a_bundle).unwrap();
    let out = run(
        &dir,
        &["qualify", "--resume", not_a_bundle.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("invocation.json"), "{err}");

    // A bundle whose criteria file was edited since it started.
    let bundle = dir.join("edited");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(dir.join("criteria.toml"), CRITERIA).unwrap();
    std::fs::write(
        bundle.join("criteria.toml"),
        CRITERIA.replace("reps = 4", "reps = 5"),
    )
    .unwrap();
    std::fs::write(
        bundle.join("invocation.json"),
        serde_json::json!({
            "board": "local",
            "criteria": dir.join("criteria.toml"),
            "library": null,
            "sign": null,
        })
        .to_string(),
    )
    .unwrap();
    let out = run(&dir, &["qualify", "--resume", bundle.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not the one the qualification started with"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&bundle).unwrap().flatten().collect();
    assert_eq!(left.len(), 2, "nothing written into the bundle");

    // --resume with --board: the board is the bundle's.
    let out = run(
        &dir,
        &[
            "qualify",
            "--resume",
            bundle.to_str().unwrap(),
            "--board",
            "local",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
