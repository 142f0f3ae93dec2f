//! Long-lived helper processes lwm starts for an emulated board (QEMU, the
//! docker client of a board container) and must never leave behind.

use std::os::unix::process::CommandExt;
use std::process::Command;

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
