//! Ctrl-C during a campaign: the first SIGINT sets the campaign's `cancel`
//! flag and says how to go on; the boards finish the run in progress and
//! stop, and everything collected stays.
//!
//! Answered on a thread of its own through `signal-hook`, whose handler
//! only wakes that thread: printing is not safe inside a signal handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use signal_hook::consts::SIGINT;
use signal_hook::iterator::{Handle, Signals};

/// Watches for Ctrl-C while a campaign runs; dropped when it ends, so that
/// a later campaign of the same process (`lwm qualify` runs up to three)
/// answers Ctrl-C itself. Once watched, SIGINT stays caught for the rest of
/// the process (signal-hook does not restore the default action, as tokio's
/// handler did not): a second Ctrl-C, or one while the reports are written,
/// is ignored rather than killing `lwm` half-way through writing results.
pub struct CtrlC {
    signals: Handle,
    thread: Option<JoinHandle<()>>,
}

impl CtrlC {
    /// On the first Ctrl-C: sets `cancel` and prints `hint` after a line
    /// saying the runs in progress are being finished.
    pub fn watch(cancel: Arc<AtomicBool>, hint: String) -> std::io::Result<CtrlC> {
        let mut signals = Signals::new([SIGINT])?;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("ctrl-c".into())
            .spawn(move || {
                // `None`: the campaign ended (the handle was closed).
                if signals.forever().next().is_some() {
                    cancel.store(true, Ordering::SeqCst);
                    eprintln!("lwm: interrupted; finishing the runs in progress. {hint}");
                }
            })?;
        Ok(CtrlC {
            signals: handle,
            thread: Some(thread),
        })
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        self.signals.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
