//! report.csv: one row per board / workload / allocator / metric, with the
//! raw samples in the last column (`;`-separated, repetition order).
//! `representative` says whether the row's figures are the board's own:
//! `false` for memory under qemu-user and for time under any emulation.
//! `kind` (last, so earlier columns keep their places) is `workload` for
//! lwm's workloads, `command` for a user's program and `command-unchecked`
//! for one whose stdout was not compared across allocators.

use super::format::Metric;
use super::{BoardSummary, CellSummary, Exporter, Summary};

pub struct Csv;

pub const HEADER: &str = "board,workload,allocator,metric,unit,n_ok,n_failed,median,ci_low,ci_high,min,max,ratio_to_system,ratio_ci_low,ratio_ci_high,verdict,outlier_reps,representative,samples,kind";

impl Exporter for Csv {
    fn file_name(&self) -> &str {
        "report.csv"
    }

    fn render(&self, summary: &Summary) -> String {
        let mut out = String::from(HEADER);
        out.push('\n');
        for b in &summary.boards {
            for w in &b.workloads {
                for c in &w.cells {
                    for metric in Metric::BOTH {
                        out.push_str(&row(b, &w.name, c, metric));
                        out.push(',');
                        out.push_str(kind(w));
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

fn row(board: &BoardSummary, workload: &str, c: &CellSummary, metric: Metric) -> String {
    let representative = match metric {
        Metric::Time => board.time_representative,
        Metric::Memory => board.memory_representative,
    };
    let (name, unit, stats, ratio) = match metric {
        Metric::Time => ("wall_s", "s", c.time.as_ref(), c.time_vs_system.as_ref()),
        Metric::Memory => (
            "peak_rss_kib",
            "KiB",
            c.memory.as_ref(),
            c.memory_vs_system.as_ref(),
        ),
    };
    let num = |x: Option<f64>| {
        x.filter(|x| x.is_finite())
            .map(|x| x.to_string())
            .unwrap_or_default()
    };
    let samples: Vec<String> = c
        .samples
        .iter()
        .filter_map(|s| match metric {
            Metric::Time => Some(s.wall_s.to_string()),
            Metric::Memory => s.peak_rss_kib.map(|k| k.to_string()),
        })
        .collect();
    let fields = [
        field(&board.name),
        field(workload),
        field(&c.allocator),
        name.into(),
        unit.into(),
        c.n_ok.to_string(),
        c.n_failed.to_string(),
        num(stats.map(|s| s.median)),
        num(stats.map(|s| s.ci.low)),
        num(stats.map(|s| s.ci.high)),
        num(stats.map(|s| s.min)),
        num(stats.map(|s| s.max)),
        num(ratio.map(|r| r.ratio)),
        num(ratio.map(|r| r.ci.low)),
        num(ratio.map(|r| r.ci.high)),
        ratio
            .map(|r| {
                serde_json::to_value(r.verdict)
                    .expect("enum")
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default(),
        stats
            .map(|s| {
                s.outlier_reps
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default(),
        representative.to_string(),
        samples.join(";"),
    ];
    fields.join(",")
}

fn kind(w: &super::WorkloadSummary) -> &'static str {
    match (w.is_command(), w.output_check) {
        (false, _) => "workload",
        (true, Some(false)) => "command-unchecked",
        (true, _) => "command",
    }
}

/// RFC 4180 quoting when needed.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
