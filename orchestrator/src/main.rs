//! `lwm`: evaluate lwmalloc against other allocators on boards.
//!
//! Exit status: 0 all good; 1 results written but some run or board failed
//! (or `compare` found a regression); 2 bad usage or configuration;
//! 130 interrupted (resume with `lwm eval --resume RUN_ID`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lwm::campaign::{self, BoardOutcome, EvalOptions};
use lwm::cli::{exit_code, Command, EvalArgs};

fn main() -> ExitCode {
    let parsed = match lwm::cli::parse(std::env::args_os()) {
        Ok(p) => p,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::from(exit_code::OK);
        }
        Err(e) => {
            eprintln!("lwm: {}", lwm::cli::one_line_error(&e));
            return ExitCode::from(exit_code::USAGE);
        }
    };
    let cli = parsed.cli;
    let workspace = cli.workspace_root();
    let boards_dir = cli.boards_root();
    let results = cli.results_root();
    let code = match cli.command {
        Command::Eval(a) => eval(
            *a,
            parsed.explicit_eval_flags,
            workspace,
            boards_dir,
            results,
        ),
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
                        exit_code::FAILED
                    } else {
                        exit_code::OK
                    }
                }
                Err(e) => fail(e),
            }
        }
        Command::Report { run } => {
            let dir = run_path(&results, &run);
            match lwm::report::write_reports_of(&dir) {
                Ok(written) => {
                    print!("{}", written.table);
                    print_headlines(&written, &dir);
                    exit_code::OK
                }
                Err(e) => fail(e),
            }
        }
        Command::Boards => boards(&boards_dir),
        Command::Qualify(a) => lwm::qualify::command::run(*a, &workspace, &boards_dir, &results),
        Command::Needs { args } => needs(args),
    };
    ExitCode::from(code)
}

/// Bad usage or configuration: one line, exit 2.
fn fail(e: impl std::fmt::Display) -> u8 {
    eprintln!("lwm: {e:#}");
    exit_code::USAGE
}

fn run_path(results: &Path, run: &str) -> PathBuf {
    let p = PathBuf::from(run);
    if p.components().count() > 1 || p.exists() {
        p
    } else {
        results.join(run)
    }
}

fn eval(
    a: EvalArgs,
    explicit_flags: Vec<&'static str>,
    workspace: PathBuf,
    boards_dir: PathBuf,
    results_dir: PathBuf,
) -> u8 {
    // Every value checked before a board or a run directory is touched.
    let settings = match a.settings() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let opts = EvalOptions {
        workspace,
        boards_dir,
        results_dir,
        boards: a.boards,
        settings,
        resume: a.resume,
        explicit_flags,
        extend: a.extend,
        run_id: a.run_id,
        labgrid_coordinator: a.labgrid_coordinator,
        progress: !a.no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        library: None,
        interrupt_hint: None,
    };
    let outcome = match campaign::eval(opts) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let dir = outcome.run_dir.display().to_string();
    let report = lwm::report::write_reports_of(&outcome.run_dir);
    match &report {
        Ok(written) => print!("{}", written.table),
        Err(e) => eprintln!("lwm: reports not written: {e:#} (raw results are in {dir})"),
    }
    // Whether `--resume` has something to do once the cause is fixed: a
    // failed board, or runs that left no result.
    let mut resumable = false;
    for (name, o) in &outcome.boards {
        match o {
            BoardOutcome::Done {
                runs,
                failed_runs,
                no_result,
            } => {
                resumable |= *no_result > 0;
                eprintln!("lwm: board {name}: {runs} runs, {failed_runs} failed")
            }
            BoardOutcome::Failed(e) => {
                resumable = true;
                eprintln!("lwm: {e}")
            }
            BoardOutcome::Interrupted => eprintln!("lwm: board {name}: interrupted"),
        }
    }
    let id = outcome
        .run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.clone());
    if let Some(e) = &outcome.first_write_error {
        eprintln!("lwm: first failed write: {e} (free space, then: lwm eval --resume {id})");
    }
    eprintln!("lwm: results in {dir}");
    if outcome.interrupted() {
        eprintln!("lwm: continue with: lwm eval --resume {id}");
    } else if resumable && outcome.first_write_error.is_none() {
        eprintln!(
            "lwm: runs are missing; once the board is fixed, make them with: lwm eval --resume {id}"
        );
    }
    if let Ok(written) = &report {
        print_headlines(written, &outcome.run_dir);
    }
    if outcome.interrupted() {
        return exit_code::INTERRUPTED;
    }
    if outcome.all_ok() && report.is_ok() {
        exit_code::OK
    } else {
        exit_code::FAILED
    }
}

/// The closing line per board (the headline and where the report is), on
/// stderr with the other closing lines, so that stdout stays report.txt.
fn print_headlines(written: &lwm::report::Written, run_dir: &Path) {
    for line in lwm::report::board_headlines(&written.summary, run_dir) {
        eprintln!("lwm: {line}");
    }
}

fn build(workspace: &Path, boards_dir: &Path, targets: Vec<String>, boards: Vec<String>) -> u8 {
    let mut jobs: Vec<(String, Option<lwm::board::BoardProfile>)> =
        targets.into_iter().map(|t| (t, None)).collect();
    for name in boards {
        match lwm::provider::labgrid::describe_board(boards_dir, &name, None) {
            Ok(b) => {
                // The gate checks against the board's real triple, as a
                // campaign's does.
                let b = b.with_host_resolved();
                jobs.push((b.target.clone(), Some(b)));
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
                        return exit_code::FAILED;
                    }
                }
            }
        }
        all.push(artifacts);
    }
    print!("{}", lwm::build::footprint_table(&all));
    exit_code::OK
}

/// `lwm needs ARGS`: what `./lwm ARGS` must install first (see needs.rs).
fn needs(args: Vec<std::ffi::OsString>) -> u8 {
    let argv = std::iter::once(std::ffi::OsString::from("lwm")).chain(args);
    if let Ok(parsed) = lwm::cli::parse(argv) {
        let cli = parsed.cli;
        for need in lwm::needs::of(&cli, &cli.boards_root(), &lwm::build::host_triple()) {
            println!("{}", need.name());
        }
    }
    exit_code::OK
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
                let how = match (&b.provider, &b.access) {
                    (Some(p), _) => p.provider().describe(),
                    (None, lwm::board::Access::Local) => "local".to_string(),
                    (None, lwm::board::Access::Ssh(s)) => s.as_ref().map_or("ssh".into(), |s| {
                        format!("ssh {}@{}:{}", s.user, s.host, s.port)
                    }),
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
        exit_code::USAGE
    } else {
        exit_code::OK
    }
}
