//! Running `lwm` campaigns from tests and reading what they left: a
//! scratch directory with `boards/` and `results/`, the `lwm` binary
//! pointed at both, and readers for the run directory.
//!
//! ```ignore
//! #[path = "support/campaign.rs"]
//! mod campaign;
//! let dir = campaign::scratch("tag");          // fresh dir with boards/
//! let out = campaign::run(&dir, &["eval", ...]);
//! let docs = campaign::raw_files(&dir.join("results/ID"));
//! ```
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A fresh, empty directory under the system temp dir, named after `tag`
/// and this test process.
pub fn empty_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwm-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A fresh directory under the system temp dir with an empty `boards/`.
pub fn scratch(tag: &str) -> PathBuf {
    let d = empty_dir(&format!("campaign-{tag}"));
    std::fs::create_dir_all(d.join("boards")).unwrap();
    d
}

/// The `lwm` binary, writing its run directories under `results`.
pub fn lwm_with_results(results: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lwm"));
    c.arg("--results").arg(results);
    c
}

/// `lwm --results DIR/results --boards-dir DIR/boards ARGS`.
pub fn lwm(dir: &Path, args: &[&str]) -> Command {
    let mut c = lwm_with_results(&dir.join("results"));
    c.arg("--boards-dir").arg(dir.join("boards")).args(args);
    c
}

/// Echoes what `lwm ARGS` did, for the test log.
pub fn show(args: &[&str], out: &Output) {
    eprintln!(
        "lwm {args:?} -> {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `command`, which is `lwm ARGS`, to the end and shows it.
pub fn output(mut command: Command, args: &[&str]) -> Output {
    let out = command.output().expect("lwm runs");
    show(args, &out);
    out
}

/// Runs `lwm ARGS` to the end, echoing its output for the test log.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    output(lwm(dir, args), args)
}

/// Runs `lwm ARGS` in `cwd` with its results in `cwd/results` and the
/// shipped boards (what `lwm qualify` is run like).
pub fn run_in(cwd: &Path, args: &[&str]) -> Output {
    let mut command = lwm_with_results(&cwd.join("results"));
    command.current_dir(cwd).args(args);
    output(command, args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `run_dir/raw` (outside `superseded/`), relative to
/// `run_dir`, with its bytes.
pub fn raw_files(run_dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                if e.file_name() != "superseded" {
                    walk(&p, root, out);
                }
            } else if let Ok(bytes) = std::fs::read(&p) {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&run_dir.join("raw"), run_dir, &mut out);
    out
}

/// The repetition documents among `raw_files` (`rep-NNN.json`).
pub fn rep_docs(run_dir: &Path) -> BTreeMap<String, Vec<u8>> {
    raw_files(run_dir)
        .into_iter()
        .filter(|(k, _)| is_rep_doc(k))
        .collect()
}

/// `.../rep-NNN.json`, not a failed-run record nor a temporary file.
pub fn is_rep_doc(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with("rep-") && name.ends_with(".json") && !name.ends_with(".failed.json")
}

/// The `*.failed.json` records among `raw_files`.
pub fn failed_records(run_dir: &Path) -> Vec<String> {
    raw_files(run_dir)
        .into_keys()
        .filter(|k| k.ends_with(".failed.json"))
        .collect()
}

/// Asserts every file of `before` is still in `run_dir` with the same
/// bytes (failed-run records excepted: `--resume` moves them aside and
/// makes the run again; and a document still being written when `before`
/// was taken, `NAME.tmpPID`, which becomes `NAME.json` a moment later).
pub fn assert_kept(run_dir: &Path, before: &BTreeMap<String, Vec<u8>>) {
    let now = raw_files(run_dir);
    for (path, bytes) in before {
        let name = path.rsplit('/').next().unwrap_or(path);
        if path.ends_with(".failed.json") || name.contains(".tmp") {
            continue;
        }
        assert!(now.get(path) == Some(bytes), "{path} changed or vanished");
    }
}

pub fn manifest(run_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap()
}

/// `events.jsonl`, every line parsed (a line that is not JSON fails).
pub fn events(run_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run_dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("events.jsonl {l:?}: {e}")))
        .collect()
}

/// The events named `name`.
pub fn events_named(run_dir: &Path, name: &str) -> Vec<serde_json::Value> {
    events(run_dir)
        .into_iter()
        .filter(|e| e["event"] == name)
        .collect()
}

/// Polls `ready` every 20 ms until it holds; panics after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "no {what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
