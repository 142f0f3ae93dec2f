//! The launcher process: a fork of the agent taken before the agent has
//! done any work, that starts, waits for and reaps the measured children
//! on the agent's behalf (see the module documentation of `launcher`).
//!
//! It must stay small: every child it forks starts with the pages of this
//! process that fork copies (anonymous and written private pages), and
//! the kernel counts them in the child's ru_maxrss. So: no allocation, no
//! threads, fixed buffers on the stack, one anonymous mapping per request
//! that is unmapped as soon as the child is forked.

use super::child::{self, Plan};
use super::protocol::*;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// The agent's PID: the launcher's parent while the agent lives.
static AGENT_PID: AtomicI32 = AtomicI32::new(0);

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn reply(sock: RawFd, words: &[i64]) {
    let mut r: Reply = [0; REPLY_WORDS];
    for (d, s) in r.iter_mut().zip(words) {
        *d = *s;
    }
    if send_all(sock, &encode_reply(&r)).is_err() {
        // The agent is gone; nothing is left to report to.
        // SAFETY: _exit ends the launcher without touching shared state.
        unsafe { libc::_exit(0) }
    }
}

/// The agent has died if this process was re-parented.
fn agent_gone() -> bool {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() != AGENT_PID.load(Ordering::Relaxed) }
}

/// Kill the child's group, reap the child, exit: the agent is gone and
/// the child must not run on into the next measurement.
fn abandon(pid: libc::pid_t) -> ! {
    // SAFETY: the child is unreaped, so its PID and group are still ours.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        let mut st = 0;
        while libc::waitpid(pid, &mut st, 0) < 0 && errno() == libc::EINTR {}
        libc::_exit(0)
    }
}

/// Receive a request header; exits the launcher when the agent closes
/// the socket or dies (abandoning `child` if one is unreaped).
fn next_header(sock: RawFd, fds: &mut [RawFd; 2], child: Option<libc::pid_t>) -> (Header, usize) {
    let mut b = [0u8; HEADER_LEN];
    loop {
        match recv_with_fds(sock, &mut b, fds) {
            Ok(Some(n)) => return (Header::decode(&b), n),
            Err(libc::EINTR) if !agent_gone() => continue,
            _ => match child {
                Some(pid) => abandon(pid),
                // SAFETY: as in reply.
                None => unsafe { libc::_exit(0) },
            },
        }
    }
}

fn close(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: fd is a descriptor the launcher owns.
        unsafe { libc::close(fd) };
    }
}

/// An anonymous mapping for one request, unmapped on drop.
struct Region {
    ptr: *mut u8,
    len: usize,
}

impl Region {
    fn new(len: usize) -> Option<Region> {
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len.max(1),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (p != libc::MAP_FAILED).then_some(Region {
            ptr: p.cast(),
            len: len.max(1),
        })
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: ptr/len is the mapping made in new, used by nobody else now.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Lay out the pointer arrays for `payload` (at the start of `region`)
/// after it; None if the strings do not match the header's counts.
fn build_plan(region: &Region, h: &Header, payload_len: usize) -> Option<Plan> {
    let word = std::mem::size_of::<*const libc::c_char>();
    let table_at = payload_len.div_ceil(word) * word;
    let slots = h.argc as usize + 1 + h.envc as usize + 1;
    if h.argc == 0 || table_at + slots * word > region.len {
        return None;
    }
    // SAFETY: the first payload_len bytes were filled by the read; the
    // table lies inside the region (checked above) and is word-aligned
    // (the region is page-aligned, table_at a multiple of the word).
    unsafe {
        let bytes = std::slice::from_raw_parts(region.ptr, payload_len);
        let table = region.ptr.add(table_at).cast::<*const libc::c_char>();
        // Strings: cwd, argv..., env...; each ends with a NUL.
        let strings = 1 + h.argc as usize + h.envc as usize;
        if bytes.iter().filter(|&&b| b == 0).count() != strings || bytes.last() != Some(&0) {
            return None;
        }
        let mut starts = bytes
            .split_inclusive(|&b| b == 0)
            .map(|s| s.as_ptr().cast::<libc::c_char>());
        let cwd = starts.next()?;
        let mut slot = 0;
        for i in 0..strings - 1 {
            *table.add(slot) = starts.next()?;
            slot += 1;
            if i + 1 == h.argc as usize {
                *table.add(slot) = std::ptr::null();
                slot += 1;
            }
        }
        *table.add(slot) = std::ptr::null();
        Some(Plan {
            cwd,
            argv: table,
            envp: table.add(h.argc as usize + 1),
            limit_as: h.limit_as,
            stdout: -1,
            stderr: -1,
            report: -1,
            page_kib: 0,
        })
    }
}

/// Read what the child reported through its close-on-exec pipe until EOF.
fn read_report(fd: RawFd) -> ([u64; 3], usize) {
    let mut b = [0u8; 24];
    let mut got = 0;
    while got < b.len() {
        // SAFETY: the destination is the unfilled tail of b.
        let n = unsafe { libc::read(fd, b[got..].as_mut_ptr().cast(), b.len() - got) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    let mut w = [0u64; 3];
    for (i, x) in w.iter_mut().enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i * 8..i * 8 + 8]);
        *x = u64::from_ne_bytes(a);
    }
    (w, got / 8)
}

/// Start one child; Some(pid) once it has exec'd.
fn spawn(
    sock: RawFd,
    h: &Header,
    fds: &[RawFd; 2],
    nfds: usize,
    page_kib: u64,
) -> Option<libc::pid_t> {
    let failed = |stage: i64, e: i32| {
        reply(sock, &[REPLY_SPAWN_FAILED, stage, e as i64]);
        None
    };
    if h.payload_len > MAX_PAYLOAD {
        // The stream cannot be resynchronised past an unread payload.
        reply(
            sock,
            &[REPLY_SPAWN_FAILED, STAGE_REQUEST, libc::E2BIG as i64],
        );
        // SAFETY: as in reply.
        unsafe { libc::_exit(1) }
    }
    let len = h.payload_len as usize;
    let word = std::mem::size_of::<usize>();
    let table = (h.argc as usize + h.envc as usize + 2) * word + word;
    let Some(region) = Region::new(len + table) else {
        return failed(STAGE_REQUEST, errno());
    };
    // SAFETY: the region has at least len writable bytes.
    let payload = unsafe { std::slice::from_raw_parts_mut(region.ptr, len) };
    if len > 0 && recv_all(sock, payload) != Ok(true) {
        // SAFETY: as in reply.
        unsafe { libc::_exit(0) }
    }
    if nfds != 2 {
        return failed(STAGE_REQUEST, libc::EBADF);
    }
    let Some(mut plan) = build_plan(&region, h, len) else {
        return failed(STAGE_REQUEST, libc::EINVAL);
    };
    let mut pipe = [-1; 2];
    // SAFETY: pipe has room for the two descriptors.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return failed(STAGE_PIPE, errno());
    }
    plan.stdout = fds[0];
    plan.stderr = fds[1];
    plan.report = pipe[1];
    plan.page_kib = page_kib;
    // SAFETY: this process is single-threaded, so the child may run any
    // code; it only runs child::exec, with the plan valid in its copy.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: we are the child of the fork; the plan points into our copy.
        unsafe { child::exec(&plan) }
    }
    let fork_errno = errno();
    drop(region);
    close(pipe[1]);
    if pid < 0 {
        close(pipe[0]);
        return failed(STAGE_FORK, fork_errno);
    }
    // Also from this side, so the group exists whatever the child's progress.
    // SAFETY: pid is our child; EACCES after its exec is harmless.
    unsafe { libc::setpgid(pid, pid) };
    let (words, n) = read_report(pipe[0]);
    close(pipe[0]);
    let failure = match n {
        1 => None,
        2 => Some((words[0], words[1])),
        3 => Some((words[1], words[2])),
        _ => Some((STAGE_DIED as u64, 0)),
    };
    if let Some((stage, e)) = failure {
        let mut st = 0;
        // SAFETY: pid is our child, exiting or dead; reap it.
        while unsafe { libc::waitpid(pid, &mut st, 0) } < 0 && errno() == libc::EINTR {}
        return failed(stage as i64, e as i32);
    }
    let floor = if words[0] == u64::MAX {
        -1
    } else {
        words[0] as i64
    };
    reply(sock, &[REPLY_SPAWNED, pid as i64, floor]);
    Some(pid)
}

/// Block until `pid` exits, leaving it unreaped, and tell the agent when.
// time_t and c_long are 32-bit on 32-bit ARM: the casts are not no-ops there.
#[allow(clippy::unnecessary_cast)]
fn report_exit(sock: RawFd, pid: libc::pid_t) {
    loop {
        // SAFETY: siginfo_t is plain data that waitid fills.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer; pid is our child.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            break;
        }
        let e = errno();
        if e == libc::EINTR {
            if agent_gone() {
                abandon(pid);
            }
            continue;
        }
        reply(sock, &[REPLY_FAILED, e as i64]);
        return;
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    reply(sock, &[REPLY_EXITED, ts.tv_sec as i64, ts.tv_nsec as i64]);
}

/// Reap `pid` with wait4 and send its status and rusage.
#[allow(clippy::unnecessary_cast)] // see report_exit
fn reap(sock: RawFd, pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers; pid is our child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let e = errno();
        if e != libc::EINTR {
            reply(sock, &[REPLY_FAILED, e as i64]);
            return;
        }
    }
    reply(
        sock,
        &[
            REPLY_REAPED,
            status as i64,
            ru.ru_utime.tv_sec as i64,
            ru.ru_utime.tv_usec as i64,
            ru.ru_stime.tv_sec as i64,
            ru.ru_stime.tv_usec as i64,
            ru.ru_maxrss as i64,
            ru.ru_minflt as i64,
            ru.ru_majflt as i64,
            ru.ru_nvcsw as i64,
            ru.ru_nivcsw as i64,
        ],
    );
}

extern "C" fn on_agent_death(_: libc::c_int) {
    // Nothing: the signal only interrupts a blocking call (no SA_RESTART),
    // and the interrupted loop checks whether the agent is gone.
}

/// Make this fork of the agent a launcher serving requests on `sock`.
///
/// # Safety
/// Call only in the child of a fork of the agent, once, with `sock` the
/// launcher's end of the socket pair and `agent` the agent's PID.
pub unsafe fn run(sock: RawFd, agent: libc::pid_t) -> ! {
    // SAFETY (whole body): system calls on this process's own descriptors
    // and signal dispositions.
    unsafe {
        AGENT_PID.store(agent, Ordering::Relaxed);
        // The agent's death interrupts whatever the launcher waits for.
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_agent_death as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGHUP, &sa, std::ptr::null_mut());
        // An ignored SIGCHLD would make the kernel reap children itself.
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGHUP as libc::c_ulong);
        if agent_gone() {
            libc::_exit(0);
        }
        // Hold nothing of the agent's: its stdout may be a pipe whose
        // reader waits for EOF, and the children must not inherit strays.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            if null >= 0 && null != fd {
                libc::dup2(null, fd);
            }
        }
        close_all_except(sock);
        let page_kib = (libc::sysconf(libc::_SC_PAGESIZE).max(1024) as u64) / 1024;

        loop {
            let mut fds = [-1; 2];
            let (h, nfds) = next_header(sock, &mut fds, None);
            let child = match h.op {
                OP_SPAWN => spawn(sock, &h, &fds, nfds, page_kib),
                // Out of order: the stream is not trustworthy any more.
                _ => libc::_exit(1),
            };
            close(fds[0]);
            close(fds[1]);
            let Some(pid) = child else { continue };
            report_exit(sock, pid);
            let mut none = [-1; 2];
            let (h, n) = next_header(sock, &mut none, Some(pid));
            close(none[0]);
            close(none[1]);
            if h.op != OP_REAP || n != 0 {
                abandon(pid);
            }
            reap(sock, pid);
        }
    }
}

/// Close every descriptor above 2 except `keep`.
fn close_all_except(keep: RawFd) {
    let close_range = |lo: RawFd, hi: libc::c_uint| {
        if lo as libc::c_uint > hi {
            return;
        }
        // SAFETY: closing descriptors this process does not use any more.
        let r = unsafe { libc::syscall(libc::SYS_close_range, lo as libc::c_uint, hi, 0) };
        if r != 0 {
            // Kernels before 5.9: one at a time, up to a sane bound.
            let top = hi.min(65535) as RawFd;
            for fd in lo..=top {
                close(fd);
            }
        }
    };
    close_range(3, (keep - 1).max(2) as libc::c_uint);
    close_range(keep + 1, libc::c_uint::MAX);
}
