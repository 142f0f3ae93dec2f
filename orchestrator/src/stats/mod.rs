//! Statistics over repeated runs: median, bootstrap confidence intervals
//! with a fixed seed, outliers by median absolute deviation, verdicts.
//!
//! Everything here is deterministic: the bootstrap draws from its own
//! seeded generator, so the same samples and seed always give the same
//! interval (reports are reproducible byte for byte).

mod bootstrap;
mod outliers;
mod prng;
mod verdict;

pub use bootstrap::{
    ci_half_width_rel, geomean_ratio_ci, half_width_rel, median_ci, ratio_ci, seed_for, RESAMPLES,
};
pub use outliers::mad_outliers;
pub use prng::SplitMix64;
pub use verdict::{verdict, Verdict};

/// A 95 % interval. Invariant: `low <= high`, or both NaN when there was
/// nothing to estimate from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub const NAN: Interval = Interval {
        low: f64::NAN,
        high: f64::NAN,
    };

    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    pub fn is_nan(&self) -> bool {
        self.low.is_nan() || self.high.is_nan()
    }
}

/// Median of `xs` (empty: NaN). The mean of the two middle values for an
/// even count.
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    median_in_place(&mut v)
}

/// Median that reorders `v` (selection, not a full sort).
fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        // The lower middle is the largest element left of n/2.
        let lower = v[..n / 2]
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .expect("n >= 2");
        (lower + upper) / 2.0
    }
}

/// Geometric mean of positive values (empty or any non-positive: NaN).
pub fn geomean(xs: &[f64]) -> f64 {
    // `x > 0.0` is false for NaN as well.
    if xs.is_empty() || !xs.iter().all(|x| *x > 0.0) {
        return f64::NAN;
    }
    (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp()
}

/// The `q` quantile (0..=1) of sorted values, linearly interpolated
/// (Hyndman & Fan type 7, as R and NumPy default to).
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}
