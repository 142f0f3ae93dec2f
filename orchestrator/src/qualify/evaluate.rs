//! Deciding each requirement from the campaign's run directory: the
//! statistics the reports use (bootstrap intervals of ratios to the system
//! malloc), the raw agent documents (exit status, stdout SHA-256, the
//! address-space limit) and the manifest (artifacts, gate, board status).

use std::path::Path;

use serde::Serialize;

use super::criteria::{Aggregate, Check, Criteria, Requirement};
use crate::manifest::BoardEntry;
use crate::report::{CellKey, RunData, BASELINE};
use crate::stats;

/// The allocator being qualified, as the campaign names it.
pub const UNDER_TEST: &str = "lwmalloc";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
}

/// One measured fact held to a threshold.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// What was checked, e.g. `time ratio lwmalloc/system, larson`.
    pub name: String,
    /// What was found, in words with numbers.
    pub found: String,
    /// What it had to be.
    pub threshold: String,
    pub status: Status,
    /// Files of the bundle this result was computed from (relative paths).
    pub evidence: Vec<String>,
}

/// A requirement's verdict, with every check that decided it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub id: String,
    pub description: String,
    pub kind: &'static str,
    pub mandatory: bool,
    pub evidence_rule: String,
    pub status: Status,
    /// One line: why it failed, or what it passed with.
    pub summary: String,
    pub checks: Vec<CheckResult>,
}

/// What the requirements are decided from.
pub struct Evidence<'a> {
    pub board: &'a str,
    /// The normal campaign's run, read back.
    pub run: &'a RunData,
    /// The run directory's path inside the bundle (`runs/main`).
    pub run_rel: &'a str,
    /// Repetitions planned per workload and allocator.
    pub reps: u32,
    /// The soak campaign's run directory and its path inside the bundle.
    pub soak: Option<(&'a Path, &'a str)>,
    /// The C-level checks' campaign: its run directory and path inside the
    /// bundle, or why it did not run.
    pub c_tests: Result<(&'a Path, &'a str), &'a str>,
}

pub fn evaluate(criteria: &Criteria, ev: &Evidence) -> Vec<Verdict> {
    criteria
        .requirements
        .iter()
        .map(|r| decide(r, ev))
        .collect()
}

fn decide(r: &Requirement, ev: &Evidence) -> Verdict {
    let entry = ev.run.manifest.boards.iter().find(|b| b.name == ev.board);
    let mut checks = match &r.check {
        Check::Performance {
            workloads,
            aggregate,
            max_ratio_upper,
        } => ratio_checks(ev, workloads, *aggregate, *max_ratio_upper, Metric::Time),
        Check::Memory {
            workloads,
            aggregate,
            max_ratio_upper,
        } => ratio_checks(ev, workloads, *aggregate, *max_ratio_upper, Metric::Memory),
        Check::OutputIdentical { commands } => {
            commands.iter().map(|c| output_check(ev, &c.name)).collect()
        }
        Check::OutOfMemory {
            commands,
            limit_as_bytes,
        } => commands
            .iter()
            .flat_map(|c| {
                [UNDER_TEST, BASELINE]
                    .map(|a| oom_check(ev, &c.name, a, *limit_as_bytes))
                    .to_vec()
            })
            .collect(),
        Check::Footprint { max_bytes } => vec![footprint_check(ev, entry, *max_bytes)],
        Check::IsaGate => {
            let mut checks = gate_checks(ev, entry);
            checks.extend(c_program_gate_checks(ev));
            checks
        }
        Check::Soak {
            reps,
            warmup_share,
            max_rss_slope,
            max_peak_rss_per_live,
            ..
        } => super::soak::checks(
            ev,
            *reps,
            *warmup_share,
            *max_rss_slope,
            *max_peak_rss_per_live,
        ),
        Check::CConformance { reps, timeout_s } | Check::ThreadsFork { reps, timeout_s } => {
            super::ctests::checks(
                ev.c_tests,
                ev.board,
                super::ctests::tests_of(&r.check),
                *reps,
                *timeout_s,
            )
        }
    };
    if checks.is_empty() {
        checks.push(CheckResult {
            name: "evidence".into(),
            found: "nothing was checked".into(),
            threshold: "at least one check".into(),
            status: Status::Fail,
            evidence: vec![],
        });
    }
    // A board that failed is named: its missing evidence is the reason.
    let board_error = entry
        .filter(|e| e.status != "done")
        .map(|e| match &e.error {
            // The campaign's errors already start with `board NAME: `.
            Some(err) if err.starts_with(&format!("board {}", e.name)) => err.clone(),
            Some(err) => format!("board {} {}: {err}", e.name, e.status),
            None => format!("board {} {}", e.name, e.status),
        });
    let failed: Vec<&CheckResult> = checks.iter().filter(|c| c.status == Status::Fail).collect();
    // Said once: a check may name the board's error itself.
    let board_error =
        board_error.filter(|b| !failed.first().is_some_and(|f| f.found.contains(b.as_str())));
    let status = if failed.is_empty() {
        Status::Pass
    } else {
        Status::Fail
    };
    let summary = match (failed.first(), &board_error) {
        (None, _) if checks.len() == 1 => format!("{}: {}", checks[0].name, checks[0].found),
        (None, _) => format!("all {} checks passed", checks.len()),
        (Some(f), Some(b)) => format!("{}: {} ({b})", f.name, f.found),
        (Some(f), None) if failed.len() == 1 => {
            format!("{}: {}, needs {}", f.name, f.found, f.threshold)
        }
        (Some(f), None) => format!(
            "{}: {}, needs {} (and {} more failed check(s))",
            f.name,
            f.found,
            f.threshold,
            failed.len() - 1
        ),
    };
    Verdict {
        id: r.id.clone(),
        description: r.description.clone(),
        kind: r.check.kind(),
        mandatory: r.mandatory,
        evidence_rule: r.evidence.clone(),
        status,
        summary,
        checks,
    }
}

#[derive(Clone, Copy)]
enum Metric {
    Time,
    Memory,
}

impl Metric {
    fn words(self) -> &'static str {
        match self {
            Metric::Time => "time",
            Metric::Memory => "peak RSS",
        }
    }
    fn values(self, run: &RunData, key: &CellKey) -> (Vec<f64>, Vec<String>) {
        let Some(cell) = run.cells.get(key) else {
            return (Vec::new(), Vec::new());
        };
        let files = cell.samples.iter().map(|s| s.file.clone()).collect();
        let v = match self {
            Metric::Time => cell.samples.iter().map(|s| s.wall_s).collect(),
            Metric::Memory => cell
                .samples
                .iter()
                .filter_map(|s| s.peak_rss_kib)
                .map(|k| k as f64)
                .collect(),
        };
        (v, files)
    }
    fn seed_name(self) -> &'static str {
        match self {
            Metric::Time => "time",
            Metric::Memory => "memory",
        }
    }
}

fn key(ev: &Evidence, workload: &str, allocator: &str) -> CellKey {
    CellKey {
        board: ev.board.to_string(),
        workload: workload.to_string(),
        allocator: allocator.to_string(),
    }
}

fn rel(ev: &Evidence, file: &str) -> String {
    format!("{}/{file}", ev.run_rel)
}

fn ratio_checks(
    ev: &Evidence,
    workloads: &[String],
    aggregate: Aggregate,
    max: f64,
    metric: Metric,
) -> Vec<CheckResult> {
    let threshold = format!("95 % interval upper end <= {max}");
    let mut checks = Vec::new();
    let mut pairs: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    let mut all_files = Vec::new();
    for w in workloads {
        let (a, fa) = metric.values(ev.run, &key(ev, w, UNDER_TEST));
        let (b, fb) = metric.values(ev.run, &key(ev, w, BASELINE));
        let files: Vec<String> = fa.iter().chain(&fb).map(|f| rel(ev, f)).collect();
        let name = format!("{} ratio {UNDER_TEST}/{BASELINE}, {w}", metric.words());
        // Every planned repetition must have given a number on both sides:
        // a run that failed is missing evidence, never a pass.
        let need = ev.reps as usize;
        if a.len() < need || b.len() < need {
            checks.push(CheckResult {
                name,
                found: format!(
                    "{} of {need} repetitions ok under {UNDER_TEST}, {} of {need} under {BASELINE}",
                    a.len(),
                    b.len()
                ),
                threshold: format!("all {need} repetitions ok on both sides"),
                status: Status::Fail,
                evidence: files,
            });
            continue;
        }
        all_files.extend(files.iter().cloned());
        if aggregate == Aggregate::Each {
            let seed = stats::seed_for(&[ev.board, w, UNDER_TEST, metric.seed_name()]);
            let (ratio, ci) = stats::ratio_ci(&a, &b, seed);
            checks.push(ratio_result(name, ratio, ci, max, &threshold, files));
        }
        pairs.push((a, b));
    }
    if aggregate == Aggregate::Geomean && checks.is_empty() {
        let refs: Vec<(&[f64], &[f64])> = pairs
            .iter()
            .map(|(a, b)| (a.as_slice(), b.as_slice()))
            .collect();
        // The report's seed: over the same workloads, the report's figure.
        let seed = stats::seed_for(&[ev.board, "*geomean*", UNDER_TEST, metric.seed_name()]);
        let (g, ci) = stats::geomean_ratio_ci(&refs, seed);
        let name = format!(
            "geometric mean {} ratio {UNDER_TEST}/{BASELINE} over {} workload(s)",
            metric.words(),
            pairs.len()
        );
        checks.push(ratio_result(name, g, ci, max, &threshold, all_files));
    }
    checks
}

fn ratio_result(
    name: String,
    ratio: f64,
    ci: stats::Interval,
    max: f64,
    threshold: &str,
    evidence: Vec<String>,
) -> CheckResult {
    let pass = ci.high.is_finite() && ci.high <= max;
    CheckResult {
        name,
        found: format!("{ratio:.3}x [{:.3}, {:.3}]", ci.low, ci.high),
        threshold: threshold.to_string(),
        status: if pass { Status::Pass } else { Status::Fail },
        evidence,
    }
}

/// One repetition of a workload or command, read from its raw document.
pub(super) struct Rep {
    pub file: String,
    pub ok: bool,
    pub status: String,
    pub stdout_sha256: Option<String>,
    pub survived: Option<bool>,
    pub why: String,
    /// The workload's own report line, when it printed one.
    pub workload_report: Option<serde_json::Value>,
    /// The end of its stdout, as the agent kept it.
    pub stdout_tail: String,
}

/// The measured repetitions of `name` under `allocator`, in order (failed
/// records included, as not ok).
fn reps(ev: &Evidence, name: &str, allocator: &str) -> Vec<Rep> {
    reps_in(&ev.run.dir, ev.board, name, allocator)
}

/// The measured repetitions of `name` under `allocator` in the run
/// directory `run_dir`; files relative to it.
pub(super) fn reps_in(run_dir: &Path, board: &str, name: &str, allocator: &str) -> Vec<Rep> {
    let cell = crate::rundir::CellKey::new(board, name, allocator);
    cell.files(run_dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, raw)| raw.is_some_and(|r| r.kind == crate::rundir::RunKind::Rep))
        .map(|(n, _)| {
            read_rep(
                &cell.dir(run_dir).join(&n),
                format!("{}/{n}", cell.rel_dir()),
            )
        })
        .collect()
}

fn read_rep(path: &Path, file: String) -> Rep {
    let doc: Option<serde_json::Value> = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let run = doc
        .as_ref()
        .and_then(|d| d.get("runs"))
        .and_then(|r| r.get(0));
    match run {
        Some(run) => Rep {
            ok: run["ok"] == true,
            status: run["status"].as_str().unwrap_or("?").to_string(),
            stdout_sha256: run["stdout"]["sha256"].as_str().map(String::from),
            survived: run["limit_as"]["survived"].as_bool(),
            workload_report: Some(run["workload_report"].clone()).filter(|v| v.is_object()),
            stdout_tail: run["stdout"]["tail"].as_str().unwrap_or("").to_string(),
            why: run["problems"]
                .as_array()
                .and_then(|p| p.first())
                .and_then(|p| p.as_str())
                .unwrap_or("")
                .to_string(),
            file,
        },
        // A failed record (no agent document) or an unreadable file.
        None => Rep {
            ok: false,
            status: "no result".into(),
            stdout_sha256: None,
            survived: None,
            workload_report: None,
            stdout_tail: String::new(),
            why: doc
                .as_ref()
                .and_then(|d| d["error"].as_str())
                .unwrap_or("unreadable")
                .to_string(),
            file,
        },
    }
}

fn output_check(ev: &Evidence, name: &str) -> CheckResult {
    let mine = reps(ev, name, UNDER_TEST);
    let base = reps(ev, name, BASELINE);
    let evidence: Vec<String> = mine.iter().chain(&base).map(|r| rel(ev, &r.file)).collect();
    let check = format!("stdout of `{name}` under {UNDER_TEST} = under {BASELINE}");
    let threshold = format!(
        "all {} repetitions exit 0 on both sides, one stdout SHA-256",
        ev.reps
    );
    let fail = |found: String| CheckResult {
        name: check.clone(),
        found,
        threshold: threshold.clone(),
        status: Status::Fail,
        evidence: evidence.clone(),
    };
    for (side, list) in [(BASELINE, &base), (UNDER_TEST, &mine)] {
        let ok = list.iter().filter(|r| r.ok).count();
        if ok < ev.reps as usize {
            let bad = list.iter().find(|r| !r.ok);
            return fail(format!(
                "{ok} of {} repetitions ok under {side}{}",
                ev.reps,
                bad.map(|r| format!(" ({}: {} {})", r.file, r.status, r.why))
                    .unwrap_or_default()
            ));
        }
    }
    let Some(expected) = base.first().and_then(|r| r.stdout_sha256.clone()) else {
        return fail(format!("no stdout SHA-256 under {BASELINE}"));
    };
    if let Some(r) = base
        .iter()
        .find(|r| r.stdout_sha256.as_ref() != Some(&expected))
    {
        return fail(format!(
            "stdout changes between runs under {BASELINE} ({}): the command is not deterministic",
            r.file
        ));
    }
    if let Some(r) = mine
        .iter()
        .find(|r| r.stdout_sha256.as_ref() != Some(&expected))
    {
        return fail(format!(
            "stdout under {UNDER_TEST} differs from under {BASELINE} ({})",
            r.file
        ));
    }
    CheckResult {
        name: check,
        found: format!(
            "{} repetitions per side, stdout SHA-256 {}",
            ev.reps,
            &expected[..16.min(expected.len())]
        ),
        threshold,
        status: Status::Pass,
        evidence,
    }
}

fn oom_check(ev: &Evidence, name: &str, allocator: &str, limit: u64) -> CheckResult {
    let list = reps(ev, name, allocator);
    let evidence: Vec<String> = list.iter().map(|r| rel(ev, &r.file)).collect();
    let role = if allocator == BASELINE {
        " (the control)"
    } else {
        ""
    };
    let check = format!(
        "`{name}` under {allocator}{role} at RLIMIT_AS {} MiB",
        limit >> 20
    );
    let threshold = format!("all {} repetitions exit 0 under the limit", ev.reps);
    let good = list
        .iter()
        .filter(|r| r.ok && r.survived == Some(true))
        .count();
    let status = if good >= ev.reps as usize {
        Status::Pass
    } else {
        Status::Fail
    };
    let found = match list.iter().find(|r| !(r.ok && r.survived == Some(true))) {
        None => format!("{good} of {} repetitions survived", ev.reps),
        Some(r) => format!(
            "{good} of {} repetitions survived; {}: {} {}",
            ev.reps, r.file, r.status, r.why
        ),
    };
    CheckResult {
        name: check,
        found: found.trim_end().to_string(),
        threshold,
        status,
        evidence,
    }
}

fn footprint_check(ev: &Evidence, entry: Option<&BoardEntry>, max: u64) -> CheckResult {
    let lib = entry.and_then(|e| e.artifacts.iter().find(|a| a.name == "liblwmalloc.so"));
    let name = "liblwmalloc.so pushed to the board".to_string();
    let threshold = format!("<= {max} bytes");
    match lib {
        Some(a) => CheckResult {
            name,
            found: format!("{} bytes (SHA-256 {})", a.size_bytes, a.sha256),
            threshold,
            status: if a.size_bytes <= max {
                Status::Pass
            } else {
                Status::Fail
            },
            evidence: vec![rel(ev, crate::rundir::MANIFEST_FILE)],
        },
        None => CheckResult {
            name,
            found: "no liblwmalloc.so was pushed".into(),
            threshold,
            status: Status::Fail,
            evidence: vec![rel(ev, crate::rundir::MANIFEST_FILE)],
        },
    }
}

fn gate_checks(ev: &Evidence, entry: Option<&BoardEntry>) -> Vec<CheckResult> {
    let evidence = vec![rel(ev, crate::rundir::MANIFEST_FILE)];
    // The kit's own artifacts are always gated; a user command's pushed
    // file is gated when it is an ELF program (its scripts and inputs are
    // not programs for the CPU).
    let artifacts: Vec<&crate::manifest::ArtifactEntry> = entry
        .map(|e| e.artifacts.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|a| !a.name.starts_with("cmd/") || a.gate.is_some())
        .collect();
    if artifacts.is_empty() {
        let why = entry
            .and_then(|e| e.error.clone())
            .unwrap_or_else(|| "no artifact reached the gate".into());
        return vec![CheckResult {
            name: "instruction-set and glibc gate".into(),
            found: why,
            threshold: "every artifact passes".into(),
            status: Status::Fail,
            evidence,
        }];
    }
    artifacts
        .iter()
        .map(|a| match &a.gate {
            Some(g) => CheckResult {
                name: format!("gate: {}", a.name),
                found: format!(
                    "passed: {}; newest glibc symbol {}",
                    g.isa,
                    g.newest_glibc.as_deref().unwrap_or("none")
                ),
                threshold: "passes for the board's CPU and glibc".into(),
                status: Status::Pass,
                evidence: evidence.clone(),
            },
            None => CheckResult {
                name: format!("gate: {}", a.name),
                found: "not checked".into(),
                threshold: "passes for the board's CPU and glibc".into(),
                status: Status::Fail,
                evidence: evidence.clone(),
            },
        })
        .collect()
}

/// The C-level check programs pushed in their own campaign: each distinct
/// program once (it is pushed once per check), from that run's manifest.
fn c_program_gate_checks(ev: &Evidence) -> Vec<CheckResult> {
    let Ok((dir, rel)) = ev.c_tests else {
        return Vec::new();
    };
    let evidence = vec![format!("{rel}/{}", crate::rundir::MANIFEST_FILE)];
    let artifacts = crate::rundir::read_manifest(dir)
        .ok()
        .and_then(|m| m.boards.into_iter().find(|b| b.name == ev.board))
        .map(|b| b.artifacts)
        .unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for a in artifacts {
        // Only the check programs: lwm's own artifacts are gated above.
        if !a.name.starts_with("cmd/c.") || seen.contains(&a.sha256) {
            continue;
        }
        seen.push(a.sha256.clone());
        let program = a.name.rsplit('/').next().unwrap_or(&a.name);
        out.push(CheckResult {
            name: format!("gate: C-level check program {program}"),
            found: match &a.gate {
                Some(g) => format!(
                    "passed: {}; newest glibc symbol {}",
                    g.isa,
                    g.newest_glibc.as_deref().unwrap_or("none")
                ),
                None => "not checked".into(),
            },
            threshold: "passes for the board's CPU and glibc".into(),
            status: if a.gate.is_some() {
                Status::Pass
            } else {
                Status::Fail
            },
            evidence: evidence.clone(),
        });
    }
    out
}

/// Every requirement failed: the campaign's results could not be read.
pub fn unreadable(criteria: &Criteria, why: &str) -> Vec<Verdict> {
    criteria
        .requirements
        .iter()
        .map(|r| Verdict {
            id: r.id.clone(),
            description: r.description.clone(),
            kind: r.check.kind(),
            mandatory: r.mandatory,
            evidence_rule: r.evidence.clone(),
            status: Status::Fail,
            summary: format!("campaign results unreadable: {why}"),
            checks: Vec::new(),
        })
        .collect()
}
