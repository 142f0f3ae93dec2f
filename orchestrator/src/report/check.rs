//! What a repetition's agent document must satisfy to be believed. serde
//! checks the types; this checks the values, since a document edited by
//! hand, truncated and repaired, or written by a broken agent can hold
//! numbers that would otherwise be summarised as if measured (a negative
//! time becomes "-3.6x faster"). Each error names the field and the value;
//! the caller adds the file.

use lwm_contract::schema::{Run, RunDocument, RunStatus};

/// A resident set larger than this (1 TiB) is no board's.
const MAX_PLAUSIBLE_RSS_KIB: u64 = 1 << 30;

/// Checks the one run of a repetition document.
pub fn check_run_document(doc: &RunDocument) -> Result<(), String> {
    let run = &doc.runs[0];
    if run.warmup {
        return Err("runs[0].warmup is true in a repetition document".into());
    }
    check_status(run)?;
    time("runs[0].wall_s", run.wall_s)?;
    if run.ok && run.wall_s == 0.0 {
        return Err("runs[0].wall_s is 0 for an ok run (a run takes time)".into());
    }
    let rss_cap = rss_cap_kib(doc);
    if let Some(r) = &run.rusage {
        time("runs[0].rusage.user_s", r.user_s)?;
        time("runs[0].rusage.sys_s", r.sys_s)?;
        rss("runs[0].rusage.max_rss_kib", r.max_rss_kib, rss_cap)?;
    }
    if let Some(p) = run.memory.peak_rss_kib {
        rss("runs[0].memory.peak_rss_kib", p, rss_cap)?;
    }
    for (i, s) in run.memory.samples.iter().enumerate() {
        time(&format!("runs[0].memory.samples[{i}].t_ms"), s.t_ms)?;
        if let Some(r) = s.rss_kib {
            rss(&format!("runs[0].memory.samples[{i}].rss_kib"), r, rss_cap)?;
        }
    }
    Ok(())
}

/// `status`, `ok`, the exit code, the signal and the timeout flag tell the
/// same story.
fn check_status(run: &Run) -> Result<(), String> {
    let s = run.status.as_str();
    if let RunStatus::Unknown(_) = run.status {
        let known: Vec<&str> = RunStatus::KNOWN.iter().map(RunStatus::as_str).collect();
        return Err(format!(
            "runs[0].status {s:?} is not one of {}",
            known.join(", ")
        ));
    }
    if run.ok != (run.status == RunStatus::Ok) {
        return Err(format!(
            "runs[0].ok is {} but runs[0].status is {s:?}",
            run.ok
        ));
    }
    let inconsistent = match run.status {
        RunStatus::Ok => run.exit_code != Some(0) || run.signal.is_some() || run.timed_out,
        RunStatus::ExitFailure => !matches!(run.exit_code, Some(c) if c != 0),
        RunStatus::Signaled => run.signal.is_none(),
        RunStatus::TimedOut => !run.timed_out,
        _ => false,
    };
    if inconsistent {
        return Err(format!(
            "runs[0].status {s:?} contradicts exit_code {:?}, signal {:?}, timed_out {}",
            run.exit_code, run.signal, run.timed_out
        ));
    }
    Ok(())
}

fn time(field: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!(
            "{field} is {v} (a time is finite and not negative)"
        ))
    }
}

fn rss(field: &str, v: u64, cap: u64) -> Result<(), String> {
    if v <= cap {
        Ok(())
    } else {
        Err(format!(
            "{field} is {v} KiB, more than the board could hold ({cap} KiB)"
        ))
    }
}

/// The most memory a process on the document's machine could have had
/// resident: its RAM and swap (doubled, for kernels that count shared
/// pages twice), or 1 TiB when the document does not say.
fn rss_cap_kib(doc: &RunDocument) -> u64 {
    let m = &doc.environment.memory;
    match m.total_kib {
        Some(total) if total > 0 => total
            .saturating_add(m.swap_total_kib.unwrap_or(0))
            .saturating_mul(2)
            .min(MAX_PLAUSIBLE_RSS_KIB),
        _ => MAX_PLAUSIBLE_RSS_KIB,
    }
}
