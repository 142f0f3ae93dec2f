//! One board's part of a campaign, run on its own blocking thread: gate the
//! artifacts, connect, push, check the board, then every workload under
//! every allocator, interleaved, each result saved the moment it arrives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use lwm_contract::schema::{Check, CheckStatus, DoctorDocument};
use serde_json::json;

use crate::board::BoardProfile;
use crate::build::Artifacts;
use crate::manifest::{ArtifactEntry, Settings};
use crate::transport::{self, PushFile, Transport, TransportError};

use super::locked_transport::LockedTransport;
use super::plan::{self, AllocatorChoice};
use super::store::{RunKey, RunKind, Store};
use super::threads::board_threads;

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
    job.store.event("board_started", json!({ "board": name }));
    // An emulated board is started first and stopped when `_emulated` is
    // dropped at the end of this match: after the campaign, after a
    // failure, and after a Ctrl-C (which only sets `cancel`; QEMU and the
    // docker client run in their own process groups, so the terminal's
    // SIGINT does not reach them).
    let outcome = match start_emulated(&mut job) {
        // Ctrl-C stopped the image build or the boot.
        Err(_) if job.cancel.load(Ordering::SeqCst) => BoardOutcome::Interrupted,
        Err(e) => BoardOutcome::Failed(e),
        // Ctrl-C while the image was built or the board started.
        Ok(_emulated) if job.cancel.load(Ordering::SeqCst) => BoardOutcome::Interrupted,
        // The session owns the emulated board from here on, to tell a VM
        // that went away from a dropped connection.
        Ok(emulated) => match Session::open(&job, emulated) {
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
    job.store.event(
        "board_finished",
        json!({ "board": name, "status": status, "error": error }),
    );
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

/// An emulated board while it runs, or a labgrid place while it is held;
/// dropping it stops the board (releases the place).
enum Emulated {
    Vm(crate::vm::VmBoard),
    #[expect(dead_code, reason = "never read: dropping the value stops the board")]
    Container(crate::container::ContainerBoard),
    #[expect(
        dead_code,
        reason = "never read: dropping the value releases the place"
    )]
    Labgrid(crate::labgrid::Lease),
}

impl Emulated {
    /// Why the board itself is gone, if it is: a VM whose QEMU exited.
    /// Waits up to `grace` for QEMU to be gone (a dropped connection may be
    /// seen a moment before its exit can be collected).
    fn gone(&mut self, grace: Duration) -> Option<String> {
        let Emulated::Vm(vm) = self else {
            return None;
        };
        let status = vm.vm.exited_within(grace)?;
        let why = match status.code() {
            Some(0) => format!(
                "QEMU exited ({status}): the guest rebooted or powered off (QEMU runs with -no-reboot)"
            ),
            _ => format!("QEMU ended ({status})"),
        };
        Some(format!(
            "{why}; console: {}",
            crate::vm::console_tail(vm.vm.console(), 3)
        ))
    }
}

/// Starts the emulated board of a `[qemu]` or `[docker]` board (building
/// its image when missing) and points `job.board` at it, so everything
/// after, reconnects included, treats it as an ordinary SSH board. Other
/// boards: nothing to do.
fn start_emulated(job: &mut BoardJob) -> Result<Option<Emulated>, String> {
    if let crate::board::Transport::Labgrid(_) = &job.board.transport {
        return acquire_place(job).map(|lease| Some(Emulated::Labgrid(lease)));
    }
    let kind = match &job.board.transport {
        crate::board::Transport::Vm(_) => "vm",
        crate::board::Transport::Container(_) => "container",
        _ => return Ok(None),
    };
    let state = job
        .store
        .dir()
        .join("boards")
        .join(&job.board.name)
        .join(kind);
    let progress = job.progress.clone();
    let progress = |m: &str| progress.set_message(m.to_string());
    if let crate::board::Transport::Container(spec) = &job.board.transport {
        let image = spec.image.clone();
        let c = crate::container::ContainerBoard::start(
            &job.board,
            &job.workspace,
            &state,
            &progress,
            &job.cancel,
        )
        .map_err(|e| format!("{e:#}"))?;
        job.store.event(
            "container_started",
            json!({ "board": job.board.name, "image": image, "container": c.container.name(),
                    "port": c.container.port(),
                    "start_s": c.container.started_in().as_secs_f64() }),
        );
        job.board = c.board.clone();
        return Ok(Some(Emulated::Container(c)));
    }
    let crate::board::Transport::Vm(spec) = &job.board.transport else {
        return Ok(None);
    };
    let image = spec.image.clone();
    let name = job.board.name.clone();
    // Each boot try the watchdog gave up on: an event, a line for the
    // user and an incident of the board (in the manifest and the reports).
    let on_stall = |s: &crate::vm::StalledBoot| {
        let note = format!(
            "boot try {} of {}: no console output for {} s before sshd answered, QEMU killed{}; console's last lines: {}",
            s.attempt,
            s.tries,
            s.silent.as_secs(),
            if s.attempt < s.tries { " and started again" } else { "" },
            s.console_tail
        );
        job.store.event(
            "vm_boot_stalled",
            json!({ "board": name, "image": image, "try": s.attempt, "tries": s.tries,
                    "silent_s": s.silent.as_secs_f64(), "console_tail": s.console_tail,
                    "console_log": s.console_log.display().to_string() }),
        );
        say(&job.progress, format!("board {name}: {note}"));
        let _ = job.store.update_board(&name, |b| b.incidents.push(note));
    };
    let vm = crate::vm::VmBoard::start(
        &job.board,
        &job.workspace,
        &state,
        &progress,
        &on_stall,
        &job.cancel,
    )
    .map_err(|e| format!("{e:#}"))?;
    job.store.event(
        "vm_booted",
        json!({ "board": job.board.name, "image": image, "port": vm.vm.port(),
                "boot_s": vm.vm.booted_in().as_secs_f64(), "tries": vm.vm.tries() }),
    );
    job.board = vm.board.clone();
    Ok(Some(Emulated::Vm(vm)))
}

/// Acquires the labgrid place of a `[labgrid]` board and points
/// `job.board` at its NetworkService over SSH. The place is released when
/// the lease is dropped; both ends are events of the run.
fn acquire_place(job: &mut BoardJob) -> Result<crate::labgrid::Lease, String> {
    if job.cancel.load(Ordering::SeqCst) {
        return Err(format!("board {}: interrupted", job.board.name));
    }
    job.progress.set_message("acquiring labgrid place");
    let mut lease = crate::labgrid::Lease::acquire(&job.board)?;
    let (name, place) = (job.board.name.clone(), lease.place().to_string());
    let address = match &lease.board.transport {
        crate::board::Transport::Ssh(s) => format!("{}@{}:{}", s.user, s.host, s.port),
        _ => String::new(),
    };
    job.store.event(
        "labgrid_acquired",
        json!({ "board": name, "place": place, "network_service": lease.network_service,
                "ssh": address }),
    );
    let store = job.store.clone();
    lease.on_release(Box::new(move |result| match result {
        Ok(()) => store.event("labgrid_released", json!({ "board": name, "place": place })),
        Err(e) => {
            store.event(
                "labgrid_release_failed",
                json!({ "board": name, "place": place, "error": e }),
            );
            let _ = store.update_board(&name, |b| b.incidents.push(e.clone()));
        }
    }));
    job.board = lease.board.clone();
    Ok(lease)
}

struct Session<'a> {
    job: &'a BoardJob,
    /// Declared before `emulated`: the board lock is released (on drop)
    /// while the board still runs.
    transport: LockedTransport,
    /// The VM or container this board is, if emulated (stopped on drop).
    emulated: Option<Emulated>,
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

impl<'a> Session<'a> {
    /// Gate, connect, push, check the board and settle the plan.
    fn open(job: &'a BoardJob, emulated: Option<Emulated>) -> Result<Session<'a>, String> {
        let board = &job.board;
        // A timed workload's runs come on top of the profile's budget, so
        // an hours-long soak is not cut short by it.
        let s = &job.settings;
        let timed_runs = s
            .workloads
            .iter()
            .filter_map(|w| timed_duration(s, w))
            .sum::<Duration>()
            * (s.warmup + s.planned_reps())
            * s.allocators.len() as u32;
        let deadline = Instant::now() + board.timeouts.board + timed_runs;
        job.progress.set_message("checking artifacts");
        let mut entries = Vec::new();
        let mut files = Vec::new();
        for (name, local, rel, mode) in [
            ("lwm-agent", &job.artifacts.agent, AGENT_REL, 0o755),
            ("lwm-workload", &job.artifacts.workload, WORKLOAD_REL, 0o755),
            (
                "liblwmalloc.so",
                &job.artifacts.liblwmalloc,
                LIBRARY_REL,
                0o644,
            ),
        ] {
            let gate = crate::gate::check(local, board).map_err(|e| e.to_string())?;
            let data = std::fs::read(local)
                .map_err(|e| format!("{}: cannot read artifact: {e}", local.display()))?;
            let sha256 = lwm_contract::sha256::sha256_hex(&data);
            entries.push(ArtifactEntry {
                name: name.to_string(),
                local_path: local.display().to_string(),
                board_path: format!("{}/{rel}", board.work_dir),
                sha256: sha256.clone(),
                size_bytes: data.len() as u64,
                gate: Some(gate),
            });
            files.push(PushFile {
                local: local.clone(),
                remote_rel: rel.to_string(),
                mode,
                sha256,
            });
        }
        for cmd in &job.settings.commands {
            for (file, entry) in super::command_files::command_files(cmd, board)? {
                files.push(file);
                entries.push(entry);
            }
        }
        let _ = job
            .store
            .update_board(&board.name, |b| b.artifacts = entries);

        job.progress.set_message("connecting");
        let transport = transport::connect(board).map_err(|e| e.to_string())?;
        // Nothing is pushed to a board another campaign uses; from here
        // on, dropping `transport` releases the lock.
        job.progress.set_message("locking the board");
        let mut transport = LockedTransport::lock(transport, board, job.store.clone(), &|l| {
            say(&job.progress, l)
        })?;
        job.progress.set_message("pushing artifacts");
        let pushed = transport.push(&files).map_err(|e| e.to_string())?;
        job.store.event(
            "pushed",
            json!({ "board": board.name, "files": files.iter().zip(&pushed).map(|(f, o)| {
                json!({ "file": f.remote_rel, "outcome": format!("{o:?}") })
            }).collect::<Vec<_>>() }),
        );
        let work_dir = transport.work_dir().to_string();

        job.progress.set_message("checking the board");
        let doctor = doctor(job, transport.as_mut(), &work_dir)?;
        // Kept in the manifest as a JSON value: its readers take the parts
        // they need typed (`BoardEntry::agent_emulation`, ...).
        let environment = serde_json::to_value(&doctor.environment)
            .map_err(|e| format!("board {}: {e}", board.name))?;
        let builtin = list_workloads(job, transport.as_mut(), &work_dir)?;
        // User commands alone name no workload.
        let mut workloads = if job.settings.workloads.is_empty() {
            Vec::new()
        } else {
            plan::resolve_workloads(&job.settings.workloads, &builtin)
                .map_err(|e| format!("board {}: {e}", board.name))?
        };
        for cmd in &job.settings.commands {
            if builtin.contains(&cmd.name) {
                return Err(format!(
                    "board {}: command name `{}` is a built-in workload's there; choose another",
                    board.name, cmd.name
                ));
            }
            // Its results sit where a workload's do.
            workloads.push(cmd.name.clone());
        }
        let allocators = plan::resolve_allocators(
            &job.settings.allocators,
            board,
            &format!("{work_dir}/{LIBRARY_REL}"),
            |path| board_has_file(transport.as_mut(), path),
        )
        .map_err(|e| format!("board {}: {e}", board.name))?;
        for skipped in plan::skipped_optional(&job.settings.allocators, board, &allocators) {
            job.store.event(
                "allocator_skipped",
                json!({ "board": board.name, "allocator": skipped.0, "path": skipped.1,
                        "reason": "not installed on the board" }),
            );
            say(
                &job.progress,
                format!(
                    "{}: allocator {} skipped: {} not found on the board",
                    board.name, skipped.0, skipped.1
                ),
            );
        }
        for a in &allocators {
            if let Some(why) = &a.unusable {
                job.store.event(
                    "allocator_unusable",
                    json!({ "board": board.name, "allocator": a.name, "reason": why }),
                );
                say(
                    &job.progress,
                    format!("{}: {why}: its runs are recorded as failed", board.name),
                );
            }
        }
        let recorded_threads = job
            .store
            .manifest()
            .boards
            .iter()
            .find(|b| b.name == board.name)
            .and_then(|b| b.threads);
        let threads = board_threads(job.settings.threads, recorded_threads, Some(&environment))
            .map_err(|e| format!("board {}: {e}", board.name))?;
        let _ = job.store.update_board(&board.name, |b| {
            b.threads = Some(threads);
            b.environment = Some(environment.clone());
            b.allocators = allocators
                .iter()
                .map(|a| (a.name.clone(), a.path.clone()))
                .collect();
        });
        let planned = workloads.len() as u64
            * allocators.len() as u64
            * u64::from(job.settings.warmup + job.settings.planned_reps());
        job.progress.set_length(planned);
        Ok(Session {
            job,
            emulated,
            transport,
            deadline,
            work_dir,
            workloads,
            allocators,
            threads,
            runs: 0,
            failed_runs: 0,
            no_result: 0,
        })
    }

    fn campaign(&mut self) -> BoardOutcome {
        let workloads = self.workloads.clone();
        for w in &workloads {
            match self.workload(w) {
                Ok(()) => {}
                Err(Stop::Cancelled) => return BoardOutcome::Interrupted,
                Err(Stop::Failed(e)) => return BoardOutcome::Failed(e),
            }
        }
        BoardOutcome::Done {
            runs: self.runs,
            failed_runs: self.failed_runs,
            no_result: self.no_result,
        }
    }

    /// Warm-ups, then rounds of one repetition per allocator (A B A B ...)
    /// until the plan is met.
    fn workload(&mut self, workload: &str) -> Result<(), Stop> {
        let board = self.job.board.name.clone();
        let settings = self.job.settings.clone();
        let mut existing = Vec::new();
        for a in &self.allocators {
            let e = self
                .job
                .store
                .existing(&board, workload, &a.name)
                .map_err(|e| Stop::Failed(e.to_string()))?;
            existing.push(e);
        }
        let mut times: Vec<Vec<f64>> = self
            .allocators
            .iter()
            .map(|a| plan::collected_times(self.job.store.dir(), &board, workload, &a.name))
            .collect();
        let mut warmed = false;
        let mut round = 0u32;
        loop {
            if !plan::wants_round(&settings, round, &times) {
                break;
            }
            let todo: Vec<usize> = (0..self.allocators.len())
                .filter(|&i| !existing[i].reps.contains(&round))
                .collect();
            if !todo.is_empty() && !warmed {
                for w in 0..settings.warmup {
                    // `i` names the allocator to self.key and self.run too.
                    #[allow(clippy::needless_range_loop)]
                    for i in 0..self.allocators.len() {
                        let key = self.key(workload, i, RunKind::Warmup, existing[i].warmups + w);
                        self.run(&key, i, workload)?;
                    }
                }
                warmed = true;
            }
            for i in todo {
                let key = self.key(workload, i, RunKind::Rep, round);
                if let Some(t) = self.run(&key, i, workload)? {
                    times[i].push(t);
                }
            }
            round += 1;
        }
        // A command whose output may change (--no-output-check,
        // `check_output = false`) is measured without the check.
        if self.command(workload).is_some_and(|c| c.check_output) {
            self.check_stdout(workload);
        }
        Ok(())
    }

    /// The user command named `name`, if it is one (else a workload).
    fn command(&self, name: &str) -> Option<&'a crate::commands::UserCommand> {
        self.job.settings.commands.iter().find(|c| c.name == name)
    }

    /// Fails the repetitions of command `name` whose stdout differs from
    /// its stdout under `system` (the report applies the same rule to the
    /// raw documents).
    fn check_stdout(&mut self, name: &str) {
        use crate::commands::stdout_check::{mismatches, Output};
        let board = self.job.board.name.clone();
        let mut outputs: Vec<(String, u32, Option<String>)> = Vec::new();
        for a in &self.allocators {
            let dir = self
                .job
                .store
                .dir()
                .join("raw")
                .join(&board)
                .join(name)
                .join(&a.name);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let file = e.file_name().to_string_lossy().into_owned();
                let Some(rep) = file
                    .strip_prefix("rep-")
                    .and_then(|s| s.strip_suffix(".json"))
                    .and_then(|s| s.parse::<u32>().ok())
                else {
                    continue;
                };
                let Some(doc) = std::fs::read(e.path())
                    .ok()
                    .and_then(|b| plan::parse_agent_output(&b).ok())
                else {
                    continue;
                };
                if let Some(run) = doc.runs.first().filter(|r| r.ok) {
                    outputs.push((a.name.clone(), rep, run.stdout.sha256.clone()));
                }
            }
        }
        let view: Vec<Output> = outputs
            .iter()
            .map(|(a, rep, h)| Output {
                allocator: a,
                rep: *rep,
                sha256: h.as_deref(),
            })
            .collect();
        for (i, why) in mismatches(name, &view) {
            self.failed_runs += 1;
            self.job.store.event(
                "stdout_differs",
                json!({ "board": board, "command": name, "allocator": outputs[i].0,
                        "rep": outputs[i].1, "error": why }),
            );
            say(&self.job.progress, format!("board {board}: {why}"));
        }
    }

    fn key(&self, workload: &str, alloc: usize, kind: RunKind, index: u32) -> RunKey {
        RunKey {
            board: self.job.board.name.clone(),
            workload: workload.to_string(),
            allocator: self.allocators[alloc].name.clone(),
            kind,
            index,
        }
    }

    /// One agent run. Returns the run's wall time when it succeeded.
    fn run(&mut self, key: &RunKey, alloc: usize, workload: &str) -> Result<Option<f64>, Stop> {
        if self.job.cancel.load(Ordering::SeqCst) {
            return Err(Stop::Cancelled);
        }
        self.transport.heartbeat().map_err(Stop::Failed)?;
        let now = Instant::now();
        if now >= self.deadline {
            return Err(Stop::Failed(format!(
                "board {}: board timeout of {} s reached before {key}",
                self.job.board.name,
                self.job.board.timeouts.board.as_secs()
            )));
        }
        self.job.progress.set_message(format!(
            "{workload} / {} {}",
            key.allocator,
            match key.kind {
                RunKind::Warmup => format!("warm-up {}", key.index),
                RunKind::Rep => format!("rep {}", key.index),
            }
        ));
        if let Some(why) = self.allocators[alloc].unusable.clone() {
            // Nothing to run: the reason stands for the run, and the other
            // allocators' runs go on.
            self.job.progress.inc(1);
            self.runs += u32::from(key.kind == RunKind::Rep);
            self.record_failure(key, &why, &[], &[]);
            return Ok(None);
        }
        let argv = self.agent_argv(alloc, workload);
        let (env, run_limit) = match self.command(workload) {
            Some(c) => (
                c.env.clone().into_iter().collect::<Vec<_>>(),
                c.timeout_s
                    .map(Duration::from_secs)
                    .unwrap_or(self.job.board.timeouts.run),
            ),
            None => (Vec::new(), self.workload_limit(workload)),
        };
        let timeout = (run_limit + AGENT_GRACE).min(self.deadline - now);
        self.job
            .store
            .event("run_started", json!({ "run": key.to_string() }));
        let mut result = self.transport.exec(&argv, &env, timeout);
        if let Err(lost @ TransportError::Disconnected { .. }) = &result {
            // One reconnect: a board that drops a single connection (Wi-Fi,
            // a restarted sshd) is not dead, and the run is made again.
            let lost = lost.detail().to_string();
            self.reconnect(key, &lost)?;
            self.job
                .store
                .event("run_started", json!({ "run": key.to_string() }));
            result = self.transport.exec(&argv, &env, timeout);
            if let Err(again @ TransportError::Disconnected { .. }) = &result {
                let why = format!(
                    "board {}: connection lost again after reconnecting, during {key}: {}",
                    key.board,
                    again.detail()
                );
                let why = self.unless_gone(why, key);
                self.record_failure(key, &why, &[], &[]);
                return Err(Stop::Failed(why));
            }
        }
        self.job.progress.inc(1);
        self.runs += u32::from(key.kind == RunKind::Rep);
        match result {
            Ok(out) => {
                let doc = plan::parse_agent_output(&out.stdout);
                match (out.status, doc) {
                    (Some(0 | 1), Ok(doc)) => {
                        if let Err(e) = self.job.store.save_document(key, &out.stdout) {
                            return Err(Stop::Failed(format!("cannot save {key}: {e}")));
                        }
                        let run = doc.runs.first();
                        let ok = run.is_some_and(|r| r.ok);
                        self.job.store.event(
                            "run_finished",
                            json!({ "run": key.to_string(), "ok": ok,
                                    "file": self.job.store.relative_raw_path(key),
                                    "problems": run.map(|r| r.problems.clone()).unwrap_or_default() }),
                        );
                        if !ok {
                            self.count_failure(key);
                            let why = run
                                .and_then(|r| r.problems.first().cloned())
                                .unwrap_or_else(|| "no run in the agent's document".into());
                            say(
                                &self.job.progress,
                                format!("board {}: {key}: run failed: {why}", key.board),
                            );
                        }
                        Ok(run.filter(|r| r.ok).map(|r| r.wall_s))
                    }
                    (status, doc) => {
                        let why = match (status, doc) {
                            (Some(s), Err(e)) => format!("agent exited with status {s}: {e}"),
                            (Some(s), Ok(_)) => format!("agent exited with status {s}"),
                            (None, _) => format!(
                                "lwm-agent was killed by signal {} on the board",
                                out.signal.as_deref().unwrap_or("(not named)")
                            ),
                        };
                        let first = String::from_utf8_lossy(&out.stderr)
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .map(|l| format!(" ({})", l.trim()))
                            .unwrap_or_default();
                        self.record_failure(
                            key,
                            &format!("{why}{first}"),
                            &out.stdout,
                            &out.stderr,
                        );
                        Ok(None)
                    }
                }
            }
            Err(e @ TransportError::Timeout { .. }) => {
                self.record_failure(key, &e.to_string(), &[], &[]);
                Ok(None)
            }
            Err(e) => {
                let msg = format!("{e} (during {key})");
                self.record_failure(key, &e.to_string(), &[], &[]);
                Err(Stop::Failed(msg))
            }
        }
    }

    fn count_failure(&mut self, key: &RunKey) {
        if key.kind == RunKind::Rep {
            self.failed_runs += 1;
        }
    }

    fn record_failure(&mut self, key: &RunKey, error: &str, stdout: &[u8], stderr: &[u8]) {
        self.count_failure(key);
        if key.kind == RunKind::Rep {
            self.no_result += 1;
        }
        let _ = self.job.store.save_failure(key, error, stdout, stderr);
        self.job.store.event(
            "run_failed",
            json!({ "run": key.to_string(), "error": error }),
        );
        let board = format!("board {}: ", key.board);
        let error = error.strip_prefix(&board).unwrap_or(error);
        let line = if error.contains(&key.to_string()) {
            format!("{board}{error}")
        } else {
            format!("{board}{key}: {error}")
        };
        say(&self.job.progress, line);
    }

    /// After the connection dropped during `key` (`lost` says how):
    /// connects again, or fails the board saying why. The run that was
    /// lost left nothing and is made again by the caller; the loss is an
    /// event and an incident of the board.
    fn reconnect(&mut self, key: &RunKey, lost: &str) -> Result<(), Stop> {
        let board = key.board.clone();
        self.job.store.event(
            "connection_lost",
            json!({ "board": board, "run": key.to_string(), "error": lost }),
        );
        match transport::connect(&self.job.board) {
            Ok(t) => {
                let orphan = self.transport.lost_command();
                *self.transport = t;
                let stopped = orphan.and_then(|(pid, program)| self.stop_orphan(pid, &program));
                let note = format!(
                    "connection lost during {key} ({lost}); reconnected{}, the run made again",
                    stopped.as_deref().unwrap_or("")
                );
                self.job.store.event(
                    "reconnected",
                    json!({ "board": board, "run": key.to_string(), "stopped": stopped }),
                );
                say(&self.job.progress, format!("board {board}: {note}"));
                self.incident(note);
                Ok(())
            }
            Err(e) => {
                let why = format!(
                    "board {board}: connection lost during {key} ({lost}); reconnect failed: {}",
                    e.detail()
                );
                let why = self.unless_gone(why, key);
                self.record_failure(key, &why, &[], &[]);
                Err(Stop::Failed(why))
            }
        }
    }

    /// Stops the agent a lost connection left running on the board (it
    /// would run on beside the run made again, skewing it), if `pid` is
    /// still `program`; with pid 0 (the connection died before the board
    /// said the pid), every process running `program`, the agent in this
    /// board's work dir, of which no other run of the campaign is in
    /// flight. SIGKILL to the agent alone: its launcher sees it die and
    /// kills the measured child's group. Returns what was done, for the
    /// incident line.
    fn stop_orphan(&mut self, pid: u32, program: &str) -> Option<String> {
        // Without a pid, only a program of our own work dir is looked for:
        // never a system binary other people's processes run.
        if pid == 0 && !program.starts_with(&format!("{}/", self.work_dir)) {
            return None;
        }
        const SCRIPT: &str = r#"target=$(readlink -f "$2") || exit 0
if [ "$1" = 0 ]; then pids=$(cd /proc && ls -d [0-9]*); else pids=$1; fi
for p in $pids; do
  exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
  [ "$exe" = "$target" ] && kill -s KILL "$p" && echo "stopped $p"
done
exit 0"#;
        let argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            SCRIPT.to_string(),
            "lwm-stop-orphan".to_string(),
            pid.to_string(),
            program.to_string(),
        ];
        let out = self
            .transport
            .exec(&argv, &[], Duration::from_secs(30))
            .ok()?;
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        let stopped: Vec<&str> = said
            .lines()
            .filter_map(|l| l.strip_prefix("stopped "))
            .collect();
        (!stopped.is_empty()).then(|| {
            format!(
                " (its agent, pid {}, still ran on the board: stopped)",
                stopped.join(", ")
            )
        })
    }

    /// `why` the board failed during `key`, unless the board itself is
    /// gone (a VM whose QEMU exited): then that is the reason given.
    fn unless_gone(&mut self, why: String, key: &RunKey) -> String {
        match self
            .emulated
            .as_mut()
            .and_then(|e| e.gone(Duration::from_secs(3)))
        {
            Some(gone) => {
                let msg = format!("board {}: the VM went away during {key}: {gone}", key.board);
                self.job.store.event(
                    "vm_gone",
                    json!({ "board": key.board, "run": key.to_string(), "error": msg }),
                );
                msg
            }
            None => why,
        }
    }

    /// Records one line in the board's `incidents` (manifest and reports).
    fn incident(&self, line: String) {
        let _ = self
            .job
            .store
            .update_board(&self.job.board.name, |b| b.incidents.push(line));
    }

    fn agent_argv(&self, alloc: usize, workload: &str) -> Vec<String> {
        let s = &self.job.settings;
        let allocator = self.allocators[alloc]
            .path
            .clone()
            .unwrap_or_else(|| "system".to_string());
        let agent = format!("{}/{AGENT_REL}", self.work_dir);
        // One measured run per call: the campaign does warm-up and reps.
        let one_run = |timeout_s: u64| -> Vec<String> {
            [
                "--allocator",
                &allocator,
                "--reps",
                "1",
                "--warmup",
                "0",
                "--timeout",
                &timeout_s.to_string(),
                "--quiet",
                "--quiet-child",
            ]
            .map(String::from)
            .to_vec()
        };
        if let Some(c) = self.command(workload) {
            let timeout = c.timeout_s.unwrap_or(self.job.board.timeouts.run.as_secs());
            let mut argv = vec![
                agent,
                "run".into(),
                "--cwd".into(),
                format!("{}/{}", self.work_dir, c.board_dir_rel()),
            ];
            argv.extend(one_run(timeout));
            if let Some(limit) = c.limit_as_bytes {
                argv.extend(["--limit-as".into(), limit.to_string()]);
            }
            argv.push("--".into());
            argv.extend(c.board_argv(&self.work_dir));
            return argv;
        }
        let mut argv = vec![
            agent,
            "run".into(),
            "--workload".into(),
            workload.into(),
            "--workload-bin".into(),
            format!("{}/{WORKLOAD_REL}", self.work_dir),
            "--seed".into(),
            s.seed.to_string(),
            "--scale".into(),
            board_scale(s.scale, self.job.board.workload_scale).to_string(),
            "--threads".into(),
            self.threads.to_string(),
        ];
        if let Some(d) = timed_duration(&self.job.settings, workload) {
            // Not scaled: a board's workload_scale shortens work, not time.
            argv.extend(["--duration".into(), format!("{}s", d.as_secs())]);
            // Its report holds a sample per period (up to 1024): keep the
            // whole line.
            argv.extend(["--tail".into(), TIMED_TAIL_BYTES.to_string()]);
        }
        argv.extend(one_run(self.workload_limit(workload).as_secs()));
        argv
    }

    /// How long one run of `workload` may take: the profile's run timeout,
    /// plus the duration of a timed workload.
    fn workload_limit(&self, workload: &str) -> Duration {
        self.job.board.timeouts.run
            + timed_duration(&self.job.settings, workload).unwrap_or_default()
    }
}

/// The agent's `--tail` for a timed workload's runs.
const TIMED_TAIL_BYTES: usize = 256 << 10;

/// The duration of `workload` when it is a timed one.
fn timed_duration(s: &crate::manifest::Settings, workload: &str) -> Option<Duration> {
    crate::limits::DURATION_WORKLOADS
        .contains(&workload)
        .then_some(s.duration_s)
        .flatten()
        .map(Duration::from_secs)
}

/// A line for the user: above the progress bars, or plainly on stderr when
/// the bars are hidden (no terminal).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

enum Stop {
    Cancelled,
    Failed(String),
}

/// Runs `lwm-agent doctor` on the board; a failing check fails the board.
/// The document is kept as boards/BOARD/doctor.json.
fn doctor(job: &BoardJob, t: &mut dyn Transport, work_dir: &str) -> Result<DoctorDocument, String> {
    let board = &job.board.name;
    let argv: Vec<String> = vec![
        format!("{work_dir}/{AGENT_REL}"),
        "doctor".into(),
        "--dir".into(),
        work_dir.into(),
        format!("{work_dir}/{AGENT_REL}"),
        format!("{work_dir}/{WORKLOAD_REL}"),
        format!("{work_dir}/{LIBRARY_REL}"),
    ];
    let out = t
        .exec(&argv, &[], job.board.timeouts.run)
        .map_err(|e| e.to_string())?;
    let doc: DoctorDocument = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "board {board}: lwm-agent doctor printed no document ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )
    })?;
    let rel = std::path::Path::new("boards")
        .join(board)
        .join("doctor.json");
    job.store
        .save_file(&rel, &out.stdout)
        .map_err(|e| format!("board {board}: {e:#}"))?;
    let failing = fatal_doctor_checks(&doc.checks);
    if !failing.is_empty() {
        return Err(format!(
            "board {board}: lwm-agent doctor failed: {}",
            failing.join("; ")
        ));
    }
    Ok(doc)
}

/// The scale this board runs workloads at, rounded to nine significant
/// digits so that 0.1 x 0.05 is passed as 0.005, not 0.005000000000000001.
fn board_scale(campaign: f64, board: f64) -> f64 {
    let x = campaign * board;
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 8 - x.abs().log10().floor() as i32;
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// Doctor checks that stop a board, as `name: detail`: every failed one.
fn fatal_doctor_checks(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect()
}

fn list_workloads(
    job: &BoardJob,
    t: &mut dyn Transport,
    work_dir: &str,
) -> Result<Vec<String>, String> {
    let argv = vec![format!("{work_dir}/{WORKLOAD_REL}"), "list".to_string()];
    let out = t
        .exec(&argv, &[], job.board.timeouts.run)
        .map_err(|e| e.to_string())?;
    if out.status != Some(0) {
        return Err(format!(
            "board {}: lwm-workload list failed: {}",
            job.board.name,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Whether `path` is a readable file on the board.
fn board_has_file(t: &mut dyn Transport, path: &str) -> bool {
    let argv = vec!["test".to_string(), "-r".to_string(), path.to_string()];
    matches!(t.exec(&argv, &[], Duration::from_secs(30)), Ok(o) if o.status == Some(0))
}

#[cfg(test)]
mod tests {
    use super::{board_scale, fatal_doctor_checks};

    #[test]
    fn board_scale_keeps_the_digits_people_wrote() {
        assert_eq!(board_scale(0.1, 0.05).to_string(), "0.005");
        assert_eq!(board_scale(0.2, 0.1).to_string(), "0.02");
        assert_eq!(board_scale(0.2, 1.0), 0.2);
        assert_eq!(board_scale(3.0, 0.3).to_string(), "0.9");
    }

    #[test]
    fn every_failed_doctor_check_stops_the_board() {
        let checks: Vec<lwm_contract::schema::Check> = serde_json::from_value(serde_json::json!([
            { "name": "lse_atomics", "target": "bin/lwm-agent", "status": "fail", "detail": "12 LSE" },
            { "name": "free_disk", "target": null, "status": "fail", "detail": "45 MiB free" },
            { "name": "free_memory", "target": null, "status": "pass", "detail": "ok" },
        ]))
        .unwrap();
        assert_eq!(
            fatal_doctor_checks(&checks),
            ["lse_atomics: 12 LSE", "free_disk: 45 MiB free"]
        );
    }
}
