//! A campaign: for each board, build, gate, push, run every workload under
//! every allocator interleaved, and collect the raw agent output into
//! `results/RUN_ID/` (layout in `crate::rundir`).
//!
//! Boards run at once, each on its own thread: a board's session is
//! blocking through and through (ssh2, the agent's runs, QEMU's boot), so
//! plain scoped threads do the work an async runtime would only wrap in
//! blocking tasks. Builds run first, one target at a time (cargo serialises
//! them anyway).

mod board_lock;
mod clock;
mod command_files;
mod interrupt;
pub(crate) mod lock_owner;
mod locked_transport;
pub mod plan;
mod provenance;
pub mod resume;
mod session;
pub mod store;
mod threads;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::bail;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::board::BoardProfile;
use crate::build::{self, Artifacts, BuildOptions};
use crate::manifest::{BoardEntry, Manifest, Settings, MANIFEST_SCHEMA, MANIFEST_VERSION};
use crate::rundir::Event;

pub use clock::{unix_ms, utc_readable, utc_stamp};
pub use session::BoardOutcome;
use store::Store;

/// `lwm eval` as the command line gave it.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub workspace: PathBuf,
    pub boards_dir: PathBuf,
    pub results_dir: PathBuf,
    /// Board names; empty means `local`.
    pub boards: Vec<String>,
    pub settings: Settings,
    /// Continue this run (its settings and boards win over the above).
    pub resume: Option<String>,
    /// The campaign flags given on the command line (`cli::CAMPAIGN_FLAGS`):
    /// with `resume`, each must agree with the run.
    pub explicit_flags: Vec<&'static str>,
    /// With `resume`: let `--reps`/`--max-reps` grow.
    pub extend: bool,
    /// Name for a new run instead of the timestamp.
    pub run_id: Option<String>,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
    /// `--labgrid-coordinator`: the coordinator of labgrid boards that
    /// name none (else `$LG_COORDINATOR`).
    pub labgrid_coordinator: Option<String>,
    /// A prebuilt liblwmalloc.so pushed and run as `lwmalloc` instead of
    /// the one built (`lwm qualify --library`: a vendor's own build). It
    /// passes the same gate.
    pub library: Option<PathBuf>,
    /// What to tell the user on Ctrl-C instead of `lwm eval --resume RUN_ID`
    /// (`lwm qualify`, whose campaigns are not resumed that way).
    pub interrupt_hint: Option<String>,
}

/// How a campaign ended, for the exit status and the closing lines.
#[derive(Debug)]
pub struct EvalOutcome {
    pub run_dir: PathBuf,
    pub boards: Vec<(String, BoardOutcome)>,
    /// The first write to the run directory that failed (a full disk):
    /// the cause, where later failures are only its consequences.
    pub first_write_error: Option<String>,
}

impl EvalOutcome {
    /// Every board finished, every run succeeded and every file was written.
    pub fn all_ok(&self) -> bool {
        self.first_write_error.is_none()
            && self
                .boards
                .iter()
                .all(|(_, o)| matches!(o, BoardOutcome::Done { failed_runs: 0, .. }))
    }

    pub fn interrupted(&self) -> bool {
        self.boards
            .iter()
            .any(|(_, o)| matches!(o, BoardOutcome::Interrupted))
    }
}

/// Runs (or resumes) a campaign. Configuration errors (bad board profile,
/// unknown run) fail before anything is written; once the run directory
/// exists, every result is kept whatever happens to the boards.
pub fn eval(opts: EvalOptions) -> anyhow::Result<EvalOutcome> {
    let (store, boards) = match &opts.resume {
        Some(id) => open_for_resume(&opts, id)?,
        None => create_run(&opts)?,
    };
    let store = Arc::new(store);
    let settings = store.manifest().settings;

    let cancel = Arc::new(AtomicBool::new(false));
    // Stopped when the campaign ends: a later campaign of the same process
    // (`lwm qualify` runs up to three) answers Ctrl-C itself. `None` if
    // SIGINT cannot be watched (not seen in practice): Ctrl-C then ends lwm
    // as it ends any program, and every result written so far stays.
    let ctrl_c = {
        let hint = opts.interrupt_hint.clone().unwrap_or_else(|| {
            format!(
                "Continue later with: lwm eval --resume {}",
                store.manifest().run_id
            )
        });
        interrupt::CtrlC::watch(cancel.clone(), hint).ok()
    };

    let multi = MultiProgress::with_draw_target(if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });

    // Builds, one target at a time.
    let mut built: BTreeMap<String, Result<Artifacts, String>> = BTreeMap::new();
    for b in &boards {
        let target = b.build_target();
        if built.contains_key(&target) {
            continue;
        }
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_message(format!("building for {target}"));
        let result = build::build(
            &BuildOptions {
                workspace: opts.workspace.clone(),
                target: target.clone(),
            },
            &|m| bar.set_message(m.to_string()),
        )
        .map_err(|e| format!("build for {target} failed: {e:#}"))
        .map(|mut a| {
            if let Some(lib) = &opts.library {
                a.liblwmalloc = lib.clone();
            }
            a
        });
        bar.finish_and_clear();
        if let Err(e) = &result {
            multi.println(format!("lwm: {e}")).ok();
        }
        built.insert(target, result);
    }

    let style =
        ProgressStyle::with_template("{prefix:>18} [{bar:30}] {pos}/{len} {elapsed_precise} {msg}")
            .expect("progress template")
            .progress_chars("=> ");
    let outcomes = std::thread::scope(|scope| {
        let mut boards_running = Vec::new();
        for b in boards {
            let name = b.name.clone();
            match built.get(&b.build_target()).cloned() {
                Some(Ok(artifacts)) => {
                    let bar = multi.add(ProgressBar::new(1));
                    bar.set_style(style.clone());
                    bar.set_prefix(name.clone());
                    let job = session::BoardJob {
                        board: b,
                        artifacts,
                        settings: settings.clone(),
                        store: store.clone(),
                        cancel: cancel.clone(),
                        progress: bar,
                        workspace: opts.workspace.clone(),
                    };
                    let thread = scope.spawn(move || session::run_board(job));
                    boards_running.push((name, Ok(thread)));
                }
                _ => {
                    let err = built
                        .get(&b.build_target())
                        .and_then(|r| r.clone().err())
                        .unwrap_or_else(|| "not built".into());
                    let msg = format!("board {name}: {err}");
                    let _ = store.update_board(&name, |e| {
                        e.status = "failed".into();
                        e.error = Some(msg.clone());
                    });
                    store.record(&Event::BoardFinished {
                        board: name.clone(),
                        status: "failed".into(),
                        error: Some(msg.clone()),
                    });
                    boards_running.push((name, Err(BoardOutcome::Failed(msg))));
                }
            }
        }
        boards_running
            .into_iter()
            .map(|(name, thread)| {
                let outcome = match thread {
                    Ok(thread) => thread.join().unwrap_or_else(|panic| {
                        BoardOutcome::Failed(format!(
                            "board {name}: thread failed: {}",
                            panic_message(panic.as_ref())
                        ))
                    }),
                    // Not started: its build failed.
                    Err(outcome) => outcome,
                };
                (name, outcome)
            })
            .collect::<Vec<_>>()
    });
    let _ = multi.clear();
    if !cancel.load(Ordering::SeqCst) {
        // A failure here is remembered by the store; the first one is
        // what the caller reports.
        let _ = store.update_manifest(|m| m.ended_unix_ms = Some(unix_ms()));
    }
    drop(ctrl_c);
    store.record(&Event::CampaignFinished {
        interrupted: cancel.load(Ordering::SeqCst),
    });
    store.checkpoint();
    Ok(EvalOutcome {
        run_dir: store.dir().to_path_buf(),
        boards: outcomes,
        first_write_error: store.first_write_error(),
    })
}

/// What a board's thread said when it panicked (a bug), for its failure line.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panicked")
}

/// Board `name`'s profile; a labgrid place is checked on its coordinator
/// (see [`crate::provider::labgrid::load_board`]).
fn load_board(opts: &EvalOptions, name: &str) -> anyhow::Result<BoardProfile> {
    crate::provider::labgrid::load_board(
        &opts.boards_dir,
        name,
        opts.labgrid_coordinator.as_deref(),
    )
}

fn create_run(opts: &EvalOptions) -> anyhow::Result<(Store, Vec<BoardProfile>)> {
    let names = if opts.boards.is_empty() {
        vec!["local".to_string()]
    } else {
        opts.boards.clone()
    };
    let mut boards: Vec<BoardProfile> = Vec::new();
    for n in &names {
        if boards.iter().any(|b| &b.name == n) {
            continue;
        }
        boards.push(load_board(opts, n)?.with_host_resolved());
    }
    for b in &boards {
        plan::check_allocator_names(&opts.settings.allocators, b)
            .map_err(|e| anyhow::anyhow!("--allocators: board {}: {e}", b.name))?;
        // A program for another machine is refused before anything runs.
        for c in &opts.settings.commands {
            command_files::command_files(c, b).map_err(anyhow::Error::msg)?;
        }
    }
    let started = unix_ms();
    let run_id = match &opts.run_id {
        Some(id) => {
            if id.is_empty() || id.contains('/') || id.starts_with('.') {
                bail!("--run-id `{id}`: use letters, digits, '-' and '_'");
            }
            id.clone()
        }
        None => unique_run_id(opts, started, &boards),
    };
    let (project_commit, project_dirty) = provenance::project_commit(&opts.workspace);
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.into(),
        schema_version: MANIFEST_VERSION,
        run_id,
        project_commit,
        project_dirty,
        toolchain: provenance::toolchain(&opts.workspace),
        settings: opts.settings.clone(),
        boards: boards.iter().map(board_entry).collect(),
        started_unix_ms: started,
        ended_unix_ms: None,
        resumed_unix_ms: Vec::new(),
    };
    let store = Store::create(&opts.results_dir, manifest)?;
    store.record(&Event::CampaignStarted {
        boards: names,
        settings: opts.settings.clone(),
    });
    Ok((store, boards))
}

fn unique_run_id(opts: &EvalOptions, started_ms: u64, boards: &[BoardProfile]) -> String {
    let names: Vec<&str> = boards.iter().map(|b| b.name.as_str()).collect();
    let base = format!("{}-{}", utc_stamp(started_ms / 1000), names.join("+"));
    let mut id = base.clone();
    let mut n = 2;
    while opts.results_dir.join(&id).exists() {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn board_entry(b: &BoardProfile) -> BoardEntry {
    BoardEntry {
        name: b.name.clone(),
        description: b.description.clone(),
        file: b.file.display().to_string(),
        file_sha256: b.file_sha256.clone(),
        target: b.build_target(),
        cpu: b.cpu.clone(),
        emulation: b.emulation.as_str().into(),
        workload_scale: b.workload_scale,
        // Known once the board's agent reports its CPUs (or --threads).
        threads: None,
        allocators: BTreeMap::new(),
        artifacts: Vec::new(),
        environment: None,
        status: "pending".into(),
        error: None,
        incidents: Vec::new(),
    }
}

fn open_for_resume(opts: &EvalOptions, id: &str) -> anyhow::Result<(Store, Vec<BoardProfile>)> {
    let dir = if id.contains('/') {
        PathBuf::from(id)
    } else {
        opts.results_dir.join(id)
    };
    let mut manifest = crate::rundir::read_manifest(&dir)?;
    let changes = resume::changes(
        &manifest,
        &opts.explicit_flags,
        &opts.settings,
        &opts.boards,
        opts.run_id.as_deref(),
    );
    let extended = resume::apply(&mut manifest.settings, &changes, opts.extend, id)
        .map_err(anyhow::Error::msg)?;
    let mut boards = Vec::new();
    for entry in &manifest.boards {
        // A finished board has nothing to do, unless the run was extended
        // or some of its runs left no result (an agent killed on the board,
        // a connection lost): those are made again.
        if entry.status == "done" && !extended {
            let failed = store::failed_records(&dir, &entry.name);
            if failed.is_empty() {
                continue;
            }
            eprintln!(
                "lwm: board {}: {} run(s) left no result; making them again",
                entry.name,
                failed.len()
            );
        }
        let mut b = load_board(opts, &entry.name)?.with_host_resolved();
        if b.file_sha256 != entry.file_sha256 {
            eprintln!(
                "lwm: note: board {}'s profile changed since the run started ({} differs); using the current one",
                b.name, entry.file
            );
        }
        // The runs already on disk were made at the recorded size.
        b.workload_scale = entry.workload_scale;
        boards.push(b);
    }
    if boards.is_empty() {
        eprintln!("lwm: every board of {} is already done", manifest.run_id);
    }
    let settings = manifest.settings.clone();
    let (store, removed) = Store::open(&dir)?;
    if !removed.is_empty() {
        eprintln!(
            "lwm: removed {} unfinished temporary file(s) an earlier lwm left: {}",
            removed.len(),
            removed.join(", ")
        );
    }
    store.update_manifest(|m| {
        // Written back in this lwm's version, which reads the older ones
        // as they are (see READABLE_MANIFEST_VERSIONS).
        m.schema_version = MANIFEST_VERSION;
        m.settings = settings;
        m.resumed_unix_ms.push(unix_ms());
        m.ended_unix_ms = None;
    })?;
    store.record(&Event::CampaignResumed {
        boards: boards.iter().map(|b| b.name.clone()).collect(),
        extended,
        removed_temporaries: removed,
    });
    Ok((store, boards))
}
