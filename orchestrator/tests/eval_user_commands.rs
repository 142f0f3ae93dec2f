//! `lwm eval` of users' own programs on the local board: a python3 script
//! pushed with `--push`, the sqlite3 CLI from a suite file, a command whose
//! output depends on the allocator (a failure, named), the output check
//! turned off (`--no-output-check`, `check_output = false`), command rows
//! marked as such in every report, and bad input (a broken suite file, an
//! ELF program for another machine) refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/local_board.rs"]
mod local_board;

/// A fresh working dir; beside it (`CWD.boards/`, `CWD.board/`) a `local`
/// board of its own: this binary's tests run at once.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwm-usercmd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_dir_all(board_of(&d));
    std::fs::create_dir_all(&d).unwrap();
    local_board::write(&boards_of(&d), &board_of(&d));
    d
}

fn boards_of(cwd: &Path) -> PathBuf {
    PathBuf::from(format!("{}.boards", cwd.display()))
}

fn board_of(cwd: &Path) -> PathBuf {
    PathBuf::from(format!("{}.board", cwd.display()))
}

/// `lwm ARGS` run in `cwd` (where the relative paths of the command are).
fn lwm(cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lwm"))
        .current_dir(cwd)
        .arg("--results")
        .arg(cwd.join("results"))
        .arg("--boards-dir")
        .arg(boards_of(cwd))
        .args(args)
        .output()
        .expect("lwm runs");
    eprintln!(
        "lwm {args:?} -> {:?}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn only_run_dir(cwd: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(cwd.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

fn report_json(run_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap()
}

/// The stdout SHA-256 of every rep document of `command` under `allocator`.
fn stdout_hashes(run_dir: &Path, command: &str, allocator: &str) -> Vec<String> {
    let dir = run_dir.join("raw/local").join(command).join(allocator);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("rep-") && !n.ends_with(".failed.json")
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            assert_eq!(doc["runs"][0]["ok"], true, "{}", p.display());
            doc["runs"][0]["stdout"]["sha256"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no stdout.sha256", p.display()))
                .to_string()
        })
        .collect()
}

const EVAL: &[&str] = &[
    "eval",
    "--allocators",
    "lwmalloc,system",
    "--reps",
    "3",
    "--warmup",
    "1",
    "--no-progress",
];

#[test]
fn a_pushed_python_script_and_the_sqlite3_cli_are_measured_like_workloads() {
    let cwd = scratch("ok");
    // The script reads its pushed input from the directory it runs in and
    // allocates enough for the allocators to matter.
    std::fs::write(
        cwd.join("words.txt"),
        "lwmalloc measures programs\n".repeat(500),
    )
    .unwrap();
    std::fs::write(
        cwd.join("count.py"),
        "words = open('words.txt').read().split()\n\
         table = {}\n\
         for i in range(200000):\n    table[str(i)] = words[i % len(words)] * 3\n\
         print(len(words), len(table), sum(len(v) for v in table.values()))\n",
    )
    .unwrap();
    let sql = cwd.join("bench.sql");
    std::fs::write(
        &sql,
        "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);\n\
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 20000)\n\
         INSERT INTO t SELECT x, hex(randomblob(0)) || printf('%08d', x) FROM c;\n\
         SELECT count(*), sum(length(v)) FROM t;\n",
    )
    .unwrap();
    std::fs::write(
        cwd.join("suite.toml"),
        "[[command]]\nname = \"sqlite-insert\"\ncommand = \"sqlite3 :memory: '.read bench.sql'\"\npush = [\"bench.sql\"]\ntimeout_s = 120\n",
    )
    .unwrap();
    let mut args = EVAL.to_vec();
    args.extend([
        "--suite",
        "suite.toml",
        "--push",
        "words.txt",
        "--push",
        "count.py",
        "--",
        "python3",
        "count.py",
    ]);
    let out = lwm(&cwd, &args);
    assert_eq!(out.status.code(), Some(0), "every run ok");
    let run_dir = only_run_dir(&cwd);
    let table = String::from_utf8_lossy(&out.stdout);
    for name in ["python3", "sqlite-insert"] {
        assert!(
            table.contains(name),
            "terminal report lacks {name}:\n{table}"
        );
        // Built-in workloads do not run with user commands alone.
        assert!(!table.contains("small-burst"), "{table}");
        let system = stdout_hashes(&run_dir, name, "system");
        let lwmalloc = stdout_hashes(&run_dir, name, "lwmalloc");
        assert_eq!(system.len(), 3);
        assert_eq!(lwmalloc.len(), 3);
        assert!(
            system.iter().chain(&lwmalloc).all(|h| h == &system[0]),
            "{name}: stdout differs: {system:?} {lwmalloc:?}"
        );
    }
    // The script's output proves it read the pushed input in its directory.
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run_dir.join("raw/local/python3/system/rep-000.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        doc["runs"][0]["stdout"]["tail"].as_str().unwrap().trim(),
        "1500 200000 4800000"
    );
    // Statistics in the JSON report, per command and allocator.
    let report = report_json(&run_dir);
    let text = report.to_string();
    for name in ["python3", "sqlite-insert"] {
        assert!(
            text.contains(&format!("\"{name}\"")),
            "report.json lacks {name}"
        );
    }
    let commands = &report["manifest"]["settings"]["commands"];
    assert_eq!(commands.as_array().unwrap().len(), 2, "{commands}");
    assert_eq!(report["manifest"]["schema_version"], 5);
    assert_eq!(report["schema_version"], 5);
    // Every row here is a command, output checked, and marked as one.
    for w in report["boards"][0]["workloads"].as_array().unwrap() {
        assert_eq!(w["kind"], "command", "{w}");
        assert_eq!(w["output_check"], true, "{w}");
    }
    assert!(table.contains("python3 [cmd]"), "{table}");
    assert!(table.contains("sqlite-insert [cmd]"), "{table}");
    for ext in ["md", "html", "csv", "txt"] {
        let r = std::fs::read_to_string(run_dir.join(format!("report.{ext}"))).unwrap();
        assert!(
            r.contains("sqlite-insert") && r.contains("python3"),
            "report.{ext}"
        );
    }
    // `lwm compare` takes such runs as it takes workload runs.
    let id = run_dir.file_name().unwrap().to_str().unwrap().to_string();
    let cmp = lwm(&cwd, &["compare", &id, &id]);
    assert_eq!(cmp.status.code(), Some(0));
    // Two commands x two metrics x lwmalloc and system, all comparable.
    let cmp = String::from_utf8_lossy(&cmp.stdout);
    assert!(cmp.contains("unchanged: 8"), "{cmp}");
    assert!(!cmp.contains("not comparable"), "{cmp}");
    let _ = std::fs::remove_dir_all(&cwd);
    let _ = std::fs::remove_dir_all(board_of(&cwd));
    let _ = std::fs::remove_dir_all(boards_of(&cwd));
}

#[test]
fn a_command_whose_output_depends_on_the_allocator_fails_its_runs() {
    let cwd = scratch("differs");
    std::fs::write(
        cwd.join("env.py"),
        "import os\nprint(os.environ.get('LD_PRELOAD', 'no preload'))\n",
    )
    .unwrap();
    let mut args = EVAL.to_vec();
    args.extend([
        "--push",
        "env.py",
        "--command",
        "preload-env=python3 env.py",
    ]);
    let out = lwm(&cwd, &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a differing stdout is a failure"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("command preload-env: stdout under lwmalloc differs from under system"),
        "{stderr}"
    );
    let run_dir = only_run_dir(&cwd);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("preload-env/lwmalloc rep 0: command preload-env"),
        "{table}"
    );
    let report = report_json(&run_dir).to_string();
    assert!(report.contains("stdout under lwmalloc differs from under system"));
    let _ = std::fs::remove_dir_all(&cwd);
    let _ = std::fs::remove_dir_all(board_of(&cwd));
    let _ = std::fs::remove_dir_all(boards_of(&cwd));
}

#[test]
fn bad_commands_are_refused_with_one_line_and_no_run_directory() {
    let cwd = scratch("bad");
    std::fs::write(
        cwd.join("suite.toml"),
        "[[command]]\nname = \"a\"\ncommand = \"true\"\ntimeout = 5\n",
    )
    .unwrap();
    let check = |args: &[&str], want: &[&str]| {
        let out = lwm(&cwd, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(e.trim().lines().count(), 1, "{e}");
        for w in want {
            assert!(e.contains(w), "{args:?}: {e:?} lacks {w:?}");
        }
        assert!(!cwd.join("results").exists(), "a run directory was made");
    };
    check(
        &["eval", "--suite", "suite.toml"],
        &["suite.toml:4:", "unknown field `timeout`"],
    );
    check(
        &["eval", "--command", "larson=true"],
        &["larson", "built-in workload"],
    );
    check(
        &["eval", "--push", "nothing.txt", "--", "true"],
        &["nothing.txt"],
    );
    check(
        &["eval", "--no-output-check", "--workloads", "small-burst"],
        &["--no-output-check", "user commands"],
    );
    std::fs::write(
        cwd.join("suite-check.toml"),
        "[[command]]\nname = \"a\"\ncommand = \"true\"\ncheck_output = \"no\"\n",
    )
    .unwrap();
    check(
        &["eval", "--suite", "suite-check.toml"],
        &["suite-check.toml:4:", "bool"],
    );
    // An ELF program for another machine: the gate refuses it for the board.
    let mut elf = vec![0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2; // 64-bit
    elf[5] = 1; // little-endian
    elf[6] = 1; // version
    elf[16] = 2; // ET_EXEC
    elf[18] = 183; // EM_AARCH64
    elf[20] = 1;
    elf[52] = 64; // e_ehsize
    std::fs::write(cwd.join("arm-prog"), &elf).unwrap();
    let host_is_arm64 = cfg!(target_arch = "aarch64");
    if !host_is_arm64 {
        check(
            &["eval", "--", "./arm-prog"],
            &["command arm-prog", "gate", "board local"],
        );
    }
    let _ = std::fs::remove_dir_all(&cwd);
    let _ = std::fs::remove_dir_all(board_of(&cwd));
    let _ = std::fs::remove_dir_all(boards_of(&cwd));
}

/// A command printing its LD_PRELOAD: its stdout differs under lwmalloc.
const PRELOAD_ENV_PY: &str = "import os\nprint(os.environ.get('LD_PRELOAD', 'no preload'))\n";

fn rows_of(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["boards"][0]["workloads"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {rows:?}"))
}

#[test]
fn check_output_false_spares_one_command_and_every_report_marks_command_rows() {
    let cwd = scratch("unchecked");
    std::fs::write(cwd.join("env.py"), PRELOAD_ENV_PY).unwrap();
    // The same allocator-dependent program twice: checked (its lwmalloc
    // runs fail) and with `check_output = false` (measured, no failure);
    // a built-in workload beside them.
    std::fs::write(
        cwd.join("suite.toml"),
        "[[command]]\nname = \"preload-env\"\ncommand = \"python3 env.py\"\npush = [\"env.py\"]\n\n\
         [[command]]\nname = \"preload-env-unchecked\"\ncommand = \"python3 env.py\"\npush = [\"env.py\"]\ncheck_output = false\n",
    )
    .unwrap();
    let mut args = EVAL.to_vec();
    args.extend([
        "--suite",
        "suite.toml",
        "--workloads",
        "small-burst",
        "--scale",
        "0.01",
    ]);
    let out = lwm(&cwd, &args);
    assert_eq!(out.status.code(), Some(1), "the checked command fails");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("command preload-env: stdout under lwmalloc differs from under system"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("command preload-env-unchecked:"),
        "{stderr}"
    );
    let run_dir = only_run_dir(&cwd);
    let report = report_json(&run_dir);
    let failed = report["boards"][0]["failed_runs"].as_array().unwrap();
    assert_eq!(failed.len(), 3, "{failed:?}");
    for f in failed {
        assert_eq!(f["workload"], "preload-env", "{f}");
        assert_eq!(f["allocator"], "lwmalloc", "{f}");
    }
    // The unchecked command's outputs do differ, and every run counts.
    let sys = stdout_hashes(&run_dir, "preload-env-unchecked", "system");
    let lwm_h = stdout_hashes(&run_dir, "preload-env-unchecked", "lwmalloc");
    assert_eq!((sys.len(), lwm_h.len()), (3, 3));
    assert_ne!(sys[0], lwm_h[0]);
    let rows = rows_of(&report);
    let unchecked = row(&rows, "preload-env-unchecked");
    for c in unchecked["cells"].as_array().unwrap() {
        assert_eq!(
            (c["n_ok"].as_u64(), c["n_failed"].as_u64()),
            (Some(3), Some(0)),
            "{c}"
        );
    }
    // Kinds: a workload, a checked command, an unchecked one.
    assert_eq!(row(&rows, "small-burst")["kind"], "workload");
    assert!(row(&rows, "small-burst").get("output_check").is_none());
    assert_eq!(row(&rows, "preload-env")["kind"], "command");
    assert_eq!(row(&rows, "preload-env")["output_check"], true);
    assert_eq!(unchecked["kind"], "command");
    assert_eq!(unchecked["output_check"], false);
    let commands = &report["manifest"]["settings"]["commands"];
    assert!(commands[0].get("check_output").is_none(), "{commands}");
    assert_eq!(commands[1]["check_output"], false, "{commands}");

    // report.txt: marks after the names, and their legend.
    let text = std::fs::read_to_string(run_dir.join("report.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let starts = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(
        starts("preload-env [cmd] "),
        2,
        "time and memory rows:\n{text}"
    );
    assert_eq!(
        starts("preload-env-unchecked [cmd, output unchecked] "),
        2,
        "{text}"
    );
    assert_eq!(starts("small-burst "), 2, "{text}");
    assert!(!text.contains("small-burst [cmd"), "{text}");
    assert!(
        text.contains("[cmd] your own command, its stdout compared across allocators"),
        "{text}"
    );
    assert!(
        text.contains("[cmd, output unchecked] your own command, its stdout not compared"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    // report.md.
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(md.contains("| preload-env *(command)* |"), "{md}");
    assert!(
        md.contains("| preload-env-unchecked *(command, output not checked)* |"),
        "{md}"
    );
    assert!(md.contains("| small-burst |"), "{md}");
    // report.html: the rows carry their kind, commands a badge.
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert_eq!(
        html.matches("<tr data-kind=\"workload\"><td>small-burst</td>")
            .count(),
        2
    );
    assert_eq!(
        html.matches("<tr class=\"command\" data-kind=\"command\" data-output-check=\"true\"><td>preload-env <span class=\"kind-command\"").count(),
        2,
        "{html}"
    );
    assert_eq!(
        html.matches(
            "data-output-check=\"false\"><td>preload-env-unchecked <span class=\"kind-command\""
        )
        .count(),
        2
    );
    // report.csv: the last column.
    let csv = std::fs::read_to_string(run_dir.join("report.csv")).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",kind"));
    for l in csv.lines().skip(1) {
        let kind = l.rsplit(',').next().unwrap();
        let want = if l.starts_with("local,small-burst,") {
            "workload"
        } else if l.starts_with("local,preload-env-unchecked,") {
            "command-unchecked"
        } else {
            "command"
        };
        assert_eq!(kind, want, "{l}");
    }
    let _ = std::fs::remove_dir_all(&cwd);
    let _ = std::fs::remove_dir_all(board_of(&cwd));
    let _ = std::fs::remove_dir_all(boards_of(&cwd));
}

#[test]
fn no_output_check_turns_the_check_off_for_every_command() {
    let cwd = scratch("no-check");
    std::fs::write(cwd.join("env.py"), PRELOAD_ENV_PY).unwrap();
    let mut args = EVAL.to_vec();
    args.extend([
        "--no-output-check",
        "--push",
        "env.py",
        "--command",
        "preload-env=python3 env.py",
    ]);
    let out = lwm(&cwd, &args);
    assert_eq!(out.status.code(), Some(0), "no output compared, no failure");
    let run_dir = only_run_dir(&cwd);
    let sys = stdout_hashes(&run_dir, "preload-env", "system");
    let lwm_h = stdout_hashes(&run_dir, "preload-env", "lwmalloc");
    assert_eq!((sys.len(), lwm_h.len()), (3, 3));
    assert_ne!(sys[0], lwm_h[0], "the outputs differ, unchecked");
    let report = report_json(&run_dir);
    assert_eq!(
        report["manifest"]["settings"]["commands"][0]["check_output"],
        false
    );
    assert_eq!(row(&rows_of(&report), "preload-env")["output_check"], false);
    assert!(report["boards"][0]["failed_runs"]
        .as_array()
        .unwrap()
        .is_empty());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("preload-env [cmd, output unchecked]"),
        "{table}"
    );
    // --resume keeps the run's commands: turning the check back on (no
    // --no-output-check, same command) is refused.
    let id = run_dir.file_name().unwrap().to_str().unwrap().to_string();
    let again = lwm(
        &cwd,
        &[
            "eval",
            "--resume",
            &id,
            "--push",
            "env.py",
            "--command",
            "preload-env=python3 env.py",
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    let e = String::from_utf8_lossy(&again.stderr);
    assert!(
        e.contains("(output not checked)") && e.contains("would change the campaign"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&cwd);
    let _ = std::fs::remove_dir_all(board_of(&cwd));
    let _ = std::fs::remove_dir_all(boards_of(&cwd));
}
