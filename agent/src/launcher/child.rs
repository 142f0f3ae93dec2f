//! The measured child between the launcher's fork and its exec.
//!
//! Linux records the resident set the child has at exec into its
//! ru_maxrss (exec_mmap saves the old mm's high-water mark, and after
//! fork() that mark is the RSS the copied page tables map). Whatever this
//! copy holds at exec is therefore the floor of the run's max RSS: the
//! code here touches as little as it can, and measures that floor
//! (/proc/self/statm's resident pages, the very counters the kernel uses)
//! as its last act before execve. Only raw system calls, no allocation.

use super::protocol::{STAGE_CHDIR, STAGE_EXEC, STAGE_RLIMIT, STAGE_SETPGID, STAGE_STDIO};
use std::os::fd::RawFd;

/// Everything the child needs, prepared by the launcher before fork.
pub struct Plan {
    /// NUL-terminated strings and NULL-terminated pointer arrays in the
    /// launcher's request buffer; `argv[0]` is the path executed.
    pub cwd: *const libc::c_char,
    pub argv: *const *const libc::c_char,
    pub envp: *const *const libc::c_char,
    pub limit_as: Option<u64>,
    pub stdout: RawFd,
    pub stderr: RawFd,
    /// Write end of a close-on-exec pipe to the launcher: it receives the
    /// floor (8 bytes, KiB, u64::MAX if unknown), then on failure the
    /// stage and errno (8 bytes each); EOF after the floor means the exec
    /// succeeded.
    pub report: RawFd,
    pub page_kib: u64,
}

fn errno() -> i64 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as i64
}

fn write_words(fd: RawFd, words: &[u64]) {
    let mut b = [0u8; 16];
    let n = words.len().min(2);
    for (i, w) in words.iter().take(n).enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    // SAFETY: b holds n * 8 initialised bytes. At most 16 bytes: one
    // atomic pipe write, so no retry is needed.
    unsafe { libc::write(fd, b.as_ptr().cast(), n * 8) };
}

/// Report the failed stage and exit like a shell whose exec failed.
fn fail(plan: &Plan, stage: i64) -> ! {
    let e = errno();
    write_words(plan.report, &[stage as u64, e as u64]);
    // SAFETY: _exit ends this forked copy without running the agent's
    // exit handlers or flushing its buffers.
    unsafe { libc::_exit(127) }
}

/// The resident set in KiB (second field of /proc/self/statm × page size).
fn resident_kib(page_kib: u64) -> Option<u64> {
    let mut buf = [0u8; 128];
    // SAFETY: the path is a NUL-terminated literal; buf has room for the
    // bytes read; the descriptor is closed before returning.
    let n = unsafe {
        let fd = libc::open(
            c"/proc/self/statm".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return None;
        }
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        n
    };
    if n <= 0 {
        return None;
    }
    let text = &buf[..n as usize];
    let field = text.split(|&b| b == b' ').nth(1)?;
    let mut pages = 0u64;
    for &d in field {
        if !d.is_ascii_digit() {
            return None;
        }
        pages = pages.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(pages * page_kib)
}

/// Set up the child and exec it; never returns.
///
/// # Safety
/// Call only in the child of a fork, with `plan`'s pointers valid (they
/// point into the launcher's request buffer, copied by the fork).
pub unsafe fn exec(plan: &Plan) -> ! {
    // SAFETY (whole body): plain system calls on descriptors and
    // NUL-terminated strings the plan guarantees; this process is a
    // single-threaded copy about to exec or _exit.
    unsafe {
        // Its own process group, so the agent's timeout kills all of it.
        if libc::setpgid(0, 0) != 0 {
            fail(plan, STAGE_SETPGID);
        }
        // Rust ignores SIGPIPE in the agent; an ignored signal stays
        // ignored across exec, so give the child the default back (as
        // std::process::Command does), with nothing blocked.
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);

        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if null < 0
            || libc::dup2(null, 0) < 0
            || libc::dup2(plan.stdout, 1) < 0
            || libc::dup2(plan.stderr, 2) < 0
        {
            fail(plan, STAGE_STDIO);
        }
        // Every other descriptor the launcher holds is close-on-exec.
        if libc::chdir(plan.cwd) != 0 {
            fail(plan, STAGE_CHDIR);
        }
        if let Some(limit) = plan.limit_as {
            let rl = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &rl) != 0 {
                fail(plan, STAGE_RLIMIT);
            }
        }
        // No need to reset the high-water mark (clear_refs 5): after fork
        // it is the RSS of this copy, which only grows until exec.
        let floor = resident_kib(plan.page_kib).unwrap_or(u64::MAX);
        write_words(plan.report, &[floor]);
        libc::execve(*plan.argv, plan.argv, plan.envp);
        fail(plan, STAGE_EXEC)
    }
}
