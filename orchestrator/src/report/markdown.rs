//! report.md: the terminal tables as GitHub-flavoured Markdown, with the
//! manifest's facts, outliers, failed runs and the method.

use super::facts;
use super::format::{self, Metric};
use super::metric_table::MetricTable;
use super::outlier_summary;
use super::{BoardSummary, Exporter, RatioSummary, Summary, MEMORY_NOT_REPRESENTATIVE};

pub struct Markdown;

impl Exporter for Markdown {
    fn file_name(&self) -> &str {
        "report.md"
    }

    fn render(&self, s: &Summary) -> String {
        let mut out = format!("# lwm report: run {}\n\n", esc(&s.run_id));
        table(
            &mut out,
            &["fact", "value"],
            facts::run_facts(s)
                .into_iter()
                .map(|(k, v)| vec![k.to_string(), v])
                .collect(),
        );
        out.push_str(&format!(
            "\nRatios are the median of an allocator over the median of `system`, with the 95 % bootstrap interval \
             ({} resamples). {}. Geometric mean: {}. Outliers: {}.\n",
            s.method.bootstrap_resamples,
            esc(s.method.verdict),
            esc(s.method.geomean_interval),
            esc(s.method.outliers)
        ));
        for b in &s.boards {
            board(&mut out, s, b);
        }
        if !s.warnings.is_empty() {
            out.push_str("\n## Warnings\n\n");
            for w in &s.warnings {
                out.push_str(&format!("- {}\n", esc(&w.to_string())));
            }
        }
        out
    }
}

fn board(out: &mut String, s: &Summary, b: &BoardSummary) {
    out.push_str(&format!(
        "\n## Board {}\n\ncpu {} · target {} · emulation {} · {} ok runs, {} failed\n",
        esc(&b.name),
        esc(&b.cpu),
        esc(&b.target),
        esc(&b.emulation),
        b.ok_runs,
        b.failed_runs.len()
    ));
    if let Some(n) = &b.emulation_note {
        out.push_str(&format!("\n> **Note:** {}\n", esc(n)));
    }
    for i in &b.incidents {
        out.push_str(&format!("\n> **Incident:** {}\n", esc(i)));
    }
    if b.workloads.iter().any(|w| w.is_command()) {
        out.push_str(
            "\nRows marked *(command)* are your own programs (`--`, `--command`, `--suite`), not lwm's workloads; \
             *(command, output not checked)*: its stdout was not compared across allocators.\n",
        );
    }
    for metric in Metric::BOTH {
        out.push_str(&format!(
            "\n### {} (median; allocator / system, 95 % CI)\n\n",
            match metric {
                Metric::Time => "Wall time".to_string(),
                Metric::Memory if !b.memory_representative => format!(
                    "Peak RSS — **{MEMORY_NOT_REPRESENTATIVE}** ({})",
                    esc(&b.emulation)
                ),
                Metric::Memory => "Peak RSS".to_string(),
            }
        ));
        if metric == Metric::Memory && !b.memory_representative {
            out.push_str(&format!(
                "> **Memory {MEMORY_NOT_REPRESENTATIVE}:** under {}, rusage and /proc describe the emulator process, not the program.\n\n",
                esc(&b.emulation)
            ));
        }
        let summary = MetricTable::of(b, metric);
        let mut header = vec!["workload".to_string(), "system".to_string()];
        header.extend(summary.allocators.iter().map(|a| esc(a)));
        let mut rows: Vec<Vec<String>> = summary
            .rows
            .iter()
            .map(|r| {
                let system = r.system.map(|m| metric.value(m.median));
                let mut row = vec![row_name(r.workload), system.unwrap_or("-".into())];
                row.extend(r.ratios.iter().map(|&ratio| ratio_cell(ratio, metric)));
                row
            })
            .collect();
        let mut geo = vec!["**geomean**".to_string(), String::new()];
        geo.extend(summary.geomean.iter().map(|&g| ratio_cell(g, metric)));
        rows.push(geo);
        let header_refs: Vec<&str> = header.iter().map(|h| h.as_str()).collect();
        table(out, &header_refs, rows);
    }
    let outliers: Vec<String> = outlier_summary::flagged(b)
        .iter()
        .map(|f| {
            format!(
                "- {}/{} {}: repetitions {:?} (median {})",
                esc(f.workload),
                esc(f.allocator),
                f.metric.title(),
                f.reps,
                f.metric.value(f.median)
            )
        })
        .collect();
    if !outliers.is_empty() {
        out.push_str("\n### Outliers (flagged, kept in the statistics)\n\n");
        out.push_str(&outliers.join("\n"));
        out.push('\n');
    }
    if !b.failed_runs.is_empty() {
        out.push_str("\n### Failed runs\n\n");
        for f in &b.failed_runs {
            out.push_str(&format!(
                "- {}/{} rep {}: {} ({})\n",
                esc(&f.workload),
                esc(&f.allocator),
                f.run.rep,
                esc(&f.run.error),
                esc(&f.run.file)
            ));
        }
    }
    if let Some(entry) = s.manifest.boards.iter().find(|e| e.name == b.name) {
        out.push_str("\n### Board facts\n\n");
        table(
            out,
            &["fact", "value"],
            facts::board_facts(entry, &s.manifest.settings)
                .into_iter()
                .map(|(k, v)| vec![k.to_string(), esc(&v)])
                .collect(),
        );
        if !entry.artifacts.is_empty() {
            out.push('\n');
            table(
                out,
                &facts::ARTIFACT_HEADER,
                entry
                    .artifacts
                    .iter()
                    .map(|a| facts::artifact_row(a).iter().map(|x| esc(x)).collect())
                    .collect(),
            );
        }
    }
}

/// A row's name: a command's is marked as such.
fn row_name(w: &super::WorkloadSummary) -> String {
    match (w.is_command(), w.output_check) {
        (false, _) => esc(&w.name),
        (true, Some(false)) => format!("{} *(command, output not checked)*", esc(&w.name)),
        (true, _) => format!("{} *(command)*", esc(&w.name)),
    }
}

/// A ratio with its interval; significant verdicts in bold.
fn ratio_cell(r: Option<&RatioSummary>, metric: Metric) -> String {
    let text = format::ratio_cell(r, metric);
    match r.map(|r| r.verdict) {
        Some(crate::stats::Verdict::NoDifference) | None => text,
        Some(_) => format!("**{text}**"),
    }
}

fn table(out: &mut String, header: &[&str], rows: Vec<Vec<String>>) {
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
    }
}

/// Escapes Markdown and inline-HTML metacharacters so names and error
/// messages show as text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
