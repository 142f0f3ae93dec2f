//! What built the numbers: project commit, toolchain, build flags.

use std::path::Path;
use std::process::Command;

use crate::manifest::Toolchain;

fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_string())
}

/// `git rev-parse HEAD` of the workspace and whether its tree is dirty
/// (ignoring `results/`, which campaigns write into).
pub fn project_commit(workspace: &Path) -> (Option<String>, Option<bool>) {
    let commit = first_line(
        Command::new("git")
            .arg("-C")
            .arg(workspace)
            .args(["rev-parse", "HEAD"]),
    );
    let dirty = Command::new("git")
        .arg("-C")
        .arg(workspace)
        .args(["status", "--porcelain", "--", ".", ":(exclude)results"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| !o.stdout.is_empty());
    (commit, dirty)
}

/// The toolchain that builds the artifacts and the flags it uses.
pub fn toolchain(workspace: &Path) -> Toolchain {
    let mut build_flags = vec![
        "cargo build --release --locked".to_string(),
        "profile.release: opt-level=3 lto=true codegen-units=1 panic=abort".to_string(),
        "lwmalloc, lwmalloc-preload: opt-level=z".to_string(),
        "aarch64 boards: -C target-feature=-outline-atomics".to_string(),
    ];
    if let Ok(f) = std::env::var("RUSTFLAGS") {
        build_flags.push(format!("RUSTFLAGS={f}"));
    }
    Toolchain {
        rustc: first_line(Command::new("rustc").arg("-V").current_dir(workspace)),
        cargo: first_line(Command::new("cargo").arg("-V").current_dir(workspace)),
        build_flags,
    }
}
