//! Percentile bootstrap (Efron) of medians and ratios of medians.
//!
//! Every function takes a seed and draws only from its own SplitMix64, so a
//! given input always yields the same interval. The percentile interval of
//! the median is known to be somewhat narrow for very small samples (n < 10
//! gives only a handful of distinct medians); reports say how many runs
//! each interval rests on.

use super::{median, quantile_sorted, Interval, SplitMix64};

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
    let mut m = MedianResampler::new(xs);
    let stats: Vec<f64> = (0..RESAMPLES).map(|_| m.draw(&mut rng)).collect();
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
    let (mut ma, mut mb) = (MedianResampler::new(a), MedianResampler::new(b));
    let stats: Vec<f64> = (0..RESAMPLES)
        .map(|_| ma.draw(&mut rng) / mb.draw(&mut rng))
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
    let mut resamplers: Vec<(MedianResampler, MedianResampler)> = pairs
        .iter()
        .map(|(a, b)| (MedianResampler::new(a), MedianResampler::new(b)))
        .collect();
    let stats: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let log_sum: f64 = resamplers
                .iter_mut()
                .map(|(ma, mb)| (ma.draw(&mut rng) / mb.draw(&mut rng)).ln())
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
    half_width_rel(median(xs), median_ci(xs, seed))
}

/// `ci_half_width_rel` from an interval already computed.
pub fn half_width_rel(median: f64, ci: Interval) -> f64 {
    let rel = (ci.high - ci.low) / 2.0 / median.abs();
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

/// Draws the median of a bootstrap resample without sorting it: a resample
/// is a multiset of positions in the sorted sample, so counting how often
/// each position was drawn and walking the counts finds the middle order
/// statistics in O(n), with no comparisons of values.
struct MedianResampler {
    sorted: Vec<f64>,
    counts: Vec<u32>,
}

impl MedianResampler {
    fn new(xs: &[f64]) -> Self {
        let mut sorted = xs.to_vec();
        sorted.sort_by(f64::total_cmp);
        MedianResampler {
            counts: vec![0; sorted.len()],
            sorted,
        }
    }

    fn draw(&mut self, rng: &mut SplitMix64) -> f64 {
        let n = self.sorted.len();
        self.counts.fill(0);
        for _ in 0..n {
            self.counts[rng.below(n)] += 1;
        }
        // 0-based ranks of the middle order statistics (equal for odd n).
        let (lo_rank, hi_rank) = ((n - 1) / 2, n / 2);
        let mut seen = 0usize;
        let mut lo = None;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c as usize;
            if lo.is_none() && seen > lo_rank {
                lo = Some(self.sorted[i]);
            }
            if seen > hi_rank {
                return (lo.expect("lo_rank <= hi_rank") + self.sorted[i]) / 2.0;
            }
        }
        unreachable!("n draws were counted")
    }
}

fn percentile_interval(mut stats: Vec<f64>) -> Interval {
    stats.sort_by(f64::total_cmp);
    Interval {
        low: quantile_sorted(&stats, LOW_Q),
        high: quantile_sorted(&stats, HIGH_Q),
    }
}
