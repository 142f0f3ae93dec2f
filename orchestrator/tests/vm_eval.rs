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

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/vm_processes.rs"]
mod vm_processes;

/// Asserts no QEMU of `run_dir` is left running (after up to 20 s).
fn assert_no_vm_left(run_dir: &Path) {
    vm_processes::assert_none_left(run_dir, None);
}

fn results_dir(tag: &str) -> PathBuf {
    campaign::empty_dir(&format!("vm-eval-{tag}"))
}

fn lwm(results: &Path, args: &[&str]) -> Command {
    let mut c = campaign::lwm_with_results(results);
    c.args(args);
    c
}

fn run(results: &Path, args: &[&str]) -> Output {
    campaign::output(lwm(results, args), args)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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
            let lwm = lwmalloc_cell(w);
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

/// Users' own programs for the qemu-pi4 guest (its image has python3 and
/// sqlite3): a python3 script reading an input file pushed beside it, the
/// sqlite3 CLI reading pushed SQL, and a shell command printing its
/// LD_PRELOAD (so its stdout differs under lwmalloc) twice, checked and
/// with `check_output = false`. Writes the suite and its files into `dir`
/// and returns the suite's path.
fn user_suite(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("words.txt"),
        "lwmalloc measures programs\n".repeat(500),
    )
    .unwrap();
    std::fs::write(
        dir.join("count.py"),
        "words = open('words.txt').read().split()\n\
         table = {}\n\
         for i in range(20000):\n    table[str(i)] = words[i % len(words)] * 3\n\
         print(len(words), len(table), sum(len(v) for v in table.values()))\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bench.sql"),
        "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);\n\
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 5000)\n\
         INSERT INTO t SELECT x, printf('%08d', x) FROM c;\n\
         SELECT count(*), sum(length(v)) FROM t;\n",
    )
    .unwrap();
    let suite = dir.join("suite.toml");
    std::fs::write(
        &suite,
        r#"[[command]]
name = "py-count"
command = "python3 count.py"
push = ["count.py", "words.txt"]

[[command]]
name = "sqlite-insert"
command = "sqlite3 :memory: '.read bench.sql'"
push = ["bench.sql"]

# `exit 0`: dash ends a -c script with _exit, which skips the library's
# exit-time counter line, and the preload proof would then rest on the
# sampler reading the maps of a process that lives about a millisecond.
[[command]]
name = "preload-env"
command = "sh -c 'echo \"${LD_PRELOAD:-none}\"; exit 0'"

[[command]]
name = "preload-env-unchecked"
command = "sh -c 'echo \"${LD_PRELOAD:-none}\"; exit 0'"
check_output = false
"#,
    )
    .unwrap();
    suite
}

/// The stdout (SHA-256, last lines) of every ok repetition of `command`
/// under `allocator` on qemu-pi4.
fn outputs(run_dir: &Path, command: &str, allocator: &str) -> Vec<(String, String)> {
    reps(run_dir, "qemu-pi4", command, allocator)
        .iter()
        .map(|f| {
            let doc = json(f);
            let r = &doc["runs"][0];
            assert_eq!(r["ok"], true, "{}", f.display());
            assert_eq!(r["exit_code"], 0, "{}", f.display());
            (
                r["stdout"]["sha256"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: no stdout.sha256", f.display()))
                    .to_string(),
                r["stdout"]["tail"]
                    .as_str()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

/// Also measures users' own programs on the emulated Pi 4 (sharing this
/// test's VM boots): the commands of [`user_suite`] run after the
/// workload, so the campaign is interrupted before them and `--resume`
/// makes all their runs.
#[test]
#[ignore = "boots a QEMU VM (builds its image on first use)"]
fn ctrl_c_stops_the_vm_and_resume_boots_it_again_to_finish() {
    let results = results_dir("interrupt");
    let suite = user_suite(&results);
    let args = [
        "eval",
        "--board",
        "qemu-pi4",
        "--suite",
        suite.to_str().unwrap(),
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
    // Exit 1: the checked command whose stdout depends on the allocator
    // fails its lwmalloc runs, and nothing else fails.
    assert_eq!(out.status.code(), Some(1));
    let manifest = json(&run_dir.join("manifest.json"));
    assert_eq!(manifest["boards"][0]["status"], "done");
    for a in ["lwmalloc", "system"] {
        assert_eq!(reps(&run_dir, "qemu-pi4", "small-burst", a).len(), 6, "{a}");
    }
    for (path, bytes) in before {
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{}", path.display());
    }
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    assert_eq!(events.matches("\"vm_booted\"").count(), 2, "{events}");
    assert_user_commands(&run_dir, &String::from_utf8_lossy(&out.stderr));
}

/// What the commands of [`user_suite`] must have given on qemu-pi4.
fn assert_user_commands(run_dir: &Path, stderr: &str) {
    // The real programs ran in the guest on their pushed inputs, with the
    // same stdout under both allocators.
    for (command, want) in [
        ("py-count", "1500 20000 480000"),
        ("sqlite-insert", "5000|40000"),
    ] {
        let mut all = outputs(run_dir, command, "system");
        all.extend(outputs(run_dir, command, "lwmalloc"));
        assert_eq!(all.len(), 12, "{command}: 6 reps under each allocator");
        for (sha, tail) in &all {
            assert_eq!(sha, &all[0].0, "{command}: stdout differs: {all:?}");
            assert_eq!(tail, want, "{command}");
        }
    }
    for f in reps(run_dir, "qemu-pi4", "py-count", "lwmalloc") {
        assert_eq!(
            json(&f)["runs"][0]["preload"]["status"],
            "verified",
            "{}",
            f.display()
        );
    }
    // The allocator-dependent command: checked, its 6 lwmalloc runs fail
    // (named on the terminal); unchecked, all 12 runs count.
    assert!(
        stderr.contains("command preload-env: stdout under lwmalloc differs from under system"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("command preload-env-unchecked"),
        "{stderr}"
    );
    let sys = outputs(run_dir, "preload-env-unchecked", "system");
    let lwm = outputs(run_dir, "preload-env-unchecked", "lwmalloc");
    assert_eq!((sys.len(), lwm.len()), (6, 6));
    assert_eq!(sys[0].1, "none");
    assert!(lwm[0].1.ends_with("liblwmalloc.so"), "{:?}", lwm[0]);

    let report = json(&run_dir.join("report.json"));
    let board = &report["boards"][0];
    let failed = board["failed_runs"].as_array().unwrap();
    assert_eq!(failed.len(), 6, "{failed:?}");
    for f in failed {
        assert_eq!(
            (f["workload"].as_str(), f["allocator"].as_str()),
            (Some("preload-env"), Some("lwmalloc")),
            "{f}"
        );
        assert!(
            f["error"]
                .as_str()
                .unwrap()
                .contains("differs from under system"),
            "{f}"
        );
    }
    // Statistics for every command and allocator, command rows marked.
    let rows = board["workloads"].as_array().unwrap();
    let row = |name: &str| {
        rows.iter()
            .find(|w| w["name"] == name)
            .unwrap_or_else(|| panic!("no row {name}: {rows:?}"))
    };
    assert_eq!(row("small-burst")["kind"], "workload");
    for (name, checked) in [
        ("py-count", true),
        ("sqlite-insert", true),
        ("preload-env", true),
        ("preload-env-unchecked", false),
    ] {
        let w = row(name);
        assert_eq!(w["kind"], "command", "{name}");
        assert_eq!(w["output_check"], checked, "{name}");
        for c in w["cells"].as_array().unwrap() {
            let expected_ok = if name == "preload-env" && c["allocator"] == "lwmalloc" {
                0
            } else {
                6
            };
            assert_eq!(c["n_ok"], expected_ok, "{name}: {c}");
            if expected_ok > 0 {
                assert!(
                    c["time"]["median"].as_f64().is_some_and(|t| t > 0.0),
                    "{name}: {c}"
                );
                assert!(
                    c["memory"]["median"].as_f64().is_some_and(|m| m > 0.0),
                    "{name}: {c}"
                );
            }
        }
        if name != "preload-env" {
            let lwm = lwmalloc_cell(w);
            assert!(
                lwm["time_vs_system"]["ratio"]
                    .as_f64()
                    .is_some_and(|r| r > 0.0),
                "{name}: {lwm}"
            );
            assert!(
                lwm["memory_vs_system"]["ratio"]
                    .as_f64()
                    .is_some_and(|r| r > 0.0),
                "{name}: {lwm}"
            );
        }
    }
    let text = std::fs::read_to_string(run_dir.join("report.txt")).unwrap();
    for mark in [
        "py-count [cmd]",
        "sqlite-insert [cmd]",
        "preload-env-unchecked [cmd, output unchecked]",
    ] {
        assert!(text.contains(mark), "{mark}: {text}");
    }
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

/// The lwmalloc cell of a workload row of report.json.
fn lwmalloc_cell(workload: &serde_json::Value) -> &serde_json::Value {
    workload["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["allocator"] == "lwmalloc")
        .unwrap()
}
