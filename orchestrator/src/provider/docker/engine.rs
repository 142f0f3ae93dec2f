//! The Docker engine the container boards run on: whatever answers, or
//! one started by `scripts/docker-engine.sh` for this process and stopped
//! when its last user is dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Weak};

use anyhow::{bail, Context};

/// The engine shared by every container board of this process.
static SHARED: Mutex<Weak<Engine>> = Mutex::new(Weak::new());

/// A Docker engine that answered. Invariant: `host` reached it when this
/// value was made. If `started_here`, this process started it and stops
/// it on drop (the script leaves it running while containers remain).
#[derive(Debug)]
pub struct Engine {
    host: String,
    started_here: bool,
    script: PathBuf,
}

impl Engine {
    /// The engine of this process, started on first use where none runs.
    /// Every caller shares one value; the engine is stopped (if started
    /// here) when the last one is dropped.
    pub fn acquire(workspace: &Path) -> anyhow::Result<Arc<Engine>> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(engine) = shared.upgrade() {
            return Ok(engine);
        }
        let script = workspace.join("scripts/docker-engine.sh");
        if !script.is_file() {
            bail!("no {}", script.display());
        }
        let out = Command::new("bash")
            .arg(&script)
            .args(["start", "--report"])
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", script.display()))?;
        if !out.status.success() {
            bail!(
                "no Docker engine: {}",
                last_line(&String::from_utf8_lossy(&out.stderr))
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let (how, host) = last_line(&stdout)
            .split_once(' ')
            .map(|(a, b)| (a.to_string(), b.trim().to_string()))
            .with_context(|| format!("{}: unexpected output {stdout:?}", script.display()))?;
        let engine = Arc::new(Engine {
            host,
            started_here: how == "started",
            script,
        });
        *shared = Arc::downgrade(&engine);
        Ok(engine)
    }

    /// The DOCKER_HOST value that reaches the engine.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether this process started the engine (and will stop it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// A `docker` command aimed at this engine.
    pub fn docker(&self) -> Command {
        let mut command = Command::new("docker");
        command.env("DOCKER_HOST", &self.host).stdin(Stdio::null());
        command
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if self.started_here {
            let _ = Command::new("bash")
                .arg(&self.script)
                .arg("stop")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The last non-empty line of `text`, trimmed.
pub(crate) fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(nothing)")
}
