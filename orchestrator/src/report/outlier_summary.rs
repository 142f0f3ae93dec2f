//! Outliers in one line per workload and allocator, for the terminal
//! table: how many repetitions were flagged and the one furthest from its
//! median. A campaign of 15 workloads under 5 allocators flags dozens of
//! single repetitions; listed one by one they pushed the tables off the
//! screen. The full list stays in report.md, report.html and report.json.

use super::format::Metric;
use super::{BoardSummary, CellSummary};

/// The flagged repetitions of one workload under one allocator.
#[derive(Debug, Clone, PartialEq)]
pub struct CellOutliers {
    pub workload: String,
    pub allocator: String,
    /// Outliers of both metrics (a repetition may be one in each).
    pub count: usize,
    pub worst: Worst,
}

/// The outlier furthest from its median, relative to the median.
#[derive(Debug, Clone, PartialEq)]
pub struct Worst {
    pub metric: Metric,
    pub rep: u32,
    pub value: f64,
    pub median: f64,
}

impl Worst {
    /// (value - median) / median; infinite when the median is 0.
    fn relative(&self) -> f64 {
        if self.value == self.median {
            0.0
        } else {
            (self.value - self.median) / self.median.abs()
        }
    }
}

/// One metric's flagged repetitions of one workload under one allocator,
/// as the full lists of report.md and report.html give them.
pub struct Flagged<'a> {
    pub workload: &'a str,
    pub allocator: &'a str,
    pub metric: Metric,
    pub reps: &'a [u32],
    pub median: f64,
}

/// Every workload, allocator and metric of `b` with at least one outlier,
/// in table order, time before memory.
pub fn flagged(b: &BoardSummary) -> Vec<Flagged<'_>> {
    b.workloads
        .iter()
        .flat_map(|w| {
            w.cells.iter().flat_map(move |c| {
                Metric::BOTH.into_iter().filter_map(move |metric| {
                    let m = c.figures(metric)?;
                    (!m.outlier_reps.is_empty()).then_some(Flagged {
                        workload: &w.name,
                        allocator: &c.allocator,
                        metric,
                        reps: &m.outlier_reps,
                        median: m.median,
                    })
                })
            })
        })
        .collect()
}

/// Every workload and allocator of `b` with at least one outlier, in table order.
pub fn per_cell(b: &BoardSummary) -> Vec<CellOutliers> {
    b.workloads
        .iter()
        .flat_map(|w| w.cells.iter().filter_map(|c| cell_outliers(&w.name, c)))
        .collect()
}

fn cell_outliers(workload: &str, c: &CellSummary) -> Option<CellOutliers> {
    let mut count = 0;
    let mut worst: Option<Worst> = None;
    for metric in Metric::BOTH {
        let Some(m) = c.figures(metric) else {
            continue;
        };
        count += m.outlier_reps.len();
        for &rep in &m.outlier_reps {
            let Some(value) = value_of(c, rep, metric) else {
                continue;
            };
            let candidate = Worst {
                metric,
                rep,
                value,
                median: m.median,
            };
            let further = match &worst {
                None => true,
                Some(w) => candidate.relative().abs() > w.relative().abs(),
            };
            if further {
                worst = Some(candidate);
            }
        }
    }
    Some(CellOutliers {
        workload: workload.to_string(),
        allocator: c.allocator.clone(),
        count,
        worst: worst?,
    })
}

fn value_of(c: &CellSummary, rep: u32, metric: Metric) -> Option<f64> {
    let s = c.samples.iter().find(|s| s.rep == rep)?;
    match metric {
        Metric::Time => Some(s.wall_s),
        Metric::Memory => s.peak_rss_kib.map(|k| k as f64),
    }
}

impl CellOutliers {
    /// `sqlite/system: 2 outliers; worst: wall time rep 3, 2.976 s
    /// (median 1.006 s, +196 %)`: short enough for one line of the table's
    /// width with the longest workload and allocator names.
    pub fn line(&self) -> String {
        let w = &self.worst;
        format!(
            "{}/{}: {} {}; worst: {} rep {}, {} (median {}, {})",
            self.workload,
            self.allocator,
            self.count,
            if self.count == 1 {
                "outlier"
            } else {
                "outliers"
            },
            w.metric.title(),
            w.rep,
            w.metric.value(w.value),
            w.metric.value(w.median),
            signed_percent(w.relative())
        )
    }
}

/// `+196 %`, `-4.2 %`, `+0.04 %`: small deviations keep a digit that is
/// not 0 (with a MAD of 0, a repetition 0.04 % off is an outlier).
fn signed_percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if !p.is_finite() {
        "median 0".into()
    } else if p.abs() >= 10.0 {
        format!("{p:+.0} %")
    } else if p.abs() >= 1.0 {
        format!("{p:+.1} %")
    } else {
        format!("{p:+.2} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worst(metric: Metric, value: f64, median: f64) -> CellOutliers {
        CellOutliers {
            workload: "sqlite".into(),
            allocator: "system".into(),
            count: 3,
            worst: Worst {
                metric,
                rep: 3,
                value,
                median,
            },
        }
    }

    #[test]
    fn a_line_counts_the_outliers_and_names_the_worst() {
        let line = worst(Metric::Time, 2.976, 1.006).line();
        assert_eq!(
            line,
            "sqlite/system: 3 outliers; worst: wall time rep 3, 2.976 s (median 1.006 s, +196 %)"
        );
        let mut one = worst(Metric::Memory, 900.0, 1024.0);
        one.count = 1;
        assert_eq!(
            one.line(),
            "sqlite/system: 1 outlier; worst: peak RSS rep 3, 900 KiB (median 1.0 MiB, -12 %)"
        );
        assert_eq!(signed_percent(-0.042), "-4.2 %");
        assert_eq!(signed_percent(0.0004), "+0.04 %");
        assert_eq!(signed_percent(f64::INFINITY), "median 0");
    }
}
