//! Building the allocator, agent and workloads for a board's target.
//!
//! The host builds with plain `cargo build --release --workspace`. Each cross
//! target (see [`target::TARGETS`]) builds with Debian's cross gcc as
//! linker driver and C compiler, rust-lld as the linker, rustup's std or
//! `-Zbuild-std` (the ARMv6 targets), and for ARMv6 hard-float the stand-in
//! start files of `cross/armv6-startfiles`. No container is involved;
//! `scripts/setup-cross.sh` installs everything. The results are stripped
//! into `target/lwm-artifacts/<triple>/` (what is pushed and measured), each
//! with a `.debug` companion holding its symbols for the gate.

mod cargo_command;
mod env_script;
mod footprint;
mod startfiles;
mod strip;
mod toolchain;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::platform::target;

pub use cargo_command::target_dir;
pub use footprint::{budget_applies, LIBLWMALLOC_BUDGET_BYTES};
pub use strip::debug_companion;
pub use toolchain::rustc_version;

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

impl Artifacts {
    /// The three pushed files, library first.
    pub fn files(&self) -> [&Path; 3] {
        [&self.liblwmalloc, &self.agent, &self.workload]
    }
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

/// The triples `lwm build` accepts: the host and every cross target.
pub fn supported_targets() -> Vec<String> {
    let mut all = vec![host_triple()];
    all.extend(target::cross_targets().map(|t| t.triple.to_string()));
    all
}

/// Builds allocator, agent and workloads for `opts.target` in release mode
/// and returns the stripped artifacts. `progress` receives one-line status
/// messages.
pub fn build(opts: &BuildOptions, progress: &dyn Fn(&str)) -> anyhow::Result<Artifacts> {
    let ws = &opts.workspace;
    let host = host_triple();
    let (commands, built_dir, strip_tool, objcopy_tool) = if opts.target == host {
        (
            vec![cargo_command::host_command(ws)],
            target_dir(ws).join("release"),
            "strip".to_string(),
            "objcopy".to_string(),
        )
    } else {
        let Some(spec) = target::cross_target(&opts.target) else {
            bail!(
                "lwm build: unknown target `{}`; supported: {}",
                opts.target,
                supported_targets().join(", ")
            );
        };
        preflight(spec)?;
        let lld = toolchain::lld_dir()?;
        let startfiles = if spec.armv6_startfiles {
            // Named after a hash of the sources: the directory is in the
            // target's RUSTFLAGS, so a change to a stand-in relinks
            // everything (cargo does not track link inputs given as flags).
            let dir = target_dir(ws)
                .join("lwm-cross")
                .join(spec.triple)
                .join(format!("startfiles-{}", startfiles::sources_hash(ws)?));
            progress(&format!(
                "assembling ARMv6 stand-in start files into {}",
                dir.display()
            ));
            Some(startfiles::prepare(ws, spec, &dir)?)
        } else {
            None
        };
        let commands: Vec<_> = cargo_command::CROSS_GROUPS
            .iter()
            .map(|group| cargo_command::cross_command(ws, spec, group, &lld, startfiles.as_deref()))
            .collect();
        let out_dir = target_dir(ws).join("lwm-artifacts").join(spec.triple);
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("creating {}", out_dir.display()))?;
        let env_file = out_dir.join("build-env.sh");
        std::fs::write(
            &env_file,
            env_script::script(
                spec,
                &commands[0],
                &ws.join(target::SIZE_CONFIG),
                &target_dir(ws),
            ),
        )
        .with_context(|| format!("writing {}", env_file.display()))?;
        (
            commands,
            cargo_command::cargo_target_dir(ws, spec)
                .join(spec.triple)
                .join("release"),
            spec.strip(),
            spec.objcopy(),
        )
    };

    progress(&format!(
        "building {} for {} (release)",
        cargo_command::PACKAGES.join(", "),
        opts.target
    ));
    let started = Instant::now();
    for mut command in commands {
        run_cargo(&mut command, progress)?;
    }
    progress(&format!(
        "cargo finished for {} in {:.0} s",
        opts.target,
        started.elapsed().as_secs_f64()
    ));

    let out_dir = target_dir(ws).join("lwm-artifacts").join(&opts.target);
    let mut stripped = Vec::new();
    for name in ["liblwmalloc.so", "lwm-agent", "lwm-workload"] {
        stripped.push(strip::strip_into(
            &built_dir.join(name),
            &out_dir,
            &strip_tool,
            &objcopy_tool,
        )?);
    }
    progress(&format!("stripped artifacts in {}", out_dir.display()));
    let [(liblwmalloc, lib_bytes), (agent, agent_bytes), (workload, workload_bytes)]: [(
        PathBuf,
        u64,
    ); 3] = stripped.try_into().expect("three artifacts");
    Ok(Artifacts {
        target: opts.target.clone(),
        liblwmalloc,
        agent,
        workload,
        footprint: Footprint {
            liblwmalloc_bytes: lib_bytes,
            agent_bytes,
            workload_bytes,
        },
    })
}

/// Assembles the ARMv6 hard-float stand-in start files and libc_nonshared
/// (cross/armv6-startfiles) into `out_dir`, for gcc's `-B<out_dir>`.
pub fn armv6_startfiles(workspace: &Path, out_dir: &Path) -> anyhow::Result<PathBuf> {
    let spec = target::cross_targets()
        .find(|t| t.armv6_startfiles)
        .expect("a target links with the ARMv6 start files");
    startfiles::prepare(workspace, spec, out_dir)
}

/// The host's target triple (`x86_64-unknown-linux-gnu` here).
pub fn host_triple() -> String {
    toolchain::host_triple()
}

/// The footprint table printed by `lwm build` and kept in docs/footprint.md.
pub fn footprint_table(builds: &[Artifacts]) -> String {
    footprint::table(builds)
}

/// The workspace root this `lwm` binary was built from.
pub fn default_workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Fails with one line naming what is missing and the script installing it.
fn preflight(spec: &target::TargetSpec) -> anyhow::Result<()> {
    let setup = "run scripts/setup-cross.sh";
    for tool in [spec.gcc(), spec.strip(), spec.objcopy()] {
        if !on_path(&tool) {
            bail!("lwm build {}: `{tool}` not found ({setup})", spec.triple);
        }
    }
    if spec.build_std && !toolchain::has_rust_src()? {
        bail!(
            "lwm build {}: rustup's rust-src is missing, -Zbuild-std needs it ({setup})",
            spec.triple
        );
    }
    if !spec.build_std && !toolchain::has_prebuilt_std(spec.triple)? {
        bail!(
            "lwm build {}: no std for this target in the Rust toolchain ({setup}: rustup target add {})",
            spec.triple,
            spec.triple
        );
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Runs cargo, passing its `Compiling`/`Finished` lines to `progress`; on
/// failure the error carries the end of cargo's output.
fn run_cargo(command: &mut std::process::Command, progress: &dyn Fn(&str)) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run cargo: {shown}"))?;
    let mut lines = Vec::new();
    for line in BufReader::new(child.stderr.take().expect("piped stderr")).lines() {
        let line = line.unwrap_or_default();
        let trimmed = line.trim_start();
        if trimmed.starts_with("Compiling") || trimmed.starts_with("Finished") {
            progress(&format!("cargo: {trimmed}"));
        }
        lines.push(line);
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        bail!("cargo build failed ({status}): {shown}\n{tail}");
    }
    Ok(())
}
