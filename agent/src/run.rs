//! One measured run of a child process, and a whole invocation (warm-ups
//! and repetitions) of them.
//!
//! The launcher (see `launcher`) starts the child in its own process group
//! with stdin on /dev/null and stdout and stderr captured; a sampler thread
//! records its memory; an optional timer kills the whole group at the
//! timeout. The end of the run is the moment waitid reports the exit (not a
//! polling tick), and wait4 then reaps it with its own rusage, once the
//! agent has settled the timer and killed any leftovers of the group.

use crate::launcher::{self, Launcher, SpawnRequest};
use crate::preload;
use crate::rusage::{self, signal_name};
use crate::sampler::Sampler;
use crate::schema::{
    AllocatorInfo, LimitAsResult, MemoryTimeline, OutputTail, PreloadEvidence, PreloadStatus, Run,
    RunStatus,
};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

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

/// What a pipe reader thread collected.
struct Capture {
    tail: Vec<u8>,
    total: u64,
    /// Hash of the whole stream, not only the tail: lwm compares a user
    /// command's output across allocators.
    sha256: crate::sha256::Sha256,
    /// Lines worth keeping whole whatever the tail size: the allocator's
    /// counter line and the dynamic loader's errors.
    special: Vec<String>,
}

fn read_pipe(mut pipe: impl Read, keep: usize, forward: bool, tx: mpsc::Sender<Capture>) {
    let mut c = Capture {
        tail: Vec::new(),
        total: 0,
        sha256: crate::sha256::Sha256::new(),
        special: Vec::new(),
    };
    let mut line = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &buf[..n];
        if forward {
            let _ = std::io::stderr().write_all(chunk);
        }
        c.total += n as u64;
        c.sha256.update(chunk);
        c.tail.extend_from_slice(chunk);
        if c.tail.len() > keep.saturating_mul(2).max(8192) {
            let cut = c.tail.len() - keep;
            c.tail.drain(..cut);
        }
        for &b in chunk {
            if b == b'\n' {
                let l = String::from_utf8_lossy(&line).into_owned();
                if (l.starts_with("lwmalloc: pid=") || preload::is_loader_error(&l))
                    && c.special.len() < 64
                {
                    c.special.push(l);
                }
                line.clear();
            } else if line.len() < 4096 {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        let l = String::from_utf8_lossy(&line).into_owned();
        if l.starts_with("lwmalloc: pid=") || preload::is_loader_error(&l) {
            c.special.push(l);
        }
    }
    if c.tail.len() > keep {
        let cut = c.tail.len() - keep;
        c.tail.drain(..cut);
    }
    let _ = tx.send(c);
}

fn tail_of(c: &Option<Capture>) -> OutputTail {
    match c {
        Some(c) => OutputTail {
            total_bytes: c.total,
            truncated: c.total > c.tail.len() as u64,
            tail: String::from_utf8_lossy(&c.tail).into_owned(),
            sha256: Some(c.sha256.clone().finish_hex()),
        },
        None => OutputTail {
            total_bytes: 0,
            truncated: false,
            tail: String::new(),
            sha256: None,
        },
    }
}

/// The timeout: a thread that kills the child's process group at the
/// deadline unless told first that the child has exited. Both sides hold
/// the lock while acting, and the child is not reaped until this is
/// settled, so the kill can never reach a reused PID.
struct Timer {
    state: Arc<(Mutex<(bool, bool)>, Condvar)>, // (child exited, killed by timer)
    handle: std::thread::JoinHandle<()>,
}

impl Timer {
    fn start(pgid: i32, timeout: Duration) -> Timer {
        let state = Arc::new((Mutex::new((false, false)), Condvar::new()));
        let s2 = Arc::clone(&state);
        let handle = std::thread::spawn(move || {
            let (lock, cv) = &*s2;
            let g = lock.lock().unwrap();
            let (mut g, _) = cv.wait_timeout_while(g, timeout, |s| !s.0).unwrap();
            if !g.0 {
                // The group's leader is our unreaped child, so the group
                // is ours.
                kill_group(pgid);
                g.1 = true;
            }
        });
        Timer { state, handle }
    }

    /// Tell the timer the child exited; returns whether the timer killed it.
    fn finish(self) -> bool {
        let (lock, cv) = &*self.state;
        let killed = {
            let mut g = lock.lock().unwrap();
            g.0 = true;
            cv.notify_all();
            g.1
        };
        let _ = self.handle.join();
        killed
    }
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

/// A pipe for one of the child's output streams: (read end, write end),
/// both close-on-exec (the child gets the write end by dup2).
fn output_pipe() -> std::io::Result<(std::fs::File, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    Ok((std::fs::File::from(read), write))
}

/// SIGKILL to every process of group `pgid`; a group already gone is fine.
fn kill_group(pgid: i32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    );
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
    let env = child_env(&preload_path);
    // If the agent's directory has no name any more (deleted), "." keeps
    // the launcher's, which is the agent's: it was forked there.
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let pipes = output_pipe().and_then(|o| Ok((o, output_pipe()?)));
    let ((out_pipe, out_w), (err_pipe, err_w)) = match pipes {
        Ok(p) => p,
        Err(e) => {
            fail(
                &mut run,
                RunStatus::SpawnFailed,
                format!("cannot start {}: pipe: {e}", cfg.command[0]),
            );
            return run;
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
                &mut run,
                RunStatus::SpawnFailed,
                format!("cannot start {}: {e}", cfg.command[0]),
            );
            return run;
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

    let exited = launcher.wait_exit();
    run.wall_s = match &exited {
        Ok(end_ns) => end_ns.saturating_sub(start_ns) as f64 / 1e9,
        Err(_) => start.elapsed().as_secs_f64(),
    };
    run.timed_out = timer.map(Timer::finish).unwrap_or(false);
    let sampled = sampler.finish();
    if let Err(e) = exited {
        // The launcher is gone or waitid failed: the child may have been
        // reaped by someone else, so its group is no longer safely ours.
        fail(
            &mut run,
            RunStatus::Incomplete,
            format!("waiting for the child failed: {e}"),
        );
        return run;
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
        Err(e) => fail(
            &mut run,
            RunStatus::Incomplete,
            format!("wait4 failed: {e}"),
        ),
    }

    // Output: a descendant outside the group could hold the pipes open.
    let out = rx_out.recv_timeout(Duration::from_secs(2)).ok();
    let err = rx_err.recv_timeout(Duration::from_secs(2)).ok();
    run.stdout = tail_of(&out);
    run.stderr = tail_of(&err);
    if out.is_none() || err.is_none() {
        run.problems.push(
            "a process outside the run's process group kept its output open; output cut off".into(),
        );
    }

    // Memory timeline.
    let m = &mut run.memory;
    m.peak_rss_kib = sampled.samples.iter().filter_map(|s| s.rss_kib).max();
    m.peak_pss_kib = sampled.samples.iter().filter_map(|s| s.pss_kib).max();
    m.peak_private_dirty_kib = sampled
        .samples
        .iter()
        .filter_map(|s| s.private_dirty_kib)
        .max();
    m.last_vm_hwm_kib = sampled
        .samples
        .iter()
        .filter_map(|s| s.vm_hwm_kib)
        .next_back();
    m.samples = sampled.samples;

    // Outcome, most specific first.
    if run.timed_out {
        let t = cfg.timeout.unwrap_or_default().as_secs_f64();
        fail(
            &mut run,
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
            &mut run,
            RunStatus::Signaled,
            format!("killed by {}{core}", signal_name(sig)),
        );
    } else if let Some(code) = run.exit_code.filter(|&c| c != 0) {
        fail(
            &mut run,
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

    // Preload evidence.
    if let Some(lib) = &preload_path {
        let special = err.as_ref().map(|c| c.special.clone()).unwrap_or_default();
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
                        None => format!("{lib} was not mapped in the child: the preload did not take effect"),
                    },
                );
            }
            _ => fail(
                &mut run,
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

    if let Some(limit) = cfg.limit_as {
        run.limit_as = Some(LimitAsResult {
            limit_bytes: limit,
            survived: run.exit_code == Some(0) && run.signal.is_none() && !run.timed_out,
        });
    }

    if cfg.is_workload {
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
                &mut run,
                RunStatus::Incomplete,
                "the workload printed no JSON report line".into(),
            ),
            _ => {}
        }
    }
    run
}
