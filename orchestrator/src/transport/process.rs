//! Runs a local command in its own process group, with a deadline, and
//! captures its output. Used by the `local` transport.

use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::ExecOutput;

/// How a local command ended.
pub enum LocalRunEnd {
    /// It exited (or was killed by a signal from elsewhere) in time.
    Finished(ExecOutput),
    /// The deadline passed; its whole process group was killed.
    TimedOut {
        /// Why the deadline was missed.
        reason: &'static str,
    },
}

/// Runs `argv` with `env` added to this process's environment, in `cwd`,
/// stdin from /dev/null. The child leads a new process group so that on
/// timeout the group (the child and whatever it started) is killed with
/// SIGKILL. A program that cannot be found or executed gives status 127 or
/// 126 and a message on stderr, as a POSIX shell (and so the SSH transport)
/// would report it.
pub fn run_local(
    argv: &[String],
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
) -> io::Result<LocalRunEnd> {
    let deadline = Instant::now() + timeout;
    let program = program_path(&argv[0], cwd);
    let mut command = Command::new(&program);
    command
        .args(&argv[1..])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
            ) =>
        {
            let status = if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            return Ok(LocalRunEnd::Finished(ExecOutput {
                status: Some(status),
                signal: None,
                stdout: Vec::new(),
                stderr: format!("lwm: cannot run {}: {e}\n", argv[0]).into_bytes(),
            }));
        }
        Err(e) => return Err(e),
    };
    let pgid = child.id() as i32;
    let stdout = spawn_reader(child.stdout.take());
    let stderr = spawn_reader(child.stderr.take());

    let Some(status) = wait_until(&mut child, deadline)? else {
        kill_group(pgid);
        child.wait()?;
        return Ok(LocalRunEnd::TimedOut {
            reason: "the command was still running",
        });
    };
    // The pipes close when every process holding them has exited; a
    // background process left in the group may keep them open.
    let (Some(stdout), Some(stderr)) = (collect(&stdout, deadline), collect(&stderr, deadline))
    else {
        kill_group(pgid);
        return Ok(LocalRunEnd::TimedOut {
            reason: "the command exited but processes it started kept its output open",
        });
    };
    Ok(LocalRunEnd::Finished(ExecOutput {
        status: status.code(),
        signal: status.signal().map(signal_name),
        stdout: stdout?,
        stderr: stderr?,
    }))
}

/// "SIGSEGV" for 11, as the agent names a run's signal (`Run.signal_name`),
/// so a local run reads the same as one on a board; "signal N" for a
/// number the platform does not name.
fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => format!("signal {sig}"),
    }
}

/// A relative program path with a `/` is relative to the work directory
/// (as after `cd work_dir` in a shell); bare names are looked up in PATH.
fn program_path(program: &str, cwd: &Path) -> std::path::PathBuf {
    if program.contains('/') && !program.starts_with('/') {
        cwd.join(program)
    } else {
        program.into()
    }
}

type Reader = mpsc::Receiver<io::Result<Vec<u8>>>;

fn spawn_reader<R: Read + Send + 'static>(pipe: Option<R>) -> Reader {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let result = match pipe {
            Some(mut p) => p.read_to_end(&mut buf).map(|_| buf),
            None => Ok(buf),
        };
        let _ = tx.send(result);
    });
    rx
}

fn collect(reader: &Reader, deadline: Instant) -> Option<io::Result<Vec<u8>>> {
    let left = deadline.saturating_duration_since(Instant::now());
    reader.recv_timeout(left).ok()
}

/// Waits for the child until `deadline`; `None` if it is still running.
fn wait_until(
    child: &mut Child,
    deadline: Instant,
) -> io::Result<Option<std::process::ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn kill_group(pgid: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid
    // names the process group the child leads (created by process_group(0)).
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}
