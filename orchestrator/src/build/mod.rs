//! Building the allocator, agent and workloads for a board's target.

use std::path::{Path, PathBuf};

/// What a build produced for one target triple.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// Target triple built for.
    pub target: String,
    /// The preload library `liblwmalloc.so`.
    pub liblwmalloc: PathBuf,
    /// `lwm-agent` executable.
    pub agent: PathBuf,
    /// `lwm-workload` executable.
    pub workload: PathBuf,
    /// Stripped sizes, for the footprint table.
    pub footprint: Footprint,
}

/// Stripped sizes in bytes of the three artifacts of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    pub liblwmalloc_bytes: u64,
    pub agent_bytes: u64,
    pub workload_bytes: u64,
}

/// Options for [`build`].
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The workspace root (holds the top-level Cargo.toml).
    pub workspace: PathBuf,
    /// Target triple; the host triple builds natively.
    pub target: String,
}

/// Builds allocator, agent and workloads for `opts.target` in release mode
/// and returns the stripped artifacts. `progress` receives one-line status
/// messages.
pub fn build(opts: &BuildOptions, progress: &dyn Fn(&str)) -> anyhow::Result<Artifacts> {
    let _ = (opts, progress);
    todo!("build")
}

/// The host's target triple (`x86_64-unknown-linux-gnu` here).
pub fn host_triple() -> String {
    todo!("host triple")
}

/// The workspace root this `lwm` binary was built from.
pub fn default_workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The footprint table `lwm build` prints.
pub fn footprint_table(all: &[Artifacts]) -> String {
    let _ = all;
    todo!("footprint")
}
