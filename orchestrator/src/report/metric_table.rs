//! One metric's summary table of a board, as a model: a row per workload
//! with system's figures and each other allocator's ratio to system, then
//! the geometric-mean row. The terminal, Markdown and HTML exporters only
//! format it, so the three show the same cells in the same order.

use super::format::Metric;
use super::{
    BoardSummary, CellSummary, GeomeanSummary, MetricSummary, RatioSummary, WorkloadSummary,
    BASELINE,
};

pub struct MetricTable<'a> {
    pub metric: Metric,
    /// The allocators compared with system, one column each, in the
    /// board's order.
    pub allocators: Vec<&'a str>,
    pub rows: Vec<WorkloadRow<'a>>,
    /// Each allocator's geometric mean of its ratios, in `allocators` order.
    pub geomean: Vec<Option<&'a RatioSummary>>,
}

pub struct WorkloadRow<'a> {
    pub workload: &'a WorkloadSummary,
    /// System's figures; `None` when it has no ok run.
    pub system: Option<&'a MetricSummary>,
    /// Each allocator's ratio to system, in `MetricTable::allocators` order.
    pub ratios: Vec<Option<&'a RatioSummary>>,
}

impl<'a> MetricTable<'a> {
    pub fn of(b: &'a BoardSummary, metric: Metric) -> MetricTable<'a> {
        let allocators: Vec<&str> = b
            .allocators
            .iter()
            .map(String::as_str)
            .filter(|a| *a != BASELINE)
            .collect();
        let rows = b
            .workloads
            .iter()
            .map(|w| {
                let cell = |a: &str| w.cells.iter().find(|c| c.allocator == a);
                WorkloadRow {
                    workload: w,
                    system: cell(BASELINE).and_then(|c| c.figures(metric)),
                    ratios: allocators
                        .iter()
                        .map(|a| cell(a).and_then(|c| c.vs_system(metric)))
                        .collect(),
                }
            })
            .collect();
        let geomean = allocators
            .iter()
            .map(|a| {
                b.geomean
                    .iter()
                    .find(|g| g.allocator == *a)
                    .and_then(|g| g.ratio(metric))
            })
            .collect();
        MetricTable {
            metric,
            allocators,
            rows,
            geomean,
        }
    }
}

impl CellSummary {
    /// This allocator's own figures of `metric`.
    pub fn figures(&self, metric: Metric) -> Option<&MetricSummary> {
        match metric {
            Metric::Time => self.time.as_ref(),
            Metric::Memory => self.memory.as_ref(),
        }
    }

    /// This allocator's median of `metric` over system's.
    pub fn vs_system(&self, metric: Metric) -> Option<&RatioSummary> {
        match metric {
            Metric::Time => self.time_vs_system.as_ref(),
            Metric::Memory => self.memory_vs_system.as_ref(),
        }
    }
}

impl GeomeanSummary {
    /// The geometric mean of the allocator's `metric` ratios.
    pub fn ratio(&self, metric: Metric) -> Option<&RatioSummary> {
        match metric {
            Metric::Time => self.time.as_ref(),
            Metric::Memory => self.memory.as_ref(),
        }
    }
}
