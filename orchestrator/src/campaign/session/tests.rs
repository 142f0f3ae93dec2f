//! A board's session against an in-memory board
//! ([`MemoryTransport`](crate::transport::memory::MemoryTransport)): what
//! it does with failed runs and a dropped connection, without a board.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::super::locked_transport::LockedTransport;
use super::super::plan::AllocatorChoice;
use super::super::store::Store;
use super::{BoardJob, BoardOutcome, Session};
use crate::board::{Access, BoardProfile, Emulation, Timeouts};
use crate::build::{Artifacts, Footprint};
use crate::manifest::{Manifest, Settings, Toolchain, MANIFEST_SCHEMA, MANIFEST_VERSION};
use crate::transport::memory::{disconnected, exited, Log, MemoryTransport, Script};
use crate::transport::{ErrorKind, ExecOutput, TransportError};

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "lwm-session-{name}-{}-{}",
            std::process::id(),
            super::super::unix_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn board(work_dir: &Path) -> BoardProfile {
    BoardProfile {
        name: "mem".into(),
        description: String::new(),
        file: PathBuf::from("boards/mem.toml"),
        file_sha256: "ab".repeat(32),
        target: crate::build::host_triple(),
        cpu: "native".into(),
        glibc: None,
        access: Access::Local,
        provider: None,
        work_dir: work_dir.display().to_string(),
        allocators: Default::default(),
        emulation: Emulation::None,
        workload_scale: 1.0,
        timeouts: Timeouts::default(),
    }
}

/// A job of `reps` repetitions of workload `w` under `system` on `board`,
/// its run directory in `dir`.
fn job(dir: &Path, board: BoardProfile, reps: u32) -> BoardJob {
    let settings = Settings {
        workloads: vec!["w".into()],
        allocators: vec!["system".into()],
        warmup: 0,
        reps,
        target_ci: None,
        max_reps: reps,
        scale: 1.0,
        threads: Some(1),
        seed: 1,
        noise_threshold: 0.02,
        commands: Vec::new(),
        duration_s: None,
    };
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.into(),
        schema_version: MANIFEST_VERSION,
        run_id: "run".into(),
        project_commit: None,
        project_dirty: None,
        toolchain: Toolchain {
            rustc: None,
            cargo: None,
            build_flags: Vec::new(),
        },
        settings: settings.clone(),
        boards: vec![super::super::board_entry(&board)],
        started_unix_ms: 0,
        ended_unix_ms: None,
        resumed_unix_ms: Vec::new(),
    };
    let store = Store::create(&dir.join("results"), manifest).unwrap();
    let none = PathBuf::from("/nonexistent");
    BoardJob {
        board,
        artifacts: Artifacts {
            target: crate::build::host_triple(),
            liblwmalloc: none.clone(),
            agent: none.clone(),
            workload: none,
            footprint: Footprint {
                liblwmalloc_bytes: 0,
                agent_bytes: 0,
                workload_bytes: 0,
            },
        },
        settings,
        store: Arc::new(store),
        cancel: Arc::new(AtomicBool::new(false)),
        progress: ProgressBar::hidden(),
        workspace: dir.to_path_buf(),
    }
}

/// A memory board whose board lock always answers as free and ours, and
/// whose agent runs answer `agent` in turn.
fn memory_board(work_dir: &str, agent: Vec<Result<ExecOutput, TransportError>>) -> MemoryTransport {
    let mut agent = agent.into_iter();
    let script: Script = Box::new(move |argv, _env| {
        if argv[0].ends_with("/bin/lwm-agent") {
            return agent.next().expect("no more agent runs scripted");
        }
        // The board lock's shell scripts (see board_lock.rs).
        let lock = argv.get(2).map(String::as_str).unwrap_or_default();
        let said: &[u8] = if lock.contains("mkdir") {
            b"ACQUIRED\n"
        } else if lock.contains("touch") {
            b"OURS\n"
        } else {
            b"RELEASED\n"
        };
        Ok(exited(0, said))
    });
    MemoryTransport::new("mem", work_dir, script)
}

/// The session `Session::open` would make on `t`, without the artifacts'
/// gate, push and doctor.
fn session<'a>(job: &'a BoardJob, t: MemoryTransport) -> Session<'a> {
    let work_dir = job.board.work_dir.clone();
    let transport = LockedTransport::lock(Box::new(t), &job.board, job.store.clone(), &|_| {})
        .expect("the memory board's lock is free");
    Session {
        job,
        transport,
        provided: None,
        deadline: Instant::now() + Duration::from_secs(600),
        work_dir,
        workloads: vec!["w".into()],
        allocators: vec![AllocatorChoice {
            name: "system".into(),
            path: None,
            unusable: None,
        }],
        threads: 1,
        runs: 0,
        failed_runs: 0,
        no_result: 0,
    }
}

fn agent_runs(log: &Arc<Mutex<Log>>) -> usize {
    let log = log.lock().unwrap();
    log.execs
        .iter()
        .filter(|a| a[0].ends_with("/bin/lwm-agent"))
        .count()
}

/// The `error` of every failed-run record of the board, in run order.
fn failure_errors(job: &BoardJob) -> Vec<String> {
    let mut records = super::super::store::failed_records(job.store.dir(), "mem");
    records.sort();
    records
        .iter()
        .map(|path| {
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            doc["error"].as_str().unwrap().to_string()
        })
        .collect()
}

fn events(job: &BoardJob) -> String {
    std::fs::read_to_string(job.store.dir().join("events.jsonl")).unwrap()
}

#[test]
fn a_failed_run_is_recorded_and_the_next_one_still_runs() {
    let dir = Scratch::new("failed");
    let job = job(&dir.0, board(Path::new("/w")), 3);
    let mut crashed = exited(2, b"");
    crashed.stderr = b"boom\n".to_vec();
    let t = memory_board(
        "/w",
        vec![
            Ok(crashed),
            Err(TransportError::new(
                ErrorKind::Timeout,
                "mem",
                "no answer in 660 s",
            )),
            Ok(exited(1, b"not a document")),
        ],
    );
    let log = t.log();
    let outcome = session(&job, t).campaign();
    assert_eq!(
        outcome,
        BoardOutcome::Done {
            runs: 3,
            failed_runs: 3,
            no_result: 3
        }
    );
    assert_eq!(
        agent_runs(&log),
        3,
        "each repetition ran after the one before failed"
    );
    let errors = failure_errors(&job);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0], "agent exited with status 2: no output (boom)");
    assert!(errors[1].contains("no answer in 660 s"), "{}", errors[1]);
    assert!(
        errors[2].starts_with("agent exited with status 1: "),
        "{}",
        errors[2]
    );
    assert_eq!(events(&job).matches("\"run_failed\"").count(), 3);
}

#[test]
fn a_transport_error_other_than_a_timeout_stops_the_board() {
    let dir = Scratch::new("stops");
    let job = job(&dir.0, board(Path::new("/w")), 2);
    let t = memory_board(
        "/w",
        vec![Err(TransportError::new(
            ErrorKind::Other,
            "mem",
            "channel refused",
        ))],
    );
    let log = t.log();
    let outcome = session(&job, t).campaign();
    let BoardOutcome::Failed(why) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(why.contains("channel refused"), "{why}");
    assert!(why.contains("(during mem/w/system rep 0)"), "{why}");
    assert_eq!(agent_runs(&log), 1, "nothing runs after the board is lost");
}

#[test]
fn a_lost_connection_reconnects_and_the_run_is_made_again() {
    let dir = Scratch::new("reconnect");
    // Reconnecting opens the profile's transport: here this machine, in
    // a work dir without an agent, so the run made again fails with 127.
    let work = dir.0.join("work");
    let job = job(&dir.0, board(&work), 1);
    let t = memory_board(
        work.to_str().unwrap(),
        vec![Err(disconnected("mem", "connection reset"))],
    );
    let log = t.log();
    let outcome = session(&job, t).campaign();
    assert_eq!(
        outcome,
        BoardOutcome::Done {
            runs: 1,
            failed_runs: 1,
            no_result: 1
        }
    );
    assert_eq!(
        agent_runs(&log),
        1,
        "the memory board saw the lost run only"
    );
    let events = events(&job);
    assert!(events.contains("\"connection_lost\""), "{events}");
    assert!(events.contains("\"reconnected\""), "{events}");
    assert_eq!(events.matches("\"run_started\"").count(), 2, "{events}");
    let incidents = job.store.manifest().boards[0].incidents.clone();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(
        incidents[0].starts_with(
            "connection lost during mem/w/system rep 0 (connection reset); reconnected, the run made again"
        ),
        "{}",
        incidents[0]
    );
    let errors = failure_errors(&job);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("agent exited with status 127"),
        "{}",
        errors[0]
    );
}
