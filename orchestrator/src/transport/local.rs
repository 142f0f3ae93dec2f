//! The `local` transport: the board is this machine.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lwm_contract::sha256::sha256_hex;

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
            work_dir: work_dir.trim_end_matches('/').to_string(),
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
/// to this process and call.
fn temp_name(dest: &Path) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = dest
        .file_name()
        .expect("checked remote path")
        .to_string_lossy();
    dest.with_file_name(format!(".{name}.lwm-push-{}-{n}.tmp", std::process::id()))
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Instant;

    use super::*;
    use crate::transport::ErrorKind;

    fn scratch() -> PathBuf {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lwm-local-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn file(local: &Path, rel: &str, mode: i32) -> PushFile {
        PushFile {
            local: local.to_path_buf(),
            remote_rel: rel.into(),
            mode,
            sha256: sha256_hex(&fs::read(local).unwrap()),
        }
    }

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn push_copies_skips_and_resends() {
        let dir = scratch();
        let work = dir.join("board/work");
        let mut t = LocalTransport::connect("here", work.to_str().unwrap()).unwrap();
        assert!(work.is_dir());
        let script = dir.join("run.sh");
        fs::write(&script, "#!/bin/sh\necho ran \"$@\"\n").unwrap();
        let data = dir.join("data.bin");
        fs::write(&data, vec![7u8; 100_000]).unwrap();
        let files = vec![
            file(&script, "bin/run.sh", 0o755),
            file(&data, "data.bin", 0o640),
        ];

        let first = t.push(&files).unwrap();
        assert_eq!(
            first,
            vec![
                PushOutcome::Sent { bytes: 24 },
                PushOutcome::Sent { bytes: 100_000 }
            ]
        );
        let mode = fs::metadata(work.join("bin/run.sh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(mode, 0o755);
        assert_eq!(t.push(&files).unwrap(), vec![PushOutcome::Unchanged; 2]);

        fs::write(&data, vec![8u8; 10]).unwrap();
        let files = vec![files[0].clone(), file(&data, "data.bin", 0o640)];
        assert_eq!(
            t.push(&files).unwrap(),
            vec![PushOutcome::Unchanged, PushOutcome::Sent { bytes: 10 }]
        );
        assert_eq!(fs::read(work.join("data.bin")).unwrap(), vec![8u8; 10]);

        let mut wrong = files[1].clone();
        fs::write(&data, b"other").unwrap();
        wrong.sha256 = sha256_hex(b"not what is in the file");
        let err = t.push(&[wrong]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ChecksumMismatch, "{err}");
        assert_eq!(
            fs::read(work.join("data.bin")).unwrap(),
            vec![8u8; 10],
            "the old file stays"
        );
        let names: Vec<_> = fs::read_dir(&work)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temp file left: {names:?}");

        let bad = PushFile {
            remote_rel: "../escape".into(),
            ..files[0].clone()
        };
        assert_eq!(t.push(&[bad]).unwrap_err().kind(), ErrorKind::Other);

        let out = t
            .exec(
                &argv(&["./bin/run.sh", "a b"]),
                &[],
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(
            (out.status, out.stdout.as_slice()),
            (Some(0), &b"ran a b\n"[..])
        );
        assert_eq!(t.fetch("bin/run.sh").unwrap(), fs::read(&script).unwrap());
        assert_eq!(
            t.fetch(script.to_str().unwrap()).unwrap(),
            fs::read(&script).unwrap()
        );
        assert_eq!(t.fetch("missing").unwrap_err().kind(), ErrorKind::Other);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn exec_passes_args_env_and_reports_status_and_streams() {
        let dir = scratch();
        let mut t = LocalTransport::connect("here", dir.to_str().unwrap()).unwrap();
        let env = vec![("LWM_TEST_V".to_string(), "x 'y' $z".to_string())];
        let script = "printf '%s|%s|%s' \"$1\" \"$LWM_TEST_V\" \"$PWD\"; echo oops >&2; exit 4";
        let out = t
            .exec(
                &argv(&["sh", "-c", script, "sh", "it's $HOME"]),
                &env,
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(out.status, Some(4));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("it's $HOME|x 'y' $z|{}", dir.display())
        );
        assert_eq!(out.stderr, b"oops\n");

        let big = t
            .exec(
                &argv(&[
                    "sh",
                    "-c",
                    "head -c 3000000 /dev/zero >&2; head -c 3000000 /dev/zero",
                ]),
                &[],
                Duration::from_secs(30),
            )
            .unwrap();
        assert_eq!((big.stdout.len(), big.stderr.len()), (3_000_000, 3_000_000));

        let killed = t
            .exec(
                &argv(&["sh", "-c", "kill -9 $$"]),
                &[],
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(killed.status, None);
        let missing = t
            .exec(
                &argv(&["lwm-no-such-program"]),
                &[],
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(missing.status, Some(127));
        assert!(t.exec(&[], &[], Duration::from_secs(1)).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Processes whose command line contains `needle`.
    fn processes_with(needle: &str) -> Vec<String> {
        let mut found = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
                let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                let zombie = fs::read_to_string(entry.path().join("stat"))
                    .map(|s| {
                        s.rsplit_once(')')
                            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
                    })
                    .unwrap_or(true);
                if text.contains(needle) && !zombie {
                    found.push(text);
                }
            }
        }
        found
    }

    #[test]
    fn a_timeout_kills_the_whole_process_group() {
        let dir = scratch();
        let mut t = LocalTransport::connect("here", dir.to_str().unwrap()).unwrap();
        let started = Instant::now();
        let err = t
            .exec(
                &argv(&["sh", "-c", "sleep 28.6421 & sleep 28.6421; echo never"]),
                &[],
                Duration::from_millis(500),
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let mut left = processes_with("sleep 28.6421");
        for _ in 0..50 {
            if left.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
            left = processes_with("sleep 28.6421");
        }
        assert!(left.is_empty(), "survivors: {left:?}");

        // Exited, but a background child keeps stdout open past the deadline.
        let err = t
            .exec(
                &argv(&["sh", "-c", "sleep 27.5309 & echo started"]),
                &[],
                Duration::from_millis(500),
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.to_string().contains("kept its output open"), "{err}");
        std::thread::sleep(Duration::from_millis(100));
        assert!(processes_with("sleep 27.5309").is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
