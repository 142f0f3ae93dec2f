//! The run directory on disk: every result is written as soon as it
//! exists, atomically (temp file + rename), so a crash, a dead board or a
//! Ctrl-C never loses what was already collected. Layout: see
//! `crate::manifest`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context};
use serde_json::json;

use crate::manifest::{BoardEntry, Manifest, MANIFEST_SCHEMA, MANIFEST_VERSION};

use super::clock::unix_ms;

/// Which kind of agent run a raw file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Warmup,
    Rep,
}

impl RunKind {
    fn prefix(self) -> &'static str {
        match self {
            RunKind::Warmup => "warmup",
            RunKind::Rep => "rep",
        }
    }
}

/// Identifies one agent run of a campaign.
#[derive(Debug, Clone)]
pub struct RunKey {
    pub board: String,
    pub workload: String,
    pub allocator: String,
    pub kind: RunKind,
    pub index: u32,
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
    events: Mutex<fs::File>,
}

impl Store {
    /// Creates `results_dir/RUN_ID/` (which must not exist) and writes the
    /// first manifest.
    pub fn create(results_dir: &Path, manifest: Manifest) -> anyhow::Result<Store> {
        let dir = results_dir.join(&manifest.run_id);
        if dir.exists() {
            bail!("{}: run directory already exists", dir.display());
        }
        fs::create_dir_all(dir.join("raw"))
            .with_context(|| format!("{}: cannot create run directory", dir.display()))?;
        Store::with(dir, manifest)
    }

    /// Opens an existing run directory to resume it.
    pub fn open(run_dir: &Path) -> anyhow::Result<Store> {
        let manifest = read_manifest(run_dir)?;
        Store::with(run_dir.to_path_buf(), manifest)
    }

    fn with(dir: PathBuf, manifest: Manifest) -> anyhow::Result<Store> {
        let events_path = dir.join("events.jsonl");
        let events = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&events_path)
            .with_context(|| format!("{}: cannot open", events_path.display()))?;
        let store = Store {
            dir,
            manifest: Mutex::new(manifest),
            events: Mutex::new(events),
        };
        store.save_manifest()?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> Manifest {
        self.manifest.lock().unwrap().clone()
    }

    /// Changes the manifest and writes it out.
    pub fn update_manifest(&self, f: impl FnOnce(&mut Manifest)) -> anyhow::Result<()> {
        f(&mut self.manifest.lock().unwrap());
        self.save_manifest()
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
        let text = {
            let m = self.manifest.lock().unwrap();
            serde_json::to_string_pretty(&*m)?
        };
        write_atomic(&self.dir.join("manifest.json"), text.as_bytes())
    }

    /// Appends one event line (`{"t_unix_ms":..., "event": ..., ...}`).
    pub fn event(&self, event: &str, fields: serde_json::Value) {
        let mut obj = json!({ "t_unix_ms": unix_ms(), "event": event });
        if let (Some(o), serde_json::Value::Object(extra)) = (obj.as_object_mut(), fields) {
            o.extend(extra);
        }
        let mut f = self.events.lock().unwrap();
        // An event log that cannot be written must not stop the campaign:
        // every result is in its own file anyway.
        let _ = writeln!(f, "{obj}");
    }

    fn raw_dir(&self, board: &str, workload: &str, allocator: &str) -> PathBuf {
        self.dir
            .join("raw")
            .join(board)
            .join(workload)
            .join(allocator)
    }

    fn raw_path(&self, key: &RunKey, failed: bool) -> PathBuf {
        let suffix = if failed { ".failed.json" } else { ".json" };
        self.raw_dir(&key.board, &key.workload, &key.allocator)
            .join(format!("{}-{:03}{suffix}", key.kind.prefix(), key.index))
    }

    /// Path (relative to the run directory) a run's document is saved at.
    pub fn relative_raw_path(&self, key: &RunKey) -> String {
        self.raw_path(key, false)
            .strip_prefix(&self.dir)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// Saves the agent's document for `key` exactly as the agent printed it.
    pub fn save_document(&self, key: &RunKey, agent_stdout: &[u8]) -> anyhow::Result<()> {
        let path = self.raw_path(key, false);
        fs::create_dir_all(path.parent().unwrap())?;
        write_atomic(&path, agent_stdout)
    }

    /// Records a run that produced no agent document.
    pub fn save_failure(
        &self,
        key: &RunKey,
        error: &str,
        stdout: &[u8],
        stderr: &[u8],
    ) -> anyhow::Result<()> {
        let doc = json!({
            "schema": "lwm.failed-run",
            "schema_version": 1,
            "board": key.board,
            "workload": key.workload,
            "allocator": key.allocator,
            "kind": key.kind.prefix(),
            "rep": key.index,
            "error": error,
            "stdout_tail": tail(stdout),
            "stderr_tail": tail(stderr),
        });
        let path = self.raw_path(key, true);
        fs::create_dir_all(path.parent().unwrap())?;
        write_atomic(&path, serde_json::to_string_pretty(&doc)?.as_bytes())
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
        let dir = self.raw_dir(board, workload, allocator);
        let mut out = Existing::default();
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(out);
        };
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".failed.json") {
                let old = dir.join("superseded");
                fs::create_dir_all(&old)?;
                let to = old.join(format!("{}.{}", unix_ms(), name));
                fs::rename(e.path(), &to)
                    .with_context(|| format!("{}: cannot move aside", e.path().display()))?;
            } else if let Some(n) = parse_index(&name, "rep-") {
                out.reps.insert(n);
            } else if parse_index(&name, "warmup-").is_some() {
                out.warmups += 1;
            }
        }
        Ok(out)
    }
}

fn parse_index(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// The last 4 KiB of a stream, as text.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(4096);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Writes `path` so that readers see the old or the new file, never half.
pub fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, data).with_context(|| format!("{}: cannot write", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

/// Reads and checks `run_dir/manifest.json`.
pub fn read_manifest(run_dir: &Path) -> anyhow::Result<Manifest> {
    let path = run_dir.join("manifest.json");
    let text = fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read (not a run directory?)", path.display()))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{}:{}: not a valid manifest: {e}", path.display(), e.line())
    })?;
    if m.schema != MANIFEST_SCHEMA || m.schema_version != MANIFEST_VERSION {
        bail!(
            "{}: manifest schema {} v{} (this lwm reads {MANIFEST_SCHEMA} v{MANIFEST_VERSION})",
            path.display(),
            m.schema,
            m.schema_version
        );
    }
    Ok(m)
}
