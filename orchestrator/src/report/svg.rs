//! Inline SVG charts for the HTML report: ratio bars with 95 % interval
//! whiskers, and memory-over-time lines. Pure functions from numbers to
//! markup; no script. Elements carry stable classes (`ratio-bar`,
//! `geomean-bar`, `whisker`, `ref-line`, `mem-line`) and `data-*`
//! attributes so tests and readers can find them.

use super::format::{self, Metric};
use super::template::esc;
use super::RatioSummary;

/// Colour of the allocator at `index` in the board's allocator list
/// (`system` is first and grey).
pub fn colour(index: usize) -> &'static str {
    const PALETTE: [&str; 9] = [
        "#6b6b6b", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
        "#17becf",
    ];
    PALETTE[index % PALETTE.len()]
}

/// One bar: an allocator's ratio to system.
pub struct Bar<'a> {
    pub allocator: &'a str,
    pub colour: &'static str,
    pub ratio: &'a RatioSummary,
}

/// A labelled group of bars (a workload, or the geometric mean).
pub struct Group<'a> {
    pub label: &'a str,
    pub geomean: bool,
    pub bars: Vec<Bar<'a>>,
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 230.0;
const BAR_H: f64 = 12.0;
const BAR_GAP: f64 = 3.0;
const GROUP_GAP: f64 = 12.0;
const TOP: f64 = 34.0;
const AXIS_H: f64 = 26.0;

/// Horizontal bars from 1.0 to each ratio on a log scale, whiskers over the
/// 95 % interval, a reference line at 1.0.
pub fn ratio_chart(id: &str, metric: Metric, groups: &[Group]) -> String {
    let finite: Vec<&RatioSummary> = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.ratio))
        .filter(|r| r.ratio.is_finite() && r.ratio > 0.0)
        .collect();
    let mut lo: f64 = 1.0;
    let mut hi: f64 = 1.0;
    for r in &finite {
        for v in [r.ratio, r.ci.low, r.ci.high] {
            if v.is_finite() && v > 0.0 {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    // At least ±10 % around 1 and a margin, in log space.
    let (mut llo, mut lhi) = (lo.min(0.9).ln(), hi.max(1.1).ln());
    let margin = (lhi - llo) * 0.06;
    llo -= margin;
    lhi += margin;
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |v: f64| LEFT + (v.max(1e-9).ln() - llo) / (lhi - llo) * plot_w;

    let rows: f64 = groups.iter().map(|g| g.bars.len().max(1) as f64).sum();
    let height = TOP + rows * (BAR_H + BAR_GAP) + groups.len() as f64 * GROUP_GAP + AXIS_H;
    let plot_bottom = height - AXIS_H;
    let mut s = format!(
        "<svg id=\"{}\" class=\"ratio-chart\" data-metric=\"{}\" viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"{WIDTH}\" height=\"{height:.0}\" role=\"img\">\n",
        esc(id),
        metric.id()
    );
    s.push_str(&format!(
        "<text class=\"chart-title\" x=\"{LEFT}\" y=\"16\">{} relative to system (log scale; bar = median ratio, whisker = 95 % CI; left of 1 is {})</text>\n",
        esc(metric.title()),
        if metric == Metric::Time { "faster" } else { "less memory" }
    ));
    for t in spaced(&ticks(llo.exp(), lhi.exp()), &x) {
        let tx = x(t);
        s.push_str(&format!(
            "<line class=\"tick\" x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{plot_bottom:.1}\"/><text class=\"tick-label\" x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            plot_bottom + 16.0,
            trim_number(t)
        ));
    }
    let mut y = TOP;
    for g in groups {
        let group_h = g.bars.len().max(1) as f64 * (BAR_H + BAR_GAP);
        s.push_str(&format!(
            "<text class=\"group-label{}\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            if g.geomean { " geomean" } else { "" },
            LEFT - 8.0,
            y + group_h / 2.0 + 4.0,
            esc(g.label)
        ));
        for b in &g.bars {
            let r = b.ratio;
            let cy = y + BAR_H / 2.0;
            if r.ratio.is_finite() && r.ratio > 0.0 {
                let (x0, x1) = (x(1.0), x(r.ratio));
                let (bar_class, whisker_class) = if g.geomean {
                    ("geomean-bar", "geomean-whisker")
                } else {
                    ("ratio-bar", "whisker")
                };
                s.push_str(&format!(
                    "<rect class=\"{bar_class}\" data-allocator=\"{a}\" data-workload=\"{w}\" data-metric=\"{m}\" data-ratio=\"{ratio}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR_H}\" fill=\"{c}\"><title>{w} {a}: {text} {word}</title></rect>\n",
                    x0.min(x1),
                    (x1 - x0).abs().max(1.0),
                    a = esc(b.allocator),
                    w = esc(g.label),
                    m = metric.id(),
                    ratio = r.ratio,
                    c = b.colour,
                    text = esc(&format::ratio_with_ci(r)),
                    word = metric.word(r.verdict),
                ));
                if r.ci.low.is_finite() && r.ci.high.is_finite() {
                    let (wl, wh) = (x(r.ci.low), x(r.ci.high));
                    s.push_str(&format!(
                        "<path class=\"{whisker_class}\" d=\"M{wl:.1} {cy:.1}H{wh:.1}M{wl:.1} {:.1}V{:.1}M{wh:.1} {:.1}V{:.1}\"/>\n",
                        cy - 4.0,
                        cy + 4.0,
                        cy - 4.0,
                        cy + 4.0
                    ));
                }
                s.push_str(&format!(
                    "<text class=\"bar-label\" x=\"{:.1}\" y=\"{:.1}\">{} {} {}</text>\n",
                    WIDTH - RIGHT + 8.0,
                    cy + 4.0,
                    esc(b.allocator),
                    esc(&format::ratio_with_ci(r)),
                    metric.word(r.verdict)
                ));
            }
            y += BAR_H + BAR_GAP;
        }
        if g.bars.is_empty() {
            y += BAR_H + BAR_GAP;
        }
        y += GROUP_GAP;
    }
    let rx = x(1.0);
    s.push_str(&format!(
        "<line class=\"ref-line\" x1=\"{rx:.1}\" y1=\"{:.1}\" x2=\"{rx:.1}\" y2=\"{plot_bottom:.1}\"/>\n",
        TOP - 6.0
    ));
    s.push_str("</svg>\n");
    s
}

/// Candidate tick values for a log axis from `lo` to `hi` (round ratios);
/// `spaced` thins them.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    const ALL: [f64; 23] = [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0,
        5.0, 10.0, 20.0, 50.0, 100.0, 1000.0,
    ];
    ALL.iter()
        .copied()
        .filter(|v| *v >= lo && *v <= hi)
        .collect()
}

/// Ticks at least 36 px apart, kept outward from 1.0 (always kept) so the
/// labels never overlap.
fn spaced(ticks: &[f64], x: &dyn Fn(f64) -> f64) -> Vec<f64> {
    const MIN_PX: f64 = 36.0;
    let mut kept = vec![1.0];
    let mut last = x(1.0);
    for t in ticks.iter().copied().filter(|t| *t > 1.0) {
        if x(t) - last >= MIN_PX {
            kept.push(t);
            last = x(t);
        }
    }
    last = x(1.0);
    for t in ticks.iter().rev().copied().filter(|t| *t < 1.0) {
        if last - x(t) >= MIN_PX {
            kept.push(t);
            last = x(t);
        }
    }
    kept.sort_by(f64::total_cmp);
    kept
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One allocator's memory timeline.
pub struct Line<'a> {
    pub allocator: &'a str,
    pub colour: &'static str,
    pub rep: Option<u32>,
    /// `[t_ms, rss_kib]`.
    pub points: &'a [[f64; 2]],
}

const T_WIDTH: f64 = 960.0;
const T_HEIGHT: f64 = 240.0;
const T_LEFT: f64 = 70.0;
const T_RIGHT: f64 = 170.0;
const T_TOP: f64 = 24.0;
const T_BOTTOM: f64 = 34.0;

/// RSS over time, one polyline per allocator that has at least two samples.
pub fn timeline_chart(id: &str, workload: &str, lines: &[Line]) -> String {
    let drawn: Vec<&Line> = lines.iter().filter(|l| l.points.len() >= 2).collect();
    let max_t = drawn
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p[0]))
        .fold(0.0, f64::max);
    let max_r = drawn
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p[1]))
        .fold(0.0, f64::max);
    let (t_ticks, t_top) = nice_ticks(max_t.max(1.0));
    let (r_ticks, r_top) = nice_ticks((max_r / 1024.0).max(0.1));
    let pw = T_WIDTH - T_LEFT - T_RIGHT;
    let ph = T_HEIGHT - T_TOP - T_BOTTOM;
    let x = |t: f64| T_LEFT + t / t_top * pw;
    let y = |kib: f64| T_TOP + ph - kib / 1024.0 / r_top * ph;
    let mut s = format!(
        "<svg id=\"{}\" class=\"mem-chart\" data-workload=\"{}\" viewBox=\"0 0 {T_WIDTH} {T_HEIGHT}\" width=\"{T_WIDTH}\" height=\"{T_HEIGHT}\" role=\"img\">\n",
        esc(id),
        esc(workload)
    );
    s.push_str(&format!(
        "<text class=\"chart-title\" x=\"{T_LEFT}\" y=\"14\">{}: RSS over time (repetition at the median time)</text>\n",
        esc(workload)
    ));
    for t in &t_ticks {
        let tx = x(*t);
        s.push_str(&format!(
            "<line class=\"tick\" x1=\"{tx:.1}\" y1=\"{T_TOP}\" x2=\"{tx:.1}\" y2=\"{:.1}\"/><text class=\"tick-label\" x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            T_TOP + ph,
            T_TOP + ph + 14.0,
            if *t == 0.0 { "0".to_string() } else { esc(&format::seconds(t / 1000.0)) }
        ));
    }
    for r in &r_ticks {
        let ty = y(r * 1024.0);
        s.push_str(&format!(
            "<line class=\"tick\" x1=\"{T_LEFT}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\"/><text class=\"tick-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} MiB</text>\n",
            T_LEFT + pw,
            T_LEFT - 6.0,
            ty + 4.0,
            trim_number(*r)
        ));
    }
    s.push_str(&format!(
        "<rect class=\"plot-frame\" x=\"{T_LEFT}\" y=\"{T_TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\"/>\n"
    ));
    for (i, l) in lines.iter().enumerate() {
        let ly = T_TOP + 12.0 + i as f64 * 16.0;
        let lx = T_LEFT + pw + 12.0;
        let rep = l.rep.map(|r| format!(" (rep {r})")).unwrap_or_default();
        if l.points.len() >= 2 {
            let pts: Vec<String> = l
                .points
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p[0]), y(p[1])))
                .collect();
            s.push_str(&format!(
                "<polyline class=\"mem-line\" data-allocator=\"{}\" points=\"{}\" stroke=\"{}\" fill=\"none\"/>\n",
                esc(l.allocator),
                pts.join(" "),
                l.colour
            ));
        }
        s.push_str(&format!(
            "<line x1=\"{lx:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"3\"/><text class=\"legend\" x=\"{:.1}\" y=\"{ly:.1}\">{}{}</text>\n",
            ly - 4.0,
            lx + 18.0,
            ly - 4.0,
            l.colour,
            lx + 24.0,
            esc(l.allocator),
            if l.points.len() >= 2 { rep } else { " (no samples)".into() }
        ));
    }
    s.push_str("</svg>\n");
    s
}

/// Ticks at 1, 2 or 5 × 10^k covering `0..=max`, and the axis top.
fn nice_ticks(max: f64) -> (Vec<f64>, f64) {
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let top = (max / step).ceil() * step;
    let n = (top / step).round() as usize;
    ((0..=n).map(|i| i as f64 * step).collect(), top)
}
