//! Verdicts on a ratio: a difference is called only when the whole 95 %
//! interval is on one side of 1 AND the ratio is beyond the noise threshold
//! (criterion's practice: a significant but tiny change is still noise).

use super::Interval;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The ratio is below 1 (less time, or less memory).
    Faster,
    /// The ratio is above 1.
    Slower,
    NoDifference,
}

impl Verdict {
    /// The word for a time ratio.
    pub fn time_word(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::NoDifference => "same",
        }
    }

    /// The word for a memory ratio.
    pub fn memory_word(self) -> &'static str {
        match self {
            Verdict::Faster => "less",
            Verdict::Slower => "more",
            Verdict::NoDifference => "same",
        }
    }
}

/// `ratio` is new/baseline. `noise_threshold` is a fraction (0.02 = 2 %).
/// NaN anywhere gives `NoDifference`.
pub fn verdict(ratio: f64, ci: Interval, noise_threshold: f64) -> Verdict {
    if ci.high < 1.0 && ratio < 1.0 - noise_threshold {
        Verdict::Faster
    } else if ci.low > 1.0 && ratio > 1.0 + noise_threshold {
        Verdict::Slower
    } else {
        Verdict::NoDifference
    }
}
