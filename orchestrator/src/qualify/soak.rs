//! The soak checks: `steady-soak`, in a campaign of its own, holds a fixed
//! amount of live bytes for a wall-clock duration and samples its RSS and
//! its live bytes every second (`live_timeline`). At constant live bytes an
//! allocator that reuses its memory keeps RSS flat; one that leaks or
//! fragments without bound shows a rising line. Each sample's RSS is the
//! median of the readings taken in its period (every 20 ms): one reading
//! swings by megabytes as large blocks come and go. After a warm-up share of
//! the samples (the heap filling up), the line is fitted by least squares;
//! its slope is given in live bytes per hour (0.05: RSS grows by 5 % of
//! what the program holds every hour), so it reads the same on a board
//! whose binary and libraries take more RSS than another's.

use super::evaluate::{reps_in, CheckResult, Evidence, Status, UNDER_TEST};
use crate::report::BASELINE;

/// Fewer samples after the warm-up than this and no slope is given.
pub const MIN_SAMPLES: usize = 5;

/// What the soak is judged on, from one run's report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Least-squares slope of RSS after the warm-up, in mean live bytes
    /// per hour.
    pub slope_per_hour: f64,
    /// (Peak RSS after the warm-up - RSS at start) / mean live bytes; the
    /// peak is the highest of the readings between samples where the
    /// workload reports them (`rss_max_kib`).
    pub peak_per_live: f64,
    /// Samples the figures come from (after the warm-up).
    pub samples: usize,
}

/// Least-squares slope of `points` (x, y); None with fewer than two
/// distinct x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The soak's figures from a `steady-soak` report, ignoring the first
/// `warmup_share` of its samples; the error says why there are none.
pub fn figures(report: &serde_json::Value, warmup_share: f64) -> Result<Figures, String> {
    let Some(tl) = report["live_timeline"].as_array() else {
        return Err("no live_timeline in the workload's report".into());
    };
    // (hours, RSS bytes, live bytes, highest RSS bytes of the period)
    let points: Vec<(f64, f64, f64, f64)> = tl
        .iter()
        .filter_map(|p| {
            let rss = p["rss_kib"].as_f64()? * 1024.0;
            Some((
                p["t_ms"].as_f64()? / 3_600_000.0,
                rss,
                p["live_bytes"].as_f64()?,
                p["rss_max_kib"].as_f64().map_or(rss, |m| m * 1024.0),
            ))
        })
        .collect();
    let skip = (points.len() as f64 * warmup_share).ceil() as usize;
    let kept = points.get(skip..).unwrap_or_default();
    if kept.len() < MIN_SAMPLES {
        return Err(format!(
            "{} sample(s) after the warm-up ({} of {} ignored): at least {MIN_SAMPLES} are needed for a slope; make the soak longer",
            kept.len(),
            skip.min(points.len()),
            points.len()
        ));
    }
    let live = kept.iter().map(|p| p.2).sum::<f64>() / kept.len() as f64;
    if live <= 0.0 {
        return Err("no live bytes in the samples".into());
    }
    let rss: Vec<(f64, f64)> = kept.iter().map(|p| (p.0, p.1)).collect();
    let Some(per_hour) = slope(&rss) else {
        return Err("every sample after the warm-up has the same time".into());
    };
    let start = report["start_rss_kib"].as_f64().unwrap_or(0.0) * 1024.0;
    let peak = kept.iter().map(|p| p.3).fold(0.0f64, f64::max);
    Ok(Figures {
        slope_per_hour: per_hour / live,
        peak_per_live: (peak - start).max(0.0) / live,
        samples: kept.len(),
    })
}

pub fn checks(
    ev: &Evidence,
    reps: u32,
    warmup_share: f64,
    max_slope: f64,
    max_peak: Option<f64>,
) -> Vec<CheckResult> {
    let name = super::criteria::SOAK_WORKLOAD;
    let Some((dir, rel)) = ev.soak else {
        return vec![CheckResult {
            name: name.into(),
            found: "the soak campaign did not run".into(),
            threshold: format!("{reps} repetition(s)"),
            status: Status::Fail,
            evidence: vec![],
        }];
    };
    let mine = reps_in(dir, ev.board, name, UNDER_TEST);
    let base = reps_in(dir, ev.board, name, BASELINE);
    // The system malloc's figures, for the reader (not judged).
    let reference = base
        .iter()
        .filter_map(|r| {
            r.workload_report
                .as_ref()
                .and_then(|w| figures(w, warmup_share).ok())
        })
        .next()
        .map(|f| {
            format!(
                "; under {BASELINE}: slope {:+.4}/h, peak/live {:.3}",
                f.slope_per_hour, f.peak_per_live
            )
        })
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
        let f = match r.workload_report.as_ref() {
            None => Err("no report from the workload".to_string()),
            Some(w) => figures(w, warmup_share),
        };
        let f = match f {
            Ok(f) => f,
            Err(why) => {
                out.push(CheckResult {
                    name: format!("{name} RSS slope, {}", r.file),
                    found: why,
                    threshold: format!("at least {MIN_SAMPLES} samples after the warm-up"),
                    status: Status::Fail,
                    evidence,
                });
                continue;
            }
        };
        out.push(CheckResult {
            name: format!(
                "{name} RSS slope after the warm-up ({} samples), in live bytes per hour, {}",
                f.samples, r.file
            ),
            found: format!("{:+.4}/h{reference}", f.slope_per_hour),
            threshold: format!("<= {max_slope}/h"),
            status: if f.slope_per_hour <= max_slope {
                Status::Pass
            } else {
                Status::Fail
            },
            evidence: evidence.clone(),
        });
        if let Some(max) = max_peak {
            out.push(CheckResult {
                name: format!(
                    "{name} (peak RSS - RSS at start) / mean live bytes, {}",
                    r.file
                ),
                found: format!("{:.3}{reference}", f.peak_per_live),
                threshold: format!("<= {max}"),
                status: if f.peak_per_live <= max {
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
    use super::{figures, slope, Figures};
    use serde_json::json;

    /// A report of `rss_kib` samples one second apart at `live` bytes.
    fn report(rss_kib: &[f64], live: u64, start_kib: u64) -> serde_json::Value {
        let tl: Vec<_> = rss_kib
            .iter()
            .enumerate()
            .map(|(i, &r)| json!({ "t_ms": (i as u64 + 1) * 1000, "rss_kib": r, "live_bytes": live }))
            .collect();
        json!({ "live_timeline": tl, "start_rss_kib": start_kib })
    }

    #[test]
    fn the_fit_recovers_a_known_line() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 7.0)).collect();
        assert!((slope(&pts).unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 5.0)]), None);
    }

    #[test]
    fn rss_rising_at_constant_live_bytes_is_a_slope_and_a_flat_noisy_one_is_not() {
        let live = 8u64 << 20;
        // 8 MiB live, RSS 20 MiB rising 4 KiB a second: 14400 KiB an hour,
        // 14400 / 8192 of the live bytes per hour.
        let rising: Vec<f64> = (0..60).map(|i| 20480.0 + 4.0 * i as f64).collect();
        let f = figures(&report(&rising, live, 2048), 0.2).unwrap();
        assert!((f.slope_per_hour - 14400.0 / 8192.0).abs() < 1e-9, "{f:?}");
        assert_eq!(f.samples, 48);
        // Peak after the warm-up: 20480 + 4 * 59 KiB, less the 2 MiB at start.
        let peak = (20480.0 + 236.0 - 2048.0) * 1024.0 / live as f64;
        assert!((f.peak_per_live - peak).abs() < 1e-9, "{f:?}");
        // Flat with +-512 KiB of noise (deterministic): the fitted slope
        // stays far below any sensible threshold.
        let noisy: Vec<f64> = (0..600u64)
            .map(|i| 20480.0 + ((i * 7919) % 1025) as f64 - 512.0)
            .collect();
        let f = figures(&report(&noisy, live, 2048), 0.2).unwrap();
        assert!(f.slope_per_hour.abs() < 0.05, "{f:?}");
        assert!(f.peak_per_live < 2.4, "{f:?}");
    }

    #[test]
    fn the_warm_up_is_ignored() {
        // The heap fills in the first 10 samples, then stays flat.
        let mut rss: Vec<f64> = (0..10).map(|i| 2048.0 + 2000.0 * i as f64).collect();
        rss.extend([22000.0; 40]);
        let all = figures(&report(&rss, 8 << 20, 0), 0.0).unwrap();
        let warm = figures(&report(&rss, 8 << 20, 0), 0.2).unwrap();
        assert!(all.slope_per_hour > 10.0, "{all:?}");
        assert_eq!(
            warm,
            Figures {
                slope_per_hour: 0.0,
                peak_per_live: 22000.0 * 1024.0 / (8 << 20) as f64,
                samples: 40
            }
        );
    }

    #[test]
    fn the_peak_is_the_highest_reading_between_samples() {
        let mut r = report(&[10240.0; 10], 8 << 20, 2048);
        r["live_timeline"][7]["rss_max_kib"] = json!(18432.0);
        let f = figures(&r, 0.2).unwrap();
        assert_eq!(f.peak_per_live, 2.0);
        assert_eq!(f.slope_per_hour, 0.0);
    }

    #[test]
    fn too_few_samples_or_no_timeline_is_an_error_saying_so() {
        let e = figures(&report(&[1.0; 5], 1 << 20, 0), 0.2).unwrap_err();
        assert!(
            e.contains("4 sample(s) after the warm-up (1 of 5 ignored)"),
            "{e}"
        );
        assert!(e.contains("at least 5"), "{e}");
        let e = figures(&report(&[1.0; 10], 0, 0), 0.2).unwrap_err();
        assert!(e.contains("no live bytes"), "{e}");
        let e = figures(&json!({}), 0.2).unwrap_err();
        assert!(e.contains("no live_timeline"), "{e}");
    }
}
