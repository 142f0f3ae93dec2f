//! Running one command on an SSH channel until it ends, its deadline
//! passes or the connection dies.
//!
//! The session is switched to non-blocking mode while the command runs:
//! stdout and stderr are read alternately (reading only one of them in
//! blocking mode deadlocks once the other fills the channel window), the
//! socket is polled between reads, keepalives are sent, and silence longer
//! than three keepalive intervals counts as a dead connection.

use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::os::unix::io::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use ssh2::{BlockDirections, Channel, Session};

use super::errors::{kind_of, kind_of_io};
use crate::transport::error::ErrorKind;

/// What the loop needs from the connection.
pub struct Link<'a> {
    pub session: &'a Session,
    /// A handle on the session's TCP socket: polled while waiting, shut
    /// down once the connection is judged dead (so that nothing, not even
    /// freeing a channel, waits on it any more).
    pub socket: &'a TcpStream,
    /// Keepalive interval in seconds; 0 disables keepalives and the
    /// silence check.
    pub keepalive_s: u32,
}

/// How a command run ended, short of a failure.
pub enum RunEnd {
    Finished {
        /// Exit status; `None` when killed by a signal.
        status: Option<i32>,
        /// The signal as `SIGKILL`, when the server named one.
        signal: Option<String>,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
    /// The deadline passed; the channel is still open (the caller kills
    /// the remote process first, then drops it).
    DeadlinePassed { stdout: Vec<u8>, channel: Channel },
}

/// A failure: the kind (Disconnected, Timeout, Other) and what happened.
pub type RunFailure = (ErrorKind, String);

/// Keeps the session non-blocking while alive.
struct NonBlocking<'a>(&'a Session);

impl<'a> NonBlocking<'a> {
    fn new(session: &'a Session) -> Self {
        session.set_blocking(false);
        NonBlocking(session)
    }
}

impl Drop for NonBlocking<'_> {
    fn drop(&mut self) {
        self.0.set_blocking(true);
    }
}

/// Opens a channel, runs `command` with stdin closed and collects its
/// output until it exits or `deadline` passes. On a failure, `partial`
/// holds what the command had printed on stdout so far (e.g. its pid line).
pub fn run_channel(
    link: &Link<'_>,
    command: &str,
    deadline: Instant,
    partial: &mut Vec<u8>,
) -> Result<RunEnd, RunFailure> {
    let session = link.session;
    let fail = |what: &str, e: ssh2::Error| (kind_of(&e), format!("{what}: {}", e.message()));
    // Opening the channel and starting the command use the blocking mode
    // (bounded by the session timeout).
    let mut channel = session
        .channel_session()
        .map_err(|e| fail("cannot open a channel", e))?;
    channel
        .exec(command)
        .map_err(|e| fail("cannot start the command", e))?;
    channel
        .send_eof()
        .map_err(|e| fail("cannot close the command's stdin", e))?;

    let nonblocking = NonBlocking::new(session);
    partial.clear();
    let collected = collect(link, &mut channel, deadline, partial);
    match collected {
        Ok(Collected::Done {
            status,
            signal,
            stdout,
            stderr,
        }) => {
            // Blocking again before the channel is freed, so that its close
            // handshake completes.
            drop(nonblocking);
            drop(channel);
            Ok(RunEnd::Finished {
                status,
                signal,
                stdout,
                stderr,
            })
        }
        Ok(Collected::DeadlinePassed { stdout }) => {
            drop(nonblocking);
            Ok(RunEnd::DeadlinePassed { stdout, channel })
        }
        Err(failure) => {
            if failure.0 == ErrorKind::Disconnected {
                let _ = link.socket.shutdown(Shutdown::Both);
            }
            drop(channel);
            drop(nonblocking);
            Err(failure)
        }
    }
}

enum Collected {
    Done {
        status: Option<i32>,
        signal: Option<String>,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
    DeadlinePassed {
        stdout: Vec<u8>,
    },
}

/// Reads both streams to their end, then waits for the channel close (the
/// exit status comes before it).
fn collect(
    link: &Link<'_>,
    channel: &mut Channel,
    deadline: Instant,
    stdout: &mut Vec<u8>,
) -> Result<Collected, RunFailure> {
    let mut watch = Watch::new(link);
    let mut stderr = Vec::new();
    let (mut stdout_done, mut stderr_done) = (false, false);
    while !(stdout_done && stderr_done) {
        let mut progress = false;
        if !stdout_done {
            match read_some(&mut channel.stream(0), stdout) {
                Ok(Some(0)) => stdout_done = true,
                Ok(Some(_)) => progress = true,
                Ok(None) => {}
                Err(e) => return Err(watch.lost(&e)),
            }
        }
        if !stderr_done {
            match read_some(&mut channel.stderr(), &mut stderr) {
                Ok(Some(0)) => stderr_done = true,
                Ok(Some(_)) => progress = true,
                Ok(None) => {}
                Err(e) => return Err(watch.lost(&e)),
            }
        }
        if progress {
            watch.heard();
            continue;
        }
        if stdout_done && stderr_done {
            break;
        }
        if Instant::now() >= deadline {
            return Ok(Collected::DeadlinePassed {
                stdout: std::mem::take(stdout),
            });
        }
        watch.idle(deadline)?;
    }
    loop {
        match channel.wait_close() {
            Ok(()) => break,
            Err(e) if is_would_block(&e) => {}
            Err(e) => return Err(watch.lost(&io::Error::from(e))),
        }
        if Instant::now() >= deadline {
            return Ok(Collected::DeadlinePassed {
                stdout: std::mem::take(stdout),
            });
        }
        watch.idle(deadline)?;
    }
    // RFC 4254 names the signal without "SIG" (`KILL`).
    let signal = channel
        .exit_signal()
        .ok()
        .and_then(|s| s.exit_signal)
        .map(|name| format!("SIG{name}"));
    let status = match signal {
        Some(_) => None,
        None => Some(
            channel
                .exit_status()
                .map_err(|e| (kind_of(&e), format!("no exit status: {}", e.message())))?,
        ),
    };
    Ok(Collected::Done {
        status,
        signal,
        stdout: std::mem::take(stdout),
        stderr,
    })
}

fn is_would_block(e: &ssh2::Error) -> bool {
    const EAGAIN: i32 = -37;
    matches!(e.code(), ssh2::ErrorCode::Session(EAGAIN))
}

/// Reads what is available: `Some(0)` at end of stream, `None` if nothing
/// is available yet.
fn read_some(stream: &mut impl Read, into: &mut Vec<u8>) -> io::Result<Option<usize>> {
    let mut buf = [0u8; 32 * 1024];
    match stream.read(&mut buf) {
        Ok(n) => {
            into.extend_from_slice(&buf[..n]);
            Ok(Some(n))
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// Liveness bookkeeping: when the server was last heard from, keepalives.
struct Watch<'a> {
    link: &'a Link<'a>,
    last_heard: Instant,
    /// Longest silence tolerated while keepalives ask for replies.
    silence_limit: Option<Duration>,
}

impl<'a> Watch<'a> {
    fn new(link: &'a Link<'a>) -> Self {
        // libssh2 sends at most every 2 s; three missed replies plus slack.
        let silence_limit = (link.keepalive_s > 0)
            .then(|| Duration::from_secs(u64::from(link.keepalive_s.max(2)) * 3 + 2));
        Watch {
            link,
            last_heard: Instant::now(),
            silence_limit,
        }
    }

    fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    fn lost(&self, e: &io::Error) -> RunFailure {
        let detail = format!("connection lost while the command ran (libssh2: {e})");
        match kind_of_io(self.link.session, e) {
            ErrorKind::Other => (ErrorKind::Disconnected, detail),
            kind => (kind, detail),
        }
    }

    /// Nothing to read: sends a keepalive if one is due, checks the silence
    /// limit, then waits for the socket (at most until `deadline`).
    fn idle(&mut self, deadline: Instant) -> Result<(), RunFailure> {
        let session = self.link.session;
        let outbound_pending = matches!(
            session.block_directions(),
            BlockDirections::Outbound | BlockDirections::Both
        );
        let mut wait = Duration::from_millis(500);
        if self.link.keepalive_s > 0 && !outbound_pending {
            // libssh2 refuses a new packet while another is half sent,
            // hence only when nothing outbound is pending.
            match session.keepalive_send() {
                Ok(next_s) => wait = wait.min(Duration::from_secs(u64::from(next_s.max(1)))),
                Err(e) if is_would_block(&e) => {}
                Err(e) => {
                    return Err((
                        ErrorKind::Disconnected,
                        format!("cannot send a keepalive: {}", e.message()),
                    ))
                }
            }
        }
        if let Some(limit) = self.silence_limit {
            let silent = self.last_heard.elapsed();
            if silent > limit {
                return Err((
                    ErrorKind::Disconnected,
                    format!(
                        "no answer to keepalives for {} s (keepalive every {} s): the board or the network is down",
                        silent.as_secs(),
                        self.link.keepalive_s
                    ),
                ));
            }
        }
        let wait = wait.min(deadline.saturating_duration_since(Instant::now()));
        if poll_socket(self.link.socket.as_raw_fd(), outbound_pending, wait) {
            self.heard();
        }
        Ok(())
    }
}

/// Waits until the socket is readable (or writable, if `want_write`) or
/// `wait` passes; true if there is something to read (data, EOF or error).
fn poll_socket(fd: RawFd, want_write: bool, wait: Duration) -> bool {
    let mut events = libc::POLLIN;
    if want_write {
        events |= libc::POLLOUT;
    }
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `pfd` is a valid pollfd that outlives the call and nfds is 1;
    // `fd` is the session's socket, open for the session's lifetime.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    n > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
}
