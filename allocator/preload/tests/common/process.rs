//! Running a child process with captured output and a hang guard.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How a child process ended and what it printed.
#[derive(Debug)]
pub struct Outcome {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
    pub pid: u32,
}

impl Outcome {
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    pub fn describe_status(&self) -> String {
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => format!("exited with {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => format!("{:?}", self.status),
        }
    }

    /// Everything needed to understand a failure, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "command: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            tail(&self.stdout, 6000),
            tail(&self.stderr, 6000)
        )
    }
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Runs `command` to completion with stdin from /dev/null. A child still
/// running after `hang_guard` is killed and the test fails: a deadlock must
/// not hang the suite. This is not a speed check; the guard is generous.
pub fn run(command: Command, hang_guard: Duration) -> Outcome {
    run_inner(command, None, hang_guard, |_| {})
}

/// Like `run`, with `input` fed on stdin; `on_started(pid)` is called
/// before any input is written (the child is then waiting for it).
pub fn run_with_input(
    command: Command,
    input: &[u8],
    hang_guard: Duration,
    on_started: impl FnOnce(u32),
) -> Outcome {
    run_inner(command, Some(input.to_vec()), hang_guard, on_started)
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn run_inner(
    mut command: Command,
    input: Option<Vec<u8>>,
    hang_guard: Duration,
    on_started: impl FnOnce(u32),
) -> Outcome {
    super::target_env::move_preload_into_guest(&mut command);
    let description = format!("{command:?}");
    command.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {description}: {e}"));
    let pid = child.id();
    // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
    let out_reader = drain(child.stdout.take().unwrap());
    let err_reader = drain(child.stderr.take().unwrap());
    on_started(pid);
    let writer = input.map(|bytes| {
        let mut stdin = child.stdin.take().unwrap();
        thread::spawn(move || {
            let _ = stdin.write_all(&bytes); // dropping stdin closes the pipe
        })
    });
    let deadline = Instant::now() + hang_guard;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{description} still running after {hang_guard:?}: killed (hang or deadlock)");
        }
        thread::sleep(Duration::from_millis(5));
    };
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    let stdout_bytes = out_reader.join().unwrap();
    let stderr = super::target_env::strip_emulator_lines(
        String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    );
    Outcome {
        command: description,
        status,
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stderr,
        stdout_bytes,
        pid,
    }
}
