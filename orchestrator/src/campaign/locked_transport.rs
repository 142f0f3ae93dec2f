//! A board's connection while its campaign holds the board lock
//! (`board_lock`): the lock is refreshed as runs go and released when the
//! value is dropped, whatever ended the board's campaign (done, failed,
//! Ctrl-C), over a new connection if the session's own was lost.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::board::BoardProfile;
use crate::rundir::Event;
use crate::transport::{self, Transport};

use super::board_lock::BoardLock;
use super::lock_owner::LockOwner;
use super::store::Store;

pub struct LockedTransport {
    inner: Box<dyn Transport>,
    lock: BoardLock,
    board: BoardProfile,
    store: Arc<Store>,
}

impl LockedTransport {
    /// Takes `board`'s lock over `inner` for the campaign of `store`, or
    /// fails with the one line naming the board and the holder.
    pub fn lock(
        mut inner: Box<dyn Transport>,
        board: &BoardProfile,
        store: Arc<Store>,
        say: &dyn Fn(String),
    ) -> Result<LockedTransport, String> {
        let manifest = store.manifest();
        // Refreshed before every run: a run may take the board's run_s
        // plus the agent's grace; twice that, and more, is surely dead.
        let stale_after_s = 2 * (board.timeouts.run.as_secs() + 60) + 120;
        let owner = LockOwner::this_process(&manifest.run_id, super::unix_ms(), stale_after_s);
        let acquired = BoardLock::acquire(inner.as_mut(), &board.name, &owner)?;
        if let Some(old) = &acquired.took_over {
            store.record(&Event::BoardLockTakenOver {
                board: board.name.clone(),
                previous: old.clone(),
            });
            say(format!(
                "board {}: took over a stale lock: {old}",
                board.name
            ));
        }
        store.record(&Event::BoardLockAcquired {
            board: board.name.clone(),
            owner,
        });
        Ok(LockedTransport {
            inner,
            lock: acquired.lock,
            board: board.clone(),
            store,
        })
    }

    /// Refreshes the lock now and then; fails if another lwm took it.
    pub fn heartbeat(&mut self) -> Result<(), String> {
        self.lock.heartbeat(self.inner.as_mut())
    }
}

impl Deref for LockedTransport {
    type Target = Box<dyn Transport>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl DerefMut for LockedTransport {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl Drop for LockedTransport {
    fn drop(&mut self) {
        let name = self.board.name.clone();
        let mut result = self.lock.release(self.inner.as_mut());
        if result.is_err() {
            // The session's connection was lost: one more try on a new one.
            if let Ok(mut t) = transport::connect(&self.board) {
                result = self.lock.release(t.as_mut());
            }
        }
        match result {
            Ok(()) => self.store.record(&Event::BoardLockReleased { board: name }),
            Err(e) => {
                self.store.record(&Event::BoardLockReleaseFailed {
                    board: name.clone(),
                    error: e.clone(),
                });
                let note = format!("{e}; the next campaign takes the stale lock over");
                let _ = self.store.update_board(&name, |b| b.incidents.push(note));
            }
        }
    }
}
