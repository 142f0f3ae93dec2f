//! Waiting for the child: waitid(WNOWAIT) to learn the moment it exits
//! without reaping it (its PID stays reserved while the sampler and the
//! timeout thread finish), then wait4(2) to reap it with its own rusage.
//! getrusage(RUSAGE_CHILDREN) would not do: it keeps the largest child ever.

use crate::schema::Rusage;
use std::io;

/// Block until `pid` has exited (or was killed), leaving it unreaped.
pub fn wait_exit_nowait(pid: i32) -> io::Result<()> {
    loop {
        // SAFETY: siginfo_t is plain data that waitid fills.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a siginfo_t; pid is our own child.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

pub struct Reaped {
    pub status: i32,
    pub rusage: Rusage,
}

fn tv_secs(tv: libc::timeval) -> f64 {
    tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6
}

/// Reap `pid` with wait4 and return its wait status and rusage.
pub fn reap(pid: i32) -> io::Result<Reaped> {
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain data that wait4 fills.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers; pid is our own child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return Ok(Reaped {
                status,
                rusage: Rusage {
                    user_s: tv_secs(ru.ru_utime),
                    sys_s: tv_secs(ru.ru_stime),
                    max_rss_kib: ru.ru_maxrss as u64, // KiB on Linux
                    minor_faults: ru.ru_minflt as u64,
                    major_faults: ru.ru_majflt as u64,
                    voluntary_ctx_switches: ru.ru_nvcsw as u64,
                    involuntary_ctx_switches: ru.ru_nivcsw as u64,
                },
            });
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// Processes other than `leader` still in process group `pgid`.
pub fn group_members(pgid: i32, leader: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| p != leader)
        .filter(|&p| {
            // Field 5 of stat is pgrp; skip past the parenthesised comm first.
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.to_string()))
                .and_then(|rest| rest.split_whitespace().nth(2)?.parse::<i32>().ok())
                == Some(pgid)
        })
        .collect()
}
