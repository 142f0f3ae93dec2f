//! The Rust toolchain this machine builds with: host triple, sysroot, and
//! the rust-lld that every cross target links with.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

/// `rustc`, or `$RUSTC` when cargo (or the user) names another one.
fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())
}

fn rustc_output(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(rustc())
        .args(args)
        .output()
        .with_context(|| format!("cannot run {} {}", rustc(), args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "{} {} failed: {}",
            rustc(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The host triple from `rustc -vV`; if rustc cannot be run, the triple this
/// binary was compiled for (same thing for a native build).
pub fn host_triple() -> String {
    rustc_output(&["-vV"])
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("host: ").map(|h| h.trim().to_string()))
        })
        .unwrap_or_else(|| compiled_for().to_string())
}

fn compiled_for() -> &'static str {
    crate::platform::target::host().map_or("x86_64-unknown-linux-gnu", |t| t.triple)
}

/// The rustc version line (`rustc 1.95.0 (... )`), recorded with a build.
pub fn rustc_version() -> anyhow::Result<String> {
    Ok(rustc_output(&["--version"])?.trim().to_string())
}

/// The directory holding rustup's `ld.lld` wrapper around rust-lld, which
/// gcc finds through `-B<dir> -fuse-ld=lld`. rust-lld lays out a shared
/// library without the file padding GNU ld puts before a RELRO segment
/// (1.8 KB on ARM, 44 KB on aarch64 with its 64 KB pages), which is what
/// keeps liblwmalloc.so within 20 KB; the host build links with it too.
pub fn lld_dir() -> anyhow::Result<PathBuf> {
    let sysroot = rustc_output(&["--print", "sysroot"])?;
    let dir = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(host_triple())
        .join("bin/gcc-ld");
    if !dir.join("ld.lld").exists() {
        bail!(
            "{}: no ld.lld in the Rust toolchain (rustup's rust-lld is needed for cross links)",
            dir.display()
        );
    }
    Ok(dir)
}

/// Whether the toolchain has the library sources `-Zbuild-std` compiles.
pub fn has_rust_src() -> anyhow::Result<bool> {
    let sysroot = rustc_output(&["--print", "sysroot"])?;
    Ok(PathBuf::from(sysroot.trim())
        .join("lib/rustlib/src/rust/library/std/Cargo.toml")
        .exists())
}

/// Whether rustup installed a prebuilt std for `triple`.
pub fn has_prebuilt_std(triple: &str) -> anyhow::Result<bool> {
    let sysroot = rustc_output(&["--print", "sysroot"])?;
    let lib = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(triple)
        .join("lib");
    Ok(std::fs::read_dir(&lib)
        .map(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("libstd-") && name.ends_with(".rlib")
            })
        })
        .unwrap_or(false))
}
