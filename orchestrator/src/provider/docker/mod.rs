//! Emulated boards in containers: a foreign-architecture Docker container
//! (arm64 on this x86_64 host, every program run by qemu-user through
//! binfmt) running sshd, reached over SSH exactly like a real board.
//!
//! For a board whose profile has `[docker] image = "NAME"`,
//! [`ContainerBoard::start`] makes sure a Docker engine answers
//! (`scripts/docker-engine.sh`, which starts one where none runs), removes
//! containers left by an `lwm` that died, builds the image when it is
//! missing (`docker/build.sh NAME`), runs the container with port 22
//! published on a free loopback port, waits until sshd answers and returns
//! a profile whose access is completed with plain SSH settings: strict
//! host key checking against a known_hosts file holding the key made for
//! the image at build time, the kit's key as identity.
//!
//! Dropping the [`ContainerBoard`] removes the container (success, error,
//! Ctrl-C unwinding the session). If `lwm` itself is killed, the attached
//! `docker run` client gets SIGTERM (parent-death signal) and forwards it
//! to the container, which stops and is removed (`--rm`); and every
//! container carries its owner's pid and start time as labels, so the next
//! start removes any whose owner is gone. An engine started for the run
//! is stopped when the last container board of this process is dropped.

mod engine;
mod image;
mod run;
mod stale;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::rundir::Event;

use super::{BoardProvider, Note, RunningBoard, StartEnv};
use crate::board::{Access, BoardProfile, ContainerSpec, ProviderSpec, SshSettings};

pub use engine::Engine;
pub use image::{ensure_image, BoardImage};
pub use run::{RunningContainer, OWNER_PID_LABEL, OWNER_START_LABEL};
pub use stale::{remove_orphans, this_process};

/// A running container and the profile that reaches it.
pub struct ContainerBoard {
    /// `board` with its access completed by the container's SSH settings.
    pub board: BoardProfile,
    pub container: RunningContainer,
    ssh: SshSettings,
}

impl ContainerBoard {
    /// Ensures the engine and the image of `board`, starts its container
    /// and waits for SSH. `state_dir` receives the image build log, the
    /// container's output and the known_hosts file. `progress` gets short
    /// phase messages. Setting `cancel` (Ctrl-C) stops an image build in
    /// progress. Fails for a board without `[docker]`.
    pub fn start(
        board: &BoardProfile,
        workspace: &Path,
        state_dir: &Path,
        progress: &dyn Fn(&str),
        cancel: &AtomicBool,
    ) -> anyhow::Result<ContainerBoard> {
        let Some(ProviderSpec::Docker(spec)) = &board.provider else {
            anyhow::bail!("board {}: not a [docker] board", board.name);
        };
        let in_board = |e: anyhow::Error| anyhow::anyhow!("board {}: {e:#}", board.name);
        std::fs::create_dir_all(state_dir)?;
        progress("docker engine");
        let engine = Engine::acquire(workspace).map_err(in_board)?;
        for removed in remove_orphans(&engine).map_err(in_board)? {
            progress(&format!("removed container {removed} left by a dead lwm"));
        }
        progress(&format!("image {}", spec.image));
        let image = ensure_image(
            workspace,
            &engine,
            &spec.image,
            &state_dir.join("image-build.log"),
            cancel,
        )
        .map_err(in_board)?;
        progress("starting container");
        let container =
            RunningContainer::start(engine, &image, &board.name, state_dir, spec.start_timeout)
                .map_err(in_board)?;
        let ssh = super::ssh_ready::loopback_root(
            container.port(),
            &image.user_key,
            container.known_hosts(),
            spec.keepalive_s,
        );
        let mut reached = board.clone();
        reached.access = Access::Ssh(Some(ssh.clone()));
        Ok(ContainerBoard {
            board: reached,
            container,
            ssh,
        })
    }
}

impl RunningBoard for ContainerBoard {
    fn ssh(&self) -> SshSettings {
        self.ssh.clone()
    }
}

impl BoardProvider for ContainerSpec {
    fn kind(&self) -> &'static str {
        "container"
    }

    fn describe(&self) -> String {
        format!("docker container, image {}", self.image)
    }

    fn not_started(&self) -> String {
        format!(
            "a container board (image {}) must be started before connecting",
            self.image
        )
    }

    fn start(
        &self,
        board: &BoardProfile,
        env: &StartEnv<'_>,
    ) -> Result<Box<dyn RunningBoard>, String> {
        let c = ContainerBoard::start(
            board,
            env.workspace,
            env.state_dir,
            env.progress,
            env.cancel,
        )
        .map_err(|e| format!("{e:#}"))?;
        (env.notes)(Note::event(Event::ContainerStarted {
            board: board.name.clone(),
            image: self.image.clone(),
            container: c.container.name().into(),
            port: c.container.port(),
            start_s: c.container.started_in().as_secs_f64(),
        }));
        Ok(Box::new(c))
    }
}
