//! The memory timeline: a thread that reads /proc/PID/smaps_rollup and
//! /proc/PID/status at a fixed interval while the child runs, and looks
//! for the preloaded library in /proc/PID/maps.
//!
//! Race rules: the main thread stops this sampler before it reaps the
//! child (while the child is at worst a zombie), so the PID cannot have
//! been reused by another process during any read. Reads that fail because
//! the process is exiting are not errors: that sample is simply absent.

use crate::schema::MemorySample;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Before the preload is seen, look this often for this long: short
/// programs must not exit before the first look.
const FAST_POLL: Duration = Duration::from_millis(1);
const FAST_POLL_FOR: Duration = Duration::from_millis(100);

pub struct SamplerOutput {
    pub samples: Vec<MemorySample>,
    /// See PreloadEvidence::mapped.
    pub mapped: Option<bool>,
    pub mapped_at_ms: Option<f64>,
}

pub struct Sampler {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: JoinHandle<SamplerOutput>,
}

fn field_kib(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// One reading of the child's memory, or None if it has no memory now
/// (not yet exec'd, exiting, or gone).
pub fn read_sample(pid: i32, t_ms: f64) -> Option<MemorySample> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let s = MemorySample {
        t_ms,
        rss_kib: field_kib(&rollup, "Rss"),
        pss_kib: field_kib(&rollup, "Pss"),
        private_dirty_kib: field_kib(&rollup, "Private_Dirty"),
        vm_rss_kib: field_kib(&status, "VmRSS"),
        vm_hwm_kib: field_kib(&status, "VmHWM"),
        vm_size_kib: field_kib(&status, "VmSize"),
        threads: field_kib(&status, "Threads"),
    };
    (s.vm_rss_kib.is_some() || s.rss_kib.is_some()).then_some(s)
}

/// Has the child replaced the agent's image with the program's?
fn exec_done(pid: i32, agent_exe: &Option<PathBuf>) -> bool {
    match (fs::read_link(format!("/proc/{pid}/exe")), agent_exe) {
        (Ok(exe), Some(agent)) => &exe != agent,
        (Ok(_), None) => true,
        (Err(_), _) => false,
    }
}

/// Some(true) if `lib` is mapped; Some(false) if shared libraries other
/// than the dynamic loader are mapped but not `lib` (the loader handles
/// LD_PRELOAD before any needed library, so that is final); None if too
/// early to tell.
pub fn check_maps(pid: i32, lib: &str) -> Option<bool> {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let mut other_libs = false;
    for line in maps.lines() {
        let Some(path) = line.split_whitespace().nth(5) else {
            continue;
        };
        if path == lib {
            return Some(true);
        }
        if path.contains(".so")
            && !path.contains("/ld-linux")
            && !path.contains("/ld-musl")
            && !path.contains("/ld64.so")
        {
            other_libs = true;
        }
    }
    other_libs.then_some(false)
}

impl Sampler {
    pub fn start(
        pid: i32,
        start: Instant,
        interval: Duration,
        preload: Option<String>,
        agent_exe: Option<PathBuf>,
    ) -> Sampler {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stop2 = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut out = SamplerOutput {
                samples: Vec::new(),
                mapped: None,
                mapped_at_ms: None,
            };
            loop {
                let t = start.elapsed();
                let t_ms = t.as_secs_f64() * 1000.0;
                let execd = exec_done(pid, &agent_exe);
                if execd {
                    if let Some(s) = read_sample(pid, t_ms) {
                        out.samples.push(s);
                    }
                    if let (Some(lib), false) = (&preload, out.mapped == Some(true)) {
                        if let Some(m) = check_maps(pid, lib) {
                            out.mapped = Some(m);
                            if m {
                                out.mapped_at_ms = Some(t_ms);
                            }
                        }
                    }
                }
                let pending = preload.is_some() && out.mapped.is_none();
                let wait = if (pending || !execd) && t < FAST_POLL_FOR {
                    FAST_POLL
                } else {
                    interval
                };
                let (lock, cv) = &*stop2;
                let guard = lock.lock().unwrap();
                let (guard, _) = cv
                    .wait_timeout_while(guard, wait, |stopped| !*stopped)
                    .unwrap();
                if *guard {
                    break;
                }
            }
            out
        });
        Sampler { stop, handle }
    }

    /// Stop and collect. Call while the child is alive or a zombie (not reaped).
    pub fn finish(self) -> SamplerOutput {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap() = true;
        cv.notify_all();
        self.handle.join().expect("sampler thread panicked")
    }
}
