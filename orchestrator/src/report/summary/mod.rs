//! The computed statistics of a run directory: what every exporter renders.
//! Built once by [`summarize`]; exporters only format it.
//!
//! This file holds the model (the types report.json serializes); `board`
//! builds it board by board, `cell` computes one workload and allocator's
//! statistics, `emulation` says what an emulated board's figures are
//! worth, and `warnings` finds what the figures cannot show.

mod board;
mod cell;
mod emulation;
mod warnings;

use serde::Serialize;

use super::load::{FailedRun, PeakSource};
use crate::manifest::Manifest;
use crate::stats::{self, Interval, Verdict};

pub use board::summarize;
pub use emulation::{
    detected_emulation, emulation_note, memory_representative, MEMORY_NOT_REPRESENTATIVE,
};

pub const REPORT_SCHEMA: &str = "lwm.report";
/// Bumped on any change to a field's name, type or meaning; see
/// orchestrator/SCHEMA.md.
pub const REPORT_VERSION: u32 = 5;
/// The allocator every ratio is taken against.
pub const BASELINE: &str = "system";

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    pub schema_version: u32,
    pub run_id: String,
    pub manifest: Manifest,
    pub method: Method,
    pub boards: Vec<BoardSummary>,
    pub warnings: Vec<super::warning::Warning>,
}

/// How the numbers were computed, stated in every report.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    pub baseline: &'static str,
    pub time_metric: &'static str,
    pub memory_metric: &'static str,
    pub confidence: f64,
    pub bootstrap_resamples: usize,
    pub interval: &'static str,
    pub ratio_interval: &'static str,
    pub geomean_interval: &'static str,
    pub outliers: &'static str,
    pub noise_threshold: f64,
    pub verdict: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardSummary {
    pub name: String,
    pub description: String,
    pub cpu: String,
    pub target: String,
    /// `none`, `qemu-system`, `qemu-user` (`unknown` for a board missing from the manifest).
    pub emulation: String,
    /// `--threads` of the board's workload runs (the board's CPU count
    /// unless `--threads` was given); null when the board was never checked.
    pub threads: Option<u32>,
    /// What a reader must keep in mind for an emulated board.
    pub emulation_note: Option<String>,
    /// Whether the peak-RSS figures describe the program as it runs on the
    /// board: false under qemu-user, where rusage and /proc describe the
    /// emulator process (program + translator, 12-18 MB that varies).
    /// Every report marks such figures [`MEMORY_NOT_REPRESENTATIVE`].
    pub memory_representative: bool,
    /// Whether the times are the board's own: false under any emulation
    /// (emulation times compare allocators only within the board).
    pub time_representative: bool,
    pub status: String,
    pub error: Option<String>,
    /// What happened to the board besides its runs (a boot tried again, a
    /// connection lost), one line each; see `BoardEntry::incidents`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<String>,
    /// In the campaign's interleaving order, `system` first.
    pub allocators: Vec<String>,
    pub workloads: Vec<WorkloadSummary>,
    /// One per non-system allocator.
    pub geomean: Vec<GeomeanSummary>,
    pub ok_runs: usize,
    pub failed_runs: Vec<FailedRunOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkloadSummary {
    pub name: String,
    /// A built-in workload or a user's own command: every report marks
    /// the rows of commands.
    pub kind: RowKind,
    /// For a command: whether its stdout was compared across allocators
    /// (false with `--no-output-check` or `check_output = false`). Absent
    /// for workloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_check: Option<bool>,
    /// One per allocator of the board, same order.
    pub cells: Vec<CellSummary>,
}

/// What a report row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// One of lwm's own workloads (`lwm-workload`).
    Workload,
    /// A user's program (`--`, `--command`, `--suite`).
    Command,
}

impl WorkloadSummary {
    pub fn is_command(&self) -> bool {
        self.kind == RowKind::Command
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CellSummary {
    pub allocator: String,
    pub n_ok: usize,
    pub n_failed: usize,
    pub warmups: u32,
    pub time: Option<MetricSummary>,
    pub memory: Option<MetricSummary>,
    /// This allocator's median over system's (None for system itself, or
    /// when either side has no ok run).
    pub time_vs_system: Option<RatioSummary>,
    pub memory_vs_system: Option<RatioSummary>,
    /// The repetition whose memory timeline is shown: the one at the median time.
    pub timeline_rep: Option<u32>,
    /// `[t_ms, rss_kib]`, thinned to at most 400 points.
    pub timeline: Vec<[f64; 2]>,
    /// Every ok repetition's raw values.
    pub samples: Vec<SampleOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricSummary {
    pub unit: &'static str,
    pub n: usize,
    pub median: f64,
    pub ci: Interval,
    pub ci_half_width_rel: f64,
    pub min: f64,
    pub max: f64,
    /// Repetition numbers flagged as outliers (kept in every statistic).
    pub outlier_reps: Vec<u32>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RatioSummary {
    pub ratio: f64,
    pub ci: Interval,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleOut {
    pub rep: u32,
    pub file: String,
    pub wall_s: f64,
    pub peak_rss_kib: Option<u64>,
    pub peak_source: PeakSource,
}

#[derive(Debug, Clone, Serialize)]
pub struct GeomeanSummary {
    pub allocator: String,
    /// Workloads with ok runs on both sides (the ones in the mean).
    pub workloads: usize,
    pub time: Option<RatioSummary>,
    pub memory: Option<RatioSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedRunOut {
    pub workload: String,
    pub allocator: String,
    #[serde(flatten)]
    pub run: FailedRun,
}

pub fn method(noise_threshold: f64) -> Method {
    Method {
        baseline: BASELINE,
        time_metric: "wall time of the run (runs[0].wall_s), seconds",
        memory_metric: "peak RSS (runs[0].rusage.max_rss_kib; the sampler's memory.peak_rss_kib when rusage is null), KiB",
        confidence: 0.95,
        bootstrap_resamples: stats::RESAMPLES,
        interval: "percentile bootstrap of the median, fixed seed per board/workload/allocator/metric",
        ratio_interval: "ratio of medians (allocator / system); percentile bootstrap, both sides resampled independently",
        geomean_interval: "geometric mean of the per-workload ratios; joint percentile bootstrap over repetitions (every workload's runs resampled in each draw), workloads held fixed",
        outliers: "modified z-score 0.6745 (x - median) / MAD > 3.5 (mean absolute deviation x 1.2533 when MAD = 0); flagged, kept in every statistic",
        noise_threshold,
        verdict: "faster/less only if the whole interval is below 1 and the ratio below 1 - noise threshold; slower/more symmetrically; otherwise same",
    }
}
