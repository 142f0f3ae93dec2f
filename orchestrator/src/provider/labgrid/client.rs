//! Talking to a labgrid coordinator: `helper.py` run with the Python that
//! has labgrid (`scripts/setup-labgrid.sh`), one JSON line back.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::error::{one_line, ErrorKind, LabgridError};
use super::place::Place;

/// The helper's source, run with `python3 -c`.
const HELPER: &str = include_str!("helper.py");

/// How long one helper run may take: a Python start, a gRPC connection
/// and one or two round trips, on a busy 2-core host.
const HELPER_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable naming labgrid's Python, which wins over the
/// venv scripts/setup-labgrid.sh makes.
pub const PYTHON_ENV: &str = "LWM_LABGRID_PYTHON";

/// A coordinator at `address` (`HOST[:PORT]`), reached through the helper.
#[derive(Debug, Clone)]
pub struct Coordinator {
    pub address: String,
    python: PathBuf,
}

/// What the helper prints.
#[derive(Deserialize)]
struct Reply {
    ok: bool,
    place: Option<Place>,
    kind: Option<ErrorKind>,
    message: Option<String>,
    holder: Option<String>,
}

impl Coordinator {
    /// Finds labgrid's Python; fails when there is none.
    pub fn new(address: &str) -> Result<Coordinator, LabgridError> {
        Ok(Coordinator {
            address: address.to_string(),
            python: find_python()?,
        })
    }

    /// The place as it is now.
    pub fn show(&self, place: &str) -> Result<Place, LabgridError> {
        self.run("show", place)
    }

    /// Acquires the place for this user; refused ([`ErrorKind::Held`])
    /// when anyone holds it already.
    pub fn acquire(&self, place: &str) -> Result<Place, LabgridError> {
        let p = self.run("acquire", place)?;
        if !p.held_by_me() {
            return Err(LabgridError::new(
                ErrorKind::Failed,
                format!("place {place} is not held by {} after acquiring it", p.me),
            ));
        }
        Ok(p)
    }

    /// Releases the place if this user holds it (never someone else's).
    pub fn release(&self, place: &str) -> Result<Place, LabgridError> {
        let p = self.run("release", place)?;
        if p.held_by_me() {
            return Err(LabgridError::new(
                ErrorKind::Failed,
                format!("place {place} is still held by {} after releasing it", p.me),
            ));
        }
        Ok(p)
    }

    fn run(&self, action: &str, place: &str) -> Result<Place, LabgridError> {
        let failed = |m: String| LabgridError::new(ErrorKind::Failed, m);
        let mut child = Command::new(&self.python)
            .arg("-c")
            .arg(HELPER)
            .args([action, &self.address, place])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a Ctrl-C on the terminal must not
            // kill an acquire or a release halfway; lwm finishes it.
            .process_group(0)
            .spawn()
            .map_err(|e| failed(format!("cannot run {}: {e}", self.python.display())))?;
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let out_reader = std::thread::spawn(move || read_all(out.as_mut()));
        let err_reader = std::thread::spawn(move || read_all(err.as_mut()));
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if started.elapsed() > HELPER_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(LabgridError::new(
                        ErrorKind::Unreachable,
                        format!(
                            "coordinator {} gave no answer within {} s",
                            self.address,
                            HELPER_TIMEOUT.as_secs()
                        ),
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(failed(format!("waiting for the labgrid helper: {e}"))),
            }
        };
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        let line = stdout.lines().rev().find(|l| l.starts_with('{'));
        let reply: Reply = match line.map(serde_json::from_str) {
            Some(Ok(r)) => r,
            _ => {
                return Err(failed(format!(
                    "the labgrid helper ({status}) printed no answer; stderr: {}",
                    last_chars(&one_line(&stderr), 300)
                )))
            }
        };
        match (reply.ok, reply.place) {
            (true, Some(place)) => Ok(place),
            _ => Err(LabgridError {
                kind: reply.kind.unwrap_or(ErrorKind::Failed),
                message: one_line(&reply.message.unwrap_or_else(|| "no reason given".into())),
                holder: reply.holder,
            }),
        }
    }
}

fn read_all(r: Option<&mut impl Read>) -> String {
    let mut s = String::new();
    if let Some(r) = r {
        let _ = r.read_to_string(&mut s);
    }
    s
}

fn last_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}

/// labgrid's Python: `$LWM_LABGRID_PYTHON`, else the venv of
/// scripts/setup-labgrid.sh, else the one beside `labgrid-client` on PATH.
pub fn find_python() -> Result<PathBuf, LabgridError> {
    if let Some(p) = std::env::var_os(PYTHON_ENV) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(LabgridError::new(
                ErrorKind::NoLabgrid,
                format!("{PYTHON_ENV}={}: no such file", p.display()),
            ))
        };
    }
    let venv = setup_venv_python();
    if venv.is_file() {
        return Ok(venv);
    }
    if let Some(dir) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|d| d.join("labgrid-client").is_file())
    {
        for name in ["python3", "python"] {
            if dir.join(name).is_file() {
                return Ok(dir.join(name));
            }
        }
    }
    Err(LabgridError::new(
        ErrorKind::NoLabgrid,
        format!(
            "labgrid is not installed for lwm (no {}): run scripts/setup-labgrid.sh, or set {PYTHON_ENV} to a Python that has labgrid",
            venv.display()
        ),
    ))
}

/// `${XDG_CACHE_HOME:-~/.cache}/lwm/labgrid/venv/bin/python3`.
pub fn setup_venv_python() -> PathBuf {
    let cache = match (std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME")) {
        (Some(x), _) if !x.is_empty() => PathBuf::from(x),
        (_, Some(h)) => Path::new(&h).join(".cache"),
        _ => PathBuf::from("/nonexistent"),
    };
    cache.join("lwm/labgrid/venv/bin/python3")
}
