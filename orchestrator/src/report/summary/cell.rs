//! One workload under one allocator: medians, intervals, ratios to
//! system, outliers and the memory timeline shown.

use super::super::load::{Cell, Sample};
use super::{CellSummary, MetricSummary, RatioSummary, SampleOut, BASELINE};
use crate::stats::{self, Interval};

/// Memory timelines are thinned to at most this many points per line.
const TIMELINE_POINTS: usize = 400;

pub(super) fn times(cell: &Cell) -> Vec<f64> {
    cell.samples.iter().map(|s| s.wall_s).collect()
}

/// Peak RSS of the samples that have one, as f64 KiB.
pub(super) fn peaks(cell: &Cell) -> Vec<f64> {
    cell.samples
        .iter()
        .filter_map(|s| s.peak_rss_kib)
        .map(|k| k as f64)
        .collect()
}

pub(super) fn summarize_cell(
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

pub(super) fn geomean_of(
    pairs: &[(Vec<f64>, Vec<f64>)],
    seed: u64,
    noise: f64,
) -> Option<RatioSummary> {
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
fn median_time_sample(samples: &[Sample]) -> Option<&Sample> {
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
