//! The instruction-set gate: every artifact is checked against the board's
//! CPU and glibc before it is pushed.

use std::path::Path;

use crate::board::BoardProfile;

/// A gate refusal: one line naming the artifact, and where it applies the
/// instruction and the function that contains it.
#[derive(Debug)]
pub struct GateFailure(pub String);

impl std::fmt::Display for GateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GateFailure {}

/// What the gate checked on one artifact (kept in the manifest).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateReport {
    pub artifact: String,
    /// e.g. `ARM v6KZ, ARM/Thumb-1 only, VFPv2, hard-float`.
    pub isa: String,
    /// Newest GLIBC_x.y version the artifact needs, if any.
    pub newest_glibc: Option<String>,
    /// Each check that ran, in words.
    pub checks: Vec<String>,
}

/// Checks `artifact` for `board`'s CPU and glibc.
pub fn check(artifact: &Path, board: &BoardProfile) -> Result<GateReport, GateFailure> {
    let _ = (artifact, board);
    todo!("gate")
}
