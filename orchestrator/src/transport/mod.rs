//! Reaching a board: run commands on it and put files on it.
//!
//! `local` runs on this machine; `ssh` uses the blocking `ssh2` crate (the
//! campaign runs each board's session on its own blocking thread);
//! `memory` is a scripted board for unit tests.
//!
//! Both transports behave alike: `exec` runs argv without a shell in
//! work_dir (stdin closed, env added, a missing program gives status 127),
//! kills the command's process group at its timeout, and returns
//! `Ok(ExecOutput)` whatever the exit status; `push` skips files whose
//! SHA-256 already matches and replaces the others atomically after
//! checking the written copy. Errors are [`TransportError`]s whose
//! `Display` is one line naming the board.
//!
//! SSH specifics: the host key is checked against the profile's known_hosts
//! and any doubt refuses the connection (`ssh/host_key.rs`); a dropped or
//! silent connection gives `Disconnected` (keepalives are sent while
//! commands run, and three unanswered intervals count as dead), after which
//! every call fails at once.

use std::path::PathBuf;
use std::time::Duration;

use crate::board::{Access, BoardProfile};

mod error;
mod local;
pub mod memory;
mod process;
pub(crate) mod shell;
mod ssh;

pub use error::{ErrorKind, TransportError};
pub use local::LocalTransport;
pub use ssh::{lookup_name, SshTransport};

/// A file to place on the board at `work_dir/remote_rel`.
#[derive(Debug, Clone)]
pub struct PushFile {
    pub local: PathBuf,
    /// Path relative to the board's work_dir, `/`-separated, no `..`.
    pub remote_rel: String,
    /// Unix permission bits for the file on the board (0o755, 0o644).
    pub mode: i32,
    /// SHA-256 (hex) of the local file, computed by the caller.
    pub sha256: String,
}

/// What `push` did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The board already had a file with this SHA-256: not sent.
    Unchanged,
    /// Sent, and the board's checksum of the written file matched.
    Sent { bytes: u64 },
}

/// The result of a command run on the board.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    /// Exit status; `None` if killed by a signal.
    pub status: Option<i32>,
    /// The signal that killed the command, as `SIGKILL` (when `status` is
    /// `None` and the board said which).
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A connection to one board. Not `Sync`: one session per board, used from
/// one thread.
pub trait Transport: Send {
    /// `local` or `ssh user@host:port`, for messages.
    fn describe(&self) -> String;
    /// Absolute work directory on the board (created by `connect`).
    fn work_dir(&self) -> &str;
    /// Makes sure every file is at `work_dir/remote_rel` with the given
    /// SHA-256, checking on the board and skipping unchanged files.
    fn push(&mut self, files: &[PushFile]) -> Result<Vec<PushOutcome>, TransportError>;
    /// Runs `argv` on the board (arguments quoted for the remote shell),
    /// with `env` set, in `work_dir`. Fails with `Timeout` after `timeout`
    /// (the remote process group is killed where possible).
    fn exec(
        &mut self,
        argv: &[String],
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<ExecOutput, TransportError>;
    /// Reads a file from the board (absolute, or relative to work_dir).
    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, TransportError>;
    /// The command that was running when the connection was lost, as
    /// (remote pid, program as given to `exec`): it may still run on the
    /// board. `None` when no connection was lost mid-command (or the board
    /// never said the command's pid).
    fn lost_command(&self) -> Option<(u32, String)> {
        None
    }
    /// Ends the connection politely. Later calls fail with `Disconnected`.
    /// Dropping the transport does the same.
    fn close(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
}

/// Opens a transport to `board` (connect, verify the host key,
/// authenticate, create work_dir).
pub fn connect(board: &BoardProfile) -> Result<Box<dyn Transport>, TransportError> {
    match &board.access {
        Access::Local => Ok(Box::new(LocalTransport::connect(
            &board.name,
            &board.work_dir,
        )?)),
        Access::Ssh(Some(settings)) => Ok(Box::new(SshTransport::connect(board, settings)?)),
        // A provided board's address exists only once it runs: its
        // provider starts it and its running board yields the settings.
        Access::Ssh(None) => Err(TransportError::new(
            ErrorKind::Other,
            &board.name,
            match &board.provider {
                Some(p) => p.provider().not_started(),
                None => "no SSH settings".to_string(),
            },
        )),
    }
}
