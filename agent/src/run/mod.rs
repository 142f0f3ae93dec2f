//! One measured run of a child process, and a whole invocation (warm-ups
//! and repetitions) of them.
//!
//! The launcher (see `launcher`) starts the child in its own process group
//! with stdin on /dev/null and stdout and stderr captured; a sampler thread
//! records its memory; an optional timer kills the whole group at the
//! timeout. The end of the run is the moment waitid reports the exit (not a
//! polling tick), and wait4 then reaps it with its own rusage, once the
//! agent has settled the timer and killed any leftovers of the group.

mod output;
mod timer;
mod verdict;

use crate::launcher::{self, Launcher, SpawnRequest};
use crate::rusage::{self, signal_name};
use crate::sampler::{Sampler, SamplerOutput};
use crate::schema::{AllocatorInfo, MemoryTimeline, Run, RunStatus};
use output::{output_pipe, read_pipe, tail_of, Capture};
use std::ffi::OsString;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use timer::{kill_group, Timer};

pub struct RunConfig {
    /// Program (a resolved path) and its arguments.
    pub command: Vec<String>,
    pub allocator: AllocatorInfo,
    pub timeout: Option<Duration>,
    pub interval: Duration,
    pub limit_as: Option<u64>,
    pub tail_bytes: usize,
    pub forward_stderr: bool,
    pub is_workload: bool,
}

/// Run the command once, started by `launcher`, and measure it.
pub fn run_once(
    cfg: &RunConfig,
    index: u32,
    warmup: bool,
    agent_exe: &Option<PathBuf>,
    launcher: &mut Launcher,
) -> Run {
    let mut run = empty_run(index, warmup, cfg.interval);
    let preload_path = cfg.allocator.resolved_path.clone();
    let Some(child) = start(cfg, &mut run, &preload_path, agent_exe, launcher) else {
        return run;
    };
    let pid = child.pid;
    let Some(ended) = wait_and_reap(child, &mut run, launcher) else {
        return run;
    };
    let mut sampled = ended.sampled;
    let err = collect_output(&mut run, &ended.stdout, &ended.stderr);
    verdict::record_memory(&mut run.memory, std::mem::take(&mut sampled.samples));
    verdict::judge_exit(&mut run, cfg, pid, &ended.leftovers);
    if let Some(lib) = &preload_path {
        let special = err.map(|c| c.special).unwrap_or_default();
        verdict::record_preload(&mut run, lib, pid, &special, &sampled);
    }
    if let Some(limit) = cfg.limit_as {
        verdict::record_limit_as(&mut run, limit);
    }
    if cfg.is_workload {
        verdict::record_workload_report(&mut run);
    }
    run
}

/// A child that has been started, and what watches it.
struct Started {
    pid: i32,
    start: Instant,
    start_ns: u64,
    sampler: Sampler,
    stdout: mpsc::Receiver<Capture>,
    stderr: mpsc::Receiver<Capture>,
    timer: Option<Timer>,
}

/// A child that has exited and been reaped.
struct Ended {
    sampled: SamplerOutput,
    /// Processes of its group still running at its exit, now killed.
    leftovers: Vec<i32>,
    stdout: mpsc::Receiver<Capture>,
    stderr: mpsc::Receiver<Capture>,
}

/// Starts the child with its output piped to reader threads, its memory
/// sampled and its timeout set; None if it could not be started (the run
/// says why).
fn start(
    cfg: &RunConfig,
    run: &mut Run,
    preload_path: &Option<String>,
    agent_exe: &Option<PathBuf>,
    launcher: &mut Launcher,
) -> Option<Started> {
    let env = child_env(preload_path);
    // If the agent's directory has no name any more (deleted), "." keeps
    // the launcher's, which is the agent's: it was forked there.
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let pipes = output_pipe().and_then(|o| Ok((o, output_pipe()?)));
    let ((out_pipe, out_w), (err_pipe, err_w)) = match pipes {
        Ok(p) => p,
        Err(e) => {
            fail(
                run,
                RunStatus::SpawnFailed,
                format!("cannot start {}: pipe: {e}", cfg.command[0]),
            );
            return None;
        }
    };

    let start = Instant::now();
    let start_ns = launcher::monotonic_ns();
    let spawned = launcher.spawn(&SpawnRequest {
        argv: &cfg.command,
        env: &env,
        cwd: &cwd,
        limit_as: cfg.limit_as,
        stdout: out_w.as_fd(),
        stderr: err_w.as_fd(),
    });
    // Only the child (and the launcher, until it has forked) may hold the
    // write ends, or the readers would never see EOF.
    drop((out_w, err_w));
    let pid = match spawned {
        Ok(s) => {
            run.max_rss_floor_kib = s.floor_kib;
            s.pid
        }
        Err(e) => {
            fail(
                run,
                RunStatus::SpawnFailed,
                format!("cannot start {}: {e}", cfg.command[0]),
            );
            return None;
        }
    };
    run.pid = Some(pid);
    let sampler = Sampler::start(
        pid,
        start,
        cfg.interval,
        preload_path.clone(),
        agent_exe.clone(),
    );
    let (tx_out, rx_out) = mpsc::channel();
    let (tx_err, rx_err) = mpsc::channel();
    let keep = cfg.tail_bytes;
    // stdout keeps at least 1 MiB for workloads: their report line must survive.
    let keep_out = if cfg.is_workload {
        keep.max(1 << 20)
    } else {
        keep
    };
    std::thread::spawn(move || read_pipe(out_pipe, keep_out, false, tx_out));
    let forward = cfg.forward_stderr;
    std::thread::spawn(move || read_pipe(err_pipe, keep, forward, tx_err));
    let timer = cfg.timeout.map(|t| Timer::start(pid, t));
    Some(Started {
        pid,
        start,
        start_ns,
        sampler,
        stdout: rx_out,
        stderr: rx_err,
        timer,
    })
}

/// Waits for the child's exit (the end of its wall time), settles the
/// timer and the sampler, kills what is left of its group and reaps it
/// with its rusage; None if waiting failed (the run says why).
fn wait_and_reap(child: Started, run: &mut Run, launcher: &mut Launcher) -> Option<Ended> {
    let pid = child.pid;
    let exited = launcher.wait_exit();
    run.wall_s = match &exited {
        Ok(end_ns) => end_ns.saturating_sub(child.start_ns) as f64 / 1e9,
        Err(_) => child.start.elapsed().as_secs_f64(),
    };
    run.timed_out = child.timer.map(Timer::finish).unwrap_or(false);
    let sampled = child.sampler.finish();
    if let Err(e) = exited {
        // The launcher is gone or waitid failed: the child may have been
        // reaped by someone else, so its group is no longer safely ours.
        fail(
            run,
            RunStatus::Incomplete,
            format!("waiting for the child failed: {e}"),
        );
        return None;
    }

    // The leader has exited but is not reaped, so its PID (= the group ID)
    // is still ours. Anything left in the group would run on into the
    // next measurement: kill it and say so.
    let leftovers = rusage::group_members(pid, pid);
    if !leftovers.is_empty() || run.timed_out {
        // As in Timer: the group is ours while its leader is unreaped.
        kill_group(pid);
    }
    match launcher.reap() {
        Ok(r) => {
            run.rusage = Some(r.rusage);
            use nix::sys::wait::WaitStatus;
            match WaitStatus::from_raw(nix::unistd::Pid::from_raw(pid), r.status) {
                Ok(WaitStatus::Exited(_, code)) => run.exit_code = Some(code),
                Ok(WaitStatus::Signaled(_, sig, core)) => {
                    run.signal = Some(sig as i32);
                    run.signal_name = Some(signal_name(sig as i32));
                    run.core_dumped = core;
                }
                _ => {}
            }
        }
        Err(e) => fail(run, RunStatus::Incomplete, format!("wait4 failed: {e}")),
    }
    Some(Ended {
        sampled,
        leftovers,
        stdout: child.stdout,
        stderr: child.stderr,
    })
}

/// The tails of the child's stdout and stderr into the run; returns what
/// was read from stderr.
fn collect_output(
    run: &mut Run,
    stdout: &mpsc::Receiver<Capture>,
    stderr: &mpsc::Receiver<Capture>,
) -> Option<Capture> {
    // A descendant outside the group could hold the pipes open.
    let out = stdout.recv_timeout(Duration::from_secs(2)).ok();
    let err = stderr.recv_timeout(Duration::from_secs(2)).ok();
    run.stdout = tail_of(&out);
    run.stderr = tail_of(&err);
    if out.is_none() || err.is_none() {
        run.problems.push(
            "a process outside the run's process group kept its output open; output cut off".into(),
        );
    }
    err
}

fn empty_run(index: u32, warmup: bool, interval: Duration) -> Run {
    Run {
        index,
        warmup,
        pid: None,
        max_rss_floor_kib: None,
        status: RunStatus::Ok,
        ok: true,
        problems: Vec::new(),
        exit_code: None,
        signal: None,
        signal_name: None,
        core_dumped: false,
        timed_out: false,
        wall_s: 0.0,
        rusage: None,
        memory: MemoryTimeline {
            interval_ms: interval.as_millis() as u64,
            samples: Vec::new(),
            peak_rss_kib: None,
            peak_pss_kib: None,
            peak_private_dirty_kib: None,
            last_vm_hwm_kib: None,
        },
        preload: None,
        limit_as: None,
        workload_report: None,
        stdout: tail_of(&None),
        stderr: tail_of(&None),
        outliers: Vec::new(),
    }
}

fn fail(run: &mut Run, status: RunStatus, problem: String) {
    if run.ok {
        run.status = status;
    }
    run.ok = false;
    run.problems.push(problem);
}

/// The child's environment: the agent's, without an inherited LD_PRELOAD
/// (it must never leak into a "system" run), plus the allocator's.
fn child_env(preload: &Option<String>) -> Vec<OsString> {
    let mut env: Vec<OsString> = std::env::vars_os()
        .filter(|(k, _)| k != "LD_PRELOAD" && (preload.is_none() || k != "LWM_STATS"))
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect();
    if let Some(lib) = preload {
        env.push(format!("LD_PRELOAD={lib}").into());
        env.push("LWM_STATS=1".into());
    }
    env
}
