//! `lwm eval` on a disk that fills up mid-campaign (a real tmpfs, mounted
//! for the test; root only): the first failed write is the one reported,
//! no temporary file is left, `events.jsonl` stays readable, and after
//! space is freed `--resume` finishes with every earlier file intact.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tmpfs mounted on a fresh directory, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = std::env::temp_dir().join(format!("lwm-full-disk-{}", std::process::id()));
        let _ = Command::new("umount").arg(&dir).status();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir`, with its bytes, relative to `dir`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn temporaries(dir: &Path) -> Vec<String> {
    files(dir)
        .into_keys()
        .filter(|k| k.contains(".tmp"))
        .collect()
}

/// Fills `dir`'s file system: a file grown until the disk refuses more.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    while f.write_all(&block[..1]).is_ok() {}
    path
}

fn events_are_readable(run_dir: &Path) -> usize {
    let text = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    for l in text.lines() {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("events.jsonl line {l:?}: {e}"));
    }
    text.lines().count()
}

#[test]
fn a_disk_that_fills_mid_campaign_loses_nothing_and_resume_finishes() {
    let Some(disk) = SmallDisk::mount("4m") else {
        eprintln!("skipped: cannot mount a tmpfs (not root?)");
        return;
    };
    let results = disk.0.join("results");
    std::fs::create_dir_all(&results).unwrap();
    let lwm = env!("CARGO_BIN_EXE_lwm");
    let args = [
        "eval",
        "--workloads",
        "small-burst,json-telemetry",
        "--allocators",
        "lwmalloc,system",
        "--reps",
        "4",
        "--warmup",
        "0",
        "--scale",
        "0.02",
        "--threads",
        "2",
        "--no-progress",
        "--run-id",
        "full",
    ];
    let child = Command::new(lwm)
        .arg("--results")
        .arg(&results)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run_dir = results.join("full");
    // Fill the disk once a few results are in.
    let start = Instant::now();
    while files(&run_dir.join("raw"))
        .keys()
        .filter(|k| k.contains("/rep-") && !k.contains(".tmp"))
        .count()
        < 3
    {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "no results appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let filler = fill(&disk.0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- first lwm\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed write is a failure: {stderr}"
    );
    let first = stderr
        .lines()
        .find(|l| l.starts_with("lwm: first failed write: "))
        .unwrap_or_else(|| panic!("the first failed write is reported: {stderr}"));
    assert!(
        first.contains("/raw/local/") && !first.contains("manifest.json"),
        "the first failed write is a result file, not the manifest: {first}"
    );
    assert_eq!(temporaries(&run_dir), Vec::<String>::new(), "no debris");
    let before: BTreeMap<String, Vec<u8>> = files(&run_dir.join("raw"));
    assert!(!before.is_empty());

    // A killed lwm leaves a temporary file between write and rename.
    let stray = run_dir.join("raw/local/small-burst/system/rep-009.tmp4242");
    std::fs::remove_file(&filler).unwrap();
    std::fs::write(&stray, b"").unwrap();

    let out = Command::new(lwm)
        .arg("--results")
        .arg(&results)
        .args(["eval", "--resume", "full", "--no-progress"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- resume\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("removed 1 unfinished temporary file(s)")
            && stderr.contains("raw/local/small-burst/system/rep-009.tmp4242"),
        "{stderr}"
    );
    assert_eq!(temporaries(&run_dir), Vec::<String>::new());
    let after = files(&run_dir.join("raw"));
    for (path, bytes) in &before {
        if path.ends_with(".failed.json") {
            continue; // moved aside and run again
        }
        assert_eq!(after.get(path), Some(bytes), "{path} changed on resume");
    }
    let reps = after
        .keys()
        .filter(|k| k.contains("/rep-") && !k.contains("superseded"))
        .count();
    assert_eq!(reps, 2 * 2 * 4, "{:#?}", after.keys());
    assert!(events_are_readable(&run_dir) > 10);
    assert!(run_dir.join("report.html").is_file());
}
