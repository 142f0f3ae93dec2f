//! `lwm`: evaluate lwmalloc against other allocators on boards.
//!
//! Exit status: 0 all good; 1 results written but some run or board failed
//! (or `compare` found a regression); 2 bad usage or configuration;
//! 130 interrupted (resume with `lwm eval --resume RUN_ID`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use lwm::campaign::{self, plan::DEFAULT_ALLOCATORS, BoardOutcome, EvalOptions};
use lwm::manifest::Settings;

#[derive(Parser)]
#[command(
    name = "lwm",
    version,
    about = "Evaluate lwmalloc against other allocators on boards"
)]
struct Cli {
    /// Workspace root (default: the one this lwm was built from).
    #[arg(long, global = true)]
    workspace: Option<PathBuf>,
    /// Directory of board profiles (default: WORKSPACE/boards).
    #[arg(long, global = true)]
    boards_dir: Option<PathBuf>,
    /// Directory of run directories (default: WORKSPACE/results).
    #[arg(long, global = true)]
    results: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, push, run every workload under every allocator, report.
    Eval(EvalArgs),
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
}

#[derive(Args)]
struct EvalArgs {
    /// Board to evaluate on (repeatable); default: local.
    #[arg(long = "board")]
    boards: Vec<String>,
    /// Workloads, comma-separated, or `all`.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    workloads: Vec<String>,
    /// Allocators, comma-separated: lwmalloc, system, names from the board
    /// profile, NAME=/path/lib.so, or `available` (the profile's allocators
    /// installed on the board).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_ALLOCATORS.iter().map(|s| s.to_string()))]
    allocators: Vec<String>,
    /// Measured repetitions per workload and allocator (the minimum with --target-ci).
    #[arg(long, default_value_t = 5)]
    reps: u32,
    /// Warm-up runs per workload and allocator (recorded, not summarised).
    #[arg(long, default_value_t = 1)]
    warmup: u32,
    /// Add repetitions until the 95 % CI of each median time is within this
    /// fraction of it (e.g. 0.02), up to --max-reps.
    #[arg(long)]
    target_ci: Option<f64>,
    /// Cap on repetitions with --target-ci.
    #[arg(long, default_value_t = 30)]
    max_reps: u32,
    /// Workload size multiplier (1.0: about 10-30 s per workload on a Pi 4).
    #[arg(long, default_value_t = 0.2)]
    scale: f64,
    /// Threads for multi-threaded workloads.
    #[arg(long, default_value_t = 4)]
    threads: u32,
    /// Seed of every workload's random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Relative difference below which a verdict says "no difference".
    #[arg(long, default_value_t = 0.02)]
    noise: f64,
    /// Continue an interrupted campaign (its settings are reused).
    #[arg(long, value_name = "RUN_ID")]
    resume: Option<String>,
    /// Name of the run directory (default: UTC time and board names).
    #[arg(long)]
    run_id: Option<String>,
    /// No progress bars.
    #[arg(long)]
    no_progress: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let workspace = cli
        .workspace
        .clone()
        .unwrap_or_else(lwm::build::default_workspace);
    let boards_dir = cli
        .boards_dir
        .clone()
        .unwrap_or_else(|| workspace.join("boards"));
    let results = cli
        .results
        .clone()
        .unwrap_or_else(|| workspace.join("results"));
    let code = match cli.command {
        Command::Eval(a) => eval(a, workspace, boards_dir, results),
        Command::Build { targets, boards } => build(&workspace, &boards_dir, targets, boards),
        Command::Compare {
            run_a,
            run_b,
            noise,
        } => {
            match lwm::compare::compare(
                &run_path(&results, &run_a),
                &run_path(&results, &run_b),
                noise,
            ) {
                Ok((text, regression)) => {
                    print!("{text}");
                    if regression {
                        1
                    } else {
                        0
                    }
                }
                Err(e) => fail(e),
            }
        }
        Command::Report { run } => match lwm::report::write_reports(&run_path(&results, &run)) {
            Ok(table) => {
                print!("{table}");
                0
            }
            Err(e) => fail(e),
        },
        Command::Boards => boards(&boards_dir),
    };
    ExitCode::from(code)
}

fn fail(e: impl std::fmt::Display) -> u8 {
    eprintln!("lwm: {e:#}");
    2
}

fn run_path(results: &Path, run: &str) -> PathBuf {
    let p = PathBuf::from(run);
    if p.components().count() > 1 || p.exists() {
        p
    } else {
        results.join(run)
    }
}

fn eval(a: EvalArgs, workspace: PathBuf, boards_dir: PathBuf, results_dir: PathBuf) -> u8 {
    if a.reps == 0 {
        return fail("--reps must be at least 1");
    }
    if !(a.scale > 0.0 && a.scale.is_finite()) {
        return fail("--scale must be a positive number");
    }
    if let Some(t) = a.target_ci {
        if !(t > 0.0 && t < 1.0) {
            return fail("--target-ci must be between 0 and 1 (e.g. 0.02)");
        }
    }
    let settings = Settings {
        workloads: a.workloads,
        allocators: a.allocators,
        warmup: a.warmup,
        reps: a.reps,
        target_ci: a.target_ci,
        max_reps: a.max_reps.max(a.reps),
        scale: a.scale,
        threads: a.threads.max(1),
        seed: a.seed,
        noise_threshold: a.noise,
    };
    let opts = EvalOptions {
        workspace,
        boards_dir,
        results_dir,
        boards: a.boards,
        settings,
        resume: a.resume,
        run_id: a.run_id,
        progress: !a.no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let outcome = match runtime.block_on(campaign::eval(opts)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let dir = outcome.run_dir.display().to_string();
    let report = lwm::report::write_reports(&outcome.run_dir);
    match &report {
        Ok(table) => print!("{table}"),
        Err(e) => eprintln!("lwm: reports not written: {e:#} (raw results are in {dir})"),
    }
    for (name, o) in &outcome.boards {
        match o {
            BoardOutcome::Done { runs, failed_runs } => {
                eprintln!("lwm: board {name}: {runs} runs, {failed_runs} failed")
            }
            BoardOutcome::Failed(e) => eprintln!("lwm: {e}"),
            BoardOutcome::Interrupted => eprintln!("lwm: board {name}: interrupted"),
        }
    }
    eprintln!("lwm: results in {dir}");
    if outcome.interrupted() {
        let id = outcome
            .run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(dir);
        eprintln!("lwm: continue with: lwm eval --resume {id}");
        return 130;
    }
    if outcome.all_ok() && report.is_ok() {
        0
    } else {
        1
    }
}

fn build(workspace: &Path, boards_dir: &Path, targets: Vec<String>, boards: Vec<String>) -> u8 {
    let mut jobs: Vec<(String, Option<lwm::board::BoardProfile>)> =
        targets.into_iter().map(|t| (t, None)).collect();
    for name in boards {
        match lwm::board::load(boards_dir, &name) {
            Ok(b) => {
                let t = if b.target == "host" {
                    lwm::build::host_triple()
                } else {
                    b.target.clone()
                };
                jobs.push((t, Some(b)));
            }
            Err(e) => return fail(e),
        }
    }
    if jobs.is_empty() {
        jobs.push((lwm::build::host_triple(), None));
    }
    let mut all = Vec::new();
    for (target, board) in jobs {
        let opts = lwm::build::BuildOptions {
            workspace: workspace.to_path_buf(),
            target: target.clone(),
        };
        let artifacts = match lwm::build::build(&opts, &|m| eprintln!("lwm: {m}")) {
            Ok(a) => a,
            Err(e) => return fail(format!("build for {target} failed: {e:#}")),
        };
        if let Some(b) = &board {
            for path in [
                &artifacts.liblwmalloc,
                &artifacts.agent,
                &artifacts.workload,
            ] {
                match lwm::gate::check(path, b) {
                    Ok(r) => eprintln!(
                        "lwm: gate passed for board {}: {} ({})",
                        b.name, r.artifact, r.isa
                    ),
                    Err(e) => {
                        eprintln!("lwm: {e}");
                        return 1;
                    }
                }
            }
        }
        all.push(artifacts);
    }
    print!("{}", lwm::build::footprint_table(&all));
    0
}

fn boards(boards_dir: &Path) -> u8 {
    let names = match lwm::board::board_names(boards_dir) {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    let mut bad = false;
    for n in names {
        match lwm::board::load(boards_dir, &n) {
            Ok(b) => {
                let how = match &b.transport {
                    lwm::board::Transport::Local => "local".to_string(),
                    lwm::board::Transport::Ssh(s) => {
                        format!("ssh {}@{}:{}", s.user, s.host, s.port)
                    }
                    lwm::board::Transport::Vm(v) => format!("qemu vm, image {}", v.image),
                    lwm::board::Transport::Container(c) => {
                        format!("docker container, image {}", c.image)
                    }
                };
                println!("{:<18} {:<32} {:<14} {how}", b.name, b.target, b.cpu);
            }
            Err(e) => {
                eprintln!("lwm: {e}");
                bad = true;
            }
        }
    }
    if bad {
        2
    } else {
        0
    }
}
