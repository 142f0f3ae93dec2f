//! The launcher: a tiny process, forked before the agent does any work,
//! that starts every measured child.
//!
//! Why: Linux carries memory high-water state into a child's ru_maxrss.
//! At exec the kernel records the replaced mm's high-water mark, and a
//! child made by fork() starts with a high-water mark equal to the pages
//! it was given (a vfork/posix_spawn child shares its parent's mm and so
//! its whole peak). A child started by the agent itself could therefore
//! never read lower than the agent's own RSS, which grows with its work
//! (sampler threads, JSON, captured output). The launcher does nothing but
//! fork, exec and wait, from a copy of the agent taken at the start of
//! `main`, so the floor it leaves is small and constant; each child
//! measures it just before exec (`Spawned::floor_kib`).
//!
//! The agent keeps everything else: it times the run, samples /proc/PID,
//! kills the process group at the timeout (the child stays unreaped until
//! the agent says `reap`, so its PID and group cannot be reused meanwhile)
//! and reads the child's output through pipes it created.

mod child;
mod protocol;
mod server;

use crate::schema::Rusage;
use protocol::*;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What to start.
pub struct SpawnRequest<'a> {
    /// Program path (executed as is, no PATH search) and its arguments.
    pub argv: &'a [String],
    /// The complete environment, `KEY=VALUE`.
    pub env: &'a [OsString],
    pub cwd: &'a Path,
    /// RLIMIT_AS (soft and hard) for the child.
    pub limit_as: Option<u64>,
    /// Write ends for the child's stdout and stderr; stdin is /dev/null.
    pub stdout: BorrowedFd<'a>,
    pub stderr: BorrowedFd<'a>,
}

/// A child that has exec'd, in its own process group (ID = `pid`).
#[derive(Debug, Clone, Copy)]
pub struct Spawned {
    pub pid: i32,
    /// The child's resident set just before exec, in KiB: its ru_maxrss
    /// cannot read lower. None if /proc/self/statm could not be read.
    pub floor_kib: Option<u64>,
}

#[derive(Debug)]
pub enum SpawnError {
    /// The child could not be set up or exec'd (e.g. ENOENT, ENOEXEC).
    Child {
        step: &'static str,
        error: io::Error,
    },
    /// The launcher itself failed or is gone.
    Launcher(io::Error),
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpawnError::Child {
                step: "execve",
                error,
            } => write!(f, "{error}"),
            SpawnError::Child { step, error } => write!(f, "{step} failed: {error}"),
            SpawnError::Launcher(e) => write!(f, "the launcher process failed: {e}"),
        }
    }
}

/// A reaped child.
pub struct Reaped {
    pub status: i32,
    pub rusage: Rusage,
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of `Launcher::wait_exit`.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The agent's handle on its launcher process. One child at a time:
/// `spawn`, then `wait_exit`, then `reap`.
pub struct Launcher {
    sock: OwnedFd,
    pid: i32,
    /// A spawned child not yet reaped.
    child: Option<i32>,
}

fn os_err(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

impl Launcher {
    /// Fork the launcher. Call it first thing in `main`, while the process
    /// is single-threaded and small: the launcher keeps what the process
    /// holds now, and every child starts from a copy of it. (Called later,
    /// in a multi-threaded process, it still works: the launcher only makes
    /// async-signal-safe system calls, but its floor is higher.)
    pub fn start() -> io::Result<Launcher> {
        let mut sv = [0; 2];
        // SAFETY: sv has room for the two descriptors socketpair writes.
        let r = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                sv.as_mut_ptr(),
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: socketpair gave us these two descriptors to own.
        let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) };
        // SAFETY: getpid has no preconditions.
        let agent = unsafe { libc::getpid() };
        // SAFETY: the child only runs server::run, which never returns and
        // uses only system calls (see there).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: we are the fork's child; `theirs` is our socket end.
            unsafe { server::run(theirs.as_raw_fd(), agent) }
        }
        drop(theirs);
        Ok(Launcher {
            sock: ours,
            pid,
            child: None,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The launcher's peak RSS (VmHWM), in KiB.
    pub fn max_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    }

    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    fn receive(&self) -> io::Result<Reply> {
        let mut b = [0u8; REPLY_LEN];
        loop {
            match recv_all(self.fd(), &mut b) {
                Ok(true) => return Ok(decode_reply(&b)),
                Ok(false) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("launcher process {} is gone", self.pid),
                    ))
                }
                Err(libc::EINTR) => continue,
                Err(e) => return Err(os_err(e)),
            }
        }
    }

    /// Start a child; returns once it has exec'd (or failed to).
    pub fn spawn(&mut self, req: &SpawnRequest) -> Result<Spawned, SpawnError> {
        assert!(
            self.child.is_none(),
            "launcher: spawn before reaping the last child"
        );
        let mut payload = Vec::new();
        let strings = std::iter::once(req.cwd.as_os_str().as_bytes())
            .chain(req.argv.iter().map(|a| a.as_bytes()))
            .chain(req.env.iter().map(|e| e.as_bytes()));
        for s in strings {
            if s.contains(&0) {
                return Err(SpawnError::Child {
                    step: "preparing the command",
                    error: io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a string contains a NUL byte",
                    ),
                });
            }
            payload.extend_from_slice(s);
            payload.push(0);
        }
        if payload.len() as u64 > MAX_PAYLOAD || req.argv.is_empty() {
            return Err(SpawnError::Child {
                step: "preparing the command",
                error: os_err(libc::E2BIG),
            });
        }
        let h = Header {
            op: OP_SPAWN,
            limit_as: req.limit_as,
            argc: req.argv.len() as u32,
            envc: req.env.len() as u32,
            payload_len: payload.len() as u64,
        };
        let fds = [req.stdout.as_raw_fd(), req.stderr.as_raw_fd()];
        send_with_fds(self.fd(), &h.encode(), &fds)
            .and_then(|()| send_all(self.fd(), &payload))
            .map_err(|e| SpawnError::Launcher(os_err(e)))?;
        let r = self.receive().map_err(SpawnError::Launcher)?;
        match r[0] {
            REPLY_SPAWNED => {
                let pid = r[1] as i32;
                self.child = Some(pid);
                Ok(Spawned {
                    pid,
                    floor_kib: (r[2] >= 0).then_some(r[2] as u64),
                })
            }
            REPLY_SPAWN_FAILED => Err(SpawnError::Child {
                step: stage_name(r[1]),
                error: os_err(r[2] as i32),
            }),
            k => Err(SpawnError::Launcher(io::Error::other(format!(
                "unexpected reply {k} to spawn"
            )))),
        }
    }

    /// Block until the child has exited; it stays unreaped (its PID and
    /// process group remain ours). Returns the moment of exit as
    /// `monotonic_ns`.
    pub fn wait_exit(&mut self) -> io::Result<u64> {
        let r = self.receive().inspect_err(|_| {
            // The launcher is gone: someone else may reap the child now, so
            // its PID and group are no longer safely ours to kill.
            self.child = None;
        })?;
        match r[0] {
            REPLY_EXITED => Ok(r[1] as u64 * 1_000_000_000 + r[2] as u64),
            REPLY_FAILED => Err(os_err(r[1] as i32)),
            k => Err(io::Error::other(format!("unexpected reply {k} to wait"))),
        }
    }

    /// Reap the exited child with wait4: its status and rusage.
    pub fn reap(&mut self) -> io::Result<Reaped> {
        send_all(self.fd(), &Header::reap().encode()).map_err(os_err)?;
        let r = self.receive()?;
        self.child = None;
        match r[0] {
            REPLY_REAPED => Ok(Reaped {
                status: r[1] as i32,
                rusage: Rusage {
                    user_s: r[2] as f64 + r[3] as f64 / 1e6,
                    sys_s: r[4] as f64 + r[5] as f64 / 1e6,
                    max_rss_kib: r[6] as u64, // KiB on Linux
                    minor_faults: r[7] as u64,
                    major_faults: r[8] as u64,
                    voluntary_ctx_switches: r[9] as u64,
                    involuntary_ctx_switches: r[10] as u64,
                },
            }),
            REPLY_FAILED => Err(os_err(r[1] as i32)),
            k => Err(io::Error::other(format!("unexpected reply {k} to reap"))),
        }
    }
}

impl Drop for Launcher {
    /// Closing the socket ends the launcher; a child still unreaped (a run
    /// cut short) is killed with its group first, so the launcher is not
    /// left waiting for it.
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            // SAFETY: the child is unreaped, so its group is still ours.
            unsafe { libc::kill(-child, libc::SIGKILL) };
        }
        // SAFETY: shutting down our own socket; the OwnedFd closes it later.
        unsafe { libc::shutdown(self.fd(), libc::SHUT_RDWR) };
        let mut st = 0;
        // SAFETY: the launcher is our child.
        while unsafe { libc::waitpid(self.pid, &mut st, 0) } < 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
}
