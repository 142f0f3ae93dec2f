//! The soak checks: `frag-soak`, run long in a campaign of its own, reports
//! its live bytes and its RSS at the end of each of its phases. Memory that
//! leaks or fragments without bound shows as RSS per live byte growing
//! over the run: the peak RSS of the second half of the phases over that of
//! the first, divided by the same ratio of peak live bytes, minus one (0:
//! no growth beyond what the program holds).

use super::evaluate::{reps_in, CheckResult, Evidence, Status, UNDER_TEST};
use crate::report::BASELINE;

/// Growth of RSS per live byte and peak RSS over peak live bytes, from a
/// `live_timeline` (`rss_kib`, `live_bytes` per phase). None: too few
/// phases or no live bytes.
pub fn figures(report: &serde_json::Value) -> Option<(f64, f64)> {
    let tl = report["live_timeline"].as_array()?;
    let points: Vec<(f64, f64)> = tl
        .iter()
        .filter_map(|p| Some((p["rss_kib"].as_f64()? * 1024.0, p["live_bytes"].as_f64()?)))
        .collect();
    if points.len() < 4 {
        return None;
    }
    let half = points.len() / 2;
    let peak = |ps: &[(f64, f64)]| {
        ps.iter()
            .fold((0.0f64, 0.0f64), |(r, l), &(pr, pl)| (r.max(pr), l.max(pl)))
    };
    let (r1, l1) = peak(&points[..half]);
    let (r2, l2) = peak(&points[half..]);
    let (r, l) = peak(&points);
    if r1 <= 0.0 || l1 <= 0.0 || l2 <= 0.0 || l <= 0.0 {
        return None;
    }
    Some(((r2 / r1) / (l2 / l1) - 1.0, r / l))
}

pub fn checks(
    ev: &Evidence,
    reps: u32,
    max_growth: f64,
    max_peak: Option<f64>,
) -> Vec<CheckResult> {
    let Some((dir, rel)) = ev.soak else {
        return vec![CheckResult {
            name: "frag-soak".into(),
            found: "the soak campaign did not run".into(),
            threshold: format!("{reps} repetition(s)"),
            status: Status::Fail,
            evidence: vec![],
        }];
    };
    let name = super::criteria::SOAK_WORKLOAD;
    let mine = reps_in(dir, ev.board, name, UNDER_TEST);
    let base = reps_in(dir, ev.board, name, BASELINE);
    // The system malloc's figures, for the reader (not judged).
    let reference = base
        .iter()
        .filter_map(|r| r.workload_report.as_ref().and_then(figures))
        .next()
        .map(|(g, p)| format!("; under {BASELINE}: growth {g:+.3}, peak/live {p:.3}"))
        .unwrap_or_default();
    let mut out = Vec::new();
    let ok = mine.iter().filter(|r| r.ok).count();
    if ok < reps as usize {
        let bad = mine.iter().find(|r| !r.ok);
        out.push(CheckResult {
            name: format!("{name} under {UNDER_TEST}"),
            found: format!(
                "{ok} of {reps} repetitions ok{}",
                bad.map(|r| format!(" ({}: {} {})", r.file, r.status, r.why))
                    .unwrap_or_default()
            ),
            threshold: format!("all {reps} repetitions ok"),
            status: Status::Fail,
            evidence: mine.iter().map(|r| format!("{rel}/{}", r.file)).collect(),
        });
        return out;
    }
    for r in mine.iter().filter(|r| r.ok) {
        let evidence = vec![format!("{rel}/{}", r.file)];
        let Some((growth, peak)) = r.workload_report.as_ref().and_then(figures) else {
            out.push(CheckResult {
                name: format!("{name} RSS per live byte, {}", r.file),
                found: "no live_timeline in the workload's report".into(),
                threshold: "a timeline of at least 4 phases".into(),
                status: Status::Fail,
                evidence,
            });
            continue;
        };
        out.push(CheckResult {
            name: format!(
                "{name} growth of RSS per live byte, second half / first, {}",
                r.file
            ),
            found: format!("{growth:+.3}{reference}"),
            threshold: format!("<= {max_growth}"),
            status: if growth <= max_growth {
                Status::Pass
            } else {
                Status::Fail
            },
            evidence: evidence.clone(),
        });
        if let Some(max) = max_peak {
            out.push(CheckResult {
                name: format!("{name} peak RSS / peak live bytes, {}", r.file),
                found: format!("{peak:.3}{reference}"),
                threshold: format!("<= {max}"),
                status: if peak <= max {
                    Status::Pass
                } else {
                    Status::Fail
                },
                evidence,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::figures;
    use serde_json::json;

    fn timeline(points: &[(u64, u64)]) -> serde_json::Value {
        let tl: Vec<_> = points
            .iter()
            .map(|&(rss_kib, live)| json!({ "rss_kib": rss_kib, "live_bytes": live }))
            .collect();
        json!({ "live_timeline": tl })
    }

    #[test]
    fn rss_that_follows_live_bytes_is_no_growth_and_a_leak_is() {
        // Live bytes double in the second half and RSS with them: no growth.
        let (g, p) = figures(&timeline(&[
            (1000, 1 << 20),
            (1000, 1 << 20),
            (2000, 2 << 20),
            (2000, 2 << 20),
        ]))
        .unwrap();
        assert!(g.abs() < 1e-9, "{g}");
        assert!((p - 2000.0 * 1024.0 / (2u64 << 20) as f64).abs() < 1e-9);
        // Same live bytes, RSS up by half: growth 0.5.
        let (g, _) = figures(&timeline(&[
            (1000, 1 << 20),
            (1000, 1 << 20),
            (1500, 1 << 20),
            (1500, 1 << 20),
        ]))
        .unwrap();
        assert!((g - 0.5).abs() < 1e-9, "{g}");
    }

    #[test]
    fn too_short_or_empty_timelines_give_nothing() {
        assert!(figures(&timeline(&[(1, 1), (1, 1), (1, 1)])).is_none());
        assert!(figures(&timeline(&[(1, 0), (1, 0), (1, 0), (1, 0)])).is_none());
        assert!(figures(&json!({})).is_none());
    }
}
