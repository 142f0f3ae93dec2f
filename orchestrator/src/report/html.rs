//! report.html: one self-contained page (inline CSS and SVG, no script, no
//! external resource): summary tables, ratio bars with interval whiskers,
//! memory-over-time lines, outliers, failed runs and the manifest's facts.

use super::facts;
use super::format::{self, Metric};
use super::metric_table::MetricTable;
use super::svg::{self, Bar, Group, Line};
use super::template::{fill, Markup};
use super::{
    BoardSummary, Exporter, RatioSummary, Summary, WorkloadSummary, MEMORY_NOT_REPRESENTATIVE,
};

mod sections;

use sections::{board_facts, facts_table, failed_runs, outliers};

pub struct Html;

/// The templates (`html/`), compiled in. Block templates end with a line
/// break (or with a placeholder whose value does); inline ones (cells,
/// spans) have none.
mod templates {
    /// The page around the run's facts, boards and warnings.
    pub const PAGE: &str = include_str!("html/page.html");
    pub const STYLE: &str = include_str!("html/style.css");
    pub const WARNINGS: &str = include_str!("html/warnings.html");
    pub const LIST_ITEM: &str = include_str!("html/list_item.html");
    /// One board's section around its tables, charts and lists.
    pub const BOARD: &str = include_str!("html/board.html");
    /// An emulation note, the board's error or an incident.
    pub const NOTICE: &str = include_str!("html/notice.html");
    pub const SUMMARY_TABLE: &str = include_str!("html/summary_table.html");
    pub const WORKLOAD_ROW: &str = include_str!("html/workload_row.html");
    pub const COMMAND_ROW: &str = include_str!("html/command_row.html");
    pub const SYSTEM_FIGURES: &str = include_str!("html/system_figures.html");
    pub const RATIO_CELL: &str = include_str!("html/ratio_cell.html");
    pub const HEADER_CELL: &str = include_str!("html/header_cell.html");
    pub const NOT_REPRESENTATIVE: &str = include_str!("html/not_representative.html");
    pub const OUTLIERS: &str = include_str!("html/outliers.html");
    pub const FAILED_RUNS: &str = include_str!("html/failed_runs.html");
    pub const FAILED_RUN: &str = include_str!("html/failed_run.html");
    pub const BOARD_FACTS: &str = include_str!("html/board_facts.html");
    pub const FACTS: &str = include_str!("html/facts.html");
    pub const FACT: &str = include_str!("html/fact.html");
    pub const FACT_HASH: &str = include_str!("html/fact_hash.html");
    pub const ARTIFACTS: &str = include_str!("html/artifacts.html");
    pub const ARTIFACT: &str = include_str!("html/artifact.html");

    #[cfg(test)]
    pub const BLOCK: [&str; 17] = [
        PAGE,
        WARNINGS,
        LIST_ITEM,
        BOARD,
        NOTICE,
        SUMMARY_TABLE,
        WORKLOAD_ROW,
        COMMAND_ROW,
        OUTLIERS,
        FAILED_RUNS,
        FAILED_RUN,
        BOARD_FACTS,
        FACTS,
        FACT,
        FACT_HASH,
        ARTIFACTS,
        ARTIFACT,
    ];
    #[cfg(test)]
    pub const INLINE: [&str; 4] = [SYSTEM_FIGURES, RATIO_CELL, HEADER_CELL, NOT_REPRESENTATIVE];
}
use templates::*;

impl Exporter for Html {
    fn file_name(&self) -> &str {
        "report.html"
    }

    fn render(&self, s: &Summary) -> String {
        let boards: Markup = s
            .boards
            .iter()
            .enumerate()
            .map(|(i, b)| board(s, b, i))
            .collect();
        let warnings = if s.warnings.is_empty() {
            Markup::default()
        } else {
            let items: Markup = s
                .warnings
                .iter()
                .map(|w| list_item(&w.to_string()))
                .collect();
            fill(WARNINGS, &[("items", &items)])
        };
        fill(
            PAGE,
            &[
                ("run_id", &s.run_id),
                ("style", &Markup::trusted(STYLE)),
                ("run_facts", &facts_table(&facts::run_facts(s))),
                ("resamples", &s.method.bootstrap_resamples.to_string()),
                ("verdict", &s.method.verdict),
                ("geomean_interval", &s.method.geomean_interval),
                ("outliers", &s.method.outliers),
                ("boards", &boards),
                ("warnings", &warnings),
            ],
        )
        .into_string()
    }
}

/// Board `b`'s section, the `index`th of the page.
fn board(s: &Summary, b: &BoardSummary, index: usize) -> Markup {
    let id = format!("b{index}-{}", slug(&b.name));
    let notice = |class: &str, label: &str, text: &str| {
        fill(
            NOTICE,
            &[("class", &class), ("label", &label), ("text", &text)],
        )
    };
    let notices: Markup = b
        .emulation_note
        .iter()
        .map(|n| notice("note", "Note", n))
        .chain(
            b.error
                .iter()
                .map(|e| notice("board-error", "Board failed", e)),
        )
        .chain(b.incidents.iter().map(|i| notice("note", "Incident", i)))
        .collect();
    let colour_of = |a: &str| svg::colour(b.allocators.iter().position(|x| x == a).unwrap_or(0));
    let tables = Metric::BOTH.map(|metric| MetricTable::of(b, metric));

    let summaries: Markup = tables.iter().map(|t| summary_table(b, t)).collect();
    let ratio_charts: Markup = tables
        .iter()
        .map(|table| {
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
            Markup::trusted(svg::ratio_chart(
                &format!("{id}-ratio-{}", metric.id()),
                metric,
                &groups,
            ))
        })
        .collect();
    let memory_charts: Markup = b
        .workloads
        .iter()
        .enumerate()
        .map(|(wi, w)| {
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
            Markup::trusted(svg::timeline_chart(
                &format!("{id}-mem-{wi}"),
                &w.name,
                &lines,
            ))
        })
        .collect();
    let memory_mark = if b.memory_representative {
        Markup::default()
    } else {
        not_representative(b)
    };

    fill(
        BOARD,
        &[
            ("id", &id),
            ("name", &b.name),
            ("cpu", &b.cpu),
            ("target", &b.target),
            ("emulation", &b.emulation),
            ("ok_runs", &b.ok_runs.to_string()),
            ("failed_runs", &b.failed_runs.len().to_string()),
            ("notices", &notices),
            ("summaries", &summaries),
            ("ratio_charts", &ratio_charts),
            ("memory_mark", &memory_mark),
            ("memory_charts", &memory_charts),
            ("outliers", &outliers(b)),
            ("failures", &failed_runs(b)),
            ("facts", &board_facts(s, b)),
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

/// One metric's table of the board (`MetricTable`) with its heading.
fn summary_table(b: &BoardSummary, table: &MetricTable) -> Markup {
    let metric = table.metric;
    let title = match metric {
        Metric::Time => "Wall time",
        Metric::Memory => "Peak RSS",
    };
    let unrepresentative = metric == Metric::Memory && !b.memory_representative;
    let mark = if unrepresentative {
        not_representative(b)
    } else {
        Markup::default()
    };
    let allocators = header_cells(&table.allocators);
    let rows: Markup = table
        .rows
        .iter()
        .map(|r| {
            let system = match r.system {
                Some(m) => fill(
                    SYSTEM_FIGURES,
                    &[
                        ("median", &metric.value(m.median)),
                        ("low", &metric.value(m.ci.low)),
                        ("high", &metric.value(m.ci.high)),
                        ("n", &m.n.to_string()),
                    ],
                ),
                None => Markup::text("-"),
            };
            let ratios: Markup = r.ratios.iter().map(|&q| ratio_cell(q, metric)).collect();
            summary_row(r.workload, &system, &ratios)
        })
        .collect();
    let geomean: Markup = table
        .geomean
        .iter()
        .map(|&g| ratio_cell(g, metric))
        .collect();
    fill(
        SUMMARY_TABLE,
        &[
            ("title", &title),
            ("mark", &mark),
            ("metric", &metric.id()),
            ("representative", &(!unrepresentative).to_string()),
            ("allocators", &allocators),
            ("rows", &rows),
            ("geomean", &geomean),
        ],
    )
}

/// A summary row: a command's is marked (`data-kind`, a badge) and says
/// whether its output was checked.
fn summary_row(w: &WorkloadSummary, system: &Markup, ratios: &Markup) -> Markup {
    if !w.is_command() {
        return fill(
            WORKLOAD_ROW,
            &[("name", &w.name), ("system", system), ("ratios", ratios)],
        );
    }
    let checked = w.output_check != Some(false);
    let (title, badge) = if checked {
        (
            "your own program; its stdout was compared across allocators",
            "command",
        )
    } else {
        (
            "your own program; its stdout was not compared across allocators",
            "command, output not checked",
        )
    };
    fill(
        COMMAND_ROW,
        &[
            ("checked", &checked.to_string()),
            ("name", &w.name),
            ("title", &title),
            ("badge", &badge),
            ("system", system),
            ("ratios", ratios),
        ],
    )
}

/// The mark on a board's memory figures that are not its programs' own.
fn not_representative(b: &BoardSummary) -> Markup {
    fill(
        NOT_REPRESENTATIVE,
        &[
            ("emulation", &b.emulation),
            ("label", &MEMORY_NOT_REPRESENTATIVE),
        ],
    )
}

fn ratio_cell(r: Option<&RatioSummary>, metric: Metric) -> Markup {
    fill(
        RATIO_CELL,
        &[
            (
                "class",
                &r.map(|r| metric.word(r.verdict)).unwrap_or("none"),
            ),
            ("text", &format::ratio_cell(r, metric)),
        ],
    )
}

/// A table's header row, one escaped cell per label.
fn header_cells<S: AsRef<str>>(labels: &[S]) -> Markup {
    labels
        .iter()
        .map(|l| fill(HEADER_CELL, &[("text", &l.as_ref())]))
        .collect()
}

fn list_item(text: &str) -> Markup {
    fill(LIST_ITEM, &[("text", &text)])
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

#[cfg(test)]
mod tests {
    use super::templates::{BLOCK, INLINE};

    #[test]
    fn block_templates_end_a_line_and_inline_ones_do_not() {
        for t in BLOCK {
            assert!(t.ends_with('\n') || t.ends_with("}}"), "{t}");
        }
        for t in INLINE {
            assert!(!t.contains('\n'), "{t}");
        }
    }
}
