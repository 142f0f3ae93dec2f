//! Real programs from the machine's packages under LD_PRELOAD: their output
//! must be byte-identical to a run without the preload, and the LWM_STATS=1
//! report on stderr (malloc=<n>, n > 0) proves lwmalloc served them. A program
//! that is not installed is skipped with a printed reason.

use crate::common::{
    run, scratch_dir, skip, stats_lines, strip_stats_lines, target_env, tests_dir, workspace_root,
    Outcome, HANG_GUARD,
};

/// The library, or None (after saying why) when the test cannot run: the
/// programs are the host's, so they cannot load a cross-built library.
fn lwmalloc_or_skip(test: &str) -> Option<&'static Path> {
    if target_env::emulated() {
        skip(
            test,
            "the real programs are host binaries; they cannot load a cross-built library",
        );
        return None;
    }
    crate::common::lwmalloc_or_skip(test)
}
use std::path::Path;
use std::process::Command;

/// A clean, fixed environment, so both runs differ only in the preload.
fn program(path: &Path) -> Command {
    let mut command = Command::new(path);
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C");
    command
}

/// Runs the command made by `make` once plainly and once with the preload
/// and LWM_STATS=1; returns (plain, preloaded), or None if skipped.
fn run_with_and_without_preload(
    test: &str,
    executable: &str,
    make: impl Fn() -> Command,
) -> Option<(Outcome, Outcome)> {
    let lib = lwmalloc_or_skip(test)?;
    if !Path::new(executable).exists() {
        skip(test, &format!("{executable} is not installed"));
        return None;
    }
    let plain = run(make(), HANG_GUARD);
    let mut preloaded = make();
    preloaded.env("LD_PRELOAD", lib).env("LWM_STATS", "1");
    Some((plain, run(preloaded, HANG_GUARD)))
}

/// Same status, same stdout bytes, same stderr once the reports are
/// removed, and at least `min_reports` reports, each with malloc > 0.
fn assert_same_and_served(test: &str, plain: &Outcome, preloaded: &Outcome, min_reports: usize) {
    let both = format!(
        "--- plain ---\n{}\n--- preloaded ---\n{}",
        plain.transcript(),
        preloaded.transcript()
    );
    assert!(
        plain.status.success(),
        "{test}: the plain run failed\n{both}"
    );
    assert_eq!(
        plain.status.code(),
        preloaded.status.code(),
        "{test}: exit status differs\n{both}"
    );
    assert!(
        plain.stdout_bytes == preloaded.stdout_bytes,
        "{test}: stdout differs\n{both}"
    );
    assert_eq!(
        plain.stderr,
        strip_stats_lines(&preloaded.stderr),
        "{test}: stderr differs (LWM_STATS lines removed)\n{both}"
    );
    let reports = stats_lines(&preloaded.stderr);
    assert!(
        reports.len() >= min_reports && reports.iter().all(|r| r.malloc > 0),
        "{test}: expected >= {min_reports} LWM_STATS lines with malloc > 0 (proof that lwmalloc \
         served the program), got {reports:?}\n{both}"
    );
}

#[test]
fn python_allocation_heavy_script() {
    let test = "real_programs::python_allocation_heavy_script";
    let python = "/usr/bin/python3";
    let script = tests_dir().join("data/alloc_heavy.py");
    let Some((plain, preloaded)) = run_with_and_without_preload(test, python, || {
        let mut command = program(Path::new(python));
        // PYTHONMALLOC=malloc: every object through malloc, not pymalloc's
        // arenas. A fixed hash seed keeps set and dict iteration stable.
        command
            .env("PYTHONMALLOC", "malloc")
            .env("PYTHONHASHSEED", "0");
        command.arg("-B").arg("-s").arg(&script);
        command
    }) else {
        return;
    };
    assert_same_and_served(test, &plain, &preloaded, 1);
    assert!(
        plain.stdout.contains("overall: "),
        "no digest printed\n{}",
        plain.transcript()
    );
}

#[test]
fn perl_allocation_heavy_script() {
    let test = "real_programs::perl_allocation_heavy_script";
    let perl = "/usr/bin/perl";
    let script = tests_dir().join("data/alloc_heavy.pl");
    let Some((plain, preloaded)) = run_with_and_without_preload(test, perl, || {
        let mut command = program(Path::new(perl));
        command.arg(&script);
        command
    }) else {
        return;
    };
    assert_same_and_served(test, &plain, &preloaded, 1);
    assert!(
        plain.stdout.contains("checksum: "),
        "no checksum printed\n{}",
        plain.transcript()
    );
}

fn cc_to_assembly(input: &Path, output: &Path) -> Command {
    let mut command = program(Path::new("/usr/bin/cc"));
    command.args(["-std=gnu11", "-O2", "-S", "-I"]);
    command.arg(workspace_root().join("allocator/include"));
    command.arg("-I").arg(tests_dir().join("c"));
    command.arg(input).arg("-o").arg(output);
    command
}

/// `cc -O2 -S` of the test suite's own largest C files. cc runs cc1, which
/// inherits LD_PRELOAD, so each preloaded run prints several reports.
fn compile_to_assembly(source: &str) {
    let test = format!("real_programs::cc_O2_S_{source}");
    let input = tests_dir().join("c").join(source);
    let plain_asm = scratch_dir().join(format!("{source}.plain.s"));
    let preloaded_asm = scratch_dir().join(format!("{source}.preloaded.s"));
    let Some(lib) = lwmalloc_or_skip(&test) else {
        return;
    };
    if !Path::new("/usr/bin/cc").exists() {
        return skip(&test, "/usr/bin/cc is not installed");
    }
    let plain = run(cc_to_assembly(&input, &plain_asm), HANG_GUARD);
    let mut preloaded_command = cc_to_assembly(&input, &preloaded_asm);
    preloaded_command
        .env("LD_PRELOAD", lib)
        .env("LWM_STATS", "1");
    let preloaded = run(preloaded_command, HANG_GUARD);
    // The driver and cc1 both report.
    assert_same_and_served(&test, &plain, &preloaded, 2);
    let plain_bytes = std::fs::read(&plain_asm).expect("plain assembly");
    let preloaded_bytes = std::fs::read(&preloaded_asm).expect("preloaded assembly");
    assert!(
        plain_bytes.len() > 10_000,
        "{test}: suspiciously small assembly output"
    );
    assert!(
        plain_bytes == preloaded_bytes,
        "{test}: assembly differs with the preload"
    );
}

#[test]
#[allow(non_snake_case)]
fn cc_O2_S_stress_c() {
    compile_to_assembly("stress.c");
}

#[test]
#[allow(non_snake_case)]
fn cc_O2_S_aligned_c() {
    compile_to_assembly("aligned.c");
}

/// GNU sort with two threads on a generated 5 MB file. sort (like most
/// coreutils, via gnulib's close_stdout) closes stderr at exit, before
/// lwmalloc's exit report, so the report cannot appear; the proof that
/// lwmalloc is in the process is /proc/<pid>/maps, read while sort waits for
/// its input on a pipe.
#[test]
fn sort_generated_file() {
    let test = "real_programs::sort_generated_file";
    let sort = "/usr/bin/sort";
    let Some(lib) = lwmalloc_or_skip(test) else {
        return;
    };
    if !Path::new(sort).exists() {
        return skip(test, "/usr/bin/sort is not installed");
    }
    let input = generated_lines(300_000);
    let make = || {
        let mut command = program(Path::new(sort));
        command.args(["--parallel=2", "-S", "4M", "-k", "2,2", "-k", "1n"]);
        command
    };
    let plain = crate::common::process::run_with_input(make(), &input, HANG_GUARD, |_| {});
    let mut preloaded_command = make();
    preloaded_command.env("LD_PRELOAD", lib);
    let mut mapped = String::new();
    let preloaded =
        crate::common::process::run_with_input(preloaded_command, &input, HANG_GUARD, |pid| {
            mapped = maps_once_libc_is_mapped(pid);
        });
    assert!(
        mapped.contains("liblwmalloc"),
        "{test}: liblwmalloc not mapped in sort:\n{mapped}"
    );
    assert!(
        plain.status.success(),
        "{test}: plain sort failed\n{}",
        plain.transcript()
    );
    assert_eq!(
        plain.status.code(),
        preloaded.status.code(),
        "{test}: exit status differs"
    );
    assert!(
        plain.stdout_bytes == preloaded.stdout_bytes,
        "{test}: sorted output differs"
    );
    assert_eq!(plain.stderr, preloaded.stderr, "{test}: stderr differs");
    assert_eq!(
        plain.stdout_bytes.len(),
        input.len(),
        "{test}: output length"
    );
}

/// Deterministic lines with repeated keys, numbers and varying lengths.
fn generated_lines(count: u64) -> Vec<u8> {
    let mut text = String::new();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..count {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let word_length = 1 + (x % 23) as usize;
        let word: String = (0..word_length)
            .map(|k| (b'a' + ((x >> (k % 60)) % 26) as u8) as char)
            .collect();
        text.push_str(&format!("{} {word} {}\n", x % 100_003, i));
    }
    text.into_bytes()
}

/// /proc/<pid>/maps once libc is mapped: preloads are mapped before libc,
/// so from then on the list of libraries is final.
fn maps_once_libc_is_mapped(pid: u32) -> String {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    loop {
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        if maps.contains("/libc.so") || std::time::Instant::now() >= deadline {
            return maps;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// tests/python/thread_churn_queue.py: 160+ threads alive at once passing
/// objects through queue.Queue and queue.SimpleQueue while relay threads
/// exit and start. It reproduces the crash CPython's test_queue found
/// (threads beyond the per-thread cache slots mis-handled a freed block's
/// first word). Run with pymalloc (as test_queue) and with
/// PYTHONMALLOC=malloc (every object through malloc), three times each
/// since the crash depends on timing. The plain run checks the script.
#[test]
fn python_thread_churn() {
    let test = "real_programs::python_thread_churn";
    let python = "/usr/bin/python3";
    let script = tests_dir().join("python/thread_churn_queue.py");
    for pymalloc in ["pymalloc", "malloc"] {
        for attempt in 1..=3 {
            let Some((plain, preloaded)) = run_with_and_without_preload(test, python, || {
                let mut command = program(Path::new(python));
                command.env("PYTHONMALLOC", pymalloc);
                command.arg("-B").arg("-s").arg(&script);
                command
            }) else {
                return;
            };
            let both = format!(
                "PYTHONMALLOC={pymalloc}, attempt {attempt}\n--- plain ---\n{}\n--- preloaded ---\n{}",
                plain.transcript(),
                preloaded.transcript()
            );
            for (run, outcome) in [("plain", &plain), ("preloaded", &preloaded)] {
                assert!(
                    outcome.status.success()
                        && outcome.stdout.starts_with("thread_churn_queue: ok"),
                    "{test}: the {run} run {}\n{both}",
                    outcome.describe_status()
                );
            }
            let reports = stats_lines(&preloaded.stderr);
            assert!(
                reports.len() == 1 && reports[0].malloc > 0,
                "{test}: expected one LWM_STATS line with malloc > 0, got {reports:?}\n{both}"
            );
        }
    }
}
