//! The agent's output documents: versioned, documented field by field in
//! contract/SCHEMA.md. Every struct denies unknown fields, so a document that
//! deserialises here is exactly one this schema describes, and re-serialising
//! it gives the same text (tested).
//!
//! Bump SCHEMA_VERSION on any change of a field's name, type or meaning.

use serde::{Deserialize, Serialize};

use crate::wire::wire_enum;

pub const SCHEMA_VERSION: u32 = 2;
/// Run-document versions `lwm` reads: version 1 is version 2 without
/// `stdout.sha256`/`stderr.sha256` (they read as null).
pub const READABLE_RUN_VERSIONS: [u32; 2] = [1, SCHEMA_VERSION];
pub const RUN_SCHEMA: &str = "lwm-agent.run";
pub const DOCTOR_SCHEMA: &str = "lwm-agent.doctor";
pub const ENVIRONMENT_SCHEMA: &str = "lwm-agent.environment";

/// `lwm-agent run`: one invocation, every run of it, every sample.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunDocument {
    pub schema: String,
    pub schema_version: u32,
    pub agent: AgentInfo,
    pub started_unix_ms: u64,
    pub invocation: Invocation,
    pub allocator: AllocatorInfo,
    pub environment: Environment,
    pub runs: Vec<Run>,
    pub summary: Summary,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentInfo {
    pub name: String,
    pub version: String,
    pub pid: u32,
    /// The agent's own peak RSS. Since children are started by the
    /// launcher, not by the agent, it does not bound their max RSS.
    pub max_rss_kib: Option<u64>,
    /// The launcher's peak RSS (`lwm-agent run` only): the process every
    /// child is forked from. A child's max RSS starts from the part of it
    /// that fork copies, measured per run as `Run::max_rss_floor_kib`.
    pub launcher_max_rss_kib: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Invocation {
    pub argv: Vec<String>,
    pub cwd: String,
    /// The command each run executes (program resolved to a path).
    pub command: Vec<String>,
    pub workload: Option<String>,
    pub reps: u32,
    pub warmup: u32,
    pub timeout_s: Option<f64>,
    pub sample_interval_ms: u64,
    pub limit_as_bytes: Option<u64>,
    pub output_tail_bytes: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AllocatorInfo {
    pub kind: AllocatorKind,
    pub path: Option<String>,
    pub resolved_path: Option<String>,
    pub sha256: Option<String>,
    pub size_bytes: Option<u64>,
    pub exports_malloc: Option<bool>,
    /// The library exports lwm_get_stats: its LWM_STATS=1 counter line is expected.
    pub is_lwmalloc: bool,
    /// LD_PRELOAD found in the agent's own environment (removed for the child).
    pub inherited_ld_preload: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub index: u32,
    pub warmup: bool,
    pub pid: Option<i32>,
    /// The child's resident set just before its exec, read by the child
    /// itself: the kernel carries it into ru_maxrss, so
    /// `rusage.max_rss_kib` cannot read lower (the measurement floor), but
    /// for the slack of the kernel's approximate per-CPU RSS counters.
    pub max_rss_floor_kib: Option<u64>,
    pub status: RunStatus,
    pub ok: bool,
    pub problems: Vec<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub signal_name: Option<String>,
    pub core_dumped: bool,
    pub timed_out: bool,
    pub wall_s: f64,
    pub rusage: Option<Rusage>,
    pub memory: MemoryTimeline,
    pub preload: Option<PreloadEvidence>,
    pub limit_as: Option<LimitAsResult>,
    pub workload_report: Option<serde_json::Value>,
    pub stdout: OutputTail,
    pub stderr: OutputTail,
    /// Metrics (names as in summary.metrics) on which this run is an outlier.
    pub outliers: Vec<String>,
}

wire_enum! {
    /// How one run ended (`runs[].status`); `ok` exactly when `runs[].ok`.
    RunStatus {
        Ok = "ok",
        ExitFailure = "exit_failure",
        Signaled = "signaled",
        TimedOut = "timed_out",
        PreloadFailed = "preload_failed",
        SpawnFailed = "spawn_failed",
        /// The run was cut short before its end was known.
        Incomplete = "incomplete",
    }
}

wire_enum! {
    /// `allocator.kind`.
    AllocatorKind {
        /// No preload: the C library's malloc.
        System = "system",
        Preload = "preload",
    }
}

wire_enum! {
    /// Whether a preload run's library was seen in the child (`runs[].preload.status`).
    PreloadStatus {
        Verified = "verified",
        LoadFailed = "load_failed",
        NotLoaded = "not_loaded",
        Unverified = "unverified",
    }
}

wire_enum! {
    /// `summary.status`: `ok` when every measured run was.
    SummaryStatus {
        Ok = "ok",
        Failed = "failed",
    }
}

wire_enum! {
    /// `doctor`'s overall verdict: `failed` if any check failed, else
    /// `warnings` if any warned.
    DoctorStatus {
        Ok = "ok",
        Warnings = "warnings",
        Failed = "failed",
    }
}

wire_enum! {
    /// One doctor check's verdict (`checks[].status`).
    CheckStatus {
        Pass = "pass",
        Warn = "warn",
        Fail = "fail",
    }
}

/// wait4(2)'s rusage of this child (and of its reaped descendants).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rusage {
    pub user_s: f64,
    pub sys_s: f64,
    pub max_rss_kib: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
    pub voluntary_ctx_switches: u64,
    pub involuntary_ctx_switches: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MemoryTimeline {
    pub interval_ms: u64,
    pub samples: Vec<MemorySample>,
    pub peak_rss_kib: Option<u64>,
    pub peak_pss_kib: Option<u64>,
    pub peak_private_dirty_kib: Option<u64>,
    /// The last VmHWM read while the child lived (the sampler's view of peak RSS).
    pub last_vm_hwm_kib: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MemorySample {
    pub t_ms: f64,
    pub rss_kib: Option<u64>,
    pub pss_kib: Option<u64>,
    pub private_dirty_kib: Option<u64>,
    pub vm_rss_kib: Option<u64>,
    pub vm_hwm_kib: Option<u64>,
    pub vm_size_kib: Option<u64>,
    pub threads: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PreloadEvidence {
    pub status: PreloadStatus,
    /// Some(true): the library was seen in /proc/PID/maps; Some(false): the
    /// child's libraries were seen without it; None: no look after exec.
    pub mapped: Option<bool>,
    pub mapped_at_ms: Option<f64>,
    pub loader_error: Option<String>,
    pub lwm_stats: Option<LwmStats>,
}

/// The `lwmalloc: pid=...` line that liblwmalloc prints at exit with LWM_STATS=1.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LwmStats {
    pub line: String,
    pub pid: u64,
    pub malloc: u64,
    pub free: u64,
    pub realloc: u64,
    pub calloc: u64,
    pub aligned: u64,
    pub live: u64,
    pub mapped: u64,
    pub peak_mapped: u64,
    pub returned: u64,
    pub heap: u64,
    pub free_heap: u64,
    pub fragmentation_pct: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitAsResult {
    pub limit_bytes: u64,
    /// Exited normally with status 0 under the limit.
    pub survived: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputTail {
    pub total_bytes: u64,
    pub truncated: bool,
    /// The last bytes (lossy UTF-8).
    pub tail: String,
    /// SHA-256 of every byte written (lower-case hex); null when the
    /// stream was not read (the child never started) or in version 1.
    #[serde(default)]
    pub sha256: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub status: SummaryStatus,
    pub measured_runs: u32,
    pub ok_runs: u32,
    pub failed_runs: u32,
    pub warnings: Vec<String>,
    pub problems: Vec<String>,
    /// Workload runs: every run reported the same checksum and counts.
    pub workload_consistent: Option<bool>,
    /// Over measured (non-warm-up) runs that have the metric.
    pub metrics: Vec<MetricStats>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricStats {
    pub name: String,
    pub unit: String,
    pub n: u32,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub median: f64,
    pub stddev: f64,
    pub mad: f64,
    /// Run indices whose modified z-score exceeds 3.5 (flagged, never dropped).
    pub outlier_runs: Vec<u32>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub hostname: Option<String>,
    pub kernel: Kernel,
    pub cpu: Cpu,
    pub memory: Memory,
    pub libc: Libc,
    pub cpufreq: Vec<CpuFreq>,
    pub thermal: Vec<ThermalZone>,
    pub throttled: Option<String>,
    pub load_average: Option<[f64; 3]>,
    pub board_model: Option<String>,
    pub emulation: Emulation,
    pub agent_target: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    pub sysname: String,
    pub release: String,
    pub version: String,
    pub machine: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Cpu {
    pub model: Option<String>,
    /// AT_PLATFORM from the auxiliary vector (e.g. v6l, v7l, aarch64, x86_64).
    pub platform: Option<String>,
    pub hwcap: Option<u64>,
    pub hwcap2: Option<u64>,
    pub features: Vec<String>,
    /// ARM: "CPU architecture", "CPU part" and "CPU revision" of cpuinfo.
    pub arm_architecture: Option<String>,
    pub arm_part: Option<String>,
    pub cores_online: u32,
    pub cores_configured: u32,
    pub cores_allowed: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    pub total_kib: Option<u64>,
    pub available_kib: Option<u64>,
    pub swap_total_kib: Option<u64>,
    pub swap_free_kib: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Libc {
    pub name: String,
    pub version: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CpuFreq {
    pub cpu: u32,
    pub governor: Option<String>,
    pub cur_khz: Option<u64>,
    pub min_khz: Option<u64>,
    pub max_khz: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThermalZone {
    pub zone: String,
    pub kind: Option<String>,
    pub temp_c: Option<f64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Emulation {
    /// The agent itself runs under user-mode emulation (qemu-user): memory
    /// and time figures are the emulator's, not the board's.
    pub user_mode: bool,
    /// A hypervisor or system emulator detected (e.g. "QEMU", "KVM", "hypervisor flag").
    pub virtual_machine: Option<String>,
    pub evidence: Vec<String>,
}

/// `lwm-agent doctor`: the board's fitness for a campaign.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DoctorDocument {
    pub schema: String,
    pub schema_version: u32,
    pub agent: AgentInfo,
    pub environment: Environment,
    pub checks: Vec<Check>,
    pub status: DoctorStatus,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub name: String,
    /// The binary checked, or null for board-wide checks.
    pub target: Option<String>,
    pub status: CheckStatus,
    pub detail: String,
}

/// `lwm-agent environment`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentDocument {
    pub schema: String,
    pub schema_version: u32,
    pub agent: AgentInfo,
    pub environment: Environment,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_are_written_as_the_strings_the_schema_names() {
        let written = serde_json::to_string(&RunStatus::KNOWN).unwrap();
        assert_eq!(
            written,
            r#"["ok","exit_failure","signaled","timed_out","preload_failed","spawn_failed","incomplete"]"#
        );
        let read: Vec<RunStatus> = serde_json::from_str(&written).unwrap();
        assert_eq!(read, RunStatus::KNOWN);
        assert_eq!(
            serde_json::to_string(&CheckStatus::KNOWN).unwrap(),
            r#"["pass","warn","fail"]"#
        );
        assert_eq!(
            serde_json::to_string(&DoctorStatus::KNOWN).unwrap(),
            r#"["ok","warnings","failed"]"#
        );
        assert_eq!(
            serde_json::to_string(&PreloadStatus::KNOWN).unwrap(),
            r#"["verified","load_failed","not_loaded","unverified"]"#
        );
        assert_eq!(
            serde_json::to_string(&AllocatorKind::KNOWN).unwrap(),
            r#"["system","preload"]"#
        );
        assert_eq!(
            serde_json::to_string(&SummaryStatus::KNOWN).unwrap(),
            r#"["ok","failed"]"#
        );
    }

    #[test]
    fn an_unknown_value_is_kept_for_the_reader_to_refuse() {
        let s: RunStatus = serde_json::from_str(r#""fine""#).unwrap();
        assert_eq!(s, RunStatus::Unknown("fine".into()));
        assert_eq!(s, "fine");
        assert_eq!(format!("{s:?} {s}"), r#""fine" fine"#);
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""fine""#);
        assert_eq!(RunStatus::from("timed_out"), RunStatus::TimedOut);
    }
}
