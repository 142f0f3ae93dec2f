//! Outliers by the modified z-score (Iglewicz & Hoaglin), as hyperfine and
//! the agent flag them. Flagged and listed, never dropped.

/// Indices (into `xs`) whose modified z-score 0.6745 (x - median) / MAD
/// exceeds 3.5 in absolute value. When the MAD is 0 (more than half the
/// values equal) the mean absolute deviation × 1.2533 stands in for
/// MAD / 0.6745. Fewer than 3 values: nothing can be called an outlier.
///
/// The agent's `lwm_contract::stats::outliers` implements the same rule; it is
/// reused so the two never disagree about the same numbers.
pub fn mad_outliers(xs: &[f64]) -> Vec<usize> {
    lwm_contract::stats::outliers(xs)
}
