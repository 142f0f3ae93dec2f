//! `results/RUN_ID/manifest.json`: what produced a campaign's numbers.
//!
//! The run directory's layout, and the reading and checking of this file
//! for every reader, are in `crate::rundir`.

use std::collections::BTreeMap;

use lwm_contract::schema::Emulation;
use serde::{Deserialize, Serialize};

pub const MANIFEST_SCHEMA: &str = "lwm.manifest";
/// The version this lwm writes. Any change to a field's name, type or
/// meaning bumps it (the rule of contract/SCHEMA.md); orchestrator/SCHEMA.md
/// lists what each version changed.
pub const MANIFEST_VERSION: u32 = 5;
/// Versions this lwm reads: version 1 is version 2 with `settings.threads`
/// always a number and no `boards[].threads`, which these types read as
/// they are (a version-1 run used `settings.threads` on every board);
/// version 2 is version 3 without `settings.commands` (none); version 3
/// is version 4 without `settings.commands[].limit_as_bytes` (no limit);
/// version 4 is version 5 without `settings.commands[].check_output`
/// (every command's output checked).
pub const READABLE_MANIFEST_VERSIONS: [u32; 5] = [1, 2, 3, 4, MANIFEST_VERSION];

/// `v1, v2, v3, v4 and v5`, for messages refusing another version.
pub fn readable_versions_text() -> String {
    let v: Vec<String> = READABLE_MANIFEST_VERSIONS
        .iter()
        .map(|n| format!("v{n}"))
        .collect();
    match v.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => v.join(""),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: String,
    pub schema_version: u32,
    pub run_id: String,
    /// `git rev-parse HEAD` of the project, and whether the tree was dirty.
    pub project_commit: Option<String>,
    pub project_dirty: Option<bool>,
    /// `rustc -V`, `cargo -V`.
    pub toolchain: Toolchain,
    pub settings: Settings,
    pub boards: Vec<BoardEntry>,
    pub started_unix_ms: u64,
    /// Set when the campaign finished (all boards done or failed).
    pub ended_unix_ms: Option<u64>,
    /// Every time the campaign was resumed.
    pub resumed_unix_ms: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    pub rustc: Option<String>,
    pub cargo: Option<String>,
    /// Release profile and flags the artifacts were built with.
    pub build_flags: Vec<String>,
}

/// The campaign's parameters: enough to recompute the plan on `--resume`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub workloads: Vec<String>,
    /// Allocator names in interleaving order; `system` is the baseline.
    pub allocators: Vec<String>,
    /// Warm-up runs per (workload, allocator).
    pub warmup: u32,
    /// Fixed repetitions, or the minimum when `target_ci` is set.
    pub reps: u32,
    /// Adaptive: keep adding rounds until the 95 % CI half-width of every
    /// allocator's median time is within this fraction of the median.
    pub target_ci: Option<f64>,
    /// Cap on repetitions when adaptive.
    pub max_reps: u32,
    pub scale: f64,
    /// Threads of the multi-threaded workloads (`--threads`); null: each
    /// board's CPU count, recorded per board as `BoardEntry::threads`.
    pub threads: Option<u32>,
    pub seed: u64,
    /// Relative change below which a difference is called noise (0.02 = 2 %).
    pub noise_threshold: f64,
    /// Users' own commands, run like workloads after them (absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<crate::commands::UserCommand>,
    /// Seconds each timed workload (`limits::DURATION_WORKLOADS`) runs,
    /// whatever the scale or a board's `workload_scale` (absent: none runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u64>,
}

impl Settings {
    /// Repetitions a board may run per (workload, allocator): the fixed
    /// count, or the cap when adaptive.
    pub fn planned_reps(&self) -> u32 {
        match self.target_ci {
            Some(_) => self.max_reps.max(self.reps),
            None => self.reps,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BoardEntry {
    pub name: String,
    pub description: String,
    pub file: String,
    pub file_sha256: String,
    pub target: String,
    pub cpu: String,
    /// `none`, `qemu-system` or `qemu-user`.
    pub emulation: String,
    /// The profile's `workload_scale`: this board's workloads ran at the
    /// campaign's `scale` times this (kept on resume, so one campaign
    /// never mixes sizes on a board).
    #[serde(default = "unit_scale")]
    pub workload_scale: f64,
    /// The thread count this board's workloads ran with: `--threads`, or
    /// the CPU count its agent reported. Set when the board is checked and
    /// kept on resume, so one campaign never mixes thread counts on a
    /// board. Absent before that, and in version-1 manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// Allocator name -> path on the board (`system` -> null).
    pub allocators: BTreeMap<String, Option<String>>,
    pub artifacts: Vec<ArtifactEntry>,
    /// `lwm-agent environment` of the board, as the agent printed it.
    pub environment: Option<serde_json::Value>,
    /// `pending`, `running`, `done`, `failed`, `interrupted`.
    pub status: String,
    /// One-line error when `failed`.
    pub error: Option<String>,
    /// What happened to the board that the results alone do not show, one
    /// line each, oldest first: a boot that hung and was tried again, a
    /// connection lost and made again. Absent when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<String>,
}

impl BoardEntry {
    /// The thread count the board's workloads ran with, where known.
    pub fn threads_used(&self, settings: &Settings) -> Option<u32> {
        self.threads.or(settings.threads)
    }

    /// What the agent found out by itself about emulation on the board.
    pub fn agent_emulation(&self) -> Option<Emulation> {
        self.environment_part("/emulation")
    }

    /// The board's kernel release, as the agent read it.
    pub fn agent_kernel_release(&self) -> Option<String> {
        self.environment_part("/kernel/release")
    }

    /// The board's CPU model: `Some(None)` when the agent looked and found
    /// none in /proc/cpuinfo.
    pub fn agent_cpu_model(&self) -> Option<Option<String>> {
        self.environment_part("/cpu/model")
    }

    /// One part of `environment` (a JSON pointer into the agent's
    /// `Environment`), read as the contract's type. Kept whole in the
    /// manifest as the agent printed it; early runs stored the doctor's
    /// whole document there, so the part is also looked for under it.
    fn environment_part<T: serde::de::DeserializeOwned>(&self, pointer: &str) -> Option<T> {
        let env = self.environment.as_ref()?;
        let part = env
            .pointer(&format!("/environment{pointer}"))
            .or_else(|| env.pointer(pointer))?;
        T::deserialize(part).ok()
    }
}

fn unit_scale() -> f64 {
    1.0
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArtifactEntry {
    pub name: String,
    pub local_path: String,
    pub board_path: String,
    pub sha256: String,
    pub size_bytes: u64,
    /// The instruction-set gate's findings, when it ran.
    pub gate: Option<crate::gate::GateReport>,
}
