//! The profile file as written: every field optional (a profile may take
//! it from the one it `extends`), unknown fields rejected by serde, and
//! positions kept where later checks need to name a line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// One `boards/*.toml` file. Field docs are the user-facing reference
/// (boards/README.md repeats them).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    /// Name of another profile in the same directory whose fields this one
    /// starts from.
    pub extends: Option<Spanned<String>>,
    pub description: Option<String>,
    /// Rust target triple, or `host`.
    pub target: Option<Spanned<String>>,
    pub cpu: Option<Spanned<String>>,
    pub glibc: Option<Spanned<String>>,
    pub work_dir: Option<Spanned<String>>,
    /// `none`, `qemu-system`, `qemu-user`.
    pub emulation: Option<Spanned<String>>,
    /// Fraction of the campaign's `--scale` this board runs workloads at
    /// (slow or emulated boards), e.g. `0.05`.
    pub workload_scale: Option<Spanned<f64>>,
    pub transport: Option<RawTransport>,
    pub allocators: Option<BTreeMap<String, Spanned<String>>>,
    pub timeouts: Option<RawTimeouts>,
    /// An emulated board: the VM image it boots (replaces `[transport]`).
    pub qemu: Option<RawQemu>,
    /// An emulated board: the container it runs (replaces `[transport]`).
    pub docker: Option<RawDocker>,
    /// A board in a labgrid lab: the place acquired for the campaign,
    /// whose NetworkService gives host, port and user.
    pub labgrid: Option<RawLabgrid>,
}

/// `[labgrid]`: the board is a labgrid place. `[transport]` may still give
/// identity, known_hosts and host_key_policy, not host, port or user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabgrid {
    /// `HOST[:PORT]` of the coordinator (default: `--labgrid-coordinator`,
    /// then `LG_COORDINATOR`).
    pub coordinator: Option<Spanned<String>>,
    /// The place's name.
    pub place: Option<Spanned<String>>,
}

/// `[docker]`: the board is a container of a foreign architecture, run
/// through qemu-user (binfmt) from an image recipe (`docker/<image>/`) and
/// reached over SSH on a published loopback port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDocker {
    /// Recipe name under `docker/`, e.g. `board-arm64`.
    pub image: Option<Spanned<String>>,
    /// Seconds from starting the container until sshd must answer.
    pub start_s: Option<Spanned<u64>>,
}

/// `[qemu]`: the board is a QEMU system VM booted from an image recipe
/// (`images/<image>/recipe.sh`) and reached over SSH on a forwarded port.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQemu {
    /// Recipe name under `images/`, e.g. `qemu-pi4`.
    pub image: Option<Spanned<String>>,
    /// Seconds from starting QEMU until sshd must answer (each try).
    pub boot_s: Option<Spanned<u64>>,
    /// Boot watchdog: seconds the serial console may print nothing new
    /// before sshd answers; then the boot counts as hung and QEMU is
    /// killed and started again.
    pub boot_stall_s: Option<Spanned<u64>>,
    /// Boot watchdog: how many boots are tried in all before the board
    /// fails.
    pub boot_tries: Option<Spanned<u32>>,
    /// Words appended to the guest kernel's command line (the image's
    /// `-append`); a later word wins, e.g. `loglevel=7`.
    pub kernel_args: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTransport {
    /// `local` or `ssh`.
    pub kind: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    pub port: Option<Spanned<u16>>,
    pub user: Option<Spanned<String>>,
    pub identity: Option<Spanned<String>>,
    pub use_agent: Option<Spanned<bool>>,
    pub known_hosts: Option<Spanned<String>>,
    /// `strict` or `accept-new`.
    pub host_key_policy: Option<Spanned<String>>,
    pub keepalive_s: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    pub connect_s: Option<Spanned<u64>>,
    pub run_s: Option<Spanned<u64>>,
    pub board_s: Option<Spanned<u64>>,
}

/// A value and the file it came from, after merging an `extends` chain.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub value: T,
    /// Index into the chain of files (see `Merged::files`).
    pub file: usize,
    /// Byte span in that file.
    pub span: std::ops::Range<usize>,
}

macro_rules! merge_fields {
    ($dst:expr, $src:expr, $file:expr; $($field:ident),*) => {
        $( if let Some(v) = $src.$field { $dst.$field = Some(sourced(v, $file)); } )*
    };
}

fn sourced<T>(s: Spanned<T>, file: usize) -> Sourced<T> {
    let span = s.span();
    Sourced {
        value: s.into_inner(),
        file,
        span,
    }
}

/// A profile with its `extends` chain applied, each value remembering
/// which file set it.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub description: Option<String>,
    pub target: Option<Sourced<String>>,
    pub cpu: Option<Sourced<String>>,
    pub glibc: Option<Sourced<String>>,
    pub work_dir: Option<Sourced<String>>,
    pub emulation: Option<Sourced<String>>,
    pub workload_scale: Option<Sourced<f64>>,
    pub kind: Option<Sourced<String>>,
    pub host: Option<Sourced<String>>,
    pub port: Option<Sourced<u16>>,
    pub user: Option<Sourced<String>>,
    pub identity: Option<Sourced<String>>,
    pub use_agent: Option<Sourced<bool>>,
    pub known_hosts: Option<Sourced<String>>,
    pub host_key_policy: Option<Sourced<String>>,
    pub keepalive_s: Option<u32>,
    pub allocators: BTreeMap<String, Sourced<String>>,
    pub connect_s: Option<Sourced<u64>>,
    pub run_s: Option<Sourced<u64>>,
    pub board_s: Option<Sourced<u64>>,
    pub qemu_image: Option<Sourced<String>>,
    pub boot_s: Option<Sourced<u64>>,
    pub boot_stall_s: Option<Sourced<u64>>,
    pub boot_tries: Option<Sourced<u32>>,
    pub kernel_args: Option<Sourced<String>>,
    pub docker_image: Option<Sourced<String>>,
    pub start_s: Option<Sourced<u64>>,
    pub labgrid_coordinator: Option<Sourced<String>>,
    pub labgrid_place: Option<Sourced<String>>,
    /// Whether any file of the chain has a `[transport]` section, and where.
    pub transport_at: Option<usize>,
}

impl Merged {
    /// Applies `raw` (from chain file `file`) over what is already here.
    pub fn apply(&mut self, raw: RawProfile, file: usize) {
        if raw.description.is_some() {
            self.description = raw.description;
        }
        merge_fields!(self, raw, file; target, cpu, glibc, work_dir, emulation, workload_scale);
        if let Some(q) = raw.qemu {
            if let Some(v) = q.image {
                self.qemu_image = Some(sourced(v, file));
            }
            if let Some(v) = q.boot_s {
                self.boot_s = Some(sourced(v, file));
            }
            if let Some(v) = q.boot_stall_s {
                self.boot_stall_s = Some(sourced(v, file));
            }
            if let Some(v) = q.boot_tries {
                self.boot_tries = Some(sourced(v, file));
            }
            if let Some(v) = q.kernel_args {
                self.kernel_args = Some(sourced(v, file));
            }
        }
        if let Some(d) = raw.docker {
            if let Some(v) = d.image {
                self.docker_image = Some(sourced(v, file));
            }
            if let Some(v) = d.start_s {
                self.start_s = Some(sourced(v, file));
            }
        }
        if let Some(l) = raw.labgrid {
            if let Some(v) = l.coordinator {
                self.labgrid_coordinator = Some(sourced(v, file));
            }
            if let Some(v) = l.place {
                self.labgrid_place = Some(sourced(v, file));
            }
        }
        if let Some(t) = raw.transport {
            self.transport_at = Some(file);
            // A profile that names its own way to authenticate replaces the
            // inherited one instead of clashing with it.
            if t.identity.is_some() && t.use_agent.is_none() {
                self.use_agent = None;
            }
            if t.use_agent.is_some() && t.identity.is_none() {
                self.identity = None;
            }
            merge_fields!(self, t, file; host, port, user, identity, use_agent, known_hosts, host_key_policy);
            if let Some(kind) = t.kind {
                self.kind = Some(sourced(kind, file));
            }
            if t.keepalive_s.is_some() {
                self.keepalive_s = t.keepalive_s;
            }
        }
        for (name, path) in raw.allocators.unwrap_or_default() {
            self.allocators.insert(name, sourced(path, file));
        }
        if let Some(t) = raw.timeouts {
            merge_fields!(self, t, file; connect_s, run_s, board_s);
        }
    }
}
