//! The run directory, `results/RUN_ID/`: its layout, the names of its
//! files, the manifest's reading and checking, the failed-run records and
//! the events. Everything that writes or reads a run directory (the
//! campaign's store, plan and resume, the report's loader, qualification)
//! finds its paths here.
//!
//! ```text
//! results/RUN_ID/
//!   manifest.json                      `crate::manifest::Manifest`, rewritten as the run progresses
//!   events.jsonl                       one `events::Event` per line (run started/finished/failed, board errors)
//!   boards/BOARD/doctor.json           `lwm-agent doctor` of the board before its runs
//!   boards/BOARD/vm|container/         what a board provider keeps for the campaign (console log, ...)
//!   raw/BOARD/WORKLOAD/ALLOCATOR/warmup-000.json   agent document of a warm-up run
//!   raw/BOARD/WORKLOAD/ALLOCATOR/rep-000.json      agent document (lwm-agent.run, one run) of repetition 0
//!   raw/BOARD/WORKLOAD/ALLOCATOR/rep-001.failed.json  a repetition that produced no agent document (`FailedRunRecord`)
//!   raw/BOARD/WORKLOAD/ALLOCATOR/superseded/   failed records `--resume` moved aside before making the runs again
//!   report.{txt,json,csv,md,html}      the reports
//! ```

pub mod events;
mod failed_run;
mod manifest_file;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};

pub use events::Event;
pub use failed_run::{FailedRunRecord, FAILED_RUN_SCHEMA, FAILED_RUN_VERSION};
pub use manifest_file::read_manifest;

/// `manifest.json`, at the top of the run directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// `events.jsonl`, at the top of the run directory.
pub const EVENTS_FILE: &str = "events.jsonl";
/// `raw/`: the agent's documents, by board, workload and allocator.
pub const RAW_DIR: &str = "raw";
/// Where failed records go that `--resume` moved aside, in a cell's directory.
pub const SUPERSEDED_DIR: &str = "superseded";

/// `RUN_DIR/manifest.json`.
pub fn manifest_path(run_dir: &Path) -> PathBuf {
    run_dir.join(MANIFEST_FILE)
}

/// `RUN_DIR/events.jsonl`.
pub fn events_path(run_dir: &Path) -> PathBuf {
    run_dir.join(EVENTS_FILE)
}

/// `boards/BOARD/doctor.json`, relative to the run directory.
pub fn doctor_rel(board: &str) -> PathBuf {
    Path::new("boards").join(board).join("doctor.json")
}

/// `RUN_DIR/boards/BOARD/KIND/`: a board provider's own files (`vm`,
/// `container`).
pub fn provider_dir(run_dir: &Path, board: &str, kind: &str) -> PathBuf {
    run_dir.join("boards").join(board).join(kind)
}

/// One board × workload × allocator: a directory of `raw/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub board: String,
    pub workload: String,
    pub allocator: String,
}

impl CellKey {
    pub fn new(board: &str, workload: &str, allocator: &str) -> CellKey {
        CellKey {
            board: board.into(),
            workload: workload.into(),
            allocator: allocator.into(),
        }
    }

    /// `raw/BOARD/WORKLOAD/ALLOCATOR`, relative to the run directory.
    pub fn rel_dir(&self) -> String {
        format!(
            "{RAW_DIR}/{}/{}/{}",
            self.board, self.workload, self.allocator
        )
    }

    /// The cell's directory in `run_dir`.
    pub fn dir(&self, run_dir: &Path) -> PathBuf {
        run_dir
            .join(RAW_DIR)
            .join(&self.board)
            .join(&self.workload)
            .join(&self.allocator)
    }

    /// The names in the cell's directory, sorted, each with what it says
    /// it is; an error names the directory (which may not exist yet).
    pub fn files(&self, run_dir: &Path) -> Result<Vec<(String, Option<RawName>)>> {
        let dir = self.dir(run_dir);
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(|e| anyhow!("{}: {e}", dir.display()))? {
            let name = e
                .map_err(|e| anyhow!("{}: {e}", dir.display()))?
                .file_name()
                .to_string_lossy()
                .into_owned();
            let raw = RawName::parse(&name);
            out.push((name, raw));
        }
        out.sort();
        Ok(out)
    }
}

/// Which kind of agent run a raw file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunKind {
    Warmup,
    Rep,
}

impl RunKind {
    /// `warmup` or `rep`: the file name's prefix, and the word events use.
    pub fn prefix(self) -> &'static str {
        match self {
            RunKind::Warmup => "warmup",
            RunKind::Rep => "rep",
        }
    }
}

/// What a raw file's name says: `KIND-NNN.json` (an agent document) or
/// `KIND-NNN.failed.json` (a run that left none), NNN at least three digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RawName {
    pub kind: RunKind,
    pub index: u32,
    pub failed: bool,
}

impl RawName {
    pub fn parse(name: &str) -> Option<RawName> {
        let (kind, rest) = if let Some(rest) = name.strip_prefix("rep-") {
            (RunKind::Rep, rest)
        } else {
            (RunKind::Warmup, name.strip_prefix("warmup-")?)
        };
        let (number, failed) = match rest.strip_suffix(".failed.json") {
            Some(n) => (n, true),
            None => (rest.strip_suffix(".json")?, false),
        };
        if number.len() < 3 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(RawName {
            kind,
            index: number.parse().ok()?,
            failed,
        })
    }

    /// The file name, e.g. `rep-007.json`.
    pub fn file_name(&self) -> String {
        let suffix = if self.failed { ".failed.json" } else { ".json" };
        format!("{}-{:03}{suffix}", self.kind.prefix(), self.index)
    }

    /// A repetition's agent document (`rep-NNN.json`).
    pub fn is_rep_document(&self) -> bool {
        self.kind == RunKind::Rep && !self.failed
    }
}

/// Every cell of `run_dir`'s `raw/`, sorted. Names starting with `.` are
/// skipped; a plain file where the layout has only directories is an
/// error naming it. No `raw/` at all: none.
pub fn cells(run_dir: &Path) -> Result<Vec<CellKey>> {
    let raw = run_dir.join(RAW_DIR);
    let mut out = Vec::new();
    if !raw.exists() {
        return Ok(out);
    }
    for board in subdirs(&raw)? {
        for workload in subdirs(&raw.join(&board))? {
            for allocator in subdirs(&raw.join(&board).join(&workload))? {
                out.push(CellKey::new(&board, &workload, &allocator));
            }
        }
    }
    Ok(out)
}

/// The cells of `board` in `run_dir`, sorted; anything unreadable or not a
/// directory is passed over.
pub fn board_cells(run_dir: &Path, board: &str) -> Vec<CellKey> {
    let dirs = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let board_dir = run_dir.join(RAW_DIR).join(board);
    let mut out = Vec::new();
    for workload in dirs(&board_dir) {
        for allocator in dirs(&board_dir.join(&workload)) {
            out.push(CellKey::new(board, &workload, &allocator));
        }
    }
    out
}

/// Names of the subdirectories of `dir`, sorted; plain files there are an error
/// (the layout has none at these levels).
fn subdirs(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| anyhow!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| anyhow!("{}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if !entry.path().is_dir() {
            bail!(
                "{}: unexpected file in the raw/BOARD/WORKLOAD/ALLOCATOR tree",
                entry.path().display()
            );
        }
        out.push(name);
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_names_are_read_as_they_are_written() {
        for kind in [RunKind::Warmup, RunKind::Rep] {
            for failed in [false, true] {
                for index in [0, 7, 999, 1000] {
                    let n = RawName {
                        kind,
                        index,
                        failed,
                    };
                    assert_eq!(RawName::parse(&n.file_name()), Some(n));
                }
            }
        }
        assert_eq!(
            RawName::parse("rep-001.failed.json"),
            Some(RawName {
                kind: RunKind::Rep,
                index: 1,
                failed: true
            })
        );
        for not_raw in [
            "rep-1.json",
            "rep-00x.json",
            "rep-001.tmp123",
            "rep-001.json.tmp4",
            "warmup-001",
            "superseded",
            "notes.json",
            "rep-+01.json",
        ] {
            assert_eq!(RawName::parse(not_raw), None, "{not_raw}");
        }
    }

    #[test]
    fn a_cell_is_raw_board_workload_allocator() {
        let k = CellKey::new("pi4", "sqlite", "system");
        assert_eq!(k.rel_dir(), "raw/pi4/sqlite/system");
        assert_eq!(
            k.dir(Path::new("/r/run")),
            Path::new("/r/run/raw/pi4/sqlite/system")
        );
        assert_eq!(doctor_rel("pi4"), Path::new("boards/pi4/doctor.json"));
    }
}
