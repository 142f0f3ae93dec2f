//! `lwm eval` over SSH against a real OpenSSH server on 127.0.0.1: push,
//! run, collect; two boards in one campaign; a board whose connection dies
//! mid-campaign keeps every finished result and resumes later.

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/local_board.rs"]
mod local_board;
#[path = "support/sshd.rs"]
mod sshd;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use campaign::{lwm, manifest, run, scratch};
use sshd::TestSshd;

/// Writes `boards/NAME.toml` describing the test server, plus the shipped
/// local profile (with a work dir in `dir`) so `--board local` works from
/// the same dir.
fn write_profile(dir: &Path, name: &str, server: &TestSshd, work_dir: &Path) {
    let text = server.profile_text("OpenSSH on loopback (test)", work_dir);
    std::fs::write(dir.join("boards").join(format!("{name}.toml")), text).unwrap();
    // Its own work dir: this binary's tests run at once.
    local_board::write(&dir.join("boards"), &dir.join("local-board"));
}

/// The repetition documents of `board`, as `campaign::rep_docs` names them.
fn rep_docs(run_dir: &Path, board: &str) -> BTreeMap<String, Vec<u8>> {
    let prefix = format!("raw/{board}/");
    campaign::rep_docs(run_dir)
        .into_iter()
        .filter(|(path, _)| path.starts_with(&prefix))
        .collect()
}

#[test]
fn two_boards_one_over_ssh_in_one_campaign() {
    let dir = scratch("two");
    let server = TestSshd::start();
    let work = dir.join("board-work");
    write_profile(&dir, "sshbox", &server, &work);
    let out = run(
        &dir,
        &[
            "eval",
            "--board",
            "sshbox",
            "--board",
            "local",
            "--workloads",
            "small-burst,log-config",
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "2",
            "--warmup",
            "1",
            "--scale",
            "0.02",
            "--run-id",
            "two",
            "--no-progress",
        ],
    );
    assert!(out.status.success(), "sshd log:\n{}", server.log());
    let run_dir = dir.join("results/two");
    let m = manifest(&run_dir);
    for b in m["boards"].as_array().unwrap() {
        assert_eq!(b["status"], "done", "{b}");
    }
    for board in ["sshbox", "local"] {
        let docs = rep_docs(&run_dir, board);
        assert_eq!(docs.len(), 2 * 2 * 2, "{board}: {:#?}", docs.keys());
        for (path, bytes) in docs {
            let doc: lwm_contract::schema::RunDocument = serde_json::from_slice(&bytes).unwrap();
            assert!(doc.runs[0].ok, "{path}");
        }
    }
    // The SSH board ran the pushed copies, verified by checksum.
    let ssh_entry = m["boards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "sshbox")
        .unwrap();
    for a in ssh_entry["artifacts"].as_array().unwrap() {
        let on_board = a["board_path"].as_str().unwrap();
        assert!(on_board.starts_with(work.to_str().unwrap()), "{on_board}");
        let bytes = std::fs::read(on_board).unwrap();
        assert_eq!(
            a["sha256"].as_str().unwrap(),
            lwm_contract::sha256::sha256_hex(&bytes)
        );
    }
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("sshbox") && table.contains("local"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_board_lost_mid_campaign_keeps_its_results_and_resumes() {
    let dir = scratch("drop");
    let mut server = TestSshd::start();
    let work = dir.join("board-work");
    write_profile(&dir, "flaky", &server, &work);
    let mut child = lwm(
        &dir,
        &[
            "eval",
            "--board",
            "flaky",
            "--workloads",
            "small-burst,json-telemetry",
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "4",
            "--warmup",
            "0",
            "--scale",
            "0.05",
            "--run-id",
            "drop",
            "--no-progress",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let run_dir = dir.join("results/drop");
    let start = Instant::now();
    while rep_docs(&run_dir, "flaky").len() < 3 {
        assert!(start.elapsed() < Duration::from_secs(600), "no results");
        assert!(child.try_wait().unwrap().is_none(), "lwm ended too early");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The board dies: sshd and everything it started, mid-run.
    server.handle().kill_all();
    let killed_at = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        killed_at.elapsed() < Duration::from_secs(60),
        "a dead board is noticed promptly"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("board flaky"), "{stderr}");
    assert!(stderr.contains("reconnect failed"), "{stderr}");
    let m = manifest(&run_dir);
    assert_eq!(m["boards"][0]["status"], "failed");
    assert!(m["boards"][0]["error"].as_str().unwrap().contains("flaky"));
    let kept = rep_docs(&run_dir, "flaky");
    assert!(kept.len() >= 3, "finished results stay on disk");
    assert!(
        run_dir.join("report.txt").is_file(),
        "partial report written"
    );

    // The board comes back (new server, new port): resume finishes the job.
    server.stop();
    let server2 = TestSshd::start();
    write_profile(&dir, "flaky", &server2, &work);
    let out = run(&dir, &["eval", "--resume", "drop", "--no-progress"]);
    assert!(
        out.status.success(),
        "resume failed; sshd log:\n{}",
        server2.log()
    );
    let all = rep_docs(&run_dir, "flaky");
    assert_eq!(all.len(), 2 * 2 * 4);
    for (path, bytes) in &kept {
        assert_eq!(all.get(path), Some(bytes), "{path} rewritten on resume");
    }
    assert_eq!(manifest(&run_dir)["boards"][0]["status"], "done");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An owner record for `WORK/.lwm-lock/owner`, as an lwm writes it.
fn lock_owner(run_id: &str, pid: u32, pid_start: u64, host: &str, stale_after_s: u64) -> String {
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    serde_json::json!({
        "run_id": run_id, "pid": pid, "host": host, "boot_id": boot_id.trim(),
        "pid_start": pid_start, "since_unix_ms": 1_700_000_000_000u64,
        "stale_after_s": stale_after_s,
    })
    .to_string()
}

/// This machine's name and this process's start time, as lwm reads them.
fn this_host_and_start() -> (String, u64) {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let start = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    (host.trim().to_string(), start)
}

/// The board lock on an SSH board: a lock held by a live lwm refuses the
/// campaign with one line naming the board and the holder, before
/// anything is pushed; a lock whose owner on this host is gone, or whose
/// owner on another host stopped refreshing it, is taken over, saying so.
#[test]
fn a_locked_ssh_board_is_refused_and_a_dead_owners_lock_taken_over() {
    let dir = scratch("lock");
    let server = TestSshd::start();
    let work = dir.join("board-work");
    write_profile(&dir, "sshbox", &server, &work);
    let lock = work.join(".lwm-lock");
    std::fs::create_dir_all(&lock).unwrap();
    let args = |id: &'static str| {
        [
            "eval",
            "--board",
            "sshbox",
            "--workloads",
            "small-burst",
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--scale",
            "0.02",
            "--no-progress",
            "--run-id",
            id,
        ]
    };
    let (host, start) = this_host_and_start();
    let refused = |id: &'static str, holder: &str| {
        let out = run(&dir, &args(id));
        assert_eq!(out.status.code(), Some(1), "sshd log:\n{}", server.log());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("in use")).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].starts_with(&format!("lwm: board sshbox is in use by {holder}")),
            "{stderr}"
        );
        assert!(!work.join("bin").exists(), "pushed to a locked board");
    };

    // Held by a live process of this host (this test).
    let me = lock_owner("holder-1", std::process::id(), start, &host, 600);
    std::fs::write(lock.join("owner"), format!("{me}\n")).unwrap();
    refused(
        "r1",
        &format!(
            "run holder-1 (lwm pid {} on host {host} since 2023-11-14 22:13:20 UTC)",
            std::process::id()
        ),
    );
    assert_eq!(
        std::fs::read_to_string(lock.join("owner")).unwrap(),
        format!("{me}\n")
    );

    // Held from another host and refreshed recently: refused too.
    let far = lock_owner("holder-2", 4242, 1, "elsewhere", 600);
    std::fs::write(lock.join("owner"), format!("{far}\n")).unwrap();
    refused("r2", "run holder-2 (lwm pid 4242 on host elsewhere since ");

    // ... but not refreshed for longer than its owner promised: taken over.
    let old = Command::new("touch")
        .args(["-d", "2020-01-01"])
        .arg(lock.join("owner"))
        .status()
        .unwrap();
    assert!(old.success());
    let out = run(&dir, &args("r3"));
    assert!(out.status.success(), "sshd log:\n{}", server.log());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "board sshbox: took over a stale lock: run holder-2 (lwm pid 4242 on host elsewhere"
        ) && stderr.contains("lock not refreshed for "),
        "{stderr}"
    );
    assert!(!lock.exists(), "the lock is released at the end");

    // Left by an lwm of this host that is gone (a pid that exited).
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    std::fs::create_dir_all(&lock).unwrap();
    let dead_owner = lock_owner("holder-3", dead, 1, &host, 600);
    std::fs::write(lock.join("owner"), format!("{dead_owner}\n")).unwrap();
    let out = run(&dir, &args("r4"));
    assert!(out.status.success(), "sshd log:\n{}", server.log());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "board sshbox: took over a stale lock: run holder-3 (lwm pid {dead} on host {host}"
        )) && stderr.contains("no such process on this host"),
        "{stderr}"
    );
    assert!(!lock.exists(), "the lock is released at the end");
    let _ = std::fs::remove_dir_all(&dir);
}
