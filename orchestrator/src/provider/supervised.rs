//! Long-lived helper processes lwm starts for a provided board (QEMU, the
//! docker client of a board container) and must never leave behind.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Makes `command` lead its own process group, so a Ctrl-C in the terminal
/// reaches lwm alone (which finishes the run in progress and then stops
/// the helper itself), and get SIGTERM when the thread that starts it
/// dies, so a killed lwm leaves no helper running unowned (QEMU exits; the
/// docker client forwards the signal to its container, which `--rm`
/// removes).
pub(crate) fn own_group_dying_with_parent(command: &mut Command) -> &mut Command {
    command.process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only
    // calls prctl(2), which is async-signal-safe; it touches no memory of
    // the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// Gives `child` up to `grace` to exit, then kills it; either way it is
/// reaped, so no zombie is left.
pub(crate) fn reap_within(mut child: Child, grace: Duration) {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls every `poll` until an SSH server answers on 127.0.0.1:`port`
/// with its banner (a port forwarder may accept connections long before
/// sshd listens). Fails when `child` (named `what` in the message) exits
/// first, once `cancel` is set, or after `deadline`.
pub(crate) fn wait_for_sshd(
    child: Option<&mut Child>,
    what: &str,
    port: u16,
    deadline: Instant,
    cancel: Option<&AtomicBool>,
    poll: Duration,
) -> anyhow::Result<()> {
    wait_for_sshd_watching(child, what, port, deadline, cancel, poll, None)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A log that must keep growing until sshd answers: a VM's serial console
/// while it boots.
pub(crate) struct ConsoleWatch<'a> {
    pub path: &'a Path,
    /// The longest it may stay the same size.
    pub stall: Duration,
}

/// Why sshd did not answer.
#[derive(Debug)]
pub(crate) enum NotAnswered {
    /// The helper process exited first.
    Exited {
        what: String,
        status: ExitStatus,
    },
    Interrupted,
    TimedOut,
    /// The watched console printed nothing for this long.
    Stalled(Duration),
}

impl fmt::Display for NotAnswered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAnswered::Exited { what, status } => {
                write!(f, "{what} exited ({status}) before sshd answered")
            }
            NotAnswered::Interrupted => write!(f, "interrupted"),
            NotAnswered::TimedOut => write!(f, "sshd did not answer in time"),
            NotAnswered::Stalled(d) => write!(
                f,
                "no console output for {} s before sshd answered",
                d.as_secs()
            ),
        }
    }
}

/// [`wait_for_sshd`], and when `console` is given, also fails with
/// [`NotAnswered::Stalled`] once that log has not grown for its `stall`
/// (counted from the start when it stays empty).
pub(crate) fn wait_for_sshd_watching(
    child: Option<&mut Child>,
    what: &str,
    port: u16,
    deadline: Instant,
    cancel: Option<&AtomicBool>,
    poll: Duration,
    console: Option<ConsoleWatch<'_>>,
) -> Result<(), NotAnswered> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut child = child;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut seen = console.as_ref().map(|c| size(c.path)).unwrap_or(0);
    let mut changed = Instant::now();
    loop {
        if let Some(status) = child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            return Err(NotAnswered::Exited {
                what: what.to_string(),
                status,
            });
        }
        if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            return Err(NotAnswered::Interrupted);
        }
        if super::ssh_ready::answers(addr, Duration::from_secs(2)) {
            return Ok(());
        }
        if let Some(c) = &console {
            let now = size(c.path);
            if now != seen {
                (seen, changed) = (now, Instant::now());
            } else if changed.elapsed() >= c.stall {
                return Err(NotAnswered::Stalled(changed.elapsed()));
            }
        }
        if Instant::now() >= deadline {
            return Err(NotAnswered::TimedOut);
        }
        thread::sleep(poll);
    }
}
