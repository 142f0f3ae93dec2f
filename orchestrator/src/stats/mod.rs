//! Statistics over repeated runs: median, bootstrap confidence intervals
//! with a fixed seed, outliers by median absolute deviation, verdicts.

/// A 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Median of `xs` (empty: NaN).
pub fn median(xs: &[f64]) -> f64 {
    let _ = xs;
    todo!("stats")
}

/// Bootstrap 95 % percentile interval of the median of `xs`, with a fixed
/// seed so the same samples always give the same interval.
pub fn median_ci(xs: &[f64], seed: u64) -> Interval {
    let _ = (xs, seed);
    todo!("stats")
}

/// Half-width of `median_ci` relative to the median: how precisely the
/// median is known.
pub fn ci_half_width_rel(xs: &[f64], seed: u64) -> f64 {
    let _ = (xs, seed);
    todo!("stats")
}
