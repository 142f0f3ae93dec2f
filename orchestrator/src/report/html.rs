//! report.html: one self-contained page (inline CSS and SVG, no script, no
//! external resource): summary tables, ratio bars with interval whiskers,
//! memory-over-time lines, outliers, failed runs and the manifest's facts.

use super::facts;
use super::format::{self, Metric};
use super::metric_table::MetricTable;
use super::outlier_summary;
use super::svg::{self, Bar, Group, Line};
use super::template::fill;
use super::{BoardSummary, Exporter, RatioSummary, Summary, MEMORY_NOT_REPRESENTATIVE};

pub struct Html;

/// The page around the run's facts, boards and warnings.
const PAGE: &str = include_str!("html/page.html");
/// One board's section around its tables, charts and lists.
const BOARD: &str = include_str!("html/board.html");
const STYLE: &str = include_str!("html/style.css");

impl Exporter for Html {
    fn file_name(&self) -> &str {
        "report.html"
    }

    fn render(&self, s: &Summary) -> String {
        let mut run_facts = String::new();
        facts_table(&mut run_facts, &facts::run_facts(s));
        let boards: String = s
            .boards
            .iter()
            .enumerate()
            .map(|(i, b)| board(s, b, i))
            .collect();
        let mut warnings = String::new();
        if !s.warnings.is_empty() {
            warnings.push_str("<section id=\"warnings\">\n<h2>Warnings</h2>\n<ul>\n");
            for w in &s.warnings {
                warnings.push_str(&format!("<li>{}</li>\n", esc(&w.to_string())));
            }
            warnings.push_str("</ul>\n</section>\n");
        }
        fill(
            PAGE,
            &[
                ("run_id", &esc(&s.run_id)),
                ("style", STYLE),
                ("run_facts", &run_facts),
                ("resamples", &s.method.bootstrap_resamples.to_string()),
                ("verdict", &esc(s.method.verdict)),
                ("geomean_interval", &esc(s.method.geomean_interval)),
                ("outliers", &esc(s.method.outliers)),
                ("boards", &boards),
                ("warnings", &warnings),
            ],
        )
    }
}

/// Board `b`'s section, the `index`th of the page.
fn board(s: &Summary, b: &BoardSummary, index: usize) -> String {
    let id = format!("b{index}-{}", slug(&b.name));
    let mut body = String::new();
    let out = &mut body;
    if let Some(n) = &b.emulation_note {
        out.push_str(&format!("<p class=\"note\">Note: {}</p>\n", esc(n)));
    }
    if let Some(e) = &b.error {
        out.push_str(&format!(
            "<p class=\"board-error\">Board failed: {}</p>\n",
            esc(e)
        ));
    }
    for i in &b.incidents {
        out.push_str(&format!("<p class=\"note\">Incident: {}</p>\n", esc(i)));
    }
    let colour_of = |a: &str| svg::colour(b.allocators.iter().position(|x| x == a).unwrap_or(0));
    let tables = Metric::BOTH.map(|metric| MetricTable::of(b, metric));

    for table in &tables {
        summary_table(out, b, table);
    }

    out.push_str("<h3>Ratios to system</h3>\n");
    for table in &tables {
        let metric = table.metric;
        let mut groups: Vec<Group> = table
            .rows
            .iter()
            .map(|r| Group {
                label: &r.workload.name,
                geomean: false,
                bars: bars(table, &r.ratios, &colour_of),
            })
            .collect();
        groups.push(Group {
            label: "geomean",
            geomean: true,
            bars: bars(table, &table.geomean, &colour_of),
        });
        out.push_str(&svg::ratio_chart(
            &format!("{id}-ratio-{}", metric.id()),
            metric,
            &groups,
        ));
    }

    out.push_str(&format!(
        "<h3>Memory over time{}</h3>\n",
        if b.memory_representative {
            String::new()
        } else {
            not_representative(b)
        }
    ));
    for (wi, w) in b.workloads.iter().enumerate() {
        let lines: Vec<Line> = w
            .cells
            .iter()
            .map(|c| Line {
                allocator: &c.allocator,
                colour: colour_of(&c.allocator),
                rep: c.timeline_rep,
                points: &c.timeline,
            })
            .collect();
        out.push_str(&svg::timeline_chart(
            &format!("{id}-mem-{wi}"),
            &w.name,
            &lines,
        ));
    }

    outliers(out, b);
    if !b.failed_runs.is_empty() {
        out.push_str("<h3>Failed runs</h3>\n<table class=\"failed-runs\">\n<tr><th>workload</th><th>allocator</th><th>rep</th><th>error</th><th>file</th><th>stderr (tail)</th></tr>\n");
        for f in &b.failed_runs {
            out.push_str(&format!(
                "<tr class=\"failed-run\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>\n",
                esc(&f.workload),
                esc(&f.allocator),
                f.run.rep,
                esc(&f.run.error),
                esc(&f.run.file),
                esc(tail_lines(&f.run.stderr_tail, 8))
            ));
        }
        out.push_str("</table>\n");
    }
    if let Some(entry) = s.manifest.boards.iter().find(|e| e.name == b.name) {
        out.push_str("<h3>Board facts</h3>\n");
        facts_table(out, &facts::board_facts(entry, &s.manifest.settings));
        if !entry.artifacts.is_empty() {
            out.push_str("<table class=\"artifacts\">\n<tr>");
            for h in facts::ARTIFACT_HEADER {
                out.push_str(&format!("<th>{}</th>", esc(h)));
            }
            out.push_str("</tr>\n");
            for a in &entry.artifacts {
                let row = facts::artifact_row(a);
                out.push_str(&format!(
                    "<tr><td>{}</td><td class=\"hash\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n",
                    esc(&row[0]),
                    esc(&row[1]),
                    esc(&row[2]),
                    esc(&row[3]),
                    esc(&row[4])
                ));
            }
            out.push_str("</table>\n");
        }
    }
    fill(
        BOARD,
        &[
            ("id", &id),
            ("name", &esc(&b.name)),
            ("cpu", &esc(&b.cpu)),
            ("target", &esc(&b.target)),
            ("emulation", &esc(&b.emulation)),
            ("ok_runs", &b.ok_runs.to_string()),
            ("failed_runs", &b.failed_runs.len().to_string()),
            ("body", &body),
        ],
    )
}

/// A chart group's bars: one per allocator of `table` with a ratio in
/// `ratios` (a row's, or the geomean's).
fn bars<'a>(
    table: &MetricTable<'a>,
    ratios: &[Option<&'a RatioSummary>],
    colour_of: &dyn Fn(&str) -> &'static str,
) -> Vec<Bar<'a>> {
    table
        .allocators
        .iter()
        .zip(ratios)
        .filter_map(|(&allocator, &ratio)| {
            Some(Bar {
                allocator,
                colour: colour_of(allocator),
                ratio: ratio?,
            })
        })
        .collect()
}

fn summary_table(out: &mut String, b: &BoardSummary, table: &MetricTable) {
    let metric = table.metric;
    let unrepresentative = metric == Metric::Memory && !b.memory_representative;
    out.push_str(&format!(
        "<h3>{}{} (median; allocator / system, 95 % CI)</h3>\n<table class=\"summary\" data-metric=\"{}\" data-representative=\"{}\">\n<tr><th>workload</th><th>system</th>",
        if metric == Metric::Time { "Wall time" } else { "Peak RSS" },
        if unrepresentative { not_representative(b) } else { String::new() },
        metric.id(),
        !unrepresentative
    ));
    for a in &table.allocators {
        out.push_str(&format!("<th>{}</th>", esc(a)));
    }
    out.push_str("</tr>\n");
    for r in &table.rows {
        let system = r
            .system
            .map(|m| {
                format!(
                    "{} <small>[{}–{}], n={}</small>",
                    esc(&metric.value(m.median)),
                    esc(&metric.value(m.ci.low)),
                    esc(&metric.value(m.ci.high)),
                    m.n
                )
            })
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{}<td class=\"num\">{system}</td>",
            row_head(r.workload)
        ));
        for &ratio in &r.ratios {
            ratio_td(out, ratio, metric);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("<tr class=\"geomean\"><td><b>geomean</b></td><td></td>");
    for &g in &table.geomean {
        ratio_td(out, g, metric);
    }
    out.push_str("</tr>\n</table>\n");
}

/// A summary row's opening and name cell: a command's row is marked
/// (`data-kind`, a badge), and says whether its output was checked.
fn row_head(w: &super::WorkloadSummary) -> String {
    if !w.is_command() {
        return format!("<tr data-kind=\"workload\"><td>{}</td>", esc(&w.name));
    }
    let checked = w.output_check != Some(false);
    format!(
        "<tr class=\"command\" data-kind=\"command\" data-output-check=\"{checked}\"><td>{} <span class=\"kind-command\" title=\"{}\">{}</span></td>",
        esc(&w.name),
        if checked {
            "your own program; its stdout was compared across allocators"
        } else {
            "your own program; its stdout was not compared across allocators"
        },
        if checked { "command" } else { "command, output not checked" }
    )
}

/// The mark on a board's memory figures that are not its programs' own.
fn not_representative(b: &BoardSummary) -> String {
    format!(
        " <span class=\"not-representative\" title=\"under {e}, rusage and /proc describe the emulator process, not the program\">{MEMORY_NOT_REPRESENTATIVE} ({e})</span>",
        e = esc(&b.emulation)
    )
}

fn ratio_td(out: &mut String, r: Option<&RatioSummary>, metric: Metric) {
    let class = r.map(|r| metric.word(r.verdict)).unwrap_or("none");
    out.push_str(&format!(
        "<td class=\"num {class}\">{}</td>",
        esc(&format::ratio_cell(r, metric))
    ));
}

fn outliers(out: &mut String, b: &BoardSummary) {
    let items: Vec<String> = outlier_summary::flagged(b)
        .iter()
        .map(|f| {
            format!(
                "<li>{}/{} {}: repetitions {} (median {})</li>",
                esc(f.workload),
                esc(f.allocator),
                f.metric.title(),
                f.reps
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                esc(&f.metric.value(f.median))
            )
        })
        .collect();
    if !items.is_empty() {
        out.push_str(
            "<h3>Outliers (flagged, kept in the statistics)</h3>\n<ul class=\"outliers\">\n",
        );
        out.push_str(&items.join("\n"));
        out.push_str("\n</ul>\n");
    }
}

fn facts_table(out: &mut String, rows: &[(&str, String)]) {
    out.push_str("<table class=\"facts\">\n");
    for (k, v) in rows {
        let class = if k.contains("SHA-256") || k.contains("commit") {
            " class=\"hash\""
        } else {
            ""
        };
        out.push_str(&format!(
            "<tr><th>{}</th><td{class}>{}</td></tr>\n",
            esc(k),
            esc(v)
        ));
    }
    out.push_str("</table>\n");
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

/// Letters, digits and `-` only: safe inside an id.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
