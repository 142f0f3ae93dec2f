//! Reports from a run directory: terminal table, JSON, CSV, Markdown and a
//! self-contained HTML page with SVG plots.

use std::path::Path;

/// Reads `run_dir` (see `crate::manifest` for the layout), computes the
/// statistics and writes report.{txt,json,csv,md,html} into it. Returns the
/// terminal table.
pub fn write_reports(run_dir: &Path) -> anyhow::Result<String> {
    let _ = run_dir;
    todo!("report")
}
