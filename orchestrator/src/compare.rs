//! `lwm compare RUN_A RUN_B`: regressions and improvements between runs
//! (LKFT/SQUAD style lists, criterion style noise threshold).
//!
//! For every (board, workload, allocator) present in both runs, the ratio
//! B/A of the median wall time and of the median peak RSS, with a bootstrap
//! 95 % interval. A change counts only if the whole interval is on one side
//! of 1 and the ratio is beyond the noise threshold (`stats::verdict`).
//! More time or more memory is a regression, and so is a repetition that
//! failed in B where the same cell had no failure in A.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use crate::manifest::Manifest;
use crate::report::format::{self, Metric};
use crate::report::{load_run, Cell, CellKey, RunData};
use crate::stats::{self, Verdict};

/// One significant or insignificant change.
struct Change {
    key: CellKey,
    metric: Metric,
    ratio: f64,
    ci: stats::Interval,
    a_median: f64,
    b_median: f64,
}

/// Compares two run directories. Returns the printed list and whether any
/// significant regression (time or memory) was found.
pub fn compare(run_a: &Path, run_b: &Path, noise_threshold: f64) -> anyhow::Result<(String, bool)> {
    // Written so that NaN is refused too.
    if !(0.0..1.0).contains(&noise_threshold) {
        anyhow::bail!("noise threshold {noise_threshold} is not a fraction in [0, 1)");
    }
    let a = load_run(run_a)?;
    let b = load_run(run_b)?;
    let mut out = String::new();
    header(&mut out, &a, &b, noise_threshold);

    let mut regressions = Vec::new();
    let mut improvements = Vec::new();
    let mut unchanged = 0usize;
    let mut not_comparable = Vec::new();
    let mut new_failures = Vec::new();
    let mut fixed_failures = Vec::new();
    for (key, cell_a) in &a.cells {
        let Some(cell_b) = b.cells.get(key) else {
            continue;
        };
        match (cell_a.failed.len(), cell_b.failed.first()) {
            (0, Some(first)) => new_failures.push(format!(
                "{}: {} failed repetition(s) in B, none in A; rep {}: {}",
                name(key),
                cell_b.failed.len(),
                first.rep,
                first.error
            )),
            (n, None) if n > 0 => fixed_failures.push(format!(
                "{}: {n} failed repetition(s) in A, none in B",
                name(key)
            )),
            _ => {}
        }
        for metric in Metric::BOTH {
            let (va, vb) = (values(cell_a, metric), values(cell_b, metric));
            if va.is_empty() || vb.is_empty() {
                not_comparable.push(format!(
                    "{} {}: no ok runs in {}",
                    name(key),
                    metric.title(),
                    match (va.is_empty(), vb.is_empty()) {
                        (true, true) => "A and B",
                        (true, false) => "A",
                        _ => "B",
                    }
                ));
                continue;
            }
            let seed = stats::seed_for(&[
                &key.board,
                &key.workload,
                &key.allocator,
                metric.id(),
                "compare",
            ]);
            let (ratio, ci) = stats::ratio_ci(&vb, &va, seed);
            let change = Change {
                key: key.clone(),
                metric,
                ratio,
                ci,
                a_median: stats::median(&va),
                b_median: stats::median(&vb),
            };
            match stats::verdict(ratio, ci, noise_threshold) {
                Verdict::Slower => regressions.push(change),
                Verdict::Faster => improvements.push(change),
                Verdict::NoDifference => unchanged += 1,
            }
        }
    }
    // Largest changes first.
    regressions.sort_by(|x, y| y.ratio.total_cmp(&x.ratio));
    improvements.sort_by(|x, y| x.ratio.total_cmp(&y.ratio));

    list(&mut out, "regressions", &regressions);
    list(&mut out, "improvements", &improvements);
    if !new_failures.is_empty() {
        let _ = writeln!(out, "new failures ({}):", new_failures.len());
        for f in &new_failures {
            let _ = writeln!(out, "  {f}");
        }
    }
    if !fixed_failures.is_empty() {
        let _ = writeln!(out, "failures gone ({}):", fixed_failures.len());
        for f in &fixed_failures {
            let _ = writeln!(out, "  {f}");
        }
    }
    let _ = writeln!(out, "unchanged: {unchanged}");
    if !not_comparable.is_empty() {
        let _ = writeln!(out, "not comparable ({}):", not_comparable.len());
        for n in &not_comparable {
            let _ = writeln!(out, "  {n}");
        }
    }
    only_in(&mut out, "A", &a, &b);
    only_in(&mut out, "B", &b, &a);
    Ok((out, !regressions.is_empty() || !new_failures.is_empty()))
}

fn header(out: &mut String, a: &RunData, b: &RunData, noise: f64) {
    let commit = |d: &RunData| {
        let c = d
            .manifest
            .project_commit
            .as_deref()
            .map(|c| &c[..c.len().min(12)])
            .unwrap_or("unknown");
        let dirty = if d.manifest.project_dirty == Some(true) {
            " dirty"
        } else {
            ""
        };
        format!("{c}{dirty}")
    };
    let _ = writeln!(
        out,
        "A: {} (run {}, commit {})\nB: {} (run {}, commit {})",
        a.dir.display(),
        a.manifest.run_id,
        commit(a),
        b.dir.display(),
        b.manifest.run_id,
        commit(b)
    );
    let _ = writeln!(
        out,
        "ratio = median B / median A [95 % bootstrap CI]; noise threshold {}",
        format::percent(noise)
    );
    let (sa, sb) = (&a.manifest.settings, &b.manifest.settings);
    let mut differ = Vec::new();
    if sa.scale != sb.scale {
        differ.push(format!("scale {} vs {}", sa.scale, sb.scale));
    }
    differ.extend(thread_differences(&a.manifest, &b.manifest));
    if sa.seed != sb.seed {
        differ.push(format!("seed {} vs {}", sa.seed, sb.seed));
    }
    if !differ.is_empty() {
        let _ = writeln!(
            out,
            "warning: workload settings differ ({}): the runs did different work",
            differ.join(", ")
        );
    }
}

/// Boards of both runs whose workloads ran with different thread counts
/// (a default that follows the CPU count makes this per board).
fn thread_differences(a: &Manifest, b: &Manifest) -> Vec<String> {
    a.boards
        .iter()
        .filter_map(|ba| {
            let bb = b.boards.iter().find(|bb| bb.name == ba.name)?;
            let ta = ba.threads_used(&a.settings)?;
            let tb = bb.threads_used(&b.settings)?;
            (ta != tb).then(|| format!("threads on {} {ta} vs {tb}", ba.name))
        })
        .collect()
}

fn values(cell: &Cell, metric: Metric) -> Vec<f64> {
    match metric {
        Metric::Time => cell.samples.iter().map(|s| s.wall_s).collect(),
        Metric::Memory => cell
            .samples
            .iter()
            .filter_map(|s| s.peak_rss_kib.map(|k| k as f64))
            .collect(),
    }
}

fn name(k: &CellKey) -> String {
    format!("{}/{}/{}", k.board, k.workload, k.allocator)
}

fn list(out: &mut String, title: &str, changes: &[Change]) {
    let _ = writeln!(out, "{title} ({}):", changes.len());
    let width = changes
        .iter()
        .map(|c| name(&c.key).len())
        .max()
        .unwrap_or(0);
    for c in changes {
        let _ = writeln!(
            out,
            "  {}  {:<9} {} [{}–{}]  {} -> {}",
            format::pad(&name(&c.key), width),
            c.metric.title(),
            format::ratio(c.ratio),
            trim_x(c.ci.low),
            trim_x(c.ci.high),
            c.metric.value(c.a_median),
            c.metric.value(c.b_median)
        );
    }
}

fn trim_x(v: f64) -> String {
    format::ratio(v).trim_end_matches('x').to_string()
}

/// What `x` has that `y` lacks, at the highest level: whole boards, then
/// workloads of shared boards, then allocators of shared workloads.
fn only_in(out: &mut String, label: &str, x: &RunData, y: &RunData) {
    let boards = |d: &RunData| {
        d.cells
            .keys()
            .map(|k| k.board.clone())
            .collect::<BTreeSet<_>>()
    };
    let workloads = |d: &RunData| {
        d.cells
            .keys()
            .map(|k| (k.board.clone(), k.workload.clone()))
            .collect::<BTreeSet<_>>()
    };
    let (bx, by) = (boards(x), boards(y));
    let (wx, wy) = (workloads(x), workloads(y));
    let mut items = Vec::new();
    for b in bx.difference(&by) {
        items.push(format!("board {b}"));
    }
    for (b, w) in wx.difference(&wy) {
        if by.contains(b) {
            items.push(format!("workload {b}/{w}"));
        }
    }
    for k in x.cells.keys() {
        if wy.contains(&(k.board.clone(), k.workload.clone())) && !y.cells.contains_key(k) {
            items.push(format!("allocator {}", name(k)));
        }
    }
    if !items.is_empty() {
        let _ = writeln!(out, "only in {label} ({}):", items.len());
        for i in items {
            let _ = writeln!(out, "  {i}");
        }
    }
}
