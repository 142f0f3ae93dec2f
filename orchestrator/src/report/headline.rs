//! The line per board that ends `lwm eval` and `lwm report` in the
//! terminal: lwmalloc's geometric-mean time and peak RSS against the
//! system malloc, with their intervals, and where the report is. It is the
//! answer a reader wants first, given where the eye lands last, after the
//! tables have scrolled by.

use std::path::Path;

use super::format::{self, Metric};
use super::{BoardSummary, RatioSummary, Summary, BASELINE, MEMORY_NOT_REPRESENTATIVE};

/// The allocator the kit is about.
pub const HEADLINE_ALLOCATOR: &str = "lwmalloc";

/// The report a person opens (the HTML page has every plot and fact).
const REPORT_FILE: &str = "report.html";

/// One line per board of `s`, for a run written to `run_dir`: `local:
/// lwmalloc/system geomean time 0.96x [0.90–1.03], peak RSS 1.04x
/// [1.02–1.05]; results/RUN/report.html`.
pub fn board_headlines(s: &Summary, run_dir: &Path) -> Vec<String> {
    let report = shown_path(&run_dir.join(REPORT_FILE));
    s.boards
        .iter()
        .map(|b| format!("{}: {}; {report}", b.name, verdict(b)))
        .collect()
}

fn verdict(b: &BoardSummary) -> String {
    let Some(g) = b.geomean.iter().find(|g| g.allocator == HEADLINE_ALLOCATOR) else {
        return format!("no {HEADLINE_ALLOCATOR} runs to set against {BASELINE}");
    };
    let memory_note = if b.memory_representative {
        String::new()
    } else {
        format!(" ({MEMORY_NOT_REPRESENTATIVE})")
    };
    format!(
        "{HEADLINE_ALLOCATOR}/{BASELINE} geomean {} {}, {} {}{memory_note}",
        Metric::Time.id(),
        ratio(g.time.as_ref()),
        Metric::Memory.title(),
        ratio(g.memory.as_ref()),
    )
}

/// `0.96x [0.90–1.03]`, or `-` when no workload had ok runs on both sides.
fn ratio(r: Option<&RatioSummary>) -> String {
    match r {
        Some(r) if r.ratio.is_finite() => format::ratio_with_ci(r),
        _ => "-".into(),
    }
}

/// `path` relative to the working directory when it lies below it (the
/// usual `results/RUN`), otherwise as it is.
fn shown_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
