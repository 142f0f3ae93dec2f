//! What a session records besides the agent's documents: failed runs (a
//! raw failure file and an event), the board's incidents, and lines for
//! the user.

use crate::rundir::Event;
use indicatif::ProgressBar;

use super::super::store::{RunKey, RunKind};
use super::Session;

impl Session<'_> {
    pub(super) fn count_failure(&mut self, key: &RunKey) {
        if key.kind == RunKind::Rep {
            self.failed_runs += 1;
        }
    }

    pub(super) fn record_failure(
        &mut self,
        key: &RunKey,
        error: &str,
        stdout: &[u8],
        stderr: &[u8],
    ) {
        self.count_failure(key);
        if key.kind == RunKind::Rep {
            self.no_result += 1;
        }
        let _ = self.job.store.save_failure(key, error, stdout, stderr);
        self.job.store.record(&Event::RunFailed {
            run: key.to_string(),
            error: error.into(),
        });
        let board = format!("board {}: ", key.board);
        let error = error.strip_prefix(&board).unwrap_or(error);
        let line = if error.contains(&key.to_string()) {
            format!("{board}{error}")
        } else {
            format!("{board}{key}: {error}")
        };
        say(&self.job.progress, line);
    }

    /// Records one line in the board's `incidents` (manifest and reports).
    pub(super) fn incident(&self, line: String) {
        let _ = self
            .job
            .store
            .update_board(&self.job.board.name, |b| b.incidents.push(line));
    }
}

/// A line for the user: above the progress bars, or plainly on stderr when
/// the bars are hidden (no terminal).
pub(super) fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}
