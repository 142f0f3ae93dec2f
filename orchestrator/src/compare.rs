//! `lwm compare RUN_A RUN_B`: regressions and improvements between runs.

use std::path::Path;

/// Compares two run directories. Returns the printed list and whether any
/// significant regression was found.
pub fn compare(run_a: &Path, run_b: &Path, noise_threshold: f64) -> anyhow::Result<(String, bool)> {
    let _ = (run_a, run_b, noise_threshold);
    todo!("compare")
}
