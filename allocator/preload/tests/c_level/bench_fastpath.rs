//! Self-checks of the fast-path benchmark (scripts/bench-fastpath.sh), which
//! is not itself a test: its C drivers (bench/fastpath/*.c) build with the
//! script's flags and run against the target, its callgrind parser
//! (scripts/lib/callgrind-self.awk) counts a known profile right, and the
//! script passes `bash -n` (and shellcheck, when installed).

use crate::common::{
    apply_target, report, run, scratch_dir, target_env, workspace_root, HANG_GUARD,
};
use std::process::Command;

/// Builds bench/fastpath/<name>.c as the script does.
fn driver(name: &str) -> std::path::PathBuf {
    let source = workspace_root().join(format!("bench/fastpath/{name}.c"));
    let exe = scratch_dir().join(format!("bench-{name}"));
    let output = Command::new(target_env::c_compiler())
        .args([
            "-O2",
            "-fno-builtin",
            "-pthread",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", target_env::c_compiler()));
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

fn run_driver(exe: &std::path::Path, args: &[&str]) -> crate::common::Outcome {
    let mut command = target_env::target_command(exe);
    command.args(args);
    apply_target(&mut command);
    run(command, HANG_GUARD)
}

#[test]
fn drivers_run() {
    for (name, args, bad) in [
        ("pair", &["3000", "32"][..], &["x", "1", "2"][..]),
        ("pair", &["3000", "1024"][..], &["-1"][..]),
        ("mixed", &["3000"][..], &[][..]),
        ("cross", &["3000"][..], &["2500"][..]),
    ] {
        let exe = driver(name);
        let outcome = run_driver(&exe, args);
        assert!(
            outcome.status.success(),
            "{name} {args:?}: {}\n{}",
            outcome.describe_status(),
            outcome.transcript()
        );
        let outcome = run_driver(&exe, bad);
        assert_eq!(
            outcome.status.code(),
            Some(2),
            "{name} {bad:?} is refused\n{}",
            outcome.transcript()
        );
    }
}

/// A callgrind profile in the shape valgrind 3.19 writes: compressed names
/// defined on ob= and on cob= lines, relative positions, and calls= lines
/// whose next cost line is the callee's inclusive cost.
const PROFILE: &str = "\
# callgrind format
version: 1
positions: line
events: Ir
summary: 980

ob=(1) /bench/pair
fl=(1) pair.c
fn=(1) main
10 5
+2 7
cob=(2) /lib/liblwmalloc.so
cfi=(2) ???
cfn=(2) malloc
calls=4 0
+1 400
* 3

ob=(2)
fl=(2)
fn=(2)
0 380
cob=(3) /lib/libc.so.6
cfn=(3) memset
calls=1 0
0 20

ob=(3)
fn=(3)
0 20
-3 500

ob=(1)
fn=(1)
12 65
";

#[test]
fn callgrind_parser() {
    let path = scratch_dir().join("bench-fastpath.callgrind.out");
    std::fs::write(&path, PROFILE).unwrap();
    let output = Command::new("awk")
        .args([
            "-v",
            "driver=/bench/pair",
            "-v",
            "lib=/lib/liblwmalloc.so",
            "-f",
        ])
        .arg(workspace_root().join("scripts/lib/callgrind-self.awk"))
        .arg(&path)
        .output()
        .expect("run awk");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // main: 5 + 7 + 3 + 65, malloc: 380, the rest (libc) 520.
    assert_eq!(String::from_utf8_lossy(&output.stdout), "980 80 380\n");
}

#[test]
fn script_is_sound() {
    let root = workspace_root();
    let status = Command::new("bash")
        .arg("-n")
        .arg(root.join("scripts/bench-fastpath.sh"))
        .status()
        .expect("run bash");
    assert!(status.success(), "bash -n scripts/bench-fastpath.sh");
    match Command::new("shellcheck")
        .args(["-x", "scripts/bench-fastpath.sh", "scripts/setup.sh"])
        .current_dir(&root)
        .output()
    {
        Ok(output) => assert!(
            output.status.success(),
            "shellcheck:\n{}",
            String::from_utf8_lossy(&output.stdout)
        ),
        Err(_) => report("bench_fastpath::script_is_sound: shellcheck not installed, only bash -n"),
    }
}
