//! A whole `lwm-agent run`: check the inputs, record the environment once,
//! do the warm-ups and the measured repetitions, summarise.

use crate::environment;
use crate::launcher::Launcher;
use crate::preload;
use crate::run::{run_once, RunConfig};
use crate::schema::{
    AgentInfo, AllocatorKind, Invocation, Run, RunDocument, Summary, SummaryStatus, RUN_SCHEMA,
    SCHEMA_VERSION,
};
use crate::stats;
use lwm_contract::request::{RunRequest, RunTarget};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The agent's identity and memory; `launcher` for run documents.
pub fn agent_info(launcher: Option<&Launcher>) -> AgentInfo {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    AgentInfo {
        name: "lwm-agent".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        pid: std::process::id(),
        max_rss_kib: status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok()),
        launcher_max_rss_kib: launcher.and_then(Launcher::max_rss_kib),
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A program name as execvp would find it.
pub fn resolve_program(name: &str) -> Result<PathBuf, String> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        if !p.exists() {
            return Err(format!("command {name}: no such file"));
        }
        if !is_executable(&p) {
            return Err(format!("command {name}: not an executable file"));
        }
        return Ok(p);
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    path.split(':')
        .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("command {name}: not found on PATH"))
}

/// lwm-workload: --workload-bin, else next to this agent, else on PATH.
fn resolve_runner(explicit: &Option<String>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return resolve_program(
            if p.contains('/') {
                p.clone()
            } else {
                format!("./{p}")
            }
            .as_str(),
        );
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let p = dir.join("lwm-workload");
        if is_executable(&p) {
            return Ok(p);
        }
    }
    resolve_program("lwm-workload").map_err(|_| {
        "workload runner lwm-workload: not found next to lwm-agent or on PATH (use --workload-bin PATH)".to_string()
    })
}

fn check_workload_name(runner: &Path, name: &str) -> Result<(), String> {
    let out = std::process::Command::new(runner)
        .arg("list")
        .env_remove("LD_PRELOAD")
        .output()
        .map_err(|e| format!("workload runner {}: {e}", runner.display()))?;
    let names = String::from_utf8_lossy(&out.stdout);
    if names.lines().any(|l| l.trim() == name) {
        Ok(())
    } else {
        Err(format!(
            "unknown workload '{name}' (known: {})",
            names.split_whitespace().collect::<Vec<_>>().join(", ")
        ))
    }
}

/// A statically linked program ignores LD_PRELOAD: measuring it "under"
/// an allocator would be a silent lie.
fn check_dynamic(program: &Path) -> Result<(), String> {
    if has_interpreter(program) == Some(false) {
        return Err(format!(
            "{}: statically linked: LD_PRELOAD cannot replace its allocator",
            program.display()
        ));
    }
    Ok(())
}

/// Whether the ELF program at `path` names an interpreter (PT_INTERP);
/// None if it is not ELF or its program headers lie past `elf::file_head`.
fn has_interpreter(path: &Path) -> Option<bool> {
    let head = crate::elf::file_head(path)?;
    let elf = crate::elf::Elf::parse_head(&head).ok()?;
    Some(elf.interpreter.is_some())
}

/// Everything up to the first run; errors are one line naming the culprit.
pub fn prepare(opts: &RunRequest) -> Result<(RunConfig, Option<String>), String> {
    let allocator = preload::inspect(&opts.allocator)?;
    let (command, workload) = match &opts.target {
        RunTarget::Workload(workload) => {
            let runner = resolve_runner(&workload.runner)?;
            check_workload_name(&runner, &workload.name)?;
            let mut c = vec![runner.to_string_lossy().into_owned(), workload.name.clone()];
            c.extend(workload.options_argv());
            (c, Some(workload.name.clone()))
        }
        RunTarget::Command(argv) => {
            let prog = resolve_program(&argv[0])?;
            let mut c = vec![prog.to_string_lossy().into_owned()];
            c.extend(argv[1..].iter().cloned());
            (c, None)
        }
    };
    if allocator.kind == AllocatorKind::Preload {
        check_dynamic(Path::new(&command[0]))?;
    }
    Ok((
        RunConfig {
            command,
            allocator,
            timeout: opts.timeout,
            interval: opts.interval,
            limit_as: opts.limit_as,
            tail_bytes: opts.tail_bytes,
            forward_stderr: opts.forward_stderr,
            is_workload: workload.is_some(),
        },
        workload,
    ))
}

fn summarise(runs: &mut [Run], cfg: &RunConfig) -> Summary {
    let measured: Vec<usize> = (0..runs.len()).filter(|&i| !runs[i].warmup).collect();
    let ok: Vec<usize> = measured.iter().copied().filter(|&i| runs[i].ok).collect();
    let mut problems = Vec::new();
    for r in runs.iter() {
        for p in &r.problems {
            problems.push(format!(
                "run {}{}: {p}",
                r.index,
                if r.warmup { " (warm-up)" } else { "" }
            ));
        }
    }
    let mut warnings = Vec::new();
    if cfg.allocator.exports_malloc == Some(false) {
        warnings.push("the allocator library does not export malloc: it replaces nothing".into());
    }
    if let Some(v) = &cfg.allocator.inherited_ld_preload {
        warnings.push(format!(
            "LD_PRELOAD={v} was set in the agent's environment and removed for the child"
        ));
    }

    type Get = fn(&Run) -> Option<f64>;
    let metrics: [(&str, &str, Get); 10] = [
        ("wall_s", "s", |r| Some(r.wall_s)),
        ("user_s", "s", |r| r.rusage.as_ref().map(|u| u.user_s)),
        ("sys_s", "s", |r| r.rusage.as_ref().map(|u| u.sys_s)),
        ("max_rss_kib", "KiB", |r| {
            r.rusage.as_ref().map(|u| u.max_rss_kib as f64)
        }),
        ("peak_rss_kib", "KiB", |r| {
            r.memory.peak_rss_kib.map(|v| v as f64)
        }),
        ("peak_pss_kib", "KiB", |r| {
            r.memory.peak_pss_kib.map(|v| v as f64)
        }),
        ("minor_faults", "count", |r| {
            r.rusage.as_ref().map(|u| u.minor_faults as f64)
        }),
        ("major_faults", "count", |r| {
            r.rusage.as_ref().map(|u| u.major_faults as f64)
        }),
        ("voluntary_ctx_switches", "count", |r| {
            r.rusage.as_ref().map(|u| u.voluntary_ctx_switches as f64)
        }),
        ("involuntary_ctx_switches", "count", |r| {
            r.rusage.as_ref().map(|u| u.involuntary_ctx_switches as f64)
        }),
    ];
    let mut out = Vec::new();
    for (name, unit, get) in metrics {
        let pairs: Vec<(f64, usize)> = ok
            .iter()
            .filter_map(|&i| get(&runs[i]).map(|v| (v, i)))
            .collect();
        let values: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let idx: Vec<u32> = pairs.iter().map(|p| runs[p.1].index).collect();
        if let Some(m) = stats::metric(name, unit, &values, &idx) {
            for &o in &m.outlier_runs {
                if let Some(r) = runs.iter_mut().find(|r| r.index == o) {
                    r.outliers.push(name.to_string());
                }
            }
            out.push(m);
        }
    }

    // Same seed, same work: every report must carry the same counts and checksum.
    let workload_consistent = cfg.is_workload.then(|| {
        let keys: Vec<_> = runs
            .iter()
            .filter_map(|r| r.workload_report.as_ref())
            .map(|v| (v.get("ops").cloned(), v.get("checksum").cloned()))
            .collect();
        keys.windows(2).all(|w| w[0] == w[1])
    });
    if workload_consistent == Some(false) {
        problems.push("workload runs disagree on their counts or checksum".into());
    }
    let failed = measured.len() - ok.len();
    let all_ok = runs.iter().all(|r| r.ok) && workload_consistent != Some(false);
    Summary {
        status: if all_ok {
            SummaryStatus::Ok
        } else {
            SummaryStatus::Failed
        },
        measured_runs: measured.len() as u32,
        ok_runs: ok.len() as u32,
        failed_runs: failed as u32,
        warnings,
        problems,
        workload_consistent,
        metrics: out,
    }
}

fn progress(r: &Run, what: String) {
    let rss = r.rusage.as_ref().map(|u| u.max_rss_kib).unwrap_or(0);
    let verdict = if r.ok {
        "ok".to_string()
    } else {
        format!(
            "{}: {}",
            r.status.as_str().to_uppercase(),
            r.problems.join("; ")
        )
    };
    eprintln!(
        "lwm-agent: {what}: {verdict}, wall {:.3} s, max RSS {rss} KiB",
        r.wall_s
    );
}

/// Do the whole invocation; `argv`, the command line `opts` was read from,
/// is recorded in the document. `launcher` should be started at the very
/// beginning of the process (see `launcher`); if None, one is started now,
/// from a bigger process, and the runs' floors show it.
pub fn execute(
    argv: &[String],
    opts: &RunRequest,
    launcher: Option<Launcher>,
) -> Result<RunDocument, String> {
    let mut launcher = match launcher {
        Some(l) => l,
        None => Launcher::start().map_err(|e| format!("cannot start the launcher process: {e}"))?,
    };
    if let Some(dir) = &opts.cwd {
        // The children inherit it; a relative program path resolves in it.
        std::fs::create_dir_all(dir)
            .and_then(|()| std::env::set_current_dir(dir))
            .map_err(|e| format!("option --cwd {dir}: {e}"))?;
    }
    let (cfg, workload) = prepare(opts)?;
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let environment = environment::collect();
    let agent_exe = std::fs::canonicalize("/proc/self/exe").ok();
    let mut runs = Vec::new();
    for w in 0..opts.warmup {
        let r = run_once(&cfg, w, true, &agent_exe, &mut launcher);
        if !opts.quiet {
            progress(&r, format!("warm-up {}/{}", w + 1, opts.warmup));
        }
        runs.push(r);
    }
    for i in 0..opts.reps {
        let r = run_once(&cfg, opts.warmup + i, false, &agent_exe, &mut launcher);
        if !opts.quiet {
            progress(&r, format!("run {}/{}", i + 1, opts.reps));
        }
        runs.push(r);
    }
    let summary = summarise(&mut runs, &cfg);
    Ok(RunDocument {
        schema: RUN_SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        agent: agent_info(Some(&launcher)),
        started_unix_ms,
        invocation: Invocation {
            argv: argv.to_vec(),
            cwd: std::env::current_dir()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default(),
            command: cfg.command.clone(),
            workload,
            reps: opts.reps,
            warmup: opts.warmup,
            timeout_s: opts.timeout.map(|t| t.as_secs_f64()),
            sample_interval_ms: opts.interval.as_millis() as u64,
            limit_as_bytes: opts.limit_as,
            output_tail_bytes: opts.tail_bytes as u64,
        },
        allocator: cfg.allocator,
        environment,
        runs,
        summary,
    })
}
