//! `lwm eval` end to end on the local board: the real build, the real
//! agent and workloads, a run directory a report can be made from, an
//! interrupted campaign resumed, and bad input refused clearly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/local_board.rs"]
mod local_board;

use campaign::{events, manifest};

/// A fresh results dir; beside it (`RESULTS.boards/`, `RESULTS.board/`) a
/// `local` board of its own, so that this binary's tests, which libtest
/// runs at once, each have their own work dir.
fn scratch(tag: &str) -> PathBuf {
    let d = campaign::empty_dir(&format!("eval-{tag}"));
    for dir in [boards_of(&d), work_dir_of(&d)] {
        let _ = std::fs::remove_dir_all(dir);
    }
    local_board::write(&boards_of(&d), &work_dir_of(&d));
    d
}

fn boards_of(results: &Path) -> PathBuf {
    PathBuf::from(format!("{}.boards", results.display()))
}

/// The work dir of the test's `local` board.
fn work_dir_of(results: &Path) -> PathBuf {
    PathBuf::from(format!("{}.board", results.display()))
}

/// Removes the results and the test's board.
fn cleanup(results: &Path) {
    for d in [
        results.to_path_buf(),
        boards_of(results),
        work_dir_of(results),
    ] {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn lwm(results: &Path, args: &[&str]) -> Command {
    let mut c = campaign::lwm_with_results(results);
    if !args.contains(&"--boards-dir") {
        c.arg("--boards-dir").arg(boards_of(results));
    }
    c.args(args);
    c
}

fn run(results: &Path, args: &[&str]) -> Output {
    campaign::output(lwm(results, args), args)
}

/// Every raw document and failure file under `run_dir/raw`, with its bytes.
fn raw_files(run_dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&run_dir.join("raw"), run_dir, &mut out);
    out
}

const SMALL: &[&str] = &[
    "eval",
    "--workloads",
    "small-burst,json-telemetry",
    "--allocators",
    "lwmalloc,system",
    "--reps",
    "3",
    "--warmup",
    "1",
    "--scale",
    "0.02",
    "--threads",
    "2",
    "--no-progress",
];

#[test]
fn eval_on_the_local_board_collects_interleaved_runs_and_reports() {
    let results = scratch("local");
    let mut args = SMALL.to_vec();
    args.extend(["--run-id", "first"]);
    let out = run(&results, &args);
    assert!(out.status.success(), "lwm eval failed");
    let run_dir = results.join("first");

    let files = raw_files(&run_dir);
    let docs: Vec<&String> = files
        .keys()
        .filter(|k| !k.ends_with("doctor.json"))
        .collect();
    // 2 workloads x 2 allocators x (1 warm-up + 3 repetitions).
    assert_eq!(docs.len(), 16, "{docs:#?}");
    assert!(run_dir.join("boards/local/doctor.json").is_file());
    for (path, bytes) in &files {
        let doc: lwm_contract::schema::RunDocument = serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("{path}: not an agent document: {e}"));
        assert_eq!(doc.runs.len(), 1, "{path}");
        assert!(doc.runs[0].ok, "{path}: {:?}", doc.runs[0].problems);
        let alloc = path.split('/').nth(3).unwrap();
        assert_eq!(doc.allocator.kind == "system", alloc == "system", "{path}");
        if alloc == "lwmalloc" {
            assert_eq!(
                doc.runs[0].preload.as_ref().unwrap().status,
                "verified",
                "{path}"
            );
        }
    }

    // Interleaved: within a workload the repetitions alternate allocators.
    let order: Vec<String> = events(&run_dir)
        .iter()
        .filter(|e| e["event"] == "run_started")
        .map(|e| e["run"].as_str().unwrap().to_string())
        .filter(|r| r.starts_with("local/small-burst/") && r.contains(" rep "))
        .map(|r| {
            r.split('/')
                .nth(2)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        order,
        ["lwmalloc", "system", "lwmalloc", "system", "lwmalloc", "system"]
    );

    let m = manifest(&run_dir);
    assert_eq!(m["boards"][0]["status"], "done");
    // --threads given: the board used it whatever its CPU count.
    assert_eq!(m["settings"]["threads"], 2);
    assert_eq!(m["boards"][0]["threads"], 2);
    assert!(m["ended_unix_ms"].is_u64());
    assert!(m["project_commit"].is_string());
    assert!(m["boards"][0]["environment"]["kernel"].is_object());
    let artifacts = m["boards"][0]["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 3);
    for a in artifacts {
        let local = std::fs::read(a["local_path"].as_str().unwrap()).unwrap();
        assert_eq!(
            a["sha256"].as_str().unwrap(),
            lwm_contract::sha256::sha256_hex(&local)
        );
        let pushed = std::fs::read(a["board_path"].as_str().unwrap()).unwrap();
        assert_eq!(pushed, local, "the board runs exactly the built artifact");
    }

    for f in [
        "report.txt",
        "report.json",
        "report.csv",
        "report.md",
        "report.html",
    ] {
        assert!(run_dir.join(f).is_file(), "{f} missing");
    }
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("small-burst") && table.contains("json-telemetry"),
        "{table}"
    );
    assert!(table.contains("lwmalloc"), "{table}");

    // The same run compared with itself has no regression.
    let cmp = run(&results, &["compare", "first", "first"]);
    assert_eq!(cmp.status.code(), Some(0));

    // The board lock was held while the board was used, and released.
    let names: Vec<String> = events(&run_dir)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .filter(|n| n.starts_with("board_lock") || n == "pushed")
        .collect();
    assert_eq!(
        names,
        ["board_lock_acquired", "pushed", "board_lock_released"]
    );
    assert!(!work_dir_of(&results).join(".lwm-lock").exists());
    cleanup(&results);
}

/// Without --threads, the workloads run with the board's CPU count as its
/// agent reported it; the count is in the manifest, every run and the
/// report, and the terminal ends with the board's headline.
#[test]
fn the_default_thread_count_is_the_boards_cpu_count() {
    let results = scratch("threads");
    let args = [
        "eval",
        "--workloads",
        "larson",
        "--allocators",
        "lwmalloc,system",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--scale",
        "0.01",
        "--no-progress",
        "--run-id",
        "cpus",
    ];
    let out = run(&results, &args);
    assert!(out.status.success(), "lwm eval failed");
    let run_dir = results.join("cpus");
    let doctor: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("boards/local/doctor.json")).unwrap())
            .unwrap();
    let cpu = &doctor["environment"]["cpu"];
    let cpus = cpu["cores_allowed"]
        .as_u64()
        .or(cpu["cores_online"].as_u64())
        .unwrap();
    let m = manifest(&run_dir);
    assert_eq!(m["schema_version"], lwm::manifest::MANIFEST_VERSION);
    assert!(m["settings"]["threads"].is_null(), "{}", m["settings"]);
    assert_eq!(m["boards"][0]["threads"], cpus);
    let docs = raw_files(&run_dir);
    assert_eq!(docs.len(), 2, "{:?}", docs.keys());
    for (path, bytes) in &docs {
        let doc: lwm_contract::schema::RunDocument = serde_json::from_slice(bytes).unwrap();
        let report = doc.runs[0].workload_report.as_ref().unwrap();
        assert_eq!(report["threads_requested"], cpus, "{path}");
    }
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&format!("| threads {cpus} |")), "{table}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("lwm: local: lwmalloc/system geomean time ")
            && last.contains(", peak RSS ")
            && last.ends_with("cpus/report.html"),
        "{stderr}"
    );
    cleanup(&results);
}

#[test]
fn an_interrupted_campaign_resumes_without_losing_or_redoing_runs() {
    let results = scratch("resume");
    let mut args: Vec<&str> = SMALL.to_vec();
    let reps = args.iter().position(|a| *a == "--reps").unwrap();
    args[reps + 1] = "4";
    args.extend(["--run-id", "cut"]);
    let mut child = lwm(&results, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run_dir = results.join("cut");
    // Kill the orchestrator outright (no chance to clean up) once some
    // results exist.
    let start = Instant::now();
    loop {
        let n = raw_files(&run_dir)
            .keys()
            .filter(|k| k.contains("/rep-"))
            .count();
        if n >= 3 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "no results appeared"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("lwm ended before it could be interrupted: {status:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = raw_files(&run_dir);
    assert!(manifest(&run_dir)["ended_unix_ms"].is_null());

    // The killed lwm left its board lock: the resume takes it over, as
    // its owner's process is gone, and says so.
    assert!(work_dir_of(&results).join(".lwm-lock/owner").is_file());
    let out = run(&results, &["eval", "--resume", "cut", "--no-progress"]);
    assert!(out.status.success(), "resume failed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("board local: took over a stale lock: run cut (lwm pid ")
            && stderr.contains("is no longer running"),
        "{stderr}"
    );
    assert_eq!(
        events(&run_dir)
            .iter()
            .filter(|e| e["event"] == "board_lock_taken_over")
            .count(),
        1
    );
    let after = raw_files(&run_dir);
    for (path, bytes) in &before {
        if path.ends_with(".failed.json") {
            continue;
        }
        assert_eq!(after.get(path), Some(bytes), "{path} changed on resume");
    }
    let reps: Vec<&String> = after.keys().filter(|k| k.contains("/rep-")).collect();
    assert_eq!(reps.len(), 2 * 2 * 4, "{reps:#?}");
    let m = manifest(&run_dir);
    assert_eq!(m["resumed_unix_ms"].as_array().unwrap().len(), 1);
    assert!(m["ended_unix_ms"].is_u64());
    assert_eq!(
        m["settings"]["reps"], 4,
        "the run's own settings are reused"
    );

    // More repetitions only when asked for explicitly, and then on top of
    // the ones already made, which stay as they are.
    let out = run(
        &results,
        &["eval", "--resume", "cut", "--reps", "5", "--no-progress"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reps 5 (the run has 4)"));
    let out = run(
        &results,
        &[
            "eval",
            "--resume",
            "cut",
            "--extend",
            "--reps",
            "5",
            "--no-progress",
        ],
    );
    assert!(out.status.success(), "extend failed");
    let extended = raw_files(&run_dir);
    for (path, bytes) in &after {
        assert_eq!(
            extended.get(path),
            Some(bytes),
            "{path} changed on --extend"
        );
    }
    let reps = extended.keys().filter(|k| k.contains("/rep-")).count();
    assert_eq!(reps, 2 * 2 * 5);
    let m = manifest(&run_dir);
    assert_eq!(m["settings"]["reps"], 5);
    assert_eq!(m["boards"][0]["status"], "done");
    cleanup(&results);
}

/// Two campaigns on one board at once: the second is refused with one
/// line naming the board and the holder, before it pushes anything; the
/// first goes on with its own library; Ctrl-C on the first releases the
/// board lock and keeps its results.
#[test]
fn a_second_campaign_on_a_busy_board_is_refused_and_ctrl_c_releases_the_lock() {
    let results = scratch("busy");
    let mut args: Vec<&str> = SMALL.to_vec();
    let reps = args.iter().position(|a| *a == "--reps").unwrap();
    args[reps + 1] = "1000";
    args.extend(["--run-id", "holder"]);
    let mut first = lwm(&results, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let holder_dir = results.join("holder");
    let start = Instant::now();
    while raw_files(&holder_dir)
        .keys()
        .filter(|k| k.contains("/rep-"))
        .count()
        < 2
    {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "no results appeared"
        );
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the first campaign ended early: {status:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    let out = run(
        &results,
        &[
            "eval",
            "--workloads",
            "small-burst",
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--no-progress",
            "--run-id",
            "second",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let refused: Vec<&str> = stderr.lines().filter(|l| l.contains("in use")).collect();
    assert_eq!(refused.len(), 1, "{stderr}");
    let expected = format!(
        "lwm: board local is in use by run holder (lwm pid {} on host ",
        first.id()
    );
    assert!(
        refused[0].starts_with(&expected) && refused[0].contains(" since 20"),
        "{stderr}"
    );
    let second = results.join("second");
    for e in events(&second) {
        assert!(
            e["event"] != "pushed" && e["event"] != "run_started",
            "the refused campaign touched the board: {e}"
        );
    }
    assert_eq!(manifest(&second)["boards"][0]["status"], "failed");
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first campaign died"
    );

    // Ctrl-C: the first finishes its run in progress, releases the lock.
    let kill = Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = first.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no exit after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    assert!(!work_dir_of(&results).join(".lwm-lock").exists());
    let released = events(&holder_dir)
        .iter()
        .filter(|e| e["event"] == "board_lock_released")
        .count();
    assert_eq!(released, 1);
    // Every run of the first measured its own, verified library.
    let files = raw_files(&holder_dir);
    assert!(files.keys().filter(|k| k.contains("/rep-")).count() >= 2);
    for (path, bytes) in &files {
        if !path.contains("/lwmalloc/") || path.ends_with(".failed.json") {
            continue;
        }
        let doc: lwm_contract::schema::RunDocument = serde_json::from_slice(bytes).unwrap();
        assert_eq!(
            doc.runs[0].preload.as_ref().unwrap().status,
            "verified",
            "{path}"
        );
    }
    cleanup(&results);
}

/// `lwm build --board local`: the gate checks the artifacts against this
/// machine's triple (the profile says `target = "host"`).
#[test]
fn build_for_the_local_board_passes_its_gate() {
    let results = scratch("build-local");
    let out = run(&results, &["build", "--board", "local"]);
    assert!(out.status.success(), "lwm build --board local failed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let passed = stderr
        .lines()
        .filter(|l| l.starts_with("lwm: gate passed for board local: "))
        .count();
    assert_eq!(passed, 3, "{stderr}");
    let table = String::from_utf8_lossy(&out.stdout);
    let row = format!("| `{}` |", lwm::build::host_triple());
    assert!(table.contains(&row), "{table}");
    cleanup(&results);
}

#[test]
fn a_crashing_allocator_fails_its_runs_but_not_the_campaign() {
    let results = scratch("crash");
    // A real preloadable library whose malloc aborts after a while.
    let src = results.join("crash.c");
    std::fs::write(
        &src,
        r#"#include <stdlib.h>
#include <stddef.h>
#include <dlfcn.h>
static unsigned long calls;
void *malloc(size_t n) {
    static void *(*real)(size_t);
    if (!real) real = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    if (++calls > 20000) abort();
    return real(n);
}
"#,
    )
    .unwrap();
    let lib = results.join("libcrash.so");
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-ldl")
        .status()
        .unwrap();
    assert!(cc.success());
    let crash = format!("crash={}", lib.display());
    let out = run(
        &results,
        &[
            "eval",
            "--workloads",
            "small-burst",
            "--allocators",
            &format!("lwmalloc,system,{crash}"),
            "--reps",
            "2",
            "--warmup",
            "0",
            "--scale",
            "0.02",
            "--run-id",
            "crash",
            "--no-progress",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "failed runs give exit status 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("local/small-burst/crash rep 0"), "{stderr}");
    assert!(stderr.contains("SIGABRT"), "{stderr}");
    let files = raw_files(&results.join("crash"));
    for alloc in ["lwmalloc", "system", "crash"] {
        for rep in 0..2 {
            let p = format!("raw/local/small-burst/{alloc}/rep-{rep:03}.json");
            assert!(files.contains_key(&p), "{p} missing");
        }
    }
    assert!(results.join("crash/report.txt").is_file());
    cleanup(&results);
}

#[test]
fn bad_input_is_refused_with_one_clear_line() {
    let results = scratch("bad");
    let boards = results.join("boards");
    std::fs::create_dir_all(&boards).unwrap();
    std::fs::write(
        boards.join("typo.toml"),
        "target = \"host\"\ncpu = \"native\"\nwork_dir = \"/tmp/x\"\n[transport]\nkind = \"local\"\nport = 22\n",
    )
    .unwrap();
    let out = run(
        &results,
        &[
            "--boards-dir",
            boards.to_str().unwrap(),
            "eval",
            "--board",
            "typo",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("typo.toml:6:"), "{stderr}");
    assert!(
        !results.join("typo").exists() && std::fs::read_dir(&results).unwrap().count() == 1,
        "nothing written for a configuration error"
    );

    let out = run(&results, &["eval", "--board", "no-such-board"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown board `no-such-board`"));

    // A workload or allocator that does not exist is a usage error too:
    // nothing built, nothing written.
    for bad in [
        &["--workloads", "nosuch"][..],
        &["--allocators", "nosuchalloc,system"],
    ] {
        let mut args = vec!["eval", "--no-progress"];
        args.extend_from_slice(bad);
        let out = run(&results, &args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert_eq!(std::fs::read_dir(&results).unwrap().count(), 1, "{bad:?}");
    }
    cleanup(&results);
}

/// Builds a preloadable C library from `src` into `dir/lib{name}.so`.
fn c_library(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let lib = dir.join(format!("lib{name}.so"));
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&lib)
        .arg(&c)
        .status()
        .unwrap();
    assert!(cc.success());
    lib
}

#[test]
fn a_failing_allocator_fails_only_its_own_runs_with_the_reason_reported() {
    let results = scratch("failing-allocators");
    // Crashes as it loads, after saying why on stderr.
    let loadcrash = c_library(
        &results,
        "loadcrash",
        r#"#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void refuse(void) {
    fprintf(stderr, "loadcrash: refusing to start on this board\n");
    abort();
}
"#,
    );
    // A library for another machine: an x86-64 one with e_machine set to
    // AArch64, which ld.so refuses to preload.
    let wrongarch = c_library(&results, "wrongarch", "int wrongarch_marker;\n");
    let mut elf = std::fs::read(&wrongarch).unwrap();
    elf[18] = 183; // EM_AARCH64
    elf[19] = 0;
    std::fs::write(&wrongarch, elf).unwrap();
    let allocators = format!(
        "system,lwmalloc,bogus=/nonexistent/libbogus.so,loadcrash={},wrongarch={}",
        loadcrash.display(),
        wrongarch.display()
    );
    let out = run(
        &results,
        &[
            "eval",
            "--workloads",
            "small-burst",
            "--allocators",
            &allocators,
            "--reps",
            "2",
            "--warmup",
            "0",
            "--scale",
            "0.02",
            "--run-id",
            "failing",
            "--no-progress",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "failed runs give exit status 1");
    let run_dir = results.join("failing");
    assert_eq!(manifest(&run_dir)["boards"][0]["status"], "done");
    let files = raw_files(&run_dir);
    for alloc in ["system", "lwmalloc"] {
        for rep in 0..2 {
            let p = format!("raw/local/small-burst/{alloc}/rep-{rep:03}.json");
            let doc: lwm_contract::schema::RunDocument =
                serde_json::from_slice(files.get(&p).unwrap_or_else(|| panic!("{p} missing")))
                    .unwrap();
            assert!(doc.runs[0].ok, "{p}: the other allocators' runs go on");
        }
    }
    for rep in 0..2 {
        let p = format!("raw/local/small-burst/bogus/rep-{rep:03}.failed.json");
        assert!(files.contains_key(&p), "{p} missing");
    }
    // The terminal table wraps long lines with a 4-space indent; unwrap.
    let table = String::from_utf8_lossy(&out.stdout).replace("\n    ", " ");
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    for (alloc, reason) in [
        (
            "bogus",
            "/nonexistent/libbogus.so is not a readable file on the board",
        ),
        ("loadcrash", "loadcrash: refusing to start on this board"),
        (
            "wrongarch",
            "built for aarch64 (64-bit), but this machine runs x86_64",
        ),
    ] {
        for rep in 0..2 {
            let line = table
                .lines()
                .find(|l| l.contains(&format!("small-burst/{alloc} rep {rep}")))
                .unwrap_or_else(|| panic!("no failed-run line for {alloc} rep {rep}:\n{table}"));
            assert!(line.contains(reason), "{alloc}: {reason:?} not in {line:?}");
        }
        assert!(
            html.contains(reason),
            "{alloc}: {reason:?} not in report.html"
        );
    }
    cleanup(&results);
}
