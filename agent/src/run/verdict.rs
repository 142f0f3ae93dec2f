//! What a finished run's raw facts say: its memory peaks, its outcome, the
//! proof that the allocator was preloaded, whether it survived RLIMIT_AS,
//! and the workload's own report.

use super::{fail, RunConfig};
use crate::preload;
use crate::rusage::signal_name;
use crate::sampler::SamplerOutput;
use crate::schema::{
    LimitAsResult, MemorySample, MemoryTimeline, PreloadEvidence, PreloadStatus, Run, RunStatus,
};

/// The peaks of the sampled timeline, and the timeline itself.
pub(super) fn record_memory(memory: &mut MemoryTimeline, samples: Vec<MemorySample>) {
    memory.peak_rss_kib = samples.iter().filter_map(|s| s.rss_kib).max();
    memory.peak_pss_kib = samples.iter().filter_map(|s| s.pss_kib).max();
    memory.peak_private_dirty_kib = samples.iter().filter_map(|s| s.private_dirty_kib).max();
    memory.last_vm_hwm_kib = samples.iter().filter_map(|s| s.vm_hwm_kib).next_back();
    memory.samples = samples;
}

/// How the child ended, most specific first, and the leftovers of its
/// group that were killed.
pub(super) fn judge_exit(run: &mut Run, cfg: &RunConfig, pid: i32, leftovers: &[i32]) {
    if run.timed_out {
        let t = cfg.timeout.unwrap_or_default().as_secs_f64();
        fail(
            run,
            RunStatus::TimedOut,
            format!("timed out after {t} s: process group {pid} killed with SIGKILL"),
        );
    } else if let Some(sig) = run.signal {
        let core = if run.core_dumped {
            " (core dumped)"
        } else {
            ""
        };
        fail(
            run,
            RunStatus::Signaled,
            format!("killed by {}{core}", signal_name(sig)),
        );
    } else if let Some(code) = run.exit_code.filter(|&c| c != 0) {
        fail(
            run,
            RunStatus::ExitFailure,
            format!("exited with status {code}"),
        );
    }
    if !leftovers.is_empty() {
        run.problems.push(format!(
            "{} process(es) left running in the run's process group were killed: {:?}",
            leftovers.len(),
            leftovers
        ));
    }
}

/// Whether the allocator library `lib` was really loaded into the child:
/// its counter line on stderr (`special`: the lines kept whole), the
/// sampler's look at the child's memory map, or the loader's error.
pub(super) fn record_preload(
    run: &mut Run,
    lib: &str,
    pid: i32,
    special: &[String],
    sampled: &SamplerOutput,
) {
    let stats_lines: Vec<_> = special
        .iter()
        .filter_map(|l| preload::parse_lwm_stats(l))
        .collect();
    let lwm_stats = stats_lines
        .iter()
        .find(|s| s.pid == pid as u64)
        .or(stats_lines.last())
        .cloned();
    let loader_error = special
        .iter()
        .find(|l| preload::is_loader_error(l))
        .cloned();
    // ld.so maps a preloaded library before it fails on a missing
    // dependency, so the sampler may see it mapped: a loader error
    // still means the load failed.
    let status = if loader_error.is_some() {
        PreloadStatus::LoadFailed
    } else if sampled.mapped == Some(true) || lwm_stats.is_some() {
        PreloadStatus::Verified
    } else if sampled.mapped == Some(false) {
        PreloadStatus::NotLoaded
    } else {
        PreloadStatus::Unverified
    };
    // A load failure explains whatever exit followed it (ld.so exits
    // with 127 when a preloaded library's dependency is missing), so it
    // takes precedence; "unverified" does not: a crash explains itself.
    match &status {
        PreloadStatus::Verified => {}
        PreloadStatus::LoadFailed | PreloadStatus::NotLoaded => {
            run.ok = false;
            run.status = RunStatus::PreloadFailed;
            run.problems.insert(
                0,
                match &loader_error {
                    Some(e) => format!("the allocator library failed to load: {e}"),
                    None => format!(
                        "{lib} was not mapped in the child: the preload did not take effect"
                    ),
                },
            );
        }
        _ => fail(
            run,
            RunStatus::PreloadFailed,
            "preload not proven: the child exited before its memory map could be read and the library printed no counters".into(),
        ),
    }
    run.preload = Some(PreloadEvidence {
        status,
        mapped: sampled.mapped,
        mapped_at_ms: sampled.mapped_at_ms,
        loader_error,
        lwm_stats,
    });
}

/// Whether the run survived its RLIMIT_AS `limit`.
pub(super) fn record_limit_as(run: &mut Run, limit: u64) {
    run.limit_as = Some(LimitAsResult {
        limit_bytes: limit,
        survived: run.exit_code == Some(0) && run.signal.is_none() && !run.timed_out,
    });
}

/// A workload's report: the last non-empty line of its stdout, a JSON
/// object. A run that went well otherwise and printed none is incomplete.
pub(super) fn record_workload_report(run: &mut Run) {
    let report = run
        .stdout
        .tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok());
    match report {
        Some(v) if v.is_object() => run.workload_report = Some(v),
        _ if run.ok => fail(
            run,
            RunStatus::Incomplete,
            "the workload printed no JSON report line".into(),
        ),
        _ => {}
    }
}
