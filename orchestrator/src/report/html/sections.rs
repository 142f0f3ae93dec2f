//! report.html's lists and fact tables under each board's summary: the
//! outliers, the failed repetitions and the manifest's facts.

use super::super::{facts, outlier_summary};
use super::templates::*;
use super::{fill, header_cells, list_item, BoardSummary, Markup, Summary};

pub(super) fn outliers(b: &BoardSummary) -> Markup {
    let items: Markup = outlier_summary::flagged(b)
        .iter()
        .map(|f| {
            let reps: Vec<String> = f.reps.iter().map(|r| r.to_string()).collect();
            list_item(&format!(
                "{}/{} {}: repetitions {} (median {})",
                f.workload,
                f.allocator,
                f.metric.title(),
                reps.join(", "),
                f.metric.value(f.median)
            ))
        })
        .collect();
    if items.as_str().is_empty() {
        return items;
    }
    fill(OUTLIERS, &[("items", &items)])
}

/// The board's failed repetitions, a row each.
pub(super) fn failed_runs(b: &BoardSummary) -> Markup {
    if b.failed_runs.is_empty() {
        return Markup::default();
    }
    let rows: Markup = b
        .failed_runs
        .iter()
        .map(|f| {
            fill(
                FAILED_RUN,
                &[
                    ("workload", &f.workload),
                    ("allocator", &f.allocator),
                    ("rep", &f.run.rep.to_string()),
                    ("error", &f.run.error),
                    ("file", &f.run.file),
                    ("stderr", &tail_lines(&f.run.stderr_tail, 8)),
                ],
            )
        })
        .collect();
    fill(FAILED_RUNS, &[("rows", &rows)])
}

/// The manifest's facts of the board and its artifacts (none when the
/// manifest does not list the board).
pub(super) fn board_facts(s: &Summary, b: &BoardSummary) -> Markup {
    let Some(entry) = s.manifest.boards.iter().find(|e| e.name == b.name) else {
        return Markup::default();
    };
    let artifacts = if entry.artifacts.is_empty() {
        Markup::default()
    } else {
        let header = header_cells(&facts::ARTIFACT_HEADER);
        let rows: Markup = entry
            .artifacts
            .iter()
            .map(|a| {
                let [name, sha256, size, path, gate] = facts::artifact_row(a);
                fill(
                    ARTIFACT,
                    &[
                        ("name", &name),
                        ("sha256", &sha256),
                        ("size", &size),
                        ("path", &path),
                        ("gate", &gate),
                    ],
                )
            })
            .collect();
        fill(ARTIFACTS, &[("header", &header), ("rows", &rows)])
    };
    let fact_rows = facts_table(&facts::board_facts(entry, &s.manifest.settings));
    fill(
        BOARD_FACTS,
        &[("facts", &fact_rows), ("artifacts", &artifacts)],
    )
}

/// Facts as a two-column table; hashes and commits are marked `hash`.
pub(super) fn facts_table(rows: &[(&str, String)]) -> Markup {
    let rows: Markup = rows
        .iter()
        .map(|(k, v)| {
            let hash = k.contains("SHA-256") || k.contains("commit");
            fill(
                if hash { FACT_HASH } else { FACT },
                &[("key", k), ("value", v)],
            )
        })
        .collect();
    fill(FACTS, &[("rows", &rows)])
}

/// The last `n` lines of `s`.
fn tail_lines(s: &str, n: usize) -> &str {
    let mut idx = s.len();
    for _ in 0..n {
        match s[..idx].trim_end_matches('\n').rfind('\n') {
            Some(i) => idx = i,
            None => return s,
        }
    }
    &s[idx + 1..]
}
