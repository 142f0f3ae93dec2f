//! The `cargo build` command line and environment for one target.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::platform::target::{TargetSpec, SIZE_CONFIG};

/// The packages whose artifacts a board needs.
pub const PACKAGES: [&str; 3] = ["lwmalloc-preload", "lwm-agent", "lwm-workload"];

/// The cargo program: `$CARGO` when run by cargo, else `cargo`.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| "cargo".into())
}

/// `workspace/target`, or `$CARGO_TARGET_DIR` (relative to the workspace).
pub fn target_dir(workspace: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// Where cargo puts a target's build. Targets built with `-Zbuild-std` get
/// a target directory of their own: they need RUSTC_BOOTSTRAP=1, and
/// proc-macro2's build script reruns whenever that variable changes, which
/// would rebuild every proc macro of the host build on each alternation.
pub fn cargo_target_dir(workspace: &Path, spec: &TargetSpec) -> PathBuf {
    if spec.build_std {
        target_dir(workspace).join("lwm-build-std")
    } else {
        target_dir(workspace)
    }
}

/// Host build: exactly what `scripts/test.sh` builds, so it is a no-op after
/// it (a `-p` subset could unify features differently and relink).
pub fn host_command(workspace: &Path) -> Command {
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace)
        .args(["build", "--release", "--locked", "--workspace"]);
    command
}

/// The package groups of a cross build, one cargo run each: all three
/// together (allocator/preload/build.rs links libc.so.6 itself, so the
/// preload's features may be unified with the agent's).
pub const CROSS_GROUPS: [&[&str]; 1] = [&PACKAGES];

/// Cross build of `packages` for `spec`. `startfiles` is the ARMv6
/// stand-in directory when the target needs it; `lld_dir` holds rustup's
/// `ld.lld`.
pub fn cross_command(
    workspace: &Path,
    spec: &TargetSpec,
    packages: &[&str],
    lld_dir: &Path,
    startfiles: Option<&Path>,
) -> Command {
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace)
        .args(["build", "--release", "--locked", "--target", spec.triple])
        .arg("--config")
        .arg(workspace.join(SIZE_CONFIG));
    for package in packages {
        command.args(["-p", package]);
    }
    if spec.build_std {
        command
            .arg("-Zbuild-std=std,panic_abort")
            .env("RUSTC_BOOTSTRAP", "1");
    }
    command.env("CARGO_TARGET_DIR", cargo_target_dir(workspace, spec));

    // A user's host RUSTFLAGS (say -C target-cpu=native) must not leak into
    // board binaries; the target's own flags are set below.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        command.env_remove(var);
    }
    let upper = spec.cargo_env_name();
    let lower = spec.cc_env_name();
    let mut rustflags = Vec::new();
    if let Some(dir) = startfiles {
        rustflags.push(format!("-C link-arg=-B{}", dir.display()));
    }
    rustflags.push("-C link-arg=-fuse-ld=lld".to_string());
    rustflags.extend(spec.size_rustflags.iter().map(|f| f.to_string()));
    rustflags.push(format!("-C link-arg=-B{}", lld_dir.display()));
    command
        .env(format!("CARGO_TARGET_{upper}_LINKER"), spec.gcc())
        .env(
            format!("CARGO_TARGET_{upper}_RUSTFLAGS"),
            rustflags.join(" "),
        )
        .env(format!("CC_{lower}"), spec.gcc())
        .env(format!("AR_{lower}"), format!("{}-ar", spec.gnu_prefix))
        .env(format!("CFLAGS_{lower}"), spec.c_flags);
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::target::cross_target;

    fn env_of(command: &Command, key: &str) -> Option<String> {
        command
            .get_envs()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn armv6_hard_float_uses_stand_ins_build_std_and_its_own_target_dir() {
        let spec = cross_target("arm-unknown-linux-gnueabihf").unwrap();
        let ws = Path::new("/ws");
        let command = cross_command(
            ws,
            spec,
            &PACKAGES,
            Path::new("/lld"),
            Some(Path::new("/sf")),
        );
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args.contains(&"-Zbuild-std=std,panic_abort".to_string()));
        assert!(args.contains(&"/ws/cross/size.toml".to_string()));
        assert_eq!(env_of(&command, "RUSTC_BOOTSTRAP").as_deref(), Some("1"));
        let flags = env_of(
            &command,
            "CARGO_TARGET_ARM_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS",
        )
        .unwrap();
        assert!(flags.starts_with("-C link-arg=-B/sf "), "{flags}");
        assert!(
            flags.contains("-fuse-ld=lld") && flags.contains("-B/lld"),
            "{flags}"
        );
        assert_eq!(
            env_of(&command, "CFLAGS_arm_unknown_linux_gnueabihf").as_deref(),
            Some("-march=armv6kz+fp -marm -mfpu=vfp -mfloat-abi=hard")
        );
        assert!(env_of(&command, "CARGO_TARGET_DIR")
            .unwrap()
            .ends_with("lwm-build-std"));
    }

    #[test]
    fn aarch64_uses_rustup_std_and_the_shared_target_dir() {
        let spec = cross_target("aarch64-unknown-linux-gnu").unwrap();
        let command = cross_command(Path::new("/ws"), spec, &PACKAGES, Path::new("/lld"), None);
        assert!(!command
            .get_args()
            .any(|a| a.to_string_lossy().starts_with("-Zbuild-std")));
        assert_eq!(env_of(&command, "RUSTC_BOOTSTRAP"), None);
        assert_eq!(
            env_of(&command, "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER").as_deref(),
            Some("aarch64-linux-gnu-gcc")
        );
    }
}
