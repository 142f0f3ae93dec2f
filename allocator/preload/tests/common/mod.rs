//! Shared harness of the C-level tests of liblwmalloc.so: finds (and builds)
//! the library, compiles the C programs under tests/c, runs programs with or
//! without the preload under a hang guard, and parses the LWM_STATS report.
//!
//! `LWM_TEST_AGAINST=glibc` runs the C programs without the preload and
//! without `LWM_EXPECT`, to check that the tests themselves are right: glibc
//! must pass every check it should; lwmalloc-only tests skip, saying so.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod process;
pub mod stats_line;
pub mod target_env;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[allow(unused_imports)] // not every test binary uses every helper
pub use process::{run, Outcome};
#[allow(unused_imports)]
pub use stats_line::{stats_lines, strip_stats_lines, StatsLine};

/// Default hang guard of a child process; no test gets near it unless the
/// program deadlocks.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// What the C programs run against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// LD_PRELOAD of this liblwmalloc.so, with LWM_EXPECT=1.
    Lwmalloc(PathBuf),
    /// The system allocator (glibc), to validate the tests themselves.
    Glibc,
}

pub fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| match std::env::var("LWM_TEST_AGAINST").as_deref() {
        Ok("glibc") => Target::Glibc,
        Ok("lwmalloc") | Err(_) => Target::Lwmalloc(build_library()),
        Ok(other) => panic!("LWM_TEST_AGAINST={other}: expected `glibc` or `lwmalloc`"),
    })
}

/// The preloaded library, or None (after saying why the test is skipped)
/// when running against glibc, for tests that only make sense on lwmalloc.
pub fn lwmalloc_or_skip(test: &str) -> Option<&'static Path> {
    match target() {
        Target::Lwmalloc(lib) => Some(lib),
        Target::Glibc => {
            skip(test, "lwmalloc-only test; LWM_TEST_AGAINST=glibc");
            None
        }
    }
}

/// Reports a skipped test on the real stderr: libtest captures `eprintln!`
/// of passing tests, but not direct writes, so the reason is always seen.
pub fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// Prints past libtest's capture (for figures a reader wants to see).
pub fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir), // join keeps an absolute dir as is
        None => workspace_root().join("target"),
    }
}

/// `LWM_LIB` if set (used as is), else `cargo build --release -p
/// lwmalloc-preload` once per test binary, so the library tested is the
/// current source even under a plain `cargo test`.
fn build_library() -> PathBuf {
    if let Some(lib) = std::env::var_os("LWM_LIB") {
        let lib = PathBuf::from(lib);
        return lib
            .canonicalize()
            .unwrap_or_else(|e| panic!("LWM_LIB={}: {e}", lib.display()));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["build", "--release", "-p", "lwmalloc-preload"])
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
    assert!(
        output.status.success(),
        "cargo build --release -p lwmalloc-preload failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let lib = target_dir().join("release/liblwmalloc.so");
    lib.canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", lib.display()))
}

static SCRATCH_DIR: OnceLock<PathBuf> = OnceLock::new();

/// A scratch directory of this test process (under the system temp dir),
/// removed when the process exits unless LWM_KEEP_TEMP is set (to rerun a
/// failing C program by hand with the command the failure printed).
pub fn scratch_dir() -> &'static Path {
    SCRATCH_DIR.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "lwmalloc-preload-tests-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        if std::env::var_os("LWM_KEEP_TEMP").is_none() {
            // SAFETY: registers a plain function with the C library's atexit.
            unsafe { atexit(remove_scratch_dir) };
        }
        dir
    })
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

extern "C" fn remove_scratch_dir() {
    if let Some(dir) = SCRATCH_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Compiles tests/c/<name>.c once per test process; returns the executable.
pub fn c_program(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(exe) = built.get(name) {
        return exe.clone();
    }
    let source = tests_dir().join("c").join(format!("{name}.c"));
    let exe = scratch_dir().join(name);
    let output = Command::new(target_env::c_compiler())
        // -fno-builtin: gcc may otherwise fold or drop malloc/free pairs and
        // size checks, and the very calls under test would not happen.
        .args([
            "-std=gnu11",
            "-O1",
            "-g",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pthread",
        ])
        .arg("-fno-builtin")
        .arg("-I")
        .arg(workspace_root().join("allocator/include"))
        .arg("-I")
        .arg(tests_dir().join("c"))
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .arg("-ldl")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", target_env::c_compiler()));
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    built.insert(name.to_string(), exe.clone());
    exe
}

/// Sets the environment of a child for the current target: the preload and
/// LWM_EXPECT=1 for lwmalloc, neither for glibc. LWM_STATS is removed; tests
/// that want the exit report set it afterwards.
pub fn apply_target(command: &mut Command) -> &mut Command {
    command
        .env_remove("LWM_STATS")
        .env_remove("LD_PRELOAD")
        .env_remove("LWM_EXPECT");
    if let Target::Lwmalloc(lib) = target() {
        command.env("LD_PRELOAD", lib).env("LWM_EXPECT", "1");
    }
    command
}

/// A command running tests/c/<name>.c against the current target.
pub fn c_command(name: &str, args: &[&str]) -> Command {
    let mut command = target_env::target_command(&c_program(name));
    command.args(args);
    apply_target(&mut command);
    command
}

/// Asserts a C test program passed: exit 0, no "not ok", and its final
/// "all N checks passed" line (so an early exit(0) is not a pass).
pub fn assert_c_passed(outcome: &Outcome, what: &str) {
    let passed_line = outcome.stdout.lines().any(|l| l.contains("checks passed"));
    assert!(
        outcome.status.success() && passed_line && !outcome.stdout.contains("not ok"),
        "{what}: {}\n{}",
        outcome.describe_status(),
        outcome.transcript()
    );
}

/// Runs one group of a C test program and asserts it passed.
pub fn run_c_group(program: &str, group: &str) {
    let outcome = run(c_command(program, &[group]), HANG_GUARD);
    assert_c_passed(&outcome, &format!("{program} {group}"));
}
