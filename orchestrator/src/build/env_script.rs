//! `target/lwm-artifacts/<triple>/build-env.sh`: the environment a cross
//! build ran with, as shell exports, so the same toolchain setup can be
//! reused by hand or by `scripts/test-cross.sh` (which runs the allocator's
//! tests for the target under qemu-user with it).

use std::path::Path;
use std::process::Command;

use crate::platform::target::TargetSpec;

fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The script text for `spec`, from the cargo `command` that built it.
pub fn script(
    spec: &TargetSpec,
    command: &Command,
    size_config: &Path,
    target_dir: &Path,
) -> String {
    let mut out = format!(
        "# Written by `lwm build --target {t}`: the environment of its cargo build.\n\
         # Source it, then e.g.: cargo build --release --target {t} $LWM_CARGO_ARGS -p lwm-agent\n\
         unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS\n",
        t = spec.triple
    );
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            out.push_str(&format!(
                "export {}={}\n",
                key.to_string_lossy(),
                quote(&value.to_string_lossy())
            ));
        }
    }
    let mut args = format!("--config {}", size_config.display());
    if spec.build_std {
        args.push_str(" -Zbuild-std=std,panic_abort");
    }
    // Tests of the allocator crate for the target: rustup's std where there
    // is one (then without RUSTC_BOOTSTRAP and the build-std target dir),
    // else plain -Zbuild-std (`cargo test` also needs panic_unwind and test).
    let test_std = if spec.rustup_std {
        "rustup"
    } else {
        "build-std"
    };
    let mut test_args = format!("--config {}", size_config.display());
    if !spec.rustup_std {
        // Test binaries unwind; with the release profile's panic=abort the
        // dependencies would get a second, panic=abort `core` beside it.
        test_args.push_str(" -Zbuild-std --config profile.release.panic=\"unwind\"");
    }
    out.push_str(&format!("export LWM_TARGET={}\n", quote(spec.triple)));
    out.push_str(&format!("export LWM_CARGO_ARGS={}\n", quote(&args)));
    out.push_str(&format!(
        "export LWM_TEST_CARGO_ARGS={}\n",
        quote(&test_args)
    ));
    out.push_str(&format!("export LWM_TEST_STD={test_std}\n"));
    // A target directory of its own: a second -Zbuild-std set (with
    // panic_unwind and test) beside the artifacts' one makes rustc see two
    // `core`s ("duplicate lang item").
    out.push_str(&format!(
        "export LWM_TEST_TARGET_DIR={}\n",
        quote(&target_dir.join("lwm-build-std-test").display().to_string())
    ));
    out.push_str(&format!("export LWM_TARGET_CC={}\n", quote(&spec.gcc())));
    out.push_str(&format!(
        "export LWM_TARGET_BINUTILS={}\n",
        quote(&format!("{}-", spec.gnu_prefix))
    ));
    match spec.emulator {
        Some(emulator) => {
            let mut qemu = emulator.qemu.to_string();
            if let Some(cpu) = emulator.cpu {
                qemu.push_str(&format!(" -cpu {cpu}"));
            }
            qemu.push_str(&format!(" -L {}", spec.sysroot()));
            out.push_str(&format!("export LWM_TARGET_RUNNER={}\n", quote(&qemu)));
        }
        None => out.push_str("# No qemu-user runner: this target's binaries cannot run here.\nunset LWM_TARGET_RUNNER\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::target::cross_target;

    #[test]
    fn the_arm1176_twin_runs_under_qemu_arm_with_the_armel_sysroot() {
        let spec = cross_target("arm-unknown-linux-gnueabi").unwrap();
        let mut command = Command::new("cargo");
        command
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CFLAGS_x", "-march=armv6kz -marm");
        let text = script(
            spec,
            &command,
            Path::new("/ws/cross/size.toml"),
            Path::new("/t"),
        );
        assert!(text.contains("export RUSTC_BOOTSTRAP='1'\n"), "{text}");
        assert!(
            text.contains("export CFLAGS_x='-march=armv6kz -marm'\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "export LWM_TARGET_RUNNER='qemu-arm -cpu arm1176 -L /usr/arm-linux-gnueabi'\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "export LWM_CARGO_ARGS='--config /ws/cross/size.toml -Zbuild-std=std,panic_abort'\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "export LWM_TEST_CARGO_ARGS='--config /ws/cross/size.toml -Zbuild-std \
                 --config profile.release.panic=\"unwind\"'\n"
            ),
            "{text}"
        );
        assert!(text.contains("export LWM_TEST_STD=build-std\n"), "{text}");
        assert!(
            text.contains("export LWM_TEST_TARGET_DIR='/t/lwm-build-std-test'\n"),
            "{text}"
        );
        let hf = cross_target("arm-unknown-linux-gnueabihf").unwrap();
        assert!(script(hf, &command, Path::new("/s"), Path::new("/t"))
            .contains("unset LWM_TARGET_RUNNER"));
        assert_eq!(quote("a'b"), r"'a'\''b'");
    }
}
