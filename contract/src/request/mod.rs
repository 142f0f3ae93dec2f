//! The agent's command line, typed: what `lwm` asks `lwm-agent` to do.
//! The host writes the argv with [`AgentRequest::to_argv`] and the agent
//! reads it back with [`AgentRequest::parse`], so the two cannot drift
//! apart. People also type it by hand (README, docs/lab.md): the grammar is
//! the one the agent has always accepted, and its errors are one line.

use std::time::Duration;

mod argv;
mod parse;
#[cfg(test)]
mod tests;

pub const USAGE: &str = "\
usage:
  lwm-agent run [OPTIONS] --workload NAME [--seed S] [--scale X] [--threads T] [--duration D]
  lwm-agent run [OPTIONS] -- COMMAND [ARGS...]
  lwm-agent doctor [--dir PATH] [--min-free-mem MIB] [--min-free-disk MIB] [BINARY...]
  lwm-agent environment
  lwm-agent --version | --help

run options:
  --allocator PATH|system  library to LD_PRELOAD, or the C library's own malloc (default: system)
  --reps N                 measured runs (default 5)
  --warmup W               warm-up runs, recorded and flagged, not summarised (default 1)
  --timeout S              kill the run's process group after S seconds (default 600; 0: none)
  --interval MS            memory sampling interval in milliseconds (default 50)
  --limit-as BYTES         run under RLIMIT_AS (suffixes K, M, G); records whether it survived
  --workload-bin PATH      the lwm-workload binary (default: next to lwm-agent, then PATH)
  --tail BYTES             bytes of the child's stdout and stderr kept in the JSON (default 16384)
  --quiet-child            do not pass the child's stderr through to ours (still captured)
  --quiet                  no progress lines on stderr
  --cwd DIR                every run starts in DIR, made if missing (default: the agent's)
  -o, --output FILE        write the JSON document to FILE instead of stdout

Output: one JSON document (schema lwm-agent.run, version see SCHEMA.md). Exit status:
0 every run ok, 1 document written but some run failed, 2 bad usage or input.";

/// One command of `lwm-agent`.
// One is made per process or per agent call: a Box would only make them
// harder to build and match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum AgentRequest {
    Run(RunRequest),
    Doctor(DoctorRequest),
    Environment,
    Version,
    Help,
}

/// `lwm-agent run`: what to run, under which allocator, how often and how
/// it is measured.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRequest {
    /// The library to LD_PRELOAD, or `system` for the C library's malloc.
    pub allocator: String,
    /// Measured runs, at least 1.
    pub reps: u32,
    /// Warm-up runs before them: recorded and flagged, not summarised.
    pub warmup: u32,
    /// When the run's process group is killed; None: never (`--timeout 0`).
    pub timeout: Option<Duration>,
    /// How often memory is sampled; the command line has whole milliseconds.
    pub interval: Duration,
    /// RLIMIT_AS for the run, in bytes.
    pub limit_as: Option<u64>,
    /// Bytes of the child's stdout and stderr kept in the document.
    pub tail_bytes: usize,
    /// Whether the child's stderr also goes to ours (`--quiet-child`: no).
    pub forward_stderr: bool,
    /// No progress lines on stderr.
    pub quiet: bool,
    /// Directory every run starts in, made if missing: lwm runs a user's
    /// command beside the input files it pushed there.
    pub cwd: Option<String>,
    /// File the document is written to instead of stdout.
    pub output: Option<String>,
    pub target: RunTarget,
}

/// What `lwm-agent run` runs.
#[derive(Clone, Debug, PartialEq)]
pub enum RunTarget {
    /// One of lwm-workload's workloads (`--workload NAME`).
    Workload(WorkloadRun),
    /// Any program and its arguments (`-- COMMAND [ARGS...]`), not empty.
    Command(Vec<String>),
}

/// A workload and the options passed on to lwm-workload. Their values are
/// passed as given: lwm-workload checks them, with its own messages.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkloadRun {
    pub name: String,
    /// The lwm-workload binary (`--workload-bin`); None: next to the agent,
    /// then PATH.
    pub runner: Option<String>,
    pub seed: Option<String>,
    pub scale: Option<String>,
    pub threads: Option<String>,
    /// A timed workload's wall-clock time, such as `30s`.
    pub duration: Option<String>,
}

/// `lwm-agent doctor`: can this board run the campaign?
#[derive(Clone, Debug, PartialEq)]
pub struct DoctorRequest {
    /// Binaries checked against this board (architecture, loader, glibc).
    pub binaries: Vec<String>,
    /// Directory whose file system must have `min_free_disk_mib` free.
    pub dir: String,
    pub min_free_mem_mib: u64,
    pub min_free_disk_mib: u64,
}

impl RunRequest {
    /// A run of `target` with every other setting at the agent's default.
    pub fn new(target: RunTarget) -> Self {
        RunRequest {
            allocator: "system".into(),
            reps: 5,
            warmup: 1,
            timeout: Some(Duration::from_secs(600)),
            interval: Duration::from_millis(50),
            limit_as: None,
            tail_bytes: 16384,
            forward_stderr: true,
            quiet: false,
            cwd: None,
            output: None,
            target,
        }
    }
}

impl WorkloadRun {
    /// The workload `name` with lwm-workload's defaults.
    pub fn new(name: impl Into<String>) -> Self {
        WorkloadRun {
            name: name.into(),
            ..WorkloadRun::default()
        }
    }

    /// The options given for lwm-workload, as its command line takes them:
    /// `--seed 7 --threads 2`.
    pub fn options_argv(&self) -> Vec<String> {
        let given = [
            ("--seed", &self.seed),
            ("--scale", &self.scale),
            ("--threads", &self.threads),
            ("--duration", &self.duration),
        ];
        given
            .into_iter()
            .filter_map(|(flag, value)| Some([flag.to_string(), value.clone()?]))
            .flatten()
            .collect()
    }
}

impl Default for DoctorRequest {
    fn default() -> Self {
        DoctorRequest {
            binaries: Vec::new(),
            dir: ".".into(),
            min_free_mem_mib: 128,
            min_free_disk_mib: 100,
        }
    }
}

/// A byte count as people write it: `4096`, `64K`, `4M`, `1G` (powers of
/// 1024, either case); None if it is not one or does not fit in a u64.
pub fn parse_byte_count(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last()? {
        (i, 'K' | 'k') => (&text[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&text[..i], 1 << 20),
        (i, 'G' | 'g') => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}
