//! report.txt: the table `lwm report` prints. Per board: a header line
//! (CPU, emulation, repetitions, workload threads, failures), then a time
//! block and a memory block with one row per workload: system's absolute
//! median, and each other allocator's ratio to system with its 95 %
//! interval and verdict. Allocator columns that do not fit in 100 columns go to a further block
//! (`column_groups`); outliers get one line per workload and allocator
//! (`outlier_summary`).

use super::format::{self, pad, pad_left, Metric};
use super::metric_table::MetricTable;
use super::{column_groups, outlier_summary};
use super::{BoardSummary, Exporter, Summary, MEMORY_NOT_REPRESENTATIVE};

pub struct Terminal;

/// Columns of the terminal: every line of the table fits.
const WIDTH: usize = 100;

impl Exporter for Terminal {
    fn file_name(&self) -> &str {
        "report.txt"
    }

    fn render(&self, s: &Summary) -> String {
        let mut out = String::new();
        let m = &s.manifest;
        let commit = match (&m.project_commit, m.project_dirty) {
            (Some(c), Some(true)) => format!("{} (dirty)", short(c)),
            (Some(c), _) => short(c).to_string(),
            (None, _) => "unknown".into(),
        };
        out.push_str(&format!(
            "lwm report  run {}  commit {}  noise threshold {}\n",
            s.run_id,
            commit,
            format::percent(s.method.noise_threshold)
        ));
        out.push_str("ratios: median of allocator / median of system, [95 % bootstrap interval]\n");
        for b in &s.boards {
            out.push('\n');
            board(&mut out, s, b);
        }
        if !s.warnings.is_empty() {
            out.push_str("\nwarnings:\n");
            for w in &s.warnings {
                out.push_str(&format::wrap(&w.to_string(), WIDTH, "  ", "    "));
            }
        }
        out.push('\n');
        out.push_str(&format::wrap(
            &format!("geomean interval: {}.", s.method.geomean_interval),
            WIDTH,
            "",
            "  ",
        ));
        out
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

fn reps_text(s: &Summary) -> String {
    let st = &s.manifest.settings;
    match st.target_ci {
        Some(t) => format!(
            "reps {}..{} (until CI ±{})",
            st.reps,
            st.max_reps,
            format::percent(t)
        ),
        None => format!("reps {}", st.reps),
    }
}

fn board(out: &mut String, s: &Summary, b: &BoardSummary) {
    let threads = b
        .threads
        .map(|t| format!("threads {t}"))
        .unwrap_or_else(|| "threads -".into());
    out.push_str(&format!(
        "== board {} | cpu {} | emulation {} | {} | {threads} | {} ok, {} failed\n",
        b.name,
        b.cpu,
        b.emulation,
        reps_text(s),
        b.ok_runs,
        b.failed_runs.len()
    ));
    if let Some(note) = &b.emulation_note {
        out.push_str(&format!("   note: {note}\n"));
    }
    if let Some(e) = &b.error {
        out.push_str(&format!("   board failed: {e}\n"));
    }
    for i in &b.incidents {
        out.push_str(&format!("   incident: {i}\n"));
    }
    // One line per mark.
    if let Some(legend) = format::command_legend(&b.workloads) {
        for part in legend.split("; ") {
            out.push_str(&format::wrap(part, WIDTH, "   ", "     "));
        }
    }
    let tables: Vec<(Metric, Vec<Vec<String>>)> = Metric::BOTH
        .into_iter()
        .map(|metric| (metric, rows(b, metric)))
        .collect();
    // One grouping for both metrics, so the time and memory tables of an
    // allocator line up the same way.
    let widths = column_widths(tables.iter().flat_map(|(_, rows)| rows));
    let leading = widths.first().copied().unwrap_or(0)
        + column_groups::GAP
        + widths.get(1).copied().unwrap_or(0);
    let groups = column_groups::group_columns(leading, widths.get(2..).unwrap_or(&[]), WIDTH);
    for (metric, rows) in &tables {
        if groups.is_empty() {
            block(out, b, *metric, rows, 0..0);
        }
        for g in &groups {
            block(out, b, *metric, rows, g.clone());
        }
    }
    outliers(out, b);
    if !b.failed_runs.is_empty() {
        out.push_str("failed runs:\n");
        for f in &b.failed_runs {
            out.push_str(&format::wrap(
                &format!(
                    "{}/{} rep {}: {}",
                    f.workload, f.allocator, f.run.rep, f.run.error
                ),
                WIDTH,
                "  ",
                "    ",
            ));
        }
    }
}

/// A metric's table with every allocator, as text: a header, one row per
/// workload and the geomean row; columns workload, system's median, then
/// each allocator's ratio to system.
fn rows(b: &BoardSummary, metric: Metric) -> Vec<Vec<String>> {
    let summary = MetricTable::of(b, metric);
    let mut header = vec!["workload".to_string(), "system".to_string()];
    header.extend(summary.allocators.iter().map(|a| a.to_string()));
    let mut rows = vec![header];
    for r in &summary.rows {
        let system = r.system.map(|m| metric.value(m.median));
        let mut row = vec![format::row_label(r.workload), system.unwrap_or("-".into())];
        row.extend(
            r.ratios
                .iter()
                .map(|&ratio| format::ratio_cell(ratio, metric)),
        );
        rows.push(row);
    }
    let mut geo = vec!["geomean".to_string(), String::new()];
    geo.extend(
        summary
            .geomean
            .iter()
            .map(|&g| format::ratio_cell(g, metric)),
    );
    rows.push(geo);
    rows
}

/// The widest text of each column over `rows` (all of the same length).
fn column_widths<'a>(rows: impl Iterator<Item = &'a Vec<String>>) -> Vec<usize> {
    let mut widths: Vec<usize> = Vec::new();
    for r in rows {
        widths.resize(widths.len().max(r.len()), 0);
        for (w, text) in widths.iter_mut().zip(r) {
            *w = (*w).max(format::columns(text));
        }
    }
    widths
}

/// One table: the workload and system columns, then the allocator
/// columns in `group` (indices among the allocators).
fn block(
    out: &mut String,
    b: &BoardSummary,
    metric: Metric,
    rows: &[Vec<String>],
    group: std::ops::Range<usize>,
) {
    let columns: Vec<usize> = [0, 1].into_iter().chain(group.map(|i| i + 2)).collect();
    let picked: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|&c| r[c].clone()).collect())
        .collect();
    let widths = column_widths(picked.iter());
    out.push_str(&format!(
        "{}: median; allocator/system [95 % CI]\n",
        match metric {
            Metric::Time => "time".to_string(),
            Metric::Memory if !b.memory_representative => {
                format!("peak RSS ({MEMORY_NOT_REPRESENTATIVE}: {})", b.emulation)
            }
            Metric::Memory => "peak RSS".to_string(),
        }
    ));
    let gap = " ".repeat(column_groups::GAP);
    for (i, r) in picked.iter().enumerate() {
        let mut line = String::new();
        for (j, text) in r.iter().enumerate() {
            if j > 0 {
                line.push_str(&gap);
            }
            // The absolute column is right-aligned so units line up.
            if j == 1 && i > 0 {
                line.push_str(&pad_left(text, widths[j]));
            } else {
                line.push_str(&pad(text, widths[j]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// One line per workload and allocator with outliers; every outlier is
/// in the other reports.
fn outliers(out: &mut String, b: &BoardSummary) {
    let cells = outlier_summary::per_cell(b);
    if cells.is_empty() {
        return;
    }
    out.push_str(
        "outliers (flagged, kept in the statistics; each one in report.md/.html/.json):\n",
    );
    for c in cells {
        out.push_str(&format::wrap(&c.line(), WIDTH, "  ", "    "));
    }
}
