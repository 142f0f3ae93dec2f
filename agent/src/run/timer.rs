//! The run's timeout, and the kill of its process group.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The timeout: a thread that kills the child's process group at the
/// deadline unless told first that the child has exited. Both sides hold
/// the lock while acting, and the child is not reaped until this is
/// settled, so the kill can never reach a reused PID.
pub(super) struct Timer {
    state: Arc<(Mutex<(bool, bool)>, Condvar)>, // (child exited, killed by timer)
    handle: std::thread::JoinHandle<()>,
}

impl Timer {
    pub(super) fn start(pgid: i32, timeout: Duration) -> Timer {
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
    pub(super) fn finish(self) -> bool {
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

/// SIGKILL to every process of group `pgid`; a group already gone is fine.
pub(super) fn kill_group(pgid: i32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    );
}
