//! Long-lived helper processes lwm starts for an emulated board (QEMU, the
//! docker client of a board container) and must never leave behind.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::bail;

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
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut child = child;
    loop {
        if let Some(status) = child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            bail!("{what} exited ({status}) before sshd answered");
        }
        if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            bail!("interrupted");
        }
        if crate::vm::ssh_ready::answers(addr, Duration::from_secs(2)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("sshd did not answer in time");
        }
        thread::sleep(poll);
    }
}
