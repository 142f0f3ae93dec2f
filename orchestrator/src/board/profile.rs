//! A resolved board profile: what the orchestrator knows about one board
//! after `extends` chains are merged and every field is checked.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One board, fully resolved. Built only by [`super::load`], so every field
/// here has been validated against the profile schema.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardProfile {
    /// Unique name; the file stem of its profile (`boards/pi4.toml` -> `pi4`).
    pub name: String,
    /// Free text shown in reports.
    pub description: String,
    /// The profile file this board was read from.
    pub file: PathBuf,
    /// SHA-256 (hex) over the profile file and every file it extends, in
    /// extension order, so a manifest pins exactly what described the board.
    pub file_sha256: String,
    /// Rust target triple the board's binaries are built for.
    pub target: String,
    /// CPU model for instruction-set checks: `arm1176jzf-s`, `cortex-a72`,
    /// `cortex-a78ae`, `cortex-a53`, `native` (the host) ...
    pub cpu: String,
    /// The board's glibc version (`2.36`): artifacts may not need newer
    /// symbol versions. `None` for the local board (checked at run time).
    pub glibc: Option<String>,
    /// How the board is reached: this machine, or SSH. A board with a
    /// `provider` is always reached over SSH, and its settings are `None`
    /// until the provider has started it (they are the running board's);
    /// a board without one has all its settings from the profile.
    pub access: Access,
    /// What starts the board for the campaign and stops it after (a QEMU
    /// VM, a container, a labgrid place), if anything: `None` for a board
    /// that is simply there. Never set with [`Access::Local`].
    pub provider: Option<ProviderSpec>,
    /// Absolute directory on the board that holds pushed artifacts and
    /// scratch files. Created if missing.
    pub work_dir: String,
    /// Other allocators already installed on the board, by short name
    /// (`jemalloc` -> `/usr/lib/aarch64-linux-gnu/libjemalloc.so.2`).
    /// `lwmalloc` and `system` are always available and may not be listed.
    pub allocators: BTreeMap<String, String>,
    /// Whether the board is real hardware or an emulation; reports mark
    /// emulated figures.
    pub emulation: Emulation,
    /// Multiplies the campaign's `--scale` on this board (1.0 unless the
    /// profile says otherwise): emulated boards run 10-200x slower, so
    /// their profiles shrink every workload to keep a campaign in hours,
    /// not days. Positive and finite. Figures are compared only between
    /// allocators on the same board, so this never mixes sizes.
    pub workload_scale: f64,
    /// Timeouts for this board.
    pub timeouts: Timeouts,
}

impl BoardProfile {
    /// The triple the board's artifacts are built for: `target = "host"`
    /// names this machine's.
    pub fn build_target(&self) -> String {
        if self.target == "host" {
            crate::build::host_triple()
        } else {
            self.target.clone()
        }
    }

    /// The profile with `host` replaced by this machine's triple, which is
    /// what the gate and the manifest need to see.
    pub fn with_host_resolved(mut self) -> BoardProfile {
        self.target = self.build_target();
        self
    }

    /// The SSH settings that reach the board, if it is reached over SSH
    /// and they are known (a provided board's once it runs).
    pub fn ssh(&self) -> Option<&SshSettings> {
        match &self.access {
            Access::Ssh(settings) => settings.as_ref(),
            Access::Local => None,
        }
    }
}

/// How the orchestrator reaches a board. What provides the board, if
/// anything, is beside it: [`BoardProfile::provider`].
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// This machine: artifacts are used in place, commands run directly.
    Local,
    /// A board over SSH (the `ssh2` crate). The settings are the profile's
    /// `[transport]` for a board that is simply there; a provided board has
    /// no address before it runs, so its settings are `None` until its
    /// running board ([`crate::provider::RunningBoard`]) yields them.
    Ssh(Option<SshSettings>),
}

/// What provides a board for the campaign (started when the board's
/// session starts, stopped when it ends): one variant per board kind,
/// each a `[section]` of the profile. See [`crate::provider`].
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderSpec {
    /// `[qemu]`: a QEMU system VM booted from a cached image, reached on a
    /// forwarded loopback port with the image's own keys.
    Qemu(VmSpec),
    /// `[docker]`: a container run through qemu-user, reached on a
    /// published loopback port with the image's own keys.
    Docker(ContainerSpec),
    /// `[labgrid]`: a labgrid place acquired for the campaign, reached at
    /// the address, port and user of its NetworkService resource.
    Labgrid(LabgridSpec),
}

/// What a `[labgrid]` board names: a place on a coordinator, and how to
/// log in to the NetworkService the place holds.
#[derive(Debug, Clone, PartialEq)]
pub struct LabgridSpec {
    /// `HOST[:PORT]` of the labgrid coordinator (port 20408 by default).
    /// `None` when the profile names none: `--labgrid-coordinator` or
    /// `LG_COORDINATOR` supplies it before the campaign.
    pub coordinator: Option<String>,
    /// The place's exact name.
    pub place: String,
    /// Key, known_hosts and host-key policy for the NetworkService's sshd.
    pub ssh: SshKeys,
}

/// The SSH settings a profile gives when the host, port and user come
/// from elsewhere (a labgrid NetworkService).
#[derive(Debug, Clone, PartialEq)]
pub struct SshKeys {
    /// Private key file. `None` means: authenticate through ssh-agent.
    pub identity: Option<PathBuf>,
    pub known_hosts: PathBuf,
    pub host_key_policy: HostKeyPolicy,
    pub keepalive_s: u32,
}

impl SshKeys {
    /// Full SSH settings for `user@host:port`.
    pub fn at(&self, host: &str, port: u16, user: &str) -> SshSettings {
        SshSettings {
            host: host.to_string(),
            port,
            user: user.to_string(),
            identity: self.identity.clone(),
            known_hosts: self.known_hosts.clone(),
            host_key_policy: self.host_key_policy,
            keepalive_s: self.keepalive_s,
        }
    }
}

/// What a `[docker]` board runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// Image recipe name: `docker/<image>/` in the workspace.
    pub image: String,
    /// From starting the container until sshd answers.
    pub start_timeout: Duration,
    /// Seconds between SSH keepalive messages once it runs.
    pub keepalive_s: u32,
}

/// What a `[qemu]` board boots.
#[derive(Debug, Clone, PartialEq)]
pub struct VmSpec {
    /// Image recipe name: `images/<image>/recipe.sh` in the workspace.
    pub image: String,
    /// From starting QEMU until sshd answers, each try.
    pub boot_timeout: Duration,
    /// Boot watchdog: the longest the serial console may stay silent
    /// before sshd answers; then the try is abandoned (QEMU killed).
    pub boot_stall: Duration,
    /// Boots tried in all (at least 1) before the board fails.
    pub boot_tries: u32,
    /// Words appended to the guest kernel's command line, if any.
    pub kernel_args: Option<String>,
    /// Seconds between SSH keepalive messages once it runs.
    pub keepalive_s: u32,
}

/// SSH connection settings. Paths are already expanded (`~` -> home) and
/// made absolute relative to the profile file's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct SshSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Private key file. `None` means: authenticate through ssh-agent.
    pub identity: Option<PathBuf>,
    /// known_hosts file checked (and, under `AcceptNew`, appended to).
    pub known_hosts: PathBuf,
    pub host_key_policy: HostKeyPolicy,
    /// Seconds between SSH keepalive messages (0: none).
    pub keepalive_s: u32,
}

/// What to do with the board's host key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// The key must already be in known_hosts and match. Default.
    Strict,
    /// An unknown host is accepted and its key recorded in known_hosts; a
    /// known host whose key changed is still refused.
    AcceptNew,
}

/// Where a board's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulation {
    /// Real hardware (or this host): time and memory figures are genuine.
    None,
    /// A QEMU system VM: memory figures are genuine, times are emulation
    /// times, comparable only between allocators on the same board.
    System,
    /// qemu-user (e.g. a foreign-architecture container through binfmt):
    /// neither memory nor time figures are representative.
    User,
}

impl Emulation {
    pub fn as_str(self) -> &'static str {
        match self {
            Emulation::None => "none",
            Emulation::System => "qemu-system",
            Emulation::User => "qemu-user",
        }
    }
}

/// Timeouts, all in seconds in the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect and SSH handshake.
    pub connect: Duration,
    /// One agent run (one workload, one allocator, one repetition); the
    /// agent kills the child at this limit and the orchestrator gives up on
    /// the SSH command a little later.
    pub run: Duration,
    /// The whole campaign on this board.
    pub board: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            run: Duration::from_secs(600),
            board: Duration::from_secs(6 * 3600),
        }
    }
}
