//! Reports from a run directory: terminal table, JSON, CSV, Markdown and a
//! self-contained HTML page with SVG plots.
//!
//! `load` reads the directory, `summary` computes every statistic once, and
//! each exporter (one module per format, all behind [`Exporter`]) only
//! formats the [`Summary`].

mod check;
mod column_groups;
mod csv;
mod facts;
pub mod format;
mod headline;
mod html;
mod json;
mod load;
mod markdown;
mod metric_table;
mod outlier_summary;
mod summary;
mod svg;
mod template;
mod terminal;
mod warning;

use std::path::Path;

use anyhow::anyhow;

pub use check::check_run_document;
pub use csv::Csv;
pub use headline::{board_headlines, HEADLINE_ALLOCATOR};
pub use html::Html;
pub use json::Json;
pub use load::{
    load_run, Cell, CellKey, FailedRun, PeakSource, RunData, Sample, FAILED_RUN_SCHEMA,
};
pub use markdown::Markdown;
pub use summary::{
    emulation_note, memory_representative, method, summarize, BoardSummary, CellSummary,
    FailedRunOut, GeomeanSummary, Method, MetricSummary, RatioSummary, RowKind, SampleOut, Summary,
    WorkloadSummary, BASELINE, MEMORY_NOT_REPRESENTATIVE, REPORT_SCHEMA, REPORT_VERSION,
};
pub use terminal::Terminal;
pub use warning::Warning;

/// One output format.
pub trait Exporter {
    /// The file it is written to, in the run directory.
    fn file_name(&self) -> &str;
    fn render(&self, summary: &Summary) -> String;
}

/// Every format, terminal table first.
pub fn exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(Terminal),
        Box::new(Json),
        Box::new(Csv),
        Box::new(Markdown),
        Box::new(Html),
    ]
}

/// Reads `run_dir` (see `crate::rundir` for the layout), computes the
/// statistics and writes report.{txt,json,csv,md,html} into it. Returns the
/// terminal table.
pub fn write_reports(run_dir: &Path) -> anyhow::Result<String> {
    write_reports_of(run_dir).map(|w| w.table)
}

/// What writing a run's reports gives the terminal.
pub struct Written {
    /// The terminal table (report.txt).
    pub table: String,
    /// The statistics the reports were made from.
    pub summary: Summary,
}

/// As [`write_reports`], also returning the statistics (for the closing
/// [`board_headlines`]).
pub fn write_reports_of(run_dir: &Path) -> anyhow::Result<Written> {
    let summary = summarize(&load_run(run_dir)?);
    let mut table = String::new();
    for exporter in exporters() {
        let text = exporter.render(&summary);
        let path = run_dir.join(exporter.file_name());
        // Write then rename: a reader never sees half a report.
        let tmp = run_dir.join(format!(".{}.tmp", exporter.file_name()));
        if let Err(e) = std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, &path)) {
            // No half-written temporary left behind (a full disk).
            let _ = std::fs::remove_file(&tmp);
            return Err(anyhow!("{}: cannot write: {e}", path.display()));
        }
        if table.is_empty() {
            table = text;
        }
    }
    Ok(Written { table, summary })
}
