//! Percentile bootstrap (Efron) of medians and ratios of medians.
//!
//! Every function takes a seed and draws only from its own SplitMix64, so a
//! given input always yields the same interval. The percentile interval of
//! the median is known to be somewhat narrow for very small samples (n < 10
//! gives only a handful of distinct medians); reports say how many runs
//! each interval rests on.

use super::{median, median_in_place, quantile_sorted, Interval, SplitMix64};

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 5000;

const LOW_Q: f64 = 0.025;
const HIGH_Q: f64 = 0.975;

/// Bootstrap 95 % percentile interval of the median of `xs`, with a fixed
/// seed so the same samples always give the same interval. Empty: NaN
/// interval; one value: the degenerate interval at that value.
pub fn median_ci(xs: &[f64], seed: u64) -> Interval {
    match xs.len() {
        0 => return Interval::NAN,
        1 => {
            return Interval {
                low: xs[0],
                high: xs[0],
            }
        }
        _ => {}
    }
    let mut rng = SplitMix64::new(seed);
    let mut scratch = vec![0.0; xs.len()];
    let stats: Vec<f64> = (0..RESAMPLES)
        .map(|_| resampled_median(xs, &mut rng, &mut scratch))
        .collect();
    percentile_interval(stats)
}

/// Ratio of medians `median(a) / median(b)` and its bootstrap 95 % interval,
/// `a` and `b` resampled independently (they are separate runs). Either
/// side empty: NaN ratio and interval.
pub fn ratio_ci(a: &[f64], b: &[f64], seed: u64) -> (f64, Interval) {
    if a.is_empty() || b.is_empty() {
        return (f64::NAN, Interval::NAN);
    }
    let ratio = median(a) / median(b);
    let mut rng = SplitMix64::new(seed);
    let mut sa = vec![0.0; a.len()];
    let mut sb = vec![0.0; b.len()];
    let stats: Vec<f64> = (0..RESAMPLES)
        .map(|_| resampled_median(a, &mut rng, &mut sa) / resampled_median(b, &mut rng, &mut sb))
        .collect();
    (ratio, percentile_interval(stats))
}

/// Geometric mean over `pairs` of `median(a) / median(b)`, and its 95 %
/// interval by a joint bootstrap: each resample redraws every pair's `a`
/// and `b` independently and takes the geometric mean of the resampled
/// ratios. The set of pairs (workloads) is held fixed, so the interval
/// covers measurement noise, not the choice of workloads. Pairs with an
/// empty side are skipped; none left: NaN.
pub fn geomean_ratio_ci(pairs: &[(&[f64], &[f64])], seed: u64) -> (f64, Interval) {
    let pairs: Vec<(&[f64], &[f64])> = pairs
        .iter()
        .copied()
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .collect();
    if pairs.is_empty() {
        return (f64::NAN, Interval::NAN);
    }
    let ratios: Vec<f64> = pairs.iter().map(|(a, b)| median(a) / median(b)).collect();
    let point = super::geomean(&ratios);
    let mut rng = SplitMix64::new(seed);
    let mut scratch: Vec<(Vec<f64>, Vec<f64>)> = pairs
        .iter()
        .map(|(a, b)| (vec![0.0; a.len()], vec![0.0; b.len()]))
        .collect();
    let stats: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let log_sum: f64 = pairs
                .iter()
                .zip(scratch.iter_mut())
                .map(|((a, b), (sa, sb))| {
                    let r = resampled_median(a, &mut rng, sa) / resampled_median(b, &mut rng, sb);
                    r.ln()
                })
                .sum();
            (log_sum / pairs.len() as f64).exp()
        })
        .collect();
    (point, percentile_interval(stats))
}

/// Half-width of `median_ci` divided by the median: the campaign adds
/// repetitions until this is below its target. Fewer than 2 values, or a
/// zero/NaN median: infinity (never "precise enough").
pub fn ci_half_width_rel(xs: &[f64], seed: u64) -> f64 {
    if xs.len() < 2 {
        return f64::INFINITY;
    }
    let m = median(xs);
    let ci = median_ci(xs, seed);
    let rel = (ci.high - ci.low) / 2.0 / m.abs();
    if rel.is_finite() {
        rel
    } else {
        f64::INFINITY
    }
}

/// A seed derived from names (FNV-1a over the parts, 0-separated), so each
/// board/workload/allocator/metric gets its own stream independent of the
/// order in which they are computed.
pub fn seed_for(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn resampled_median(xs: &[f64], rng: &mut SplitMix64, scratch: &mut [f64]) -> f64 {
    for s in scratch.iter_mut() {
        *s = xs[rng.below(xs.len())];
    }
    median_in_place(scratch)
}

fn percentile_interval(mut stats: Vec<f64>) -> Interval {
    stats.sort_by(f64::total_cmp);
    Interval {
        low: quantile_sorted(&stats, LOW_Q),
        high: quantile_sorted(&stats, HIGH_Q),
    }
}
