//! One board container: `docker run` attached, as this thread's child,
//! with port 22 published on a free port of 127.0.0.1; removed on drop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::engine::{last_line, Engine};
use super::image::BoardImage;
use super::stale;
use crate::provider::ssh_ready::{free_port, write_known_hosts};

/// Label naming the pid of the `lwm` that started a container.
pub const OWNER_PID_LABEL: &str = "lwm.owner-pid";
/// Label holding that process's start time (clock ticks after boot, from
/// /proc/PID/stat), so a reused pid is not taken for the owner.
pub const OWNER_START_LABEL: &str = "lwm.owner-start";

/// How long the `docker run` client gets to exit once the container is gone.
const CLIENT_GRACE: Duration = Duration::from_secs(10);
/// Tries with a new port when another process took the one picked.
const PORT_TRIES: usize = 3;

/// Containers started by this process so far (part of their names).
static STARTED: AtomicU32 = AtomicU32::new(0);

/// A running board container. Invariant: while this value lives, the
/// container `name` runs (or has exited by itself) with its port 22 on
/// `127.0.0.1:port`, and `known_hosts` names `[127.0.0.1]:port` with the
/// image's host key. Dropping it removes the container, then releases
/// the engine.
pub struct RunningContainer {
    name: String,
    client: Option<Child>,
    port: u16,
    known_hosts: PathBuf,
    log: PathBuf,
    started_in: Duration,
    /// Last field: dropped after the container is removed.
    engine: Arc<Engine>,
}

impl RunningContainer {
    /// Runs a container of `image` for board `board` and returns once its
    /// sshd answers, or fails (container removed) after `timeout` or if the
    /// container exits. Its output goes to `state_dir/container.log`.
    pub fn start(
        engine: Arc<Engine>,
        image: &BoardImage,
        board: &str,
        state_dir: &Path,
        timeout: Duration,
    ) -> anyhow::Result<RunningContainer> {
        let log = state_dir.join("container.log");
        let known_hosts = state_dir.join("known_hosts");
        let started = Instant::now();
        let (pid, start_ticks) = stale::this_process();
        for attempt in 1..=PORT_TRIES {
            let port = free_port()?;
            let name = format!(
                "lwm-{board}-{pid}-{}",
                STARTED.fetch_add(1, Ordering::SeqCst)
            );
            let output =
                File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
            let errors = output.try_clone()?;
            let mut command = engine.docker();
            command
                .args([
                    "run",
                    "--rm",
                    "--init",
                    "--name",
                    &name,
                    "--hostname",
                    &hostname(board),
                ])
                .args(["--label", &format!("{OWNER_PID_LABEL}={pid}")])
                .args(["--label", &format!("{OWNER_START_LABEL}={start_ticks}")])
                .args(["--label", &format!("lwm.board={board}")])
                .args(["--label", &format!("lwm.state={}", state_dir.display())])
                .args(["--publish", &format!("127.0.0.1:{port}:22")])
                .arg(&image.tag)
                .stdout(output)
                .stderr(errors);
            crate::provider::supervised::own_group_dying_with_parent(&mut command);
            let client = command
                .spawn()
                .context("cannot run `docker` (run scripts/setup-docker.sh)")?;
            write_known_hosts(&known_hosts, port, &image.host_key)?;
            let mut container = RunningContainer {
                name,
                client: Some(client),
                port,
                known_hosts: known_hosts.clone(),
                log: log.clone(),
                started_in: Duration::ZERO,
                engine: engine.clone(),
            };
            match container.wait_for_ssh(started + timeout) {
                Ok(()) => {
                    container.started_in = started.elapsed();
                    return Ok(container);
                }
                Err(e) => {
                    container.stop();
                    let said = std::fs::read_to_string(&log).unwrap_or_default();
                    let port_taken = said.contains("port is already allocated")
                        || said.contains("address already in use");
                    if attempt < PORT_TRIES && port_taken {
                        continue;
                    }
                    bail!(
                        "container {} of image {} (port {port}): {e}; it said: {}",
                        container.name,
                        image.tag,
                        last_line(&said)
                    );
                }
            }
        }
        unreachable!("the last try returns")
    }

    /// The container's name in the engine.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Loopback port published to the container's sshd.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// known_hosts file holding exactly this container's host key.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The container's output (sshd's log, docker's errors).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// From `docker run` until sshd answered.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The engine the container runs on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Removes the container (`docker rm -f`) and reaps the client.
    /// Idempotent.
    pub fn stop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let _ = self
            .engine
            .docker()
            .args(["rm", "--force", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        crate::provider::supervised::reap_within(client, CLIENT_GRACE);
    }

    fn wait_for_ssh(&mut self, deadline: Instant) -> anyhow::Result<()> {
        // docker-proxy accepts on the published port before sshd listens:
        // only an SSH banner proves it answers.
        crate::provider::supervised::wait_for_sshd(
            self.client.as_mut(),
            "the container",
            self.port,
            deadline,
            None,
            Duration::from_millis(250),
        )
    }
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The board's name as a host name: letters, digits and '-' only.
fn hostname(board: &str) -> String {
    board
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn board_names_become_host_names() {
        assert_eq!(super::hostname("docker-arm64"), "docker-arm64");
        assert_eq!(super::hostname("my_board.v2"), "my-board-v2");
    }
}
