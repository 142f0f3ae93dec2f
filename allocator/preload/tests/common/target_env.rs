//! Which machine the C programs are built for and run on. By default the
//! host: `cc`, run directly. scripts/test-cross.sh runs the same suite
//! against a cross-built library under qemu-user by setting:
//!
//! - `LWM_TEST_CC`: the C compiler for the programs (`aarch64-linux-gnu-gcc`),
//! - `LWM_TEST_RUNNER`: the command prefix that runs them
//!   (`qemu-arm -cpu arm1176 -L /usr/arm-linux-gnueabi`),
//! - `LWM_TEST_BINUTILS`: the prefix of nm/strip for the library
//!   (`aarch64-linux-gnu-`),
//!
//! together with `LWM_LIB` naming the cross-built liblwmalloc.so.

use std::path::Path;
use std::process::Command;

/// The C compiler for tests/c programs.
pub fn c_compiler() -> String {
    std::env::var("LWM_TEST_CC").unwrap_or_else(|_| "cc".into())
}

/// The emulator command prefix, when the programs run under one.
pub fn runner() -> Option<Vec<String>> {
    let text = std::env::var("LWM_TEST_RUNNER").ok()?;
    let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    (!words.is_empty()).then_some(words)
}

pub fn emulated() -> bool {
    runner().is_some()
}

/// `nm`, `strip`, ... for the library's architecture.
pub fn binutil(tool: &str) -> String {
    format!(
        "{}{tool}",
        std::env::var("LWM_TEST_BINUTILS").unwrap_or_default()
    )
}

/// A command running the target program `exe`, under the runner if any.
pub fn target_command(exe: &Path) -> Command {
    match runner() {
        Some(words) => {
            let mut command = Command::new(&words[0]);
            command.args(&words[1..]).arg(exe);
            command
        }
        None => Command::new(exe),
    }
}

/// Under qemu-user, LD_PRELOAD in the emulator's own environment would be
/// read by the host's loader (which cannot load a foreign library and
/// says so on stderr): hand it to the guest through QEMU_SET_ENV instead.
pub fn move_preload_into_guest(command: &mut Command) {
    let Some(words) = runner() else { return };
    if command.get_program() != words[0].as_str() {
        return;
    }
    let preload = command
        .get_envs()
        .find(|(k, _)| *k == "LD_PRELOAD")
        .and_then(|(_, v)| v.map(|v| v.to_os_string()));
    if let Some(preload) = preload {
        let mut setting = std::ffi::OsString::from("LD_PRELOAD=");
        setting.push(preload);
        command
            .env_remove("LD_PRELOAD")
            .env("QEMU_SET_ENV", setting);
    }
}

/// stderr without the line qemu-user adds when the guest dies of a signal
/// (`qemu: uncaught target signal 6 (Aborted) - core dumped`): the guest
/// did not print it.
pub fn strip_emulator_lines(stderr: String) -> String {
    if !emulated() {
        return stderr;
    }
    stderr
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("qemu: uncaught target signal"))
        .collect()
}
