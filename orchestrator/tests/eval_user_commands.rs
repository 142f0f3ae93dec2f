//! `lwm eval` of users' own programs on the local board: a python3 script
//! pushed with `--push`, the sqlite3 CLI from a suite file, a command whose
//! output depends on the allocator (a failure, named), and bad input
//! (a broken suite file, an ELF program for another machine) refused.

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
    assert_eq!(report["manifest"]["schema_version"], 4);
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
