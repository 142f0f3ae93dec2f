//! Faults on a board mid-campaign, made with real parts: the board is a
//! real OpenSSH server on 127.0.0.1 (`support/sshd.rs`) running the pushed
//! agent, and each fault is done to it for real. The connection dropped
//! (the session's sshd processes killed, the daemon left running), the
//! agent killed on the board, and the board's disk full (its work dir on a
//! small tmpfs; root only, like `full_disk.rs`). Each fault must be
//! reported as what it is, naming the board and the run; every result
//! already on disk stays byte for byte; `lwm eval --resume` completes the
//! campaign.

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/sshd.rs"]
mod sshd;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use campaign::{
    assert_kept, events_named, failed_records, lwm, manifest, raw_files, rep_docs, run, scratch,
    wait_until,
};
use sshd::TestSshd;

/// Writes `boards/NAME.toml`: the test server as an SSH board whose work
/// directory is `work_dir`.
fn write_profile(dir: &Path, name: &str, server: &TestSshd, work_dir: &Path) {
    let text = server.profile_text("OpenSSH on loopback (fault test)", work_dir);
    std::fs::write(dir.join("boards").join(format!("{name}.toml")), text).unwrap();
}

const WORKLOADS: &str = "small-burst,json-telemetry";
const ALLOCATORS: usize = 2;

/// `eval` on `board`: two workloads, lwmalloc against system, `reps`
/// repetitions at a scale where one run takes about half a second here
/// (long enough to be caught running).
fn eval_args<'a>(board: &'a str, run_id: &'a str, reps: &'a str) -> Vec<&'a str> {
    vec![
        "eval",
        "--board",
        board,
        "--workloads",
        WORKLOADS,
        "--allocators",
        "lwmalloc,system",
        "--reps",
        reps,
        "--warmup",
        "0",
        "--scale",
        "0.5",
        "--threads",
        "2",
        "--run-id",
        run_id,
        "--no-progress",
    ]
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    lwm(dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lwm starts")
}

fn finish(child: Child) -> (Output, String) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("--- lwm -> {:?}\n{stderr}", out.status);
    (out, stderr)
}

/// Waits until `n` repetitions are on disk and then for an agent to start
/// on the board: returns its pid. Caught as it starts, it has a whole
/// run (about half a second) still before it.
fn wait_for_a_run_in_progress(
    run_dir: &Path,
    server: &TestSshd,
    n: usize,
    child: &mut Child,
) -> u32 {
    let mut running = || {
        assert!(
            child.try_wait().unwrap().is_none(),
            "lwm ended before the fault"
        );
    };
    wait_until(Duration::from_secs(300), "results", || {
        running();
        rep_docs(run_dir).len() >= n
    });
    let seen = agents(server);
    let mut fresh = None;
    wait_until(Duration::from_secs(60), "a new run", || {
        running();
        fresh = agents(server).into_iter().find(|p| !seen.contains(p));
        fresh.is_some()
    });
    fresh.unwrap()
}

/// The board's running agents: processes named lwm-agent, not the
/// launcher each forks (also named lwm-agent).
fn agents(server: &TestSshd) -> Vec<u32> {
    server
        .handle()
        .named("lwm-agent")
        .into_iter()
        .filter(|&p| {
            sshd::parent_pid(p).and_then(sshd::command_name).as_deref() != Some("lwm-agent")
        })
        .collect()
}

fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

/// The one line of `stderr` containing `needle`.
fn line_with<'a>(stderr: &'a str, needle: &str) -> &'a str {
    stderr
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{stderr}"))
}

/// `BOARD/WORKLOAD/ALLOCATOR rep N` (the run named in a message) as the
/// raw path of its document.
fn doc_path_of(message: &str, board: &str) -> String {
    let start = message
        .find(&format!("{board}/"))
        .unwrap_or_else(|| panic!("no run of {board} named in {message:?}"));
    let words: Vec<&str> = message[start..].split_whitespace().collect();
    assert_eq!(words[1], "rep", "{message}");
    let index: u32 = words[2]
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap();
    format!("raw/{}/rep-{index:03}.json", words[0])
}

fn all_reps(reps: usize) -> usize {
    WORKLOADS.split(',').count() * ALLOCATORS * reps
}

#[test]
fn a_dropped_connection_is_reconnected_and_the_lost_run_made_again() {
    let dir = scratch("drop-once");
    let server = TestSshd::start();
    write_profile(&dir, "flaky", &server, &dir.join("board-work"));
    let run_dir = dir.join("results/once");
    let mut child = spawn(&dir, &eval_args("flaky", "once", "3"));
    let agent = wait_for_a_run_in_progress(&run_dir, &server, 2, &mut child);
    // The agent is held (SIGSTOP) so that it is surely still there when
    // its connection drops, as a long run on a real board would be.
    sshd::send_signal(agent, libc::SIGSTOP);
    let before = raw_files(&run_dir);
    let killed = server.handle().drop_connections();
    assert!(!killed.is_empty(), "no session to drop");
    let (out, stderr) = finish(child);

    // Reported as a lost connection, naming the board and the run, and
    // survived: the run was made again and the campaign finished.
    let lost = line_with(&stderr, "connection lost during");
    assert!(lost.contains("board flaky"), "{lost}");
    assert!(lost.contains("reconnected"), "{lost}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let redone = doc_path_of(lost, "flaky");
    let docs = rep_docs(&run_dir);
    assert!(
        docs.contains_key(&redone),
        "{redone} missing: {:#?}",
        docs.keys()
    );
    assert_eq!(docs.len(), all_reps(3), "{:#?}", docs.keys());
    assert_eq!(failed_records(&run_dir), Vec::<String>::new());
    assert_kept(&run_dir, &before);
    let m = manifest(&run_dir);
    assert_eq!(m["boards"][0]["status"], "done");
    let incidents = m["boards"][0]["incidents"].to_string();
    assert!(
        incidents.contains("connection lost during flaky/"),
        "{incidents}"
    );
    assert_eq!(events_named(&run_dir, "connection_lost").len(), 1);
    assert_eq!(events_named(&run_dir, "reconnected").len(), 1);
    let report = std::fs::read_to_string(run_dir.join("report.txt")).unwrap();
    assert!(report.contains("connection lost during flaky/"), "{report}");
    // The agent of the lost connection did not run on beside the run made
    // again: lwm stopped it, and said so.
    assert!(!is_running(agent), "the lost run's agent still runs");
    assert!(lost.contains("still ran on the board: stopped"), "{lost}");
    assert!(server.handle().named("lwm-agent").is_empty());
    assert!(server.handle().named("lwm-workload").is_empty());

    // Nothing is left to do.
    let again = run(&dir, &["eval", "--resume", "once", "--no-progress"]);
    assert_eq!(again.status.code(), Some(0));
    assert_kept(&run_dir, &raw_files(&run_dir));
    assert_eq!(rep_docs(&run_dir), docs);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_connection_lost_again_after_reconnecting_fails_the_board_and_resume_finishes() {
    let dir = scratch("drop-twice");
    let server = TestSshd::start();
    let work = dir.join("board-work");
    write_profile(&dir, "flaky", &server, &work);
    let run_dir = dir.join("results/twice");
    let mut child = spawn(&dir, &eval_args("flaky", "twice", "3"));
    let first = wait_for_a_run_in_progress(&run_dir, &server, 2, &mut child);
    let h = server.handle();
    h.drop_connections();
    // The run made again after the reconnect: drop that one too.
    wait_until(Duration::from_secs(60), "the run made again", || {
        assert!(child.try_wait().unwrap().is_none(), "lwm ended early");
        agents(&server).iter().any(|&p| p != first)
    });
    let before = raw_files(&run_dir);
    h.drop_connections();
    let (out, stderr) = finish(child);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let failed = line_with(&stderr, "lwm: board flaky: connection lost again");
    let lost_run = doc_path_of(failed, "flaky");
    assert!(
        stderr.contains("lwm eval --resume twice"),
        "says how to continue: {stderr}"
    );
    let m = manifest(&run_dir);
    assert_eq!(m["boards"][0]["status"], "failed");
    assert!(
        m["boards"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("lost again")),
        "{}",
        m["boards"][0]
    );
    assert_kept(&run_dir, &before);
    let report = std::fs::read_to_string(run_dir.join("report.txt")).unwrap();
    assert!(report.contains("board failed: "), "{report}");

    let out = run(&dir, &["eval", "--resume", "twice", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0));
    let docs = rep_docs(&run_dir);
    assert_eq!(docs.len(), all_reps(3), "{:#?}", docs.keys());
    assert!(docs.contains_key(&lost_run), "{lost_run}");
    assert_kept(&run_dir, &before);
    assert_eq!(manifest(&run_dir)["boards"][0]["status"], "done");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_agent_killed_on_the_board_fails_its_run_only_and_resume_makes_it_again() {
    let dir = scratch("agent-killed");
    let server = TestSshd::start();
    write_profile(&dir, "victim", &server, &dir.join("board-work"));
    let run_dir = dir.join("results/killed");
    let mut child = spawn(&dir, &eval_args("victim", "killed", "3"));
    let agent = wait_for_a_run_in_progress(&run_dir, &server, 2, &mut child);
    sshd::send_signal(agent, libc::SIGKILL);
    let before = raw_files(&run_dir);
    let (out, stderr) = finish(child);

    // The run failed as what it was; the campaign went on to the end.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let killed = line_with(&stderr, "killed by signal");
    assert!(
        killed.starts_with("board victim: victim/"),
        "names the board and the run: {killed}"
    );
    assert!(killed.contains("SIGKILL"), "names the signal: {killed}");
    let lost_run = doc_path_of(killed, "victim");
    let failed = failed_records(&run_dir);
    assert_eq!(
        failed,
        vec![lost_run.replace(".json", ".failed.json")],
        "exactly the killed run failed"
    );
    assert_eq!(rep_docs(&run_dir).len(), all_reps(3) - 1);
    assert_kept(&run_dir, &before);
    let report = std::fs::read_to_string(run_dir.join("report.txt")).unwrap();
    assert!(report.contains("killed by signal"), "{report}");
    assert!(
        stderr.contains("lwm eval --resume killed"),
        "says how to continue: {stderr}"
    );

    // --resume makes the killed run again, and only it.
    let out = run(&dir, &["eval", "--resume", "killed", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0));
    let docs = rep_docs(&run_dir);
    assert_eq!(docs.len(), all_reps(3), "{:#?}", docs.keys());
    assert!(docs.contains_key(&lost_run), "{lost_run}");
    assert_eq!(failed_records(&run_dir), Vec::<String>::new());
    assert_kept(&run_dir, &before);
    let events = campaign::events(&run_dir);
    let resumed_at = events
        .iter()
        .position(|e| e["event"] == "campaign_resumed")
        .expect("resumed");
    let made_again: Vec<String> = events[resumed_at..]
        .iter()
        .filter(|e| e["event"] == "run_started")
        .map(|e| e["run"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(made_again.len(), 1, "{made_again:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A tmpfs mounted on a fresh directory, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(tag: &str, size: &str) -> Option<SmallDisk> {
        let dir = std::env::temp_dir().join(format!("lwm-board-disk-{tag}-{}", std::process::id()));
        let _ = Command::new("umount")
            .arg(&dir)
            .stderr(Stdio::null())
            .status();
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

    /// Grows a file until the disk refuses more.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&block[..1]).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_full_disk_on_the_board_is_named_as_such_and_resume_finishes_once_space_is_freed() {
    // 100 MiB free is what lwm-agent doctor asks of a work directory.
    let Some(disk) = SmallDisk::mount("full", "128m") else {
        eprintln!("skipped: cannot mount a tmpfs (not root?)");
        return;
    };
    let dir = scratch("board-disk");
    let server = TestSshd::start();
    let work = disk.0.join("work");
    write_profile(&dir, "cramped", &server, &work);
    let run_dir = dir.join("results/disk");
    let mut child = spawn(&dir, &eval_args("cramped", "disk", "2"));
    // The disk fills while the board runs: the runs themselves write
    // nothing there, so the campaign goes on.
    wait_for_a_run_in_progress(&run_dir, &server, 2, &mut child);
    let filler = disk.fill();
    let (out, stderr) = finish(child);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let done = raw_files(&run_dir);
    assert_eq!(rep_docs(&run_dir).len(), all_reps(2));

    // Then the campaign wants more, and the board must take a new file
    // (a newer build): the first file it writes there, the owner record of
    // its board lock, finds no space.
    let started = Instant::now();
    std::fs::remove_file(work.join("bin/lwm-workload")).unwrap();
    disk.fill();
    let out = run(
        &dir,
        &[
            "eval",
            "--resume",
            "disk",
            "--extend",
            "--reps",
            "3",
            "--no-progress",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let full = line_with(&stderr, "no space left");
    assert!(full.starts_with("lwm: board cramped: "), "{full}");
    assert!(full.contains(".lwm-lock/owner"), "names the file: {full}");
    assert!(
        !work.join(".lwm-lock").exists(),
        "no lock is left behind: {full}"
    );
    assert!(
        full.contains(&work.display().to_string()),
        "names the work dir: {full}"
    );
    assert!(stderr.contains("lwm eval --resume disk"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));
    // No half-written upload is left to fill the board further.
    let debris: Vec<_> = std::fs::read_dir(work.join("bin"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("lwm-push"))
        .collect();
    assert!(debris.is_empty(), "{debris:?}");
    assert_kept(&run_dir, &done);
    let m = manifest(&run_dir);
    assert_eq!(m["boards"][0]["status"], "failed");

    // Space again: resume finishes the extended campaign.
    std::fs::remove_file(&filler).unwrap();
    let out = run(&dir, &["eval", "--resume", "disk", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rep_docs(&run_dir).len(), all_reps(3));
    assert_kept(&run_dir, &done);
    assert_eq!(manifest(&run_dir)["boards"][0]["status"], "done");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
