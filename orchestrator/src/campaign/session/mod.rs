//! One board's part of a campaign, run on its own blocking thread: gate the
//! artifacts, connect, push, check the board, then every workload under
//! every allocator, interleaved, each result saved the moment it arrives.
//!
//! One file per phase: `start` (a provided board: VM, container, place),
//! `open` (gate, hash, push, doctor, the board's plan), `schedule` (the
//! interleaved order of runs), `run` (one agent run, reconnects), `record`
//! (failures, incidents, lines for the user) and `argv` (the agent's
//! command line).

mod argv;
mod open;
mod record;
mod run;
mod schedule;
mod start;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::rundir::Event;
use indicatif::ProgressBar;

use crate::board::BoardProfile;
use crate::build::Artifacts;
use crate::manifest::Settings;

use super::locked_transport::LockedTransport;
use super::plan::AllocatorChoice;
use super::store::Store;
use start::start_provided;

/// Everything one board's thread needs.
pub struct BoardJob {
    pub board: BoardProfile,
    pub artifacts: Artifacts,
    pub settings: Settings,
    pub store: Arc<Store>,
    /// Set on Ctrl-C: finish the current run, then stop.
    pub cancel: Arc<AtomicBool>,
    pub progress: ProgressBar,
    /// Workspace root: emulated boards build their images from its
    /// `images/` recipes.
    pub workspace: std::path::PathBuf,
}

/// How a board's campaign ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardOutcome {
    /// Every planned run was made (`failed_runs` of them failed;
    /// `no_result` of those left no agent document, and `--resume` makes
    /// them again).
    Done {
        runs: u32,
        failed_runs: u32,
        no_result: u32,
    },
    /// The board could not be used or was lost; the message is one line.
    Failed(String),
    /// Stopped by Ctrl-C; `lwm eval --resume` continues.
    Interrupted,
}

/// Seconds the orchestrator waits for the agent beyond the agent's own
/// per-run timeout before giving up on the command.
const AGENT_GRACE: Duration = Duration::from_secs(60);

/// Files pushed to the board, relative to its work_dir.
const AGENT_REL: &str = "bin/lwm-agent";
const WORKLOAD_REL: &str = "bin/lwm-workload";
const LIBRARY_REL: &str = "bin/liblwmalloc.so";

pub fn run_board(mut job: BoardJob) -> BoardOutcome {
    let name = job.board.name.clone();
    let _ = job.store.update_board(&name, |b| {
        b.status = "running".into();
        b.error = None;
    });
    job.store.record(&Event::BoardStarted {
        board: name.clone(),
    });
    // A provided board is started first and stopped when `_provided` is
    // dropped at the end of this match: after the campaign, after a
    // failure, and after a Ctrl-C (which only sets `cancel`; QEMU and the
    // docker client run in their own process groups, so the terminal's
    // SIGINT does not reach them).
    let outcome = match start_provided(&mut job) {
        // Ctrl-C stopped the image build or the boot.
        Err(_) if job.cancel.load(Ordering::SeqCst) => BoardOutcome::Interrupted,
        Err(e) => BoardOutcome::Failed(e),
        // Ctrl-C while the image was built or the board started.
        Ok(_provided) if job.cancel.load(Ordering::SeqCst) => BoardOutcome::Interrupted,
        // The session owns the provided board from here on, to tell a VM
        // that went away from a dropped connection.
        Ok(provided) => match Session::open(&job, provided) {
            Ok(mut s) => s.campaign(),
            Err(e) => BoardOutcome::Failed(e),
        },
    };
    let (status, error) = match &outcome {
        BoardOutcome::Done { .. } => ("done", None),
        BoardOutcome::Failed(e) => ("failed", Some(e.clone())),
        BoardOutcome::Interrupted => ("interrupted", None),
    };
    let _ = job.store.update_board(&name, |b| {
        b.status = status.into();
        b.error = error.clone();
    });
    job.store.record(&Event::BoardFinished {
        board: name,
        status: status.into(),
        error,
    });
    job.store.checkpoint();
    match &outcome {
        BoardOutcome::Failed(e) => job.progress.abandon_with_message(format!("FAILED: {e}")),
        BoardOutcome::Interrupted => job.progress.abandon_with_message("interrupted"),
        BoardOutcome::Done {
            runs, failed_runs, ..
        } => job
            .progress
            .finish_with_message(format!("done: {runs} runs, {failed_runs} failed")),
    }
    outcome
}

struct Session<'a> {
    job: &'a BoardJob,
    /// Declared before `provided`: the board lock is released (on drop)
    /// while the board still runs.
    transport: LockedTransport,
    /// The VM, container or place this board is, if provided (stopped on
    /// drop).
    provided: Option<Box<dyn crate::provider::RunningBoard>>,
    deadline: Instant,
    work_dir: String,
    workloads: Vec<String>,
    allocators: Vec<AllocatorChoice>,
    /// `--threads` of every workload run on this board.
    threads: u32,
    runs: u32,
    failed_runs: u32,
    /// Failed runs that left no agent document.
    no_result: u32,
}

enum Stop {
    Cancelled,
    Failed(String),
}
