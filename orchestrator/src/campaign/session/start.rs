//! Starting a provided board (a QEMU VM, a container, a labgrid place)
//! through its [`BoardProvider`](crate::provider::BoardProvider) before
//! the session opens; dropping what is returned stops the board (releases
//! the place).

use std::sync::Arc;

use crate::board::Access;
use crate::provider::{Note, Notes, RunningBoard, StartEnv};

use super::record::say;
use super::BoardJob;

/// Starts the board of a provided profile (`[qemu]`, `[docker]`,
/// `[labgrid]`), building its image when missing, and completes
/// `job.board`'s access with the running board's SSH settings, so
/// everything after, reconnects included, reaches it as an ordinary SSH
/// board. What happens meanwhile goes to the run's events,
/// the user and the board's incidents. Other boards: nothing to do.
pub(super) fn start_provided(job: &mut BoardJob) -> Result<Option<Box<dyn RunningBoard>>, String> {
    let Some(spec) = &job.board.provider else {
        return Ok(None);
    };
    let provider = spec.provider();
    let state = crate::rundir::provider_dir(job.store.dir(), &job.board.name, provider.kind());
    let bar = job.progress.clone();
    let progress = |m: &str| bar.set_message(m.to_string());
    let env = StartEnv {
        workspace: &job.workspace,
        state_dir: &state,
        cancel: &job.cancel,
        progress: &progress,
        notes: notes(job),
    };
    let running = provider.start(&job.board, &env)?;
    job.board.access = Access::Ssh(Some(running.ssh()));
    Ok(Some(running))
}

/// Where a provider's notes go: the run's events, the user's terminal and
/// the board's incidents, in that order.
fn notes(job: &BoardJob) -> Notes {
    let (store, bar, name) = (
        job.store.clone(),
        job.progress.clone(),
        job.board.name.clone(),
    );
    Arc::new(move |n: Note| {
        store.record(&n.event);
        if let Some(line) = n.say {
            say(&bar, line);
        }
        if let Some(line) = n.incident {
            let _ = store.update_board(&name, |b| b.incidents.push(line));
        }
    })
}
