//! The criteria file of `lwm qualify`: requirements with stable IDs, the
//! evidence that decides each and its threshold (format in
//! docs/qualification.md). Every error is one line naming the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::commands::entry::{line_of, toml_error, CommandEntry};
use crate::commands::UserCommand;
use crate::limits::KNOWN_WORKLOADS;

/// The kinds this lwm decides.
pub const KINDS: &[&str] = &[
    "performance",
    "memory",
    "output-identical",
    "out-of-memory",
    "footprint",
    "isa-gate",
    "soak",
    "c-conformance",
    "threads-fork",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    qualification: Spanned<RawHeader>,
    #[serde(default)]
    campaign: Option<Spanned<RawCampaign>>,
    #[serde(default)]
    requirement: Vec<Spanned<RawRequirement>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    reps: Option<u32>,
    warmup: Option<u32>,
    scale: Option<f64>,
    seed: Option<u64>,
    threads: Option<u32>,
    noise: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: String,
    description: String,
    kind: String,
    mandatory: bool,
    /// What decides the requirement, in words (shown in every report).
    evidence: Option<String>,
    // performance, memory
    workloads: Option<Vec<String>>,
    aggregate: Option<String>,
    max_ratio_upper: Option<f64>,
    // output-identical, out-of-memory
    command: Option<Vec<CommandEntry>>,
    // out-of-memory
    limit_as: Option<String>,
    // footprint
    max_bytes: Option<u64>,
    // soak
    duration: Option<String>,
    warmup_share: Option<f64>,
    reps: Option<u32>,
    max_rss_slope: Option<f64>,
    max_peak_rss_per_live: Option<f64>,
    // c-conformance, threads-fork
    timeout_s: Option<u64>,
}

/// A parsed, checked criteria file.
#[derive(Debug, Clone, Serialize)]
pub struct Criteria {
    pub file: PathBuf,
    pub name: String,
    pub description: String,
    pub campaign: CampaignSettings,
    pub requirements: Vec<Requirement>,
}

/// The normal campaign's shape (`[campaign]`); defaults as `lwm eval`.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignSettings {
    pub reps: u32,
    pub warmup: u32,
    pub scale: f64,
    pub seed: u64,
    pub threads: Option<u32>,
    pub noise: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    pub id: String,
    pub description: String,
    pub mandatory: bool,
    /// What decides it, in words.
    pub evidence: String,
    /// `file:line` of its `[[requirement]]`.
    pub defined_at: String,
    pub check: Check,
}

/// How geometric or per-workload ratios are held to a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregate {
    /// The geometric mean over the workloads.
    Geomean,
    /// Every workload on its own.
    Each,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Check {
    /// Time ratio lwmalloc/system: the upper end of its 95 % bootstrap
    /// interval at most `max_ratio_upper`.
    Performance {
        workloads: Vec<String>,
        aggregate: Aggregate,
        max_ratio_upper: f64,
    },
    /// Peak-RSS ratio, as `Performance`.
    Memory {
        workloads: Vec<String>,
        aggregate: Aggregate,
        max_ratio_upper: f64,
    },
    /// Every repetition under lwmalloc succeeds with stdout identical to
    /// the system malloc's.
    OutputIdentical { commands: Vec<UserCommand> },
    /// The commands run under RLIMIT_AS (the agent's `--limit-as`) and
    /// exit 0: every allocation failure seen as NULL with ENOMEM, no crash,
    /// no hang. The system malloc runs them too, as the control.
    OutOfMemory {
        commands: Vec<UserCommand>,
        limit_as_bytes: u64,
    },
    /// The stripped liblwmalloc.so pushed to the board is at most `max_bytes`.
    Footprint { max_bytes: u64 },
    /// Every artifact pushed passed the instruction-set and glibc gate.
    IsaGate,
    /// `steady-soak` in a campaign of its own for `duration_s` seconds (at
    /// constant live bytes, RSS sampled every second): after the first
    /// `warmup_share` of the samples, the least-squares slope of RSS over
    /// time, in live bytes per hour (0.05: RSS grows by 5 % of the live
    /// bytes an hour), is at most `max_rss_slope`, and the peak RSS above
    /// the process's RSS at start, over the mean live bytes, at most
    /// `max_peak_rss_per_live`, in every repetition under lwmalloc.
    Soak {
        duration_s: u64,
        warmup_share: f64,
        reps: u32,
        max_rss_slope: f64,
        max_peak_rss_per_live: Option<f64>,
    },
    /// The allocator's C-level conformance tests (allocator/preload/tests/c),
    /// cross-built for the board and run there in a campaign of their own,
    /// one process per check: every check passes under lwmalloc in every
    /// repetition; the system malloc runs them too, as the control.
    CConformance { reps: u32, timeout_s: u64 },
    /// Cross-thread frees, threads exiting with live blocks, many threads
    /// at once, and fork under threads (stress.c, regressions.c), built and
    /// run as `CConformance`; a run past `timeout_s` (a deadlock) fails.
    ThreadsFork { reps: u32, timeout_s: u64 },
}

/// Default seconds one C check may run on the board (`timeout_s`).
pub const C_CONFORMANCE_TIMEOUT_S: u64 = 60;
/// Default seconds one threads-and-fork check may run on the board.
pub const THREADS_FORK_TIMEOUT_S: u64 = 180;

/// The workload of the soak checks: the timed one that holds its live
/// bytes constant and samples its RSS.
pub const SOAK_WORKLOAD: &str = "steady-soak";

/// The share of the soak's samples ignored as warm-up when not given.
pub const SOAK_WARMUP_SHARE: f64 = 0.2;

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Performance { .. } => "performance",
            Check::Memory { .. } => "memory",
            Check::OutputIdentical { .. } => "output-identical",
            Check::OutOfMemory { .. } => "out-of-memory",
            Check::Footprint { .. } => "footprint",
            Check::IsaGate => "isa-gate",
            Check::Soak { .. } => "soak",
            Check::CConformance { .. } => "c-conformance",
            Check::ThreadsFork { .. } => "threads-fork",
        }
    }
}

/// `1024`, `64K`, `512M`, `2G`.
pub fn parse_bytes(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mult) = match v.chars().last()? {
        'K' | 'k' => (&v[..v.len() - 1], 1u64 << 10),
        'M' | 'm' => (&v[..v.len() - 1], 1 << 20),
        'G' | 'g' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// Reads and checks the criteria file at `path`.
pub fn load(path: &Path) -> Result<Criteria, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    parse(path, &text)
}

/// Parses `text` as the criteria file `path` (relative command files are
/// taken from its directory).
pub fn parse(path: &Path, text: &str) -> Result<Criteria, String> {
    let file = path.display().to_string();
    let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(&file, text, &e))?;
    let header_at = format!("{file}:{}", line_of(text, raw.qualification.span().start));
    let header = raw.qualification.into_inner();
    if header.name.trim().is_empty() {
        return Err(format!("{header_at}: qualification.name is empty"));
    }
    let campaign = match raw.campaign {
        None => CampaignSettings::default(),
        Some(c) => {
            let at = format!("{file}:{}", line_of(text, c.span().start));
            campaign_settings(c.into_inner(), &at)?
        }
    };
    if raw.requirement.is_empty() {
        return Err(format!(
            "{file}: no [[requirement]] entries (each needs id, description, kind, mandatory)"
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut requirements: Vec<Requirement> = Vec::new();
    for r in raw.requirement {
        let at = format!("{file}:{}", line_of(text, r.span().start));
        let req = requirement(r.into_inner(), &at, base)?;
        if let Some(other) = requirements.iter().find(|o| o.id == req.id) {
            return Err(format!(
                "{at}: requirement id `{}` is already used at {}",
                req.id, other.defined_at
            ));
        }
        requirements.push(req);
    }
    // One soak campaign per qualification, and each C-level check run
    // once per repetition: at most one requirement of each of these kinds.
    for kind in ["soak", "c-conformance", "threads-fork"] {
        let same: Vec<&Requirement> = requirements
            .iter()
            .filter(|r| r.check.kind() == kind)
            .collect();
        if let [first, second, ..] = same.as_slice() {
            return Err(format!(
                "{}: requirement {}: a second {kind} requirement (the first is {} at {}); put both thresholds in one",
                second.defined_at, second.id, first.id, first.defined_at
            ));
        }
    }
    // Command names share one namespace on the board and in raw/.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for r in &requirements {
        for c in r.check.commands() {
            if let Some(prev) = names.insert(c.name.clone(), r.id.clone()) {
                return Err(format!(
                    "{}: command name `{}` is also used by requirement {prev}",
                    r.defined_at, c.name
                ));
            }
        }
    }
    Ok(Criteria {
        file: path.to_path_buf(),
        name: header.name,
        description: header.description,
        campaign,
        requirements,
    })
}

impl Default for CampaignSettings {
    fn default() -> Self {
        CampaignSettings {
            reps: 5,
            warmup: 1,
            scale: 0.2,
            seed: 1,
            threads: None,
            noise: 0.02,
        }
    }
}

fn campaign_settings(c: RawCampaign, at: &str) -> Result<CampaignSettings, String> {
    let d = CampaignSettings::default();
    let s = CampaignSettings {
        reps: c.reps.unwrap_or(d.reps),
        warmup: c.warmup.unwrap_or(d.warmup),
        scale: c.scale.unwrap_or(d.scale),
        seed: c.seed.unwrap_or(d.seed),
        threads: c.threads.or(d.threads),
        noise: c.noise.unwrap_or(d.noise),
    };
    // The bootstrap needs a few samples to say anything.
    if s.reps < 3 {
        return Err(format!(
            "{at}: campaign.reps must be at least 3 (intervals need samples)"
        ));
    }
    Ok(s)
}

impl Check {
    /// The user commands this check runs.
    pub fn commands(&self) -> &[UserCommand] {
        match self {
            Check::OutputIdentical { commands } | Check::OutOfMemory { commands, .. } => commands,
            _ => &[],
        }
    }

    /// The workloads this check needs in the campaign.
    pub fn workloads(&self) -> &[String] {
        match self {
            Check::Performance { workloads, .. } | Check::Memory { workloads, .. } => workloads,
            _ => &[],
        }
    }
}

fn requirement(r: RawRequirement, at: &str, base: &Path) -> Result<Requirement, String> {
    let id_ok = !r.id.is_empty()
        && r.id.len() <= 64
        && r.id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !id_ok {
        return Err(format!(
            "{at}: requirement id `{}`: use up to 64 letters, digits, '-', '_' and '.'",
            r.id
        ));
    }
    let id = r.id.clone();
    let fail = |what: String| format!("{at}: requirement {id}: {what}");
    // Fields a kind does not use are refused: a threshold that is silently
    // ignored would read as checked.
    let mut used: Vec<&str> = Vec::new();
    let check = match r.kind.as_str() {
        "performance" | "memory" => {
            used = vec!["workloads", "aggregate", "max_ratio_upper"];
            let workloads = r
                .workloads
                .clone()
                .ok_or_else(|| fail("needs `workloads` (names or [\"all\"])".into()))?;
            if workloads.is_empty() {
                return Err(fail("`workloads` is empty".into()));
            }
            for w in &workloads {
                if w != "all" && !KNOWN_WORKLOADS.contains(&w.as_str()) {
                    return Err(fail(format!(
                        "unknown workload `{w}` (known: {})",
                        KNOWN_WORKLOADS.join(", ")
                    )));
                }
            }
            let workloads = if workloads.iter().any(|w| w == "all") {
                KNOWN_WORKLOADS.iter().map(|s| s.to_string()).collect()
            } else {
                workloads
            };
            let aggregate = match r.aggregate.as_deref().unwrap_or("geomean") {
                "geomean" => Aggregate::Geomean,
                "each" => Aggregate::Each,
                other => {
                    return Err(fail(format!(
                        "aggregate `{other}`: use `geomean` or `each`"
                    )))
                }
            };
            let max = r
                .max_ratio_upper
                .ok_or_else(|| fail("needs `max_ratio_upper` (e.g. 1.10)".into()))?;
            if !(max.is_finite() && max > 0.0) {
                return Err(fail(format!(
                    "max_ratio_upper {max}: must be a positive number"
                )));
            }
            if r.kind == "performance" {
                Check::Performance {
                    workloads,
                    aggregate,
                    max_ratio_upper: max,
                }
            } else {
                Check::Memory {
                    workloads,
                    aggregate,
                    max_ratio_upper: max,
                }
            }
        }
        "output-identical" | "out-of-memory" => {
            used.push("command");
            let raw = r
                .command
                .as_ref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| fail("needs at least one `command = [{ name, command }]`".into()))?;
            let mut cmds = Vec::new();
            for c in raw {
                let cmd = c.to_command(base, &format!("{at}: requirement {id}"))?;
                // The requirement is that the output is the same.
                if !cmd.check_output && r.kind == "output-identical" {
                    return Err(fail(format!(
                        "command `{}`: check_output = false contradicts an output-identical requirement",
                        cmd.name
                    )));
                }
                cmds.push(cmd);
            }
            if r.kind == "output-identical" {
                Check::OutputIdentical { commands: cmds }
            } else {
                used.push("limit_as");
                let text = r
                    .limit_as
                    .as_deref()
                    .ok_or_else(|| fail("needs `limit_as` (bytes; K, M, G suffixes)".into()))?;
                let limit = parse_bytes(text)
                    .filter(|&b| b >= 16 << 20)
                    .ok_or_else(|| {
                        fail(format!(
                            "limit_as `{text}`: a byte count of at least 16M (suffixes K, M, G)"
                        ))
                    })?;
                for c in &mut cmds {
                    c.limit_as_bytes = Some(limit);
                }
                Check::OutOfMemory {
                    commands: cmds,
                    limit_as_bytes: limit,
                }
            }
        }
        "footprint" => {
            used.push("max_bytes");
            let max = r
                .max_bytes
                .ok_or_else(|| fail("needs `max_bytes`".into()))?;
            Check::Footprint { max_bytes: max }
        }
        "isa-gate" => Check::IsaGate,
        "soak" => {
            used = vec![
                "duration",
                "warmup_share",
                "reps",
                "max_rss_slope",
                "max_peak_rss_per_live",
            ];
            let text = r.duration.as_deref().ok_or_else(|| {
                fail("needs `duration` (e.g. \"10m\"; hours for a real qualification)".into())
            })?;
            let duration_s = crate::limits::parse_duration(text).ok_or_else(|| {
                fail(format!(
                    "duration `{text}`: a duration from 1s to 7 days, in s, m or h (e.g. \"30s\", \"10m\", \"4h\")"
                ))
            })?;
            let warmup_share = r.warmup_share.unwrap_or(SOAK_WARMUP_SHARE);
            if !(0.0..0.9).contains(&warmup_share) {
                return Err(fail(format!(
                    "warmup_share {warmup_share}: a fraction from 0 to below 0.9 of the samples"
                )));
            }
            let reps = r.reps.unwrap_or(1);
            if reps == 0 || reps > crate::limits::MAX_REPS {
                return Err(fail(format!(
                    "reps {reps}: from 1 to {}",
                    crate::limits::MAX_REPS
                )));
            }
            let slope = r.max_rss_slope.ok_or_else(|| {
                fail("needs `max_rss_slope` (RSS growth per hour, in live bytes: e.g. 0.05)".into())
            })?;
            if !(slope.is_finite() && slope >= 0.0) {
                return Err(fail(format!(
                    "max_rss_slope {slope}: must be a number >= 0"
                )));
            }
            if let Some(p) = r.max_peak_rss_per_live {
                if !(p.is_finite() && p > 0.0) {
                    return Err(fail(format!(
                        "max_peak_rss_per_live {p}: must be a positive number"
                    )));
                }
            }
            Check::Soak {
                duration_s,
                warmup_share,
                reps,
                max_rss_slope: slope,
                max_peak_rss_per_live: r.max_peak_rss_per_live,
            }
        }
        "c-conformance" | "threads-fork" => {
            used = vec!["reps", "timeout_s"];
            let reps = r.reps.unwrap_or(1);
            if reps == 0 || reps > crate::limits::MAX_REPS {
                return Err(fail(format!(
                    "reps {reps}: from 1 to {}",
                    crate::limits::MAX_REPS
                )));
            }
            let default_timeout = if r.kind == "c-conformance" {
                C_CONFORMANCE_TIMEOUT_S
            } else {
                THREADS_FORK_TIMEOUT_S
            };
            let timeout_s = r.timeout_s.unwrap_or(default_timeout);
            if timeout_s == 0 {
                return Err(fail("timeout_s must be at least 1".into()));
            }
            if r.kind == "c-conformance" {
                Check::CConformance { reps, timeout_s }
            } else {
                Check::ThreadsFork { reps, timeout_s }
            }
        }
        other => {
            return Err(fail(format!(
                "unknown kind `{other}` (kinds: {})",
                KINDS.join(", ")
            )));
        }
    };
    let given = [
        ("workloads", r.workloads.is_some()),
        ("aggregate", r.aggregate.is_some()),
        ("max_ratio_upper", r.max_ratio_upper.is_some()),
        ("command", r.command.is_some()),
        ("limit_as", r.limit_as.is_some()),
        ("max_bytes", r.max_bytes.is_some()),
        ("duration", r.duration.is_some()),
        ("warmup_share", r.warmup_share.is_some()),
        ("reps", r.reps.is_some()),
        ("max_rss_slope", r.max_rss_slope.is_some()),
        ("max_peak_rss_per_live", r.max_peak_rss_per_live.is_some()),
        ("timeout_s", r.timeout_s.is_some()),
    ];
    for (field, present) in given {
        if present && !used.contains(&field) {
            return Err(fail(format!(
                "`{field}` means nothing for kind `{}`",
                r.kind
            )));
        }
    }
    let evidence = r.evidence.unwrap_or_else(|| default_evidence(&check));
    Ok(Requirement {
        id: r.id,
        description: r.description,
        mandatory: r.mandatory,
        evidence,
        defined_at: at.to_string(),
        check,
    })
}

/// What decides a check, in words, when the file does not say.
pub fn default_evidence(c: &Check) -> String {
    match c {
        Check::Performance {
            aggregate,
            max_ratio_upper,
            ..
        } => format!(
            "wall-time ratio lwmalloc/system ({}), upper end of its 95 % bootstrap interval <= {max_ratio_upper}",
            agg_words(*aggregate)
        ),
        Check::Memory {
            aggregate,
            max_ratio_upper,
            ..
        } => format!(
            "peak-RSS ratio lwmalloc/system ({}), upper end of its 95 % bootstrap interval <= {max_ratio_upper}",
            agg_words(*aggregate)
        ),
        Check::OutputIdentical { .. } => {
            "every repetition under lwmalloc exits 0 with stdout (SHA-256) identical to the system malloc's".into()
        }
        Check::OutOfMemory { limit_as_bytes, .. } => format!(
            "under RLIMIT_AS {} MiB every repetition exits 0 (allocation failures seen as NULL/ENOMEM), under lwmalloc and under the system malloc (the control)",
            limit_as_bytes >> 20
        ),
        Check::Footprint { max_bytes } => {
            format!("liblwmalloc.so pushed to the board (as built: stripped) <= {max_bytes} bytes")
        }
        Check::IsaGate => "every artifact pushed passed the instruction-set and glibc-version gate for the board".into(),
        Check::Soak {
            duration_s,
            warmup_share,
            max_rss_slope,
            max_peak_rss_per_live,
            ..
        } => format!(
            "steady-soak for {} at constant live bytes under lwmalloc, RSS sampled every second, every repetition: after the first {:.0} % of the samples, the least-squares slope of RSS <= {max_rss_slope} live bytes per hour{}",
            human_duration(*duration_s),
            warmup_share * 100.0,
            max_peak_rss_per_live
                .map(|p| format!(", (peak RSS - RSS at start) / mean live bytes <= {p}"))
                .unwrap_or_default()
        ),
        Check::CConformance { reps, timeout_s } => format!(
            "each of the allocator's C-level conformance checks, cross-built for the board and run there in a process of its own, passes under lwmalloc in all {reps} repetition(s), each within {timeout_s} s; the board's system malloc runs them too (the control)"
        ),
        Check::ThreadsFork { reps, timeout_s } => format!(
            "cross-thread frees, thread exits with live blocks, 600 threads at once and fork under threads (from stdio, from a signal handler), cross-built and run on the board's cores, pass under lwmalloc in all {reps} repetition(s), each within {timeout_s} s (a deadlock is a failure); the system malloc runs them too (the control)"
        ),
    }
}

/// `45 s`, `10 min`, `4 h`, `1 h 30 min`.
pub fn human_duration(s: u64) -> String {
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (h, 0, 0) => format!("{h} h"),
        (h, m, 0) => format!("{h} h {m} min"),
        _ => format!("{s} s"),
    }
}

fn agg_words(a: Aggregate) -> &'static str {
    match a {
        Aggregate::Geomean => "geometric mean over the workloads",
        Aggregate::Each => "every workload",
    }
}
