//! The run directory on disk: every result is written as soon as it
//! exists, atomically (temp file, fsync, rename), so a crash, a dead board,
//! a full disk or a Ctrl-C never loses what was already collected. Layout:
//! see `crate::rundir`.
//!
//! On a full disk the first write that fails is the one worth reporting
//! (a result file, not the manifest updates that fail after it): the store
//! remembers it. A temporary file is removed when its write fails, and
//! `--resume` removes any left by a killed lwm. Events that cannot be
//! written are kept and written with the next one that can.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context};

use crate::manifest::{BoardEntry, Manifest};
pub use crate::rundir::RunKind;
use crate::rundir::{
    events_path, manifest_path, read_manifest, CellKey, Event, FailedRunRecord, RawName,
    FAILED_RUN_SCHEMA, FAILED_RUN_VERSION, RAW_DIR, SUPERSEDED_DIR,
};

use super::clock::unix_ms;

/// Identifies one agent run of a campaign.
#[derive(Debug, Clone)]
pub struct RunKey {
    pub board: String,
    pub workload: String,
    pub allocator: String,
    pub kind: RunKind,
    pub index: u32,
}

impl RunKey {
    /// The (board, workload, allocator) the run belongs to.
    pub fn cell(&self) -> CellKey {
        CellKey::new(&self.board, &self.workload, &self.allocator)
    }

    /// The run's file name: its document, or its failed-run record.
    fn raw_name(&self, failed: bool) -> RawName {
        RawName {
            kind: self.kind,
            index: self.index,
            failed,
        }
    }
}

impl std::fmt::Display for RunKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{} {} {}",
            self.board,
            self.workload,
            self.allocator,
            self.kind.prefix(),
            self.index
        )
    }
}

/// What is already on disk for one (board, workload, allocator).
#[derive(Debug, Default, Clone)]
pub struct Existing {
    /// Repetitions with an agent document (whatever its runs' status).
    pub reps: BTreeSet<u32>,
    /// Number of warm-up documents.
    pub warmups: u32,
}

/// A campaign's run directory, shared by the board threads.
pub struct Store {
    dir: PathBuf,
    manifest: Mutex<Manifest>,
    events: Mutex<EventLog>,
    /// The first write that failed, as one line naming the file.
    first_write_error: Mutex<Option<String>>,
}

/// `events.jsonl`, and the lines not yet written to it.
struct EventLog {
    file: fs::File,
    /// Lines a failed write left behind, oldest first (bounded: a disk
    /// that stays full must not fill memory too).
    pending: Vec<String>,
}

/// Event lines kept in memory while `events.jsonl` cannot be written.
const MAX_PENDING_EVENTS: usize = 10_000;

impl EventLog {
    /// Writes the pending lines, each whole or not at all (a line cut by a
    /// full disk would make the log unreadable): on failure the file is cut
    /// back to where it was.
    fn flush_pending(&mut self) -> anyhow::Result<()> {
        while let Some(line) = self.pending.first() {
            let len = self.file.metadata()?.len();
            if let Err(e) = self.file.write_all(line.as_bytes()) {
                let _ = self.file.set_len(len);
                return Err(e.into());
            }
            self.pending.remove(0);
        }
        Ok(())
    }
}

impl Store {
    /// Creates `results_dir/RUN_ID/` (which must not exist) and writes the
    /// first manifest.
    pub fn create(results_dir: &Path, manifest: Manifest) -> anyhow::Result<Store> {
        let dir = results_dir.join(&manifest.run_id);
        if dir.exists() {
            bail!("{}: run directory already exists", dir.display());
        }
        fs::create_dir_all(dir.join(RAW_DIR))
            .with_context(|| format!("{}: cannot create run directory", dir.display()))?;
        Store::with(dir, manifest)
    }

    /// Opens an existing run directory to resume it. Temporary files a
    /// killed or failed lwm left are removed; returns their paths (relative
    /// to the run directory) so the caller can say so.
    pub fn open(run_dir: &Path) -> anyhow::Result<(Store, Vec<String>)> {
        let manifest = read_manifest(run_dir)?;
        let mut removed = Vec::new();
        remove_temporaries(run_dir, run_dir, &mut removed)?;
        Ok((Store::with(run_dir.to_path_buf(), manifest)?, removed))
    }

    fn with(dir: PathBuf, manifest: Manifest) -> anyhow::Result<Store> {
        let events_path = events_path(&dir);
        let events = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&events_path)
            .with_context(|| format!("{}: cannot open", events_path.display()))?;
        let store = Store {
            dir,
            manifest: Mutex::new(manifest),
            events: Mutex::new(EventLog {
                file: events,
                pending: Vec::new(),
            }),
            first_write_error: Mutex::new(None),
        };
        store.save_manifest()?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first write of this campaign that failed, if any.
    pub fn first_write_error(&self) -> Option<String> {
        self.first_write_error.lock().unwrap().clone()
    }

    /// Remembers `e` if it is the first failed write.
    fn noted<T>(&self, r: anyhow::Result<T>) -> anyhow::Result<T> {
        if let Err(e) = &r {
            self.first_write_error
                .lock()
                .unwrap()
                .get_or_insert_with(|| format!("{e:#}"));
        }
        r
    }

    pub fn manifest(&self) -> Manifest {
        self.manifest.lock().unwrap().clone()
    }

    /// Changes the manifest and writes it out.
    pub fn update_manifest(&self, f: impl FnOnce(&mut Manifest)) -> anyhow::Result<()> {
        let mut m = self.manifest.lock().unwrap();
        f(&mut m);
        self.write_manifest(&m)
    }

    /// Changes one board's manifest entry and writes the manifest out.
    pub fn update_board(&self, board: &str, f: impl FnOnce(&mut BoardEntry)) -> anyhow::Result<()> {
        self.update_manifest(|m| {
            if let Some(b) = m.boards.iter_mut().find(|b| b.name == board) {
                f(b);
            }
        })
    }

    fn save_manifest(&self) -> anyhow::Result<()> {
        let m = self.manifest.lock().unwrap();
        self.write_manifest(&m)
    }

    /// Writes `m`, called with the manifest's lock held: board threads
    /// share one temporary file name, and an older state written after a
    /// newer one would undo it.
    fn write_manifest(&self, m: &Manifest) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(m)?;
        self.noted(write_atomic(&manifest_path(&self.dir), text.as_bytes()))
    }

    /// Appends one event line (`{"event": ..., "t_unix_ms":..., ...}`).
    pub fn record(&self, event: &Event) {
        self.append(event.line(unix_ms()));
    }

    fn append(&self, line: String) {
        let mut log = self.events.lock().unwrap();
        if log.pending.len() < MAX_PENDING_EVENTS {
            log.pending.push(line);
        }
        // An event log that cannot be written must not stop the campaign
        // (every result is in its own file anyway): the lines wait for the
        // next event, and the first failure is remembered.
        let r = log.flush_pending();
        drop(log);
        let _ = self.noted(
            r.with_context(|| format!("{}: cannot append", events_path(&self.dir).display())),
        );
    }

    /// Makes every event so far durable: a board finished, the campaign
    /// ended or was interrupted.
    pub fn checkpoint(&self) {
        let mut log = self.events.lock().unwrap();
        let r = log
            .flush_pending()
            .and_then(|()| log.file.sync_data().map_err(anyhow::Error::from));
        drop(log);
        let _ = self.noted(
            r.with_context(|| format!("{}: cannot append", events_path(&self.dir).display())),
        );
    }

    fn raw_path(&self, key: &RunKey, failed: bool) -> PathBuf {
        key.cell()
            .dir(&self.dir)
            .join(key.raw_name(failed).file_name())
    }

    /// Path (relative to the run directory) a run's document is saved at.
    pub fn relative_raw_path(&self, key: &RunKey) -> String {
        format!(
            "{}/{}",
            key.cell().rel_dir(),
            key.raw_name(false).file_name()
        )
    }

    /// Saves the agent's document for `key` exactly as the agent printed it.
    pub fn save_document(&self, key: &RunKey, agent_stdout: &[u8]) -> anyhow::Result<()> {
        let path = self.raw_path(key, false);
        self.noted(
            create_dir(path.parent().unwrap()).and_then(|()| write_atomic(&path, agent_stdout)),
        )
    }

    /// Records a run that produced no agent document.
    pub fn save_failure(
        &self,
        key: &RunKey,
        error: &str,
        stdout: &[u8],
        stderr: &[u8],
    ) -> anyhow::Result<()> {
        let record = FailedRunRecord {
            schema: FAILED_RUN_SCHEMA.into(),
            schema_version: FAILED_RUN_VERSION,
            board: key.board.clone(),
            workload: key.workload.clone(),
            allocator: key.allocator.clone(),
            kind: key.kind.prefix().into(),
            rep: key.index,
            error: error.into(),
            stdout_tail: tail(stdout),
            stderr_tail: tail(stderr),
        };
        let path = self.raw_path(key, true);
        let text = record.to_json()?;
        self.noted(
            create_dir(path.parent().unwrap()).and_then(|()| write_atomic(&path, text.as_bytes())),
        )
    }

    /// Writes a file of the run directory (e.g. `boards/BOARD/doctor.json`).
    pub fn save_file(&self, rel: &Path, data: &[u8]) -> anyhow::Result<()> {
        let path = self.dir.join(rel);
        self.noted(create_dir(path.parent().unwrap()).and_then(|()| write_atomic(&path, data)))
    }

    /// What is already collected for a (board, workload, allocator). Failed
    /// repetitions (no document) are moved to `superseded/` so that they are
    /// kept but run again.
    pub fn existing(
        &self,
        board: &str,
        workload: &str,
        allocator: &str,
    ) -> anyhow::Result<Existing> {
        let cell = CellKey::new(board, workload, allocator);
        let dir = cell.dir(&self.dir);
        let mut out = Existing::default();
        // No directory yet: nothing collected.
        for (name, raw) in cell.files(&self.dir).unwrap_or_default() {
            match raw {
                Some(RawName { failed: true, .. }) => {
                    let old = dir.join(SUPERSEDED_DIR);
                    fs::create_dir_all(&old)?;
                    let (from, to) = (dir.join(&name), old.join(format!("{}.{}", unix_ms(), name)));
                    fs::rename(&from, &to)
                        .with_context(|| format!("{}: cannot move aside", from.display()))?;
                }
                Some(RawName {
                    kind: RunKind::Rep,
                    index,
                    ..
                }) => {
                    out.reps.insert(index);
                }
                Some(RawName {
                    kind: RunKind::Warmup,
                    ..
                }) => out.warmups += 1,
                None => {}
            }
        }
        Ok(out)
    }
}

/// The failed-run records (`*.failed.json`, runs that left no agent
/// document) of `board` in a run directory, outside `superseded/`: runs
/// `--resume` makes again even on a board marked done.
pub fn failed_records(run_dir: &Path, board: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for cell in crate::rundir::board_cells(run_dir, board) {
        for (name, raw) in cell.files(run_dir).unwrap_or_default() {
            if raw.is_some_and(|r| r.failed) {
                out.push(cell.dir(run_dir).join(name));
            }
        }
    }
    out.sort();
    out
}

/// The last 4 KiB of a stream, as text.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(4096);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))
}

/// The suffix of `write_atomic`'s temporary files: `.tmp` and a process id.
fn is_temporary(name: &str) -> bool {
    name.rsplit_once(".tmp")
        .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes the temporary files under `dir` (an lwm killed or stopped by a
/// full disk between write and rename leaves them), adding their paths
/// relative to `root` to `removed`.
fn remove_temporaries(root: &Path, dir: &Path, removed: &mut Vec<String>) -> anyhow::Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.filter_map(|e| e.ok()) {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_temporaries(root, &path, removed)?;
        } else if is_temporary(&name) || (name.starts_with(".report.") && name.ends_with(".tmp")) {
            fs::remove_file(&path).with_context(|| format!("{}: cannot remove", path.display()))?;
            removed.push(
                path.strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
        }
    }
    Ok(())
}

/// Writes `path` so that readers see the old or the new file, never half,
/// and the new one survives a power cut once this returns. The temporary
/// file is removed when any step fails; the error names `path`.
pub fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_data()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(anyhow::anyhow!("{}: cannot write: {e}", path.display()));
    }
    Ok(())
}
