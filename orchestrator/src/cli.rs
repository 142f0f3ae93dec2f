//! The command line of `lwm`: its flags, and turning them into a
//! campaign's checked settings. Kept out of `main.rs` so that tests can
//! parse exactly what the binary parses.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::campaign::plan::DEFAULT_ALLOCATORS;
use crate::commands::{self, UserCommand};
use crate::limits::{self, DEFAULT_MAX_REPS};
use crate::manifest::Settings;

/// The exit statuses of every `lwm` subcommand.
pub mod exit_code {
    /// Everything asked for was done and every run succeeded.
    pub const OK: u8 = 0;
    /// Results were written but a run or board failed, a write failed, or
    /// `compare` found a significant regression.
    pub const FAILED: u8 = 1;
    /// Bad usage or configuration: nothing was run and no run directory
    /// was created (or an existing one was not changed).
    pub const USAGE: u8 = 2;
    /// Interrupted (Ctrl-C); `lwm eval --resume RUN_ID` continues.
    pub const INTERRUPTED: u8 = 130;
}

const EXIT_STATUS_HELP: &str = "\
Exit status (every subcommand):
  0    success
  1    a measured failure: results written but some run or board failed,
       or `compare` found a significant regression
  2    bad usage or configuration (nothing run, no run directory created)
  130  interrupted (continue with `lwm eval --resume RUN_ID`)";

#[derive(Parser, Debug)]
#[command(
    name = "lwm",
    version,
    about = "Evaluate lwmalloc against other allocators on boards",
    after_help = EXIT_STATUS_HELP,
    // `--reps -1` is a bad value for --reps, not a stray flag `-1`.
    allow_negative_numbers = true
)]
pub struct Cli {
    /// Workspace root (default: the one this lwm was built from).
    #[arg(long, global = true)]
    pub workspace: Option<PathBuf>,
    /// Directory of board profiles (default: WORKSPACE/boards).
    #[arg(long, global = true)]
    pub boards_dir: Option<PathBuf>,
    /// Directory of run directories (default: WORKSPACE/results).
    #[arg(long, global = true)]
    pub results: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// `--workspace`, or the workspace this lwm was built from.
    pub fn workspace_root(&self) -> PathBuf {
        self.workspace
            .clone()
            .unwrap_or_else(crate::build::default_workspace)
    }

    /// `--boards-dir`, or WORKSPACE/boards.
    pub fn boards_root(&self) -> PathBuf {
        self.boards_dir
            .clone()
            .unwrap_or_else(|| self.workspace_root().join("boards"))
    }

    /// `--results`, or WORKSPACE/results.
    pub fn results_root(&self) -> PathBuf {
        self.results
            .clone()
            .unwrap_or_else(|| self.workspace_root().join("results"))
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build, push, run every workload under every allocator, report.
    #[command(allow_negative_numbers = true, after_help = EXIT_STATUS_HELP)]
    Eval(Box<EvalArgs>),
    /// Build allocator, agent and workloads for targets and print their footprint.
    Build {
        /// Target triple (repeatable); default: the host.
        #[arg(long = "target")]
        targets: Vec<String>,
        /// Build for this board's target and run its instruction-set gate (repeatable).
        #[arg(long = "board")]
        boards: Vec<String>,
    },
    /// Compare two runs: regressions and improvements (exit 1 on a significant regression).
    #[command(allow_negative_numbers = true)]
    Compare {
        run_a: String,
        run_b: String,
        /// Relative change below which a difference is noise.
        #[arg(long, default_value_t = 0.02)]
        noise: f64,
    },
    /// Write the reports of a run directory again.
    Report { run: String },
    /// List the board profiles (and check every one of them).
    Boards,
    /// Qualify lwmalloc on a board against a criteria file and seal the
    /// evidence into a bundle (exit 0 only if every mandatory requirement
    /// passes); `lwm qualify verify BUNDLE` checks a bundle.
    Qualify(Box<QualifyArgs>),
    /// What `./lwm` installs before running ARGS (one per line: cross,
    /// qemu, docker, labgrid); nothing when ARGS do not parse, so that the
    /// command itself reports the mistake.
    #[command(hide = true)]
    Needs {
        /// An `lwm` command line, without the program name.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

#[derive(Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true, after_help = QUALIFY_HELP)]
pub struct QualifyArgs {
    #[command(subcommand)]
    pub action: Option<QualifyAction>,
    /// The board to qualify (required).
    #[arg(long)]
    pub board: Option<String>,
    /// Criteria file (default: WORKSPACE/qualification/embedded-v1.toml).
    #[arg(long, value_name = "FILE")]
    pub criteria: Option<PathBuf>,
    /// Sign the bundle's manifest with this OpenSSH private key
    /// (ssh-keygen -Y sign, namespace lwm-qualification@lwmalloc).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// The bundle directory, which must not exist (default:
    /// RESULTS/qualify-STAMP-BOARD); DIR.tar.gz is written beside it.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Qualify this liblwmalloc.so (your own build for the board) instead
    /// of the one lwm builds; it passes the same gate.
    #[arg(long, value_name = "PATH")]
    pub library: Option<PathBuf>,
    /// Go on with an interrupted (or finished) qualification: the board,
    /// criteria and library it recorded; finished runs are kept, the rest
    /// made; the bundle is sealed again (signed with --sign, or the key it
    /// was started with).
    #[arg(long, value_name = "BUNDLE", conflicts_with_all = ["board", "criteria", "out", "library"])]
    pub resume: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Subcommand, Debug, Clone)]
pub enum QualifyAction {
    /// Check a bundle offline: every file's SHA-256 and the signature
    /// (exit 1 naming each file or signature that is wrong).
    Verify {
        /// The bundle directory or its .tar.gz.
        bundle: PathBuf,
        /// OpenSSH allowed-signers file: the signature must be by one of them.
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
    },
}

const QUALIFY_HELP: &str = "\
Exit status: 0 every mandatory requirement passed (verify: the bundle is
intact); 1 a mandatory requirement failed, or the bundle could not be sealed
(verify: a file or the signature is wrong); 2 bad usage or configuration
(nothing run); 130 interrupted.";

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// Board to evaluate on (repeatable); default: local.
    #[arg(long = "board")]
    pub boards: Vec<String>,
    /// Workloads, comma-separated, or `all`. With user commands (`--`,
    /// --command, --suite) only those run, unless --workloads is given too.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub workloads: Vec<String>,
    /// A program of yours, measured like a workload (repeatable):
    /// NAME=CMD, CMD split into words as a POSIX shell would.
    #[arg(long = "command", value_name = "NAME=CMD")]
    pub commands: Vec<String>,
    /// An input file copied beside the commands given on the command line
    /// (`--` and --command), in their directory on the board, where they
    /// run (repeatable).
    #[arg(long = "push", value_name = "PATH")]
    pub push: Vec<String>,
    /// A TOML file listing commands (name, command, push, env, timeout_s,
    /// check_output).
    #[arg(long, value_name = "FILE")]
    pub suite: Option<PathBuf>,
    /// Do not compare the user commands' stdout across allocators (for
    /// programs whose output changes from run to run: times, addresses);
    /// a suite entry can say `check_output = false` for itself alone.
    #[arg(long)]
    pub no_output_check: bool,
    /// The program to measure and its arguments, named after the program.
    #[arg(last = true, value_name = "PROGRAM [ARGS]")]
    pub program: Vec<String>,
    /// Whether --workloads was given (set by `parse`).
    #[arg(skip)]
    pub workloads_given: bool,
    /// Allocators, comma-separated: lwmalloc, system, names from the board
    /// profile, NAME=/path/lib.so, or `available` (the profile's allocators
    /// installed on the board).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_ALLOCATORS.iter().map(|s| s.to_string()))]
    pub allocators: Vec<String>,
    /// Measured repetitions per workload and allocator (the minimum with --target-ci).
    #[arg(long, default_value_t = 5)]
    pub reps: u32,
    /// Warm-up runs per workload and allocator (recorded, not summarised).
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// Add repetitions until the 95 % CI of each median time is within this
    /// fraction of it (e.g. 0.02), up to --max-reps.
    #[arg(long)]
    pub target_ci: Option<f64>,
    /// Cap on repetitions with --target-ci (default 30, or --reps when more).
    #[arg(long)]
    pub max_reps: Option<u32>,
    /// Workload size multiplier (1.0: about 10-30 s per workload on a Pi 4).
    #[arg(long, default_value_t = 0.2)]
    pub scale: f64,
    /// How long each timed workload (steady-soak) runs, whatever --scale:
    /// 90s, 10m, 2h; needed when one is named (`all` leaves them out).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Threads for multi-threaded workloads (1 to 1024; default: each
    /// board's CPU count, as its agent reports it).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Seed of every workload's random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Relative difference below which a verdict says "no difference" (0 to below 1).
    #[arg(long, default_value_t = 0.02)]
    pub noise: f64,
    /// Continue an interrupted campaign with its recorded settings (flags
    /// that would change them are refused).
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// With --resume: allow --reps and --max-reps to grow, adding repetitions
    /// to a finished or interrupted run.
    #[arg(long, requires = "resume")]
    pub extend: bool,
    /// Name of the run directory (default: UTC time and board names).
    #[arg(long)]
    pub run_id: Option<String>,
    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// The labgrid coordinator (HOST[:PORT]) of `labgrid:PLACE` boards and
    /// of [labgrid] profiles that name none (default: $LG_COORDINATOR).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub labgrid_coordinator: Option<String>,
}

/// The `eval` flags that shape a campaign, as (clap id, flag): given with
/// `--resume`, each must agree with what the run recorded.
pub const CAMPAIGN_FLAGS: &[(&str, &str)] = &[
    ("boards", "--board"),
    ("workloads", "--workloads"),
    ("commands", "--command"),
    ("push", "--push"),
    ("suite", "--suite"),
    ("no_output_check", "--no-output-check"),
    ("program", "-- PROGRAM"),
    ("allocators", "--allocators"),
    ("reps", "--reps"),
    ("warmup", "--warmup"),
    ("target_ci", "--target-ci"),
    ("max_reps", "--max-reps"),
    ("scale", "--scale"),
    ("duration", "--duration"),
    ("threads", "--threads"),
    ("seed", "--seed"),
    ("noise", "--noise"),
    ("run_id", "--run-id"),
];

/// A parsed command line, with the campaign flags `eval` was given
/// explicitly (not defaulted).
#[derive(Debug)]
pub struct Parsed {
    pub cli: Cli,
    pub explicit_eval_flags: Vec<&'static str>,
}

/// Parses `args` (program name first) as the binary does.
pub fn parse<I, T>(args: I) -> Result<Parsed, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    let explicit_eval_flags = match matches.subcommand() {
        Some(("eval", m)) => explicit(m),
        _ => Vec::new(),
    };
    if let Command::Eval(a) = &mut cli.command {
        a.workloads_given = explicit_eval_flags.contains(&"--workloads");
    }
    Ok(Parsed {
        cli,
        explicit_eval_flags,
    })
}

fn explicit(m: &ArgMatches) -> Vec<&'static str> {
    CAMPAIGN_FLAGS
        .iter()
        .filter(|(id, _)| m.value_source(id) == Some(ValueSource::CommandLine))
        .map(|(_, flag)| *flag)
        .collect()
}

impl EvalArgs {
    /// The campaign's settings, every value checked (`crate::limits`).
    /// The error is one line naming the flag.
    pub fn settings(&self) -> Result<Settings, String> {
        if self.max_reps.is_some() && self.target_ci.is_none() {
            return Err("--max-reps: means nothing without --target-ci".into());
        }
        let commands = self.user_commands()?;
        // User commands replace the workloads unless both were asked for.
        let workloads = if commands.is_empty() || self.workloads_given {
            self.workloads.clone()
        } else {
            Vec::new()
        };
        let settings = Settings {
            workloads,
            allocators: self.allocators.clone(),
            warmup: self.warmup,
            reps: self.reps,
            target_ci: self.target_ci,
            max_reps: self
                .max_reps
                .unwrap_or_else(|| DEFAULT_MAX_REPS.max(self.reps)),
            scale: self.scale,
            threads: self.threads,
            seed: self.seed,
            noise_threshold: self.noise,
            commands,
            duration_s: match &self.duration {
                None => None,
                Some(d) => Some(limits::parse_duration(d).ok_or_else(|| {
                    format!(
                        "--duration: `{d}` is not a duration from 1s to 7 days (e.g. 90s, 10m, 2h)"
                    )
                })?),
            },
        };
        limits::check_settings(&settings).map_err(|b| format!("{}: {}", b.flag, b.why))?;
        Ok(settings)
    }
}

impl EvalArgs {
    /// The user commands of `--`, `--command` and `--suite`, in that order,
    /// every file and name checked.
    fn user_commands(&self) -> Result<Vec<UserCommand>, String> {
        let cwd = std::env::current_dir().map_err(|e| format!("current directory: {e}"))?;
        let mut out = Vec::new();
        if !self.program.is_empty() {
            let name = commands::default_name(&self.program);
            let where_ = format!("-- {}", self.program.join(" "));
            out.push(commands::make(
                &name,
                self.program.clone(),
                &self.push,
                Default::default(),
                None,
                &cwd,
                &where_,
            )?);
        }
        for c in &self.commands {
            out.push(commands::parse_command_flag(c, &self.push, &cwd)?);
        }
        if !self.push.is_empty() && out.is_empty() {
            return Err(
                "--push: applies to the commands given on the command line (-- PROGRAM or --command); a suite lists its files in each command's `push`".into(),
            );
        }
        if let Some(suite) = &self.suite {
            out.extend(commands::suite::load(suite)?);
        }
        if self.no_output_check {
            if out.is_empty() {
                return Err(
                    "--no-output-check: applies to user commands (-- PROGRAM, --command or --suite), and none was given".into(),
                );
            }
            for c in &mut out {
                c.check_output = false;
            }
        }
        commands::check_unique(&out)?;
        Ok(out)
    }
}

/// A clap error as one line (`--help` and `--version` are not errors and
/// are printed whole by the caller).
pub fn one_line_error(e: &clap::Error) -> String {
    // clap's message, without its usage block and help hint, and with the
    // lines it spreads details over (the missing flags, a tip) joined.
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    format!("{message} (see lwm --help)")
}
