//! A board in memory, for unit tests of what runs over a transport (a
//! board's session) without a board: every `exec` is answered by a
//! script, pushed files are kept in a map, and every call is logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ErrorKind, ExecOutput, PushFile, PushOutcome, Transport, TransportError};

/// Answers one `exec`: its argv and env, as the caller gave them.
pub type Script =
    Box<dyn FnMut(&[String], &[(String, String)]) -> Result<ExecOutput, TransportError> + Send>;

/// What a [`MemoryTransport`] was asked, shared with the test that made it
/// (the transport itself is usually boxed away in the code under test).
#[derive(Debug, Default)]
pub struct Log {
    /// Every `exec`'s argv, in order.
    pub execs: Vec<Vec<String>>,
    /// Files on the "board": work_dir-relative path -> SHA-256.
    pub files: BTreeMap<String, String>,
    /// Whether `close` was called.
    pub closed: bool,
}

/// A transport whose board is a script. Cloning the [`log`](Self::log)
/// handle before boxing the transport lets a test look at the calls.
pub struct MemoryTransport {
    board: String,
    work_dir: String,
    script: Script,
    log: Arc<Mutex<Log>>,
}

impl MemoryTransport {
    /// A board named `board` with work dir `work_dir`, answering `exec`
    /// with `script`.
    pub fn new(board: &str, work_dir: &str, script: Script) -> MemoryTransport {
        MemoryTransport {
            board: board.to_string(),
            work_dir: work_dir.to_string(),
            script,
            log: Arc::new(Mutex::new(Log::default())),
        }
    }

    /// The record of every call, shared.
    pub fn log(&self) -> Arc<Mutex<Log>> {
        self.log.clone()
    }

    fn logged(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An `exec` result: exit status `status`, `stdout`, no stderr.
pub fn exited(status: i32, stdout: &[u8]) -> ExecOutput {
    ExecOutput {
        status: Some(status),
        signal: None,
        stdout: stdout.to_vec(),
        stderr: Vec::new(),
    }
}

/// The error of a connection that dropped, as the SSH transport gives it.
pub fn disconnected(board: &str, detail: &str) -> TransportError {
    TransportError::new(ErrorKind::Disconnected, board, detail.to_string())
}

impl Transport for MemoryTransport {
    fn describe(&self) -> String {
        format!("memory {}", self.board)
    }

    fn work_dir(&self) -> &str {
        &self.work_dir
    }

    fn push(&mut self, files: &[PushFile]) -> Result<Vec<PushOutcome>, TransportError> {
        let mut log = self.logged();
        Ok(files
            .iter()
            .map(|f| {
                let old = log.files.insert(f.remote_rel.clone(), f.sha256.clone());
                if old.as_deref() == Some(&f.sha256) {
                    PushOutcome::Unchanged
                } else {
                    PushOutcome::Sent {
                        bytes: std::fs::metadata(&f.local).map(|m| m.len()).unwrap_or(0),
                    }
                }
            })
            .collect())
    }

    fn exec(
        &mut self,
        argv: &[String],
        env: &[(String, String)],
        _timeout: Duration,
    ) -> Result<ExecOutput, TransportError> {
        if self.logged().closed {
            return Err(disconnected(&self.board, "closed"));
        }
        self.logged().execs.push(argv.to_vec());
        (self.script)(argv, env)
    }

    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::new(
            ErrorKind::Other,
            &self.board,
            format!("{path}: a memory board holds no file contents"),
        ))
    }

    fn close(&mut self) -> Result<(), TransportError> {
        self.logged().closed = true;
        Ok(())
    }
}
