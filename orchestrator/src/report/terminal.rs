//! report.txt: the table `lwm report` prints. Per board: a header line
//! (CPU, emulation, repetitions, failures), then a time block and a memory
//! block with one row per workload: system's absolute median, and each
//! other allocator's ratio to system with its 95 % interval and verdict.
//! Allocators go three per block so a line stays within 100 columns.

use super::format::{self, pad, pad_left, Metric};
use super::{BoardSummary, Exporter, Summary, BASELINE, MEMORY_NOT_REPRESENTATIVE};

pub struct Terminal;

/// Non-system allocators per block.
const ALLOCATORS_PER_BLOCK: usize = 3;
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
                out.push_str(&format::wrap(w, WIDTH, "  ", "    "));
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
    out.push_str(&format!(
        "== board {} | cpu {} | emulation {} | {} | {} ok, {} failed\n",
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
    let others: Vec<&String> = b.allocators.iter().filter(|a| *a != BASELINE).collect();
    for metric in Metric::BOTH {
        if others.is_empty() {
            block(out, b, metric, &[]);
        }
        for chunk in others.chunks(ALLOCATORS_PER_BLOCK) {
            block(out, b, metric, chunk);
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

/// One table: rows of workloads, columns system + `allocators`.
fn block(out: &mut String, b: &BoardSummary, metric: Metric, allocators: &[&String]) {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["workload".to_string(), "system".to_string()];
    header.extend(allocators.iter().map(|a| a.to_string()));
    rows.push(header);
    for w in &b.workloads {
        let cell = |a: &str| w.cells.iter().find(|c| c.allocator == a);
        let base = cell(BASELINE).and_then(|c| match metric {
            Metric::Time => c.time.as_ref(),
            Metric::Memory => c.memory.as_ref(),
        });
        let mut row = vec![
            w.name.clone(),
            base.map(|m| metric.value(m.median)).unwrap_or("-".into()),
        ];
        for a in allocators {
            let r = cell(a).and_then(|c| match metric {
                Metric::Time => c.time_vs_system.as_ref(),
                Metric::Memory => c.memory_vs_system.as_ref(),
            });
            row.push(format::ratio_cell(r, metric));
        }
        rows.push(row);
    }
    let mut geo = vec!["geomean".to_string(), String::new()];
    for a in allocators {
        let g = b
            .geomean
            .iter()
            .find(|g| &&g.allocator == a)
            .and_then(|g| match metric {
                Metric::Time => g.time.as_ref(),
                Metric::Memory => g.memory.as_ref(),
            });
        geo.push(format::ratio_cell(g, metric));
    }
    rows.push(geo);

    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    // Two spaces between columns; between the ratio columns one when two
    // would not fit in 100 columns.
    let fixed = widths[0] + 2 + widths[1];
    let ratios: usize = widths[2..].iter().map(|w| w + 2).sum();
    let ratio_gap = if fixed + ratios <= WIDTH { "  " } else { " " };
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
    for (i, r) in rows.iter().enumerate() {
        let mut line = String::new();
        for (j, text) in r.iter().enumerate() {
            if j > 2 {
                line.push_str(ratio_gap);
            } else if j > 0 {
                line.push_str("  ");
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

fn outliers(out: &mut String, b: &BoardSummary) {
    let mut lines = Vec::new();
    for w in &b.workloads {
        for c in &w.cells {
            for (metric, m) in [(Metric::Time, &c.time), (Metric::Memory, &c.memory)] {
                let Some(m) = m else { continue };
                for rep in &m.outlier_reps {
                    let value = c
                        .samples
                        .iter()
                        .find(|s| s.rep == *rep)
                        .and_then(|s| match metric {
                            Metric::Time => Some(s.wall_s),
                            Metric::Memory => s.peak_rss_kib.map(|k| k as f64),
                        })
                        .map(|v| metric.value(v))
                        .unwrap_or_default();
                    lines.push(format!(
                        "{}/{} {} rep {} ({value}, median {})",
                        w.name,
                        c.allocator,
                        metric.title(),
                        rep,
                        metric.value(m.median)
                    ));
                }
            }
        }
    }
    if !lines.is_empty() {
        out.push_str("outliers (flagged, kept in the statistics):\n");
        for l in lines {
            out.push_str(&format!("  {l}\n"));
        }
    }
}
