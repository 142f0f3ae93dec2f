//! `[qemu]` boards: a QEMU system VM booted from a cached image and then
//! reached over SSH exactly like a real board.
//!
//! [`VmBoard::start`] builds the image when it is missing
//! (`images/build.sh NAME`), boots QEMU with the guest's port 22
//! forwarded to a free loopback port, waits until sshd answers and
//! returns a profile whose access is completed with plain SSH settings:
//! strict host key checking against a known_hosts file holding the key
//! made for the image at build time, the kit's key as identity. Dropping the [`VmBoard`]
//! stops QEMU, so the VM goes away on success, on error and when a Ctrl-C
//! unwinds the session; QEMU also dies with the thread that started it if
//! `lwm` itself is killed.

mod image;
mod vm;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::rundir::Event;

use super::{BoardProvider, Note, RunningBoard, StartEnv};
use crate::board::{Access, BoardProfile, ProviderSpec, SshSettings, VmSpec};

pub use image::{ensure_image, Image};
pub use vm::{BootPlan, RunningVm, StalledBoot};

/// The last `n` non-empty lines of a VM's console log joined by " | ",
/// or "(nothing)".
pub(crate) fn console_tail(console: &Path, n: usize) -> String {
    let tail = super::image::last_lines(console, n);
    if tail.is_empty() {
        "(nothing)".to_string()
    } else {
        tail
    }
}

/// A booted VM and the profile that reaches it.
pub struct VmBoard {
    /// `board` with its access completed by the running VM's SSH settings.
    pub board: BoardProfile,
    pub vm: RunningVm,
    ssh: SshSettings,
}

impl VmBoard {
    /// Builds the image of `board` if needed, boots it and waits for SSH.
    /// `state_dir` receives the VM's console log, QEMU's stderr, the image
    /// build log and the known_hosts file. `progress` gets short phase
    /// messages; `on_stall` each boot try the watchdog abandoned (see
    /// [`RunningVm::boot`]). Setting `cancel` (Ctrl-C) stops an image
    /// build or a boot in progress. Fails for a board without `[qemu]`.
    pub fn start(
        board: &BoardProfile,
        workspace: &Path,
        state_dir: &Path,
        progress: &dyn Fn(&str),
        on_stall: &dyn Fn(&StalledBoot),
        cancel: &AtomicBool,
    ) -> anyhow::Result<VmBoard> {
        let Some(ProviderSpec::Qemu(spec)) = &board.provider else {
            anyhow::bail!("board {}: not a [qemu] board", board.name);
        };
        std::fs::create_dir_all(state_dir)?;
        progress(&format!("image {}", spec.image));
        let image = ensure_image(
            workspace,
            &spec.image,
            &state_dir.join("image-build.log"),
            cancel,
        )
        .map_err(|e| anyhow::anyhow!("board {}: {e:#}", board.name))?;
        progress("booting VM");
        let plan = BootPlan {
            timeout: spec.boot_timeout,
            stall: spec.boot_stall,
            tries: spec.boot_tries,
            kernel_args: spec.kernel_args.clone(),
        };
        let vm = RunningVm::boot(&image, state_dir, &plan, cancel, &|s: &StalledBoot| {
            progress(&format!(
                "boot try {} of {} hung (no console output for {} s): QEMU killed",
                s.attempt,
                s.tries,
                s.silent.as_secs()
            ));
            on_stall(s);
        })
        .map_err(|e| anyhow::anyhow!("board {}: {e:#}", board.name))?;
        let ssh = super::ssh_ready::loopback_root(
            vm.port(),
            &image.user_key,
            vm.known_hosts(),
            spec.keepalive_s,
        );
        let mut reached = board.clone();
        reached.access = Access::Ssh(Some(ssh.clone()));
        Ok(VmBoard {
            board: reached,
            vm,
            ssh,
        })
    }
}

impl RunningBoard for VmBoard {
    fn ssh(&self) -> SshSettings {
        self.ssh.clone()
    }

    fn gone(&mut self, grace: Duration) -> Option<String> {
        let status = self.vm.exited_within(grace)?;
        let why = match status.code() {
            Some(0) => format!(
                "QEMU exited ({status}): the guest rebooted or powered off (QEMU runs with -no-reboot)"
            ),
            _ => format!("QEMU ended ({status})"),
        };
        Some(format!(
            "{why}; console: {}",
            console_tail(self.vm.console(), 3)
        ))
    }
}

impl BoardProvider for VmSpec {
    fn kind(&self) -> &'static str {
        "vm"
    }

    fn describe(&self) -> String {
        format!("qemu vm, image {}", self.image)
    }

    fn not_started(&self) -> String {
        format!(
            "a VM board (image {}) must be booted before connecting",
            self.image
        )
    }

    fn start(
        &self,
        board: &BoardProfile,
        env: &StartEnv<'_>,
    ) -> Result<Box<dyn RunningBoard>, String> {
        let (name, image) = (board.name.as_str(), self.image.as_str());
        // Each boot try the watchdog gave up on: an event, a line for the
        // user and an incident of the board.
        let on_stall = |s: &StalledBoot| {
            let note = format!(
                "boot try {} of {}: no console output for {} s before sshd answered, QEMU killed{}; console's last lines: {}",
                s.attempt,
                s.tries,
                s.silent.as_secs(),
                if s.attempt < s.tries { " and started again" } else { "" },
                s.console_tail
            );
            (env.notes)(Note {
                event: Event::VmBootStalled {
                    board: name.to_string(),
                    image: image.to_string(),
                    attempt: s.attempt,
                    tries: s.tries,
                    silent_s: s.silent.as_secs_f64(),
                    console_tail: s.console_tail.clone(),
                    console_log: s.console_log.display().to_string(),
                },
                say: Some(format!("board {name}: {note}")),
                incident: Some(note),
            });
        };
        let vm = VmBoard::start(
            board,
            env.workspace,
            env.state_dir,
            env.progress,
            &on_stall,
            env.cancel,
        )
        .map_err(|e| format!("{e:#}"))?;
        (env.notes)(Note::event(Event::VmBooted {
            board: name.to_string(),
            image: image.to_string(),
            port: vm.vm.port(),
            boot_s: vm.vm.booted_in().as_secs_f64(),
            tries: vm.vm.tries(),
        }));
        Ok(Box::new(vm))
    }
}
