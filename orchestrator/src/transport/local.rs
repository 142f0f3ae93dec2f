//! The `local` transport: the board is this machine.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lwm_agent::sha256::sha256_hex;

use super::error::ErrorKind;
use super::process::{run_local, LocalRunEnd};
use super::shell::{check_env_name, check_mode, check_no_nul, check_remote_rel, check_work_dir};
use super::{ExecOutput, PushFile, PushOutcome, Transport, TransportError};

/// Runs commands and places files on this machine, under `work_dir`.
pub struct LocalTransport {
    board: String,
    work_dir: String,
}

impl LocalTransport {
    /// Creates `work_dir` (and its parents) if missing.
    pub fn connect(board: &str, work_dir: &str) -> Result<Self, TransportError> {
        let err = |d: String| TransportError::new(ErrorKind::Other, board, d);
        check_work_dir(work_dir).map_err(err)?;
        fs::create_dir_all(work_dir)
            .map_err(|e| err(format!("cannot create work_dir {work_dir}: {e}")))?;
        Ok(LocalTransport {
            board: board.to_string(),
            work_dir: work_dir.to_string(),
        })
    }

    fn err(&self, kind: ErrorKind, detail: String) -> TransportError {
        TransportError::new(kind, &self.board, detail)
    }

    fn push_one(&self, file: &PushFile) -> Result<PushOutcome, TransportError> {
        let other = |d: String| self.err(ErrorKind::Other, d);
        check_remote_rel(&file.remote_rel).map_err(other)?;
        check_mode(&file.remote_rel, file.mode).map_err(other)?;
        let dest = Path::new(&self.work_dir).join(&file.remote_rel);
        let mode = fs::Permissions::from_mode(file.mode as u32);

        if dest.is_file() && hash_file(&dest).ok().as_deref() == Some(file.sha256.as_str()) {
            // Same content: only make sure the mode is right.
            fs::set_permissions(&dest, mode)
                .map_err(|e| other(format!("cannot chmod {}: {e}", dest.display())))?;
            return Ok(PushOutcome::Unchanged);
        }

        let dir = dest.parent().expect("dest is under work_dir");
        fs::create_dir_all(dir)
            .map_err(|e| other(format!("cannot create {}: {e}", dir.display())))?;
        let temp = temp_name(&dest);
        let result = self.write_verified(file, &temp, mode).and_then(|bytes| {
            fs::rename(&temp, &dest).map_err(|e| {
                other(format!(
                    "cannot rename {} to {}: {e}",
                    temp.display(),
                    dest.display()
                ))
            })?;
            Ok(PushOutcome::Sent { bytes })
        });
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }

    /// Copies the file to `temp`, sets its mode and checks the copy's hash.
    fn write_verified(
        &self,
        file: &PushFile,
        temp: &Path,
        mode: fs::Permissions,
    ) -> Result<u64, TransportError> {
        let other = |d: String| self.err(ErrorKind::Other, d);
        let bytes = fs::copy(&file.local, temp).map_err(|e| {
            other(format!(
                "cannot copy {} to {}: {e}",
                file.local.display(),
                temp.display()
            ))
        })?;
        fs::set_permissions(temp, mode)
            .map_err(|e| other(format!("cannot chmod {}: {e}", temp.display())))?;
        let written =
            hash_file(temp).map_err(|e| other(format!("cannot read {}: {e}", temp.display())))?;
        if written != file.sha256 {
            return Err(self.err(
                ErrorKind::ChecksumMismatch,
                format!(
                    "{} copied to {} has sha256 {written}, expected {}",
                    file.local.display(),
                    file.remote_rel,
                    file.sha256
                ),
            ));
        }
        Ok(bytes)
    }
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    Ok(sha256_hex(&fs::read(path)?))
}

/// A name next to `dest` (same directory, so the rename is atomic), unique
/// to this process.
fn temp_name(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .expect("checked remote path")
        .to_string_lossy();
    dest.with_file_name(format!(".{name}.lwm-push-{}.tmp", std::process::id()))
}

impl Transport for LocalTransport {
    fn describe(&self) -> String {
        "local".to_string()
    }

    fn work_dir(&self) -> &str {
        &self.work_dir
    }

    fn push(&mut self, files: &[PushFile]) -> Result<Vec<PushOutcome>, TransportError> {
        files.iter().map(|f| self.push_one(f)).collect()
    }

    fn exec(
        &mut self,
        argv: &[String],
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<ExecOutput, TransportError> {
        let other = |d: String| self.err(ErrorKind::Other, d);
        if argv.is_empty() {
            return Err(other("empty command".to_string()));
        }
        for a in argv {
            check_no_nul("argument", a).map_err(other)?;
        }
        for (k, v) in env {
            check_env_name(k).map_err(other)?;
            check_no_nul("environment value", v).map_err(other)?;
        }
        let cwd = Path::new(&self.work_dir);
        match run_local(argv, env, cwd, timeout) {
            Ok(LocalRunEnd::Finished(out)) => Ok(out),
            Ok(LocalRunEnd::TimedOut { reason }) => Err(self.err(
                ErrorKind::Timeout,
                format!(
                    "{} did not finish within {:.1} s ({reason}); killed its process group",
                    argv[0],
                    timeout.as_secs_f64()
                ),
            )),
            Err(e) => Err(other(format!("cannot run {}: {e}", argv[0]))),
        }
    }

    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, TransportError> {
        let full = Path::new(&self.work_dir).join(path);
        fs::read(&full).map_err(|e| {
            self.err(
                ErrorKind::Other,
                format!("cannot read {}: {e}", full.display()),
            )
        })
    }
}
