//! Emulated boards: a QEMU system VM booted from a cached image and then
//! reached over SSH exactly like a real board.
//!
//! A board whose profile has `[qemu] image = "NAME"` has
//! [`Transport::Vm`](crate::board::Transport::Vm). [`VmBoard::start`]
//! builds the image when it is missing (`images/build.sh NAME`), boots
//! QEMU with the guest's port 22 forwarded to a free loopback port, waits
//! until sshd answers and returns a profile whose transport is plain SSH:
//! strict host key checking against a known_hosts file holding the key
//! made for the image at build time, the kit's key as identity. Dropping
//! the [`VmBoard`] stops QEMU, so the VM goes away on success, on error
//! and when a Ctrl-C unwinds the session; QEMU also dies with the thread
//! that started it if `lwm` itself is killed.

mod image;
mod qemu;
pub(crate) mod ssh_ready;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::board::{BoardProfile, HostKeyPolicy, SshSettings, Transport};

pub(crate) use image::run_image_build;
pub use image::{ensure_image, Image};
pub use qemu::{BootPlan, RunningVm, StalledBoot};

/// The last `n` non-empty lines of a VM's console log joined by " | ",
/// or "(nothing)".
pub(crate) fn console_tail(console: &Path, n: usize) -> String {
    let tail = image::last_lines(console, n);
    if tail.is_empty() {
        "(nothing)".to_string()
    } else {
        tail
    }
}

/// A booted VM and the profile that reaches it.
pub struct VmBoard {
    /// `board` with its transport replaced by the running VM's SSH settings.
    pub board: BoardProfile,
    pub vm: RunningVm,
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
        let Transport::Vm(spec) = &board.transport else {
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
        let mut reached = board.clone();
        reached.transport = Transport::Ssh(SshSettings {
            host: "127.0.0.1".into(),
            port: vm.port(),
            user: "root".into(),
            identity: Some(image.user_key.clone()),
            known_hosts: vm.known_hosts().to_path_buf(),
            host_key_policy: HostKeyPolicy::Strict,
            keepalive_s: spec.keepalive_s,
        });
        Ok(VmBoard { board: reached, vm })
    }
}
