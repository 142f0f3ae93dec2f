//! Loading a run directory (layout in `crate::rundir`) into memory:
//! the manifest and, per board × workload × allocator, every repetition's
//! numbers. Nothing is summarised here; `summary.rs` does that.
//!
//! Errors are one line naming the file: a corrupt document means numbers
//! could be silently missing, so it stops the report instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use lwm_contract::schema::{AllocatorKind, RunDocument};

use super::warning::Warning;
use crate::manifest::Manifest;
use crate::rundir::{read_manifest, FailedRunRecord, RawName, RunKind, FAILED_RUN_VERSION};
pub use crate::rundir::{CellKey, FAILED_RUN_SCHEMA};

/// Everything read from one run directory.
#[derive(Debug, Clone)]
pub struct RunData {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Keyed by (board, workload, allocator) as named by the raw/ directories.
    pub cells: BTreeMap<CellKey, Cell>,
    /// Things a reader must know that did not stop the load (stray files, ...).
    pub warnings: Vec<Warning>,
}

/// The repetitions of one workload under one allocator on one board.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// Ok repetitions, in repetition order.
    pub samples: Vec<Sample>,
    /// Repetitions that produced no ok run, in repetition order.
    pub failed: Vec<FailedRun>,
    pub warmups: u32,
}

/// One ok repetition's numbers.
#[derive(Debug, Clone)]
pub struct Sample {
    pub rep: u32,
    /// Relative to the run directory.
    pub file: String,
    /// `runs[0].wall_s`.
    pub wall_s: f64,
    /// `runs[0].rusage.max_rss_kib`, else `runs[0].memory.peak_rss_kib`.
    pub peak_rss_kib: Option<u64>,
    pub peak_source: PeakSource,
    /// `(t_ms, rss_kib)` of every memory sample that has an RSS.
    pub timeline: Vec<(f64, u64)>,
    /// The measurement floor: the RSS the child started from
    /// (`runs[0].max_rss_floor_kib`), or for older agents their own peak.
    /// A child's max RSS cannot read below about this.
    pub agent_floor_kib: Option<u64>,
    /// `workload_report.checksum`, to check every allocator did the same work.
    pub checksum: Option<serde_json::Value>,
    /// SHA-256 of the run's whole stdout (agent schema 2): a user
    /// command's must be the same under every allocator.
    pub stdout_sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeakSource {
    /// wait4(2)'s ru_maxrss.
    Rusage,
    /// The /proc sampler's largest RSS (no rusage in the document).
    Sampler,
    None,
}

/// A repetition without an ok run: either a `rep-NNN.failed.json` written by
/// the campaign, or an agent document whose run is not ok.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedRun {
    pub rep: u32,
    pub file: String,
    /// One line.
    pub error: String,
    pub stderr_tail: String,
}

/// Reads `run_dir`: `manifest.json` and every file under `raw/`.
pub fn load_run(run_dir: &Path) -> Result<RunData> {
    if !run_dir.is_dir() {
        bail!(
            "{}: not a run directory (does not exist or is not a directory)",
            run_dir.display()
        );
    }
    let manifest = read_manifest(run_dir)?;
    let mut data = RunData {
        dir: run_dir.to_path_buf(),
        manifest,
        cells: BTreeMap::new(),
        warnings: Vec::new(),
    };
    if !run_dir.join(crate::rundir::RAW_DIR).exists() {
        data.warnings.push(Warning::NoRunsYet);
        return Ok(data);
    }
    for key in crate::rundir::cells(run_dir)? {
        let cell = load_cell(run_dir, &key, &mut data.warnings)?;
        data.cells.insert(key, cell);
    }
    fail_differing_stdout(&mut data);
    Ok(data)
}

/// A user command's repetitions whose stdout differs from its output under
/// `system` become failed runs (`commands::stdout_check`), unless the
/// command's output is not checked (`check_output` false).
fn fail_differing_stdout(data: &mut RunData) {
    use crate::commands::stdout_check::{mismatches, Output};
    let boards: Vec<String> = data
        .manifest
        .boards
        .iter()
        .map(|b| b.name.clone())
        .collect();
    for command in &data.manifest.settings.commands {
        if !command.check_output {
            continue;
        }
        for board in &boards {
            let keys: Vec<CellKey> = data
                .cells
                .keys()
                .filter(|k| &k.board == board && k.workload == command.name)
                .cloned()
                .collect();
            let mut outputs = Vec::new();
            for k in &keys {
                for s in &data.cells[k].samples {
                    outputs.push((k.clone(), s.rep, s.stdout_sha256.clone()));
                }
            }
            let view: Vec<Output> = outputs
                .iter()
                .map(|(k, rep, h)| Output {
                    allocator: &k.allocator,
                    rep: *rep,
                    sha256: h.as_deref(),
                })
                .collect();
            for (i, why) in mismatches(&command.name, &view) {
                let (key, rep, _) = &outputs[i];
                let cell = data.cells.get_mut(key).expect("key from cells");
                if let Some(pos) = cell.samples.iter().position(|s| s.rep == *rep) {
                    let s = cell.samples.remove(pos);
                    cell.failed.push(FailedRun {
                        rep: s.rep,
                        file: s.file,
                        error: why,
                        stderr_tail: String::new(),
                    });
                    cell.failed.sort_by_key(|f| f.rep);
                }
            }
        }
    }
}

fn load_cell(run_dir: &Path, key: &CellKey, warnings: &mut Vec<Warning>) -> Result<Cell> {
    let rel_dir = key.rel_dir();
    let mut cell = Cell::default();
    for (name, raw) in key.files(run_dir)? {
        let rel = format!("{rel_dir}/{name}");
        let path = run_dir.join(&rel);
        match raw {
            Some(RawName {
                kind: RunKind::Warmup,
                failed,
                ..
            }) => {
                // A warm-up that produced no document is kept for the
                // record, not summarised.
                if !failed {
                    cell.warmups += 1;
                }
            }
            Some(RawName {
                kind: RunKind::Rep,
                index: rep,
                failed: false,
            }) => {
                let doc = read_run_document(&path)?;
                check_labels(&doc, key, &rel, warnings)?;
                let run = &doc.runs[0];
                if run.ok {
                    cell.samples.push(sample_of(&doc, rep, rel));
                } else {
                    let mut error = format!("agent run status {}", run.status);
                    if !run.problems.is_empty() {
                        error.push_str(": ");
                        error.push_str(&run.problems.join("; "));
                    }
                    with_last_stderr_line(&mut error, &run.stderr.tail);
                    cell.failed.push(FailedRun {
                        rep,
                        file: rel,
                        error: one_line(&error),
                        stderr_tail: run.stderr.tail.clone(),
                    });
                }
            }
            Some(RawName {
                kind: RunKind::Rep,
                index: rep,
                failed: true,
            }) => cell.failed.push(read_failed(&path, rel, key, rep)?),
            None if name.starts_with('.') || name.ends_with(".tmp") => {}
            // Failed records `--resume` moved aside: kept, not reported.
            None if name == crate::rundir::SUPERSEDED_DIR && path.is_dir() => {}
            None => warnings.push(Warning::UnexpectedFile { rel: rel.clone() }),
        }
    }
    cell.samples.sort_by_key(|s| s.rep);
    cell.failed.sort_by_key(|f| f.rep);
    Ok(cell)
}

fn read_run_document(path: &Path) -> Result<RunDocument> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let doc: RunDocument = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{}: not an lwm-agent run document: {e}", path.display()))?;
    if doc.schema != lwm_contract::schema::RUN_SCHEMA
        || !lwm_contract::schema::READABLE_RUN_VERSIONS.contains(&doc.schema_version)
    {
        bail!(
            "{}: schema {:?} version {} is not {:?} version {:?}",
            path.display(),
            doc.schema,
            doc.schema_version,
            lwm_contract::schema::RUN_SCHEMA,
            lwm_contract::schema::READABLE_RUN_VERSIONS
        );
    }
    if doc.runs.len() != 1 {
        bail!(
            "{}: holds {} runs, a repetition document holds exactly 1",
            path.display(),
            doc.runs.len()
        );
    }
    super::check::check_run_document(&doc).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(doc)
}

/// A document filed under the wrong allocator would put one allocator's
/// numbers in another's column: refuse it. A workload name differing from
/// the directory is only worth a warning (names may be decorated).
fn check_labels(
    doc: &RunDocument,
    key: &CellKey,
    rel: &str,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    let is_system_doc = doc.allocator.kind == AllocatorKind::System;
    if is_system_doc != (key.allocator == "system") {
        bail!(
            "{rel}: filed under allocator {:?} but the agent ran allocator kind {:?} ({})",
            key.allocator,
            doc.allocator.kind,
            doc.allocator.path.as_deref().unwrap_or("no preload")
        );
    }
    if let Some(w) = &doc.invocation.workload {
        if *w != key.workload {
            warnings.push(Warning::WorkloadMismatch {
                rel: rel.to_string(),
                filed: key.workload.clone(),
                ran: w.clone(),
            });
        }
    }
    Ok(())
}

fn sample_of(doc: &RunDocument, rep: u32, file: String) -> Sample {
    let run = &doc.runs[0];
    let (peak_rss_kib, peak_source) = match (&run.rusage, run.memory.peak_rss_kib) {
        (Some(r), _) => (Some(r.max_rss_kib), PeakSource::Rusage),
        (None, Some(p)) => (Some(p), PeakSource::Sampler),
        (None, None) => (None, PeakSource::None),
    };
    Sample {
        rep,
        file,
        wall_s: run.wall_s,
        peak_rss_kib,
        peak_source,
        timeline: run
            .memory
            .samples
            .iter()
            .filter_map(|s| s.rss_kib.map(|r| (s.t_ms, r)))
            .collect(),
        // Agents that start children from their launcher record the floor
        // per run; older documents only have the agent's own peak.
        agent_floor_kib: run.max_rss_floor_kib.or(doc.agent.max_rss_kib),
        checksum: run
            .workload_report
            .as_ref()
            .and_then(|w| w.get("checksum"))
            .cloned(),
        stdout_sha256: run.stdout.sha256.clone(),
    }
}

fn read_failed(path: &Path, rel: String, key: &CellKey, rep: u32) -> Result<FailedRun> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let f: FailedRunRecord = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{}: not a failed-run record: {e}", path.display()))?;
    if f.schema != FAILED_RUN_SCHEMA || f.schema_version != FAILED_RUN_VERSION {
        bail!(
            "{}: schema {:?} version {} is not {FAILED_RUN_SCHEMA:?} version {FAILED_RUN_VERSION}",
            path.display(),
            f.schema,
            f.schema_version
        );
    }
    if f.board != key.board
        || f.workload != key.workload
        || f.allocator != key.allocator
        || f.rep != rep
    {
        bail!(
            "{}: records {}/{}/{} rep {} but is filed as {}/{}/{} rep {}",
            path.display(),
            f.board,
            f.workload,
            f.allocator,
            f.rep,
            key.board,
            key.workload,
            key.allocator,
            rep
        );
    }
    let mut error = f.error;
    with_last_stderr_line(&mut error, &f.stderr_tail);
    Ok(FailedRun {
        rep,
        file: rel,
        error: one_line(&error),
        stderr_tail: f.stderr_tail,
    })
}

/// Appends the last non-empty line of `stderr_tail` (a workload's or
/// loader's own words, e.g. "option --threads: '100000' is not a thread
/// count") to `error`, unless it is already there.
fn with_last_stderr_line(error: &mut String, stderr_tail: &str) {
    let Some(last) = stderr_tail
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
    else {
        return;
    };
    if !error.contains(last) {
        error.push_str(" | stderr: ");
        error.push_str(last);
    }
}

/// Newlines and tabs folded to spaces: errors are shown in one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
