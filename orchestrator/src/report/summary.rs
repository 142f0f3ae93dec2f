//! The computed statistics of a run directory: what every exporter renders.
//! Built once by [`summarize`]; exporters only format it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::load::{Cell, CellKey, FailedRun, PeakSource, RunData, Sample};
use crate::manifest::{BoardEntry, Manifest};
use crate::stats::{self, Interval, Verdict};

pub const REPORT_SCHEMA: &str = "lwm.report";
/// Bumped on any change to a field's name, type or meaning; see
/// orchestrator/SCHEMA.md.
pub const REPORT_VERSION: u32 = 5;
/// The allocator every ratio is taken against.
pub const BASELINE: &str = "system";
/// Memory timelines are thinned to at most this many points per line.
const TIMELINE_POINTS: usize = 400;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    pub schema_version: u32,
    pub run_id: String,
    pub manifest: Manifest,
    pub method: Method,
    pub boards: Vec<BoardSummary>,
    pub warnings: Vec<String>,
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

/// Computes every statistic of `data`. Deterministic: seeds derive from names.
pub fn summarize(data: &RunData) -> Summary {
    let m = &data.manifest;
    let noise = m.settings.noise_threshold;
    let mut warnings = data.warnings.clone();
    // Boards are independent: one thread each (the bootstraps dominate).
    let names = board_names(data, &mut warnings);
    let per_board: Vec<(BoardSummary, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                scope.spawn(move || {
                    let mut w = Vec::new();
                    (summarize_board(data, name, noise, &mut w), w)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("summarizing a board panicked"))
            .collect()
    });
    let mut boards = Vec::new();
    for (b, w) in per_board {
        boards.push(b);
        warnings.extend(w);
    }
    warnings.extend(m.boards.iter().filter_map(undeclared_emulation));
    Summary {
        schema: REPORT_SCHEMA,
        schema_version: REPORT_VERSION,
        run_id: m.run_id.clone(),
        manifest: m.clone(),
        method: method(noise),
        boards,
        warnings,
    }
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

/// Boards in manifest order, then any found only in raw/ (with a warning).
fn board_names(data: &RunData, warnings: &mut Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = data
        .manifest
        .boards
        .iter()
        .map(|b| b.name.clone())
        .collect();
    for key in data.cells.keys() {
        if !names.contains(&key.board) {
            warnings.push(format!("raw/{}: board not in manifest.json", key.board));
            names.push(key.board.clone());
        }
    }
    names
}

/// `preferred` order first, then the others found, in sorted order.
fn ordered(preferred: &[String], found: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let found: Vec<String> = found.collect();
    for p in preferred {
        if found.contains(p) && !out.contains(p) {
            out.push(p.clone());
        }
    }
    for f in found {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

fn summarize_board(
    data: &RunData,
    board: &str,
    noise: f64,
    warnings: &mut Vec<String>,
) -> BoardSummary {
    let settings = &data.manifest.settings;
    let entry: Option<&BoardEntry> = data.manifest.boards.iter().find(|b| b.name == board);
    let cells: BTreeMap<&CellKey, &Cell> = data
        .cells
        .iter()
        .filter(|(k, _)| k.board == board)
        .collect();

    // Planned names count too, so a campaign in progress shows its empty cells.
    let mut alloc_found: Vec<String> = cells.keys().map(|k| k.allocator.clone()).collect();
    let mut work_found: Vec<String> = cells.keys().map(|k| k.workload.clone()).collect();
    if let Some(e) = entry {
        alloc_found.extend(
            settings
                .allocators
                .iter()
                .filter(|a| *a == BASELINE || e.allocators.contains_key(*a))
                .cloned(),
        );
        // `all` is a selector, not a workload.
        work_found.extend(settings.workloads.iter().filter(|w| *w != "all").cloned());
    }
    let mut preferred = vec![BASELINE.to_string()];
    preferred.extend(settings.allocators.iter().cloned());
    let allocators = ordered(&preferred, alloc_found.into_iter());
    let workloads_names = ordered(
        &settings
            .workloads
            .iter()
            .filter(|w| *w != "all")
            .cloned()
            .collect::<Vec<_>>(),
        work_found.into_iter(),
    );

    let empty = Cell::default();
    let cell_of = |w: &str, a: &str| -> &Cell {
        let key = CellKey {
            board: board.into(),
            workload: w.into(),
            allocator: a.into(),
        };
        data.cells.get(&key).unwrap_or(&empty)
    };

    let mut failed_runs = Vec::new();
    let mut ok_runs = 0;
    let mut workloads = Vec::new();
    for w in &workloads_names {
        let base = cell_of(w, BASELINE);
        let base_time = times(base);
        let base_mem = peaks(base);
        let mut out = Vec::new();
        for a in &allocators {
            let cell = cell_of(w, a);
            ok_runs += cell.samples.len();
            failed_runs.extend(cell.failed.iter().map(|f| FailedRunOut {
                workload: w.clone(),
                allocator: a.clone(),
                run: f.clone(),
            }));
            let summary = summarize_cell(board, w, a, cell, &base_time, &base_mem, noise);
            floor_warning(board, w, a, cell, &summary, warnings);
            out.push(summary);
        }
        checksum_warning(board, w, &allocators, &cell_of, warnings);
        let command = settings.commands.iter().find(|c| &c.name == w);
        workloads.push(WorkloadSummary {
            name: w.clone(),
            kind: if command.is_some() {
                RowKind::Command
            } else {
                RowKind::Workload
            },
            output_check: command.map(|c| c.check_output),
            cells: out,
        });
    }

    let geomean = allocators
        .iter()
        .filter(|a| *a != BASELINE)
        .map(|a| {
            let time_pairs: Vec<(Vec<f64>, Vec<f64>)> = workloads_names
                .iter()
                .map(|w| (times(cell_of(w, a)), times(cell_of(w, BASELINE))))
                .collect();
            let mem_pairs: Vec<(Vec<f64>, Vec<f64>)> = workloads_names
                .iter()
                .map(|w| (peaks(cell_of(w, a)), peaks(cell_of(w, BASELINE))))
                .collect();
            GeomeanSummary {
                allocator: a.clone(),
                workloads: time_pairs
                    .iter()
                    .filter(|(x, y)| !x.is_empty() && !y.is_empty())
                    .count(),
                time: geomean_of(
                    &time_pairs,
                    stats::seed_for(&[board, "*geomean*", a, "time"]),
                    noise,
                ),
                memory: geomean_of(
                    &mem_pairs,
                    stats::seed_for(&[board, "*geomean*", a, "memory"]),
                    noise,
                ),
            }
        })
        .collect();

    let emulation = entry
        .map(|e| e.emulation.clone())
        .unwrap_or_else(|| "unknown".into());
    BoardSummary {
        name: board.to_string(),
        description: entry.map(|e| e.description.clone()).unwrap_or_default(),
        cpu: entry
            .map(|e| e.cpu.clone())
            .unwrap_or_else(|| "unknown".into()),
        target: entry
            .map(|e| e.target.clone())
            .unwrap_or_else(|| "unknown".into()),
        threads: entry.and_then(|e| e.threads_used(settings)),
        emulation_note: emulation_note(&emulation),
        memory_representative: memory_representative(&emulation),
        time_representative: emulation == "none",
        emulation,
        status: entry
            .map(|e| e.status.clone())
            .unwrap_or_else(|| "unknown".into()),
        error: entry.and_then(|e| e.error.clone()),
        incidents: entry.map(|e| e.incidents.clone()).unwrap_or_default(),
        allocators,
        workloads,
        geomean,
        ok_runs,
        failed_runs,
    }
}

/// The words every report puts on the memory figures of a board whose
/// memory is not its own (see [`BoardSummary::memory_representative`]).
pub const MEMORY_NOT_REPRESENTATIVE: &str = "not representative";

/// Whether a board with this emulation measures its programs' own memory:
/// real hardware and QEMU system VMs do; qemu-user (and anything unknown)
/// does not.
pub fn memory_representative(emulation: &str) -> bool {
    matches!(emulation, "none" | "qemu-system")
}

/// What the agent found out by itself about emulation on a board, from
/// the environment it reported: `Some((user_mode, what))` when it saw
/// qemu-user or a virtual machine, with its evidence.
pub fn detected_emulation(b: &crate::manifest::BoardEntry) -> Option<(bool, String)> {
    let e = b.agent_emulation()?;
    let evidence = e.evidence.join("; ");
    if e.user_mode {
        Some((true, format!("qemu-user emulation ({evidence})")))
    } else {
        e.virtual_machine
            .map(|vm| (false, format!("virtual machine {vm} ({evidence})")))
    }
}

/// A warning for a board whose profile says `emulation = "none"` while the
/// agent found itself under qemu-user: its figures are the emulator's, and
/// the report would otherwise present them as real hardware's. (A virtual
/// machine is only shown in the board's facts: under KVM its figures are
/// close to the hardware's.)
fn undeclared_emulation(b: &crate::manifest::BoardEntry) -> Option<String> {
    match detected_emulation(b)? {
        (true, what) if b.emulation == "none" => Some(format!(
            "board {}: its profile says emulation \"none\", but the agent found {what}; its time and memory figures are the emulator's (set emulation = \"qemu-user\" in {})",
            b.name, b.file
        )),
        _ => None,
    }
}

/// The plain note shown with an emulated board's figures.
pub fn emulation_note(emulation: &str) -> Option<String> {
    match emulation {
        "none" => None,
        "qemu-system" => {
            Some("times are emulation times, compare allocators only within this board".into())
        }
        "qemu-user" => Some("memory and time not representative (qemu-user)".into()),
        other => Some(format!(
            "emulation {other:?}: figures may not be representative"
        )),
    }
}

pub(crate) fn times(cell: &Cell) -> Vec<f64> {
    cell.samples.iter().map(|s| s.wall_s).collect()
}

/// Peak RSS of the samples that have one, as f64 KiB.
pub(crate) fn peaks(cell: &Cell) -> Vec<f64> {
    cell.samples
        .iter()
        .filter_map(|s| s.peak_rss_kib)
        .map(|k| k as f64)
        .collect()
}

fn summarize_cell(
    board: &str,
    workload: &str,
    allocator: &str,
    cell: &Cell,
    base_time: &[f64],
    base_mem: &[f64],
    noise: f64,
) -> CellSummary {
    let seed = |metric: &str| stats::seed_for(&[board, workload, allocator, metric]);
    let t = times(cell);
    let mem_samples: Vec<&Sample> = cell
        .samples
        .iter()
        .filter(|s| s.peak_rss_kib.is_some())
        .collect();
    let mem: Vec<f64> = peaks(cell);
    let time = metric(
        &t,
        &cell.samples.iter().collect::<Vec<_>>(),
        "s",
        seed("time"),
    );
    let memory = metric(&mem, &mem_samples, "KiB", seed("memory"));
    let is_base = allocator == BASELINE;
    let ratio = |a: &[f64], b: &[f64], s: u64| -> Option<RatioSummary> {
        if is_base || a.is_empty() || b.is_empty() {
            return None;
        }
        Some(ratio_summary(stats::ratio_ci(a, b, s), noise))
    };
    let median_rep = median_time_sample(&cell.samples);
    CellSummary {
        allocator: allocator.to_string(),
        n_ok: cell.samples.len(),
        n_failed: cell.failed.len(),
        warmups: cell.warmups,
        time_vs_system: ratio(&t, base_time, seed("time-ratio")),
        memory_vs_system: ratio(&mem, base_mem, seed("memory-ratio")),
        time,
        memory,
        timeline_rep: median_rep.map(|s| s.rep),
        timeline: median_rep.map(|s| thin(&s.timeline)).unwrap_or_default(),
        samples: cell
            .samples
            .iter()
            .map(|s| SampleOut {
                rep: s.rep,
                file: s.file.clone(),
                wall_s: s.wall_s,
                peak_rss_kib: s.peak_rss_kib,
                peak_source: s.peak_source,
            })
            .collect(),
    }
}

fn ratio_summary((ratio, ci): (f64, Interval), noise: f64) -> RatioSummary {
    RatioSummary {
        ratio,
        ci,
        verdict: stats::verdict(ratio, ci, noise),
    }
}

fn geomean_of(pairs: &[(Vec<f64>, Vec<f64>)], seed: u64, noise: f64) -> Option<RatioSummary> {
    let refs: Vec<(&[f64], &[f64])> = pairs
        .iter()
        .map(|(a, b)| (a.as_slice(), b.as_slice()))
        .collect();
    let (g, ci) = stats::geomean_ratio_ci(&refs, seed);
    (!g.is_nan()).then(|| ratio_summary((g, ci), noise))
}

/// `values[i]` belongs to `samples[i]`.
fn metric(
    values: &[f64],
    samples: &[&Sample],
    unit: &'static str,
    seed: u64,
) -> Option<MetricSummary> {
    if values.is_empty() {
        return None;
    }
    let median = stats::median(values);
    let ci = stats::median_ci(values, seed);
    Some(MetricSummary {
        unit,
        n: values.len(),
        median,
        ci,
        // As stats::ci_half_width_rel, without a second bootstrap.
        ci_half_width_rel: if values.len() < 2 {
            f64::INFINITY
        } else {
            stats::half_width_rel(median, ci)
        },
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        outlier_reps: stats::mad_outliers(values)
            .into_iter()
            .map(|i| samples[i].rep)
            .collect(),
    })
}

/// The repetition at the median wall time (the lower middle for an even count).
pub(crate) fn median_time_sample(samples: &[Sample]) -> Option<&Sample> {
    let mut sorted: Vec<&Sample> = samples.iter().collect();
    sorted.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s).then(a.rep.cmp(&b.rep)));
    sorted.get(sorted.len().saturating_sub(1) / 2).copied()
}

/// At most TIMELINE_POINTS points, evenly picked, first and last kept.
fn thin(points: &[(f64, u64)]) -> Vec<[f64; 2]> {
    let n = points.len();
    if n <= TIMELINE_POINTS {
        return points.iter().map(|&(t, r)| [t, r as f64]).collect();
    }
    (0..TIMELINE_POINTS)
        .map(|i| {
            let (t, r) = points[i * (n - 1) / (TIMELINE_POINTS - 1)];
            [t, r as f64]
        })
        .collect()
}

/// A median peak RSS within 10 % of the measurement floor (the RSS the
/// child had at exec, which the kernel counts into its peak) cannot tell
/// allocators apart.
fn floor_warning(
    board: &str,
    w: &str,
    a: &str,
    cell: &Cell,
    s: &CellSummary,
    warnings: &mut Vec<String>,
) {
    let floor = cell.samples.iter().filter_map(|s| s.agent_floor_kib).max();
    if let (Some(floor), Some(mem)) = (floor, &s.memory) {
        if mem.median <= floor as f64 * 1.1 {
            warnings.push(format!(
                "{board}/{w}/{a}: median peak RSS {:.0} KiB is within 10 % of the measurement floor ({floor} KiB, the RSS the child starts from)",
                mem.median
            ));
        }
    }
}

/// Every allocator must have done the same work: same workload checksum.
fn checksum_warning<'a>(
    board: &str,
    w: &str,
    allocators: &[String],
    cell_of: &dyn Fn(&str, &str) -> &'a Cell,
    warnings: &mut Vec<String>,
) {
    // A timed workload does as much work as fits in its duration.
    if crate::limits::DURATION_WORKLOADS.contains(&w) {
        return;
    }
    let mut seen: Vec<(String, u32, &serde_json::Value)> = Vec::new();
    for a in allocators {
        for s in &cell_of(w, a).samples {
            if let Some(c) = &s.checksum {
                seen.push((a.clone(), s.rep, c));
            }
        }
    }
    if let Some((a0, r0, c0)) = seen.first() {
        if let Some((a, r, c)) = seen.iter().find(|(_, _, c)| c != c0) {
            warnings.push(format!(
                "{board}/{w}: workload checksum differs ({a0} rep {r0}: {c0}, {a} rep {r}: {c}): the runs did not do the same work"
            ));
        }
    }
}
