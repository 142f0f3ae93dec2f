//! `lwm eval` on the emulated boards, end to end: the images (built on
//! first use, then cached), QEMU, SSH with the image's own host key, the
//! pushed agent measuring lwmalloc against glibc inside the guests, one
//! report for both boards, and QEMU stopped afterwards whether the
//! campaign succeeded, failed or was interrupted.
//!
//! These boot QEMU system VMs, so they are ignored by default and run by
//! `scripts/test-emulated.sh` (part of the README test command):
//! `cargo test --release -p lwm --test vm_eval -- --ignored --test-threads 1`

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn results_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwm-vm-eval-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn lwm(results: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lwm"));
    c.arg("--results").arg(results).args(args);
    c
}

fn run(results: &Path, args: &[&str]) -> Output {
    let out = lwm(results, args).output().expect("lwm runs");
    eprintln!(
        "lwm {args:?} -> {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Processes whose command line mentions `dir`: QEMU gets its console
/// path inside the run directory, so a VM of this run is one of them.
fn processes_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) {
            found.push(format!("{}: {cmdline}", e.file_name().to_string_lossy()));
        }
    }
    found
}

/// Waits a little for QEMU to be reaped, then asserts nothing of the run
/// is left running.
fn assert_no_vm_left(run_dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = processes_mentioning(run_dir);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every `rep-*.json` (not failed) under `raw/BOARD/WORKLOAD/ALLOCATOR`.
fn reps(run_dir: &Path, board: &str, workload: &str, allocator: &str) -> Vec<PathBuf> {
    let dir = run_dir
        .join("raw")
        .join(board)
        .join(workload)
        .join(allocator);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("rep-") && !n.ends_with(".failed.json")
        })
        .collect();
    v.sort();
    v
}

/// Starts `lwm ARGS`, sends it SIGINT (what Ctrl-C sends) as soon as
/// `ready()` holds, polling every `poll`, and asserts that it ends as
/// interrupted (130) leaving no VM of `run_dir` running and the board
/// marked interrupted. `waiting_for` names the moment, for the messages.
fn interrupt_when(
    results: &Path,
    args: &[&str],
    run_dir: &Path,
    poll: Duration,
    waiting_for: &str,
    ready: impl Fn() -> bool,
) {
    let mut child = lwm(results, args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(900);
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "lwm ended before {waiting_for}"
        );
        assert!(
            Instant::now() < deadline,
            "no {waiting_for} within 15 minutes"
        );
        std::thread::sleep(poll);
    }
    // SAFETY: kill(2) on our own unreaped child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_no_vm_left(run_dir);
    let manifest = json(&run_dir.join("manifest.json"));
    assert_eq!(manifest["boards"][0]["status"], "interrupted");
}

const WORKLOADS: [&str; 2] = ["small-burst", "malloc-large"];

#[test]
#[ignore = "boots two QEMU VMs (builds their images on first use)"]
fn both_emulated_boards_give_one_report_comparing_lwmalloc_with_glibc() {
    let results = results_dir("both");
    let out = run(
        &results,
        &[
            "eval",
            "--board",
            "qemu-pizero",
            "--board",
            "qemu-pi4",
            "--workloads",
            &WORKLOADS.join(","),
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "2",
            "--warmup",
            "0",
            "--scale",
            "0.1",
            "--threads",
            "2",
            "--run-id",
            "both",
            "--no-progress",
        ],
    );
    let run_dir = results.join("both");
    assert_no_vm_left(&run_dir);
    assert_eq!(out.status.code(), Some(0));

    let manifest = json(&run_dir.join("manifest.json"));
    let report = json(&run_dir.join("report.json"));
    let text = std::fs::read_to_string(run_dir.join("report.txt")).unwrap();
    for (board, machine, scale) in [
        ("qemu-pizero", "armv6l", 0.05),
        ("qemu-pi4", "aarch64", 0.1),
    ] {
        let entry = manifest["boards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == board)
            .unwrap_or_else(|| panic!("{board} not in the manifest"));
        assert_eq!(entry["status"], "done", "{board}");
        assert_eq!(entry["emulation"], "qemu-system", "{board}");
        assert_eq!(entry["workload_scale"], scale, "{board}");
        // The agent measured inside the guest, not on this host.
        assert_eq!(
            entry["environment"]["kernel"]["machine"], machine,
            "{board}"
        );
        // And the agent, on its own, sees that it runs in a VM.
        assert!(
            entry["environment"]["emulation"]["virtual_machine"].is_string(),
            "{board}: {}",
            entry["environment"]["emulation"]
        );

        for workload in WORKLOADS {
            for allocator in ["lwmalloc", "system"] {
                let files = reps(&run_dir, board, workload, allocator);
                assert_eq!(files.len(), 2, "{board} {workload} {allocator}");
                for f in files {
                    let doc = json(&f);
                    let r = &doc["runs"][0];
                    assert_eq!(r["ok"], true, "{}", f.display());
                    // Each run at the campaign's scale times the board's.
                    let args = doc["invocation"].to_string();
                    let expected = format!("\"--scale\",\"{}\"", scale / 10.0);
                    assert!(args.contains(&expected), "{}: {args}", f.display());
                    if allocator == "lwmalloc" {
                        assert_eq!(r["preload"]["status"], "verified", "{}", f.display());
                    }
                }
            }
        }

        let b = report["boards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == board)
            .unwrap_or_else(|| panic!("{board} not in report.json"));
        assert!(
            b["emulation_note"]
                .as_str()
                .is_some_and(|n| n.contains("emulation times")),
            "{board}: {}",
            b["emulation_note"]
        );
        for w in b["workloads"].as_array().unwrap() {
            let lwm = w["cells"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["allocator"] == "lwmalloc")
                .unwrap();
            assert!(
                lwm["time_vs_system"]["ratio"]
                    .as_f64()
                    .is_some_and(|r| r > 0.0),
                "{board} {}: {}",
                w["name"],
                lwm["time_vs_system"]
            );
            assert!(
                lwm["memory_vs_system"]["ratio"]
                    .as_f64()
                    .is_some_and(|r| r > 0.0),
                "{board} {}: {}",
                w["name"],
                lwm["memory_vs_system"]
            );
        }
        assert!(
            text.contains(&format!("== board {board} | cpu")),
            "{board} missing from report.txt"
        );
    }
    assert!(text.contains("emulation qemu-system"), "{text}");
    for f in ["report.md", "report.html", "report.csv"] {
        let body = std::fs::read_to_string(run_dir.join(f)).unwrap();
        assert!(
            body.contains("qemu-pizero") && body.contains("qemu-pi4"),
            "{f}"
        );
    }
}

#[test]
#[ignore = "boots a QEMU VM (builds its image on first use)"]
fn ctrl_c_stops_the_vm_and_resume_boots_it_again_to_finish() {
    let results = results_dir("interrupt");
    let args = [
        "eval",
        "--board",
        "qemu-pi4",
        "--workloads",
        "small-burst",
        "--allocators",
        "lwmalloc,system",
        "--reps",
        "6",
        "--warmup",
        "0",
        "--scale",
        "0.1",
        "--run-id",
        "interrupt",
        "--no-progress",
    ];
    let run_dir = results.join("interrupt");
    // Interrupt once the first measured run is on disk: the VM is up and
    // the campaign is between runs or in one.
    interrupt_when(
        &results,
        &args,
        &run_dir,
        Duration::from_millis(100),
        "the first run",
        || {
            !reps(&run_dir, "qemu-pi4", "small-burst", "lwmalloc").is_empty()
                || !reps(&run_dir, "qemu-pi4", "small-burst", "system").is_empty()
        },
    );
    let before: Vec<(PathBuf, Vec<u8>)> = ["lwmalloc", "system"]
        .iter()
        .flat_map(|a| reps(&run_dir, "qemu-pi4", "small-burst", a))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    assert!(before.len() < 12, "the campaign was not interrupted");

    let out = run(
        &results,
        &["eval", "--resume", "interrupt", "--no-progress"],
    );
    assert_no_vm_left(&run_dir);
    assert_eq!(out.status.code(), Some(0));
    for a in ["lwmalloc", "system"] {
        assert_eq!(reps(&run_dir, "qemu-pi4", "small-burst", a).len(), 6, "{a}");
    }
    for (path, bytes) in before {
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{}", path.display());
    }
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    assert_eq!(events.matches("\"vm_booted\"").count(), 2, "{events}");
}

/// The shipped qemu-pi4 profile under another name, with a work directory
/// the guest cannot create (nothing can be made under /proc): the VM boots,
/// then the push fails. (A bogus allocator no longer fails a board: only
/// its own runs.)
fn broken_boards_dir(results: &Path) -> PathBuf {
    let dir = results.join("boards");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards/qemu-pi4.toml");
    let profile = std::fs::read_to_string(&shipped).unwrap();
    assert!(profile.contains("work_dir = \"/root/lwm\""), "{profile}");
    let broken = profile.replace("work_dir = \"/root/lwm\"", "work_dir = \"/proc/lwm\"");
    std::fs::write(dir.join("qemu-pi4-broken.toml"), broken).unwrap();
    dir
}

#[test]
#[ignore = "boots a QEMU VM (builds its image on first use)"]
fn a_board_failing_after_boot_is_named_and_its_vm_stopped() {
    let results = results_dir("failing");
    let boards = broken_boards_dir(&results);
    let out = run(
        &results,
        &[
            "--boards-dir",
            boards.to_str().unwrap(),
            "eval",
            "--board",
            "qemu-pi4-broken",
            "--workloads",
            "small-burst",
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--run-id",
            "failing",
            "--no-progress",
        ],
    );
    let run_dir = results.join("failing");
    assert_no_vm_left(&run_dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("board qemu-pi4-broken: ") && stderr.contains("/proc/lwm"),
        "{stderr}"
    );
    let manifest = json(&run_dir.join("manifest.json"));
    assert_eq!(manifest["boards"][0]["status"], "failed");
    // The VM had booted: the failure came from the board itself.
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    assert!(events.contains("\"vm_booted\""), "{events}");
}

#[test]
#[ignore = "starts a QEMU VM (builds its image on first use)"]
fn ctrl_c_while_the_vm_boots_stops_it_at_once() {
    let results = results_dir("boot-interrupt");
    let run_dir = results.join("boot");
    // QEMU has started once its console log exists; the guest needs
    // seconds more before sshd answers.
    let console = run_dir.join("boards/qemu-pi4/vm/console.log");
    interrupt_when(
        &results,
        &[
            "eval",
            "--board",
            "qemu-pi4",
            "--workloads",
            "small-burst",
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "1",
            "--run-id",
            "boot",
            "--no-progress",
        ],
        &run_dir,
        Duration::from_millis(20),
        "QEMU's start",
        || console.exists(),
    );
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    assert!(!events.contains("\"vm_booted\""), "{events}");
}
