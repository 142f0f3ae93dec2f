//! The C-level checks of `lwm qualify` (`c-conformance`, `threads-fork`):
//! the allocator's own C test programs (`allocator/preload/tests/c`, the
//! ones `cargo test -p lwmalloc-preload --test c_level` runs on the host),
//! built here for the board's target with the same toolchain as `lwm
//! build` (the host's `cc`, or Debian's cross gcc with the target's C flags
//! and, for ARMv6 hard-float, the stand-in start files), pushed and gated
//! like any user command's program, and run on the board by the agent in a
//! campaign of their own (`runs/c-tests/`), one process per check, under
//! lwmalloc and under the board's system malloc (the control).
//!
//! A check passes under an allocator when every repetition exited 0 and
//! printed the program's last line, `# PROGRAM: all N checks passed`; the
//! first `not ok` line (file, line, expression, values) says why not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::criteria::{Check, Criteria};
use super::evaluate::{reps_in, CheckResult, Rep, Status, UNDER_TEST};
use crate::commands::UserCommand;
use crate::manifest::Settings;
use crate::platform::target::{cross_target, TargetSpec};
use crate::report::BASELINE;

/// One check: a C program and one of its groups (None: the whole program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CTest {
    pub program: &'static str,
    pub group: Option<&'static str>,
}

const fn g(program: &'static str, group: &'static str) -> CTest {
    CTest {
        program,
        group: Some(group),
    }
}

/// `c-conformance`: glibc 2.36 semantics of malloc & co. and lwm_get_stats
/// (as `c_level/c_api.rs`), allocation in signal handlers, errno left alone
/// by successful calls and by free (`regressions.c`).
pub const CONFORMANCE: &[CTest] = &[
    g("basic_alloc", "malloc_alignment"),
    g("basic_alloc", "malloc_zero"),
    g("basic_alloc", "malloc_failure"),
    g("basic_alloc", "free_null_and_errno"),
    g("basic_alloc", "calloc_zeroed"),
    g("basic_alloc", "calloc_after_dirty_free"),
    g("basic_alloc", "calloc_overflow"),
    g("basic_alloc", "usable_size"),
    g("realloc", "realloc_null_is_malloc"),
    g("realloc", "realloc_to_zero_frees"),
    g("realloc", "realloc_keeps_contents"),
    g("realloc", "realloc_walk_up_and_down"),
    g("realloc", "realloc_shrink_then_grow"),
    g("realloc", "realloc_failure_keeps_block"),
    g("realloc", "reallocarray_semantics"),
    g("aligned", "posix_memalign_invalid"),
    g("aligned", "posix_memalign_huge"),
    g("aligned", "posix_memalign_valid"),
    g("aligned", "memalign_valid"),
    g("aligned", "aligned_alloc_valid"),
    g("aligned", "memalign_invalid"),
    g("aligned", "valloc_pvalloc"),
    g("aligned", "realloc_of_aligned_blocks"),
    g("stats_api", "interface_contract"),
    g("stats_api", "call_counters"),
    g("stats_api", "live_bytes_follow_allocations"),
    CTest {
        program: "signal_malloc",
        group: None,
    },
    g("regressions", "errno_kept"),
    g("regressions", "errno_map_limit"),
];

/// `threads-fork`: cross-thread frees through a shared exchange, threads
/// exiting with live blocks and forks while workers allocate (`stress.c`);
/// 600 threads alive at once, fork against stdio's locks, fork from a
/// signal handler interrupting malloc, threads of a fork child
/// (`regressions.c`).
pub const THREADS_FORK: &[CTest] = &[
    CTest {
        program: "stress",
        group: None,
    },
    g("regressions", "many_threads"),
    g("regressions", "fork_stdio"),
    g("regressions", "fork_signal"),
    g("regressions", "fork_slot_reuse"),
    g("regressions", "fork_again"),
];

/// Where the C-level checks' campaign goes in a bundle.
pub const C_TESTS_REL: &str = "runs/c-tests";
/// The programs built for the board, kept in the bundle.
pub const BUILT_REL: &str = "c-tests";

impl CTest {
    /// `basic_alloc/malloc_zero`, `stress`: the check's name in reports.
    pub fn name(&self) -> String {
        match self.group {
            Some(g) => format!("{}/{g}", self.program),
            None => self.program.to_string(),
        }
    }

    /// The user command running it: `c.basic_alloc.malloc_zero`.
    pub fn command_name(&self) -> String {
        match self.group {
            Some(g) => format!("c.{}.{g}", self.program),
            None => format!("c.{}", self.program),
        }
    }
}

/// The checks of a requirement of kind `c-conformance` or `threads-fork`.
pub fn tests_of(check: &Check) -> &'static [CTest] {
    match check {
        Check::CConformance { .. } => CONFORMANCE,
        Check::ThreadsFork { .. } => THREADS_FORK,
        _ => &[],
    }
}

/// (tests, repetitions, timeout) of every C-level requirement.
fn c_requirements(c: &Criteria) -> Vec<(&'static [CTest], u32, u64)> {
    c.requirements
        .iter()
        .filter_map(|r| match r.check {
            Check::CConformance { reps, timeout_s } | Check::ThreadsFork { reps, timeout_s } => {
                Some((tests_of(&r.check), reps, timeout_s))
            }
            _ => None,
        })
        .collect()
}

/// The C programs built for one target, ready to push.
#[derive(Debug, Clone)]
pub struct Built {
    pub target: String,
    /// Directory holding the programs and `build.txt` (how they were built).
    pub dir: PathBuf,
    /// Program name -> executable.
    pub programs: BTreeMap<String, PathBuf>,
}

/// The C compiler and its flags for `target` (the host's `cc` for the
/// host), as `lwm build` uses them; one line naming board, target and the
/// script that installs what is missing.
fn compiler(
    workspace: &Path,
    target: &str,
    board: &str,
    out: &Path,
) -> Result<(String, Vec<String>), String> {
    if target == crate::build::host_triple() {
        return Ok(("cc".into(), Vec::new()));
    }
    let Some(spec) = cross_target(target) else {
        return Err(format!(
            "board {board}: target {target}: the C-level checks cannot be built for it (targets: {})",
            crate::build::supported_targets().join(", ")
        ));
    };
    let gcc = spec.gcc();
    if !on_path(&gcc) {
        return Err(format!(
            "board {board}: the C-level checks for {target} need `{gcc}`, which is not installed (run scripts/setup-cross.sh)"
        ));
    }
    let mut flags: Vec<String> = spec.c_flags.split_whitespace().map(String::from).collect();
    if spec.armv6_startfiles {
        // Debian's armhf start files are ARMv7 + Thumb-2: the same
        // stand-ins as the cross build of the agent and the workloads.
        let dir =
            crate::build::armv6_startfiles(workspace, &out.join("startfiles")).map_err(|e| {
                format!("board {board}: ARMv6 start files for the C-level checks: {e:#}")
            })?;
        flags.push(format!("-B{}", dir.display()));
    }
    if let Some(lender) = spec.division_helpers_from.and_then(cross_target) {
        flags.extend(division_helpers(board, lender, &out.join("division"))?);
    }
    Ok((gcc, flags))
}

/// The members of libgcc that the C checks need on 32-bit ARM without a
/// divide instruction (`__aeabi_uidiv`, `__aeabi_uidivmod`,
/// `__aeabi_uldivmod` and what they call).
const DIVISION_MEMBERS: [&str; 4] = [
    "_udivsi3.o",
    "_aeabi_uldivmod.o",
    "_udivmoddi4.o",
    "_dvmd_lnx.o",
];

/// ARMv6 hard-float: Debian's armhf libgcc is ARMv7 + Thumb-2 (its
/// `__udivsi3` uses `it`, which the ARM1176 does not have). The integer
/// division helpers are taken from `lender`'s libgcc instead (Debian armel:
/// ARMv5TE, ARM state, which the ARM1176 runs; integer arguments in core
/// registers under both float ABIs), without their build attributes (which
/// would only say soft-float), and linked ahead of libgcc. Returns the
/// object paths.
fn division_helpers(board: &str, lender: &TargetSpec, dir: &Path) -> Result<Vec<String>, String> {
    let (gcc, objcopy) = (lender.gcc(), lender.objcopy());
    for tool in [&gcc, &objcopy] {
        if !on_path(tool) {
            return Err(format!(
                "board {board}: the ARMv6 hard-float C-level checks take libgcc's division helpers from Debian armel: `{tool}` is not installed (run scripts/setup-cross.sh)"
            ));
        }
    }
    let libgcc = Command::new(&gcc)
        .arg("-print-libgcc-file-name")
        .output()
        .map_err(|e| format!("board {board}: cannot run {gcc}: {e}"))?;
    let libgcc = String::from_utf8_lossy(&libgcc.stdout).trim().to_string();
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("board {board}: cannot create {}: {e}", dir.display()))?;
    let st = Command::new("ar")
        .arg("x")
        .arg(&libgcc)
        .args(DIVISION_MEMBERS)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("board {board}: cannot run ar: {e}"))?;
    if !st.success() {
        return Err(format!(
            "board {board}: {libgcc}: ar x {} failed",
            DIVISION_MEMBERS.join(" ")
        ));
    }
    let mut objects = Vec::new();
    for m in DIVISION_MEMBERS {
        let o = dir.join(m);
        let st = Command::new(&objcopy)
            .arg("--remove-section=.ARM.attributes")
            .arg(&o)
            .status()
            .map_err(|e| format!("board {board}: cannot run {objcopy}: {e}"))?;
        if !st.success() {
            return Err(format!(
                "board {board}: {objcopy} failed on {}",
                o.display()
            ));
        }
        objects.push(o.display().to_string());
    }
    Ok(objects)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Builds every C program the criteria's C-level requirements need for
/// `target` into `out` (created). None when no requirement needs them.
pub fn build(
    workspace: &Path,
    criteria: &Criteria,
    target: &str,
    board: &str,
    out: &Path,
) -> Result<Option<Built>, String> {
    let mut programs: Vec<&str> = Vec::new();
    for (tests, _, _) in c_requirements(criteria) {
        for t in tests {
            if !programs.contains(&t.program) {
                programs.push(t.program);
            }
        }
    }
    if programs.is_empty() {
        return Ok(None);
    }
    // Absolute: the compiler runs in the sources' directory.
    let out =
        &std::path::absolute(out).map_err(|e| format!("board {board}: {}: {e}", out.display()))?;
    std::fs::create_dir_all(out)
        .map_err(|e| format!("board {board}: cannot create {}: {e}", out.display()))?;
    let (cc, target_flags) = compiler(workspace, target, board, out)?;
    let version = Command::new(&cc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(String::from)
        })
        .unwrap_or_else(|| "unknown".into());
    let tests_dir = workspace.join("allocator/preload/tests/c");
    let mut log = format!(
        "# The C-level checks of lwm qualify, built for {target} (board {board}).\n# compiler: {cc}: {version}\n"
    );
    let mut built = BTreeMap::new();
    for p in programs {
        let source = tests_dir.join(format!("{p}.c"));
        let exe = out.join(p);
        let mut cmd = Command::new(&cc);
        // As the host suite builds them (allocator/preload/tests/common),
        // without debug information: they are pushed to the board.
        cmd.args([
            "-std=gnu11",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pthread",
            "-fno-builtin",
        ])
        .args(&target_flags)
        .arg("-I")
        .arg(workspace.join("allocator/include"))
        .arg("-I")
        .arg(&tests_dir)
        // From the sources' directory: `__FILE__`, which every `not ok`
        // line names, is then `aligned.c`, not a path of this host.
        .current_dir(&tests_dir)
        .arg(format!("{p}.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-ldl");
        log.push_str(&format!("(cd {} && {cmd:?})\n", tests_dir.display()));
        let o = cmd
            .output()
            .map_err(|e| format!("board {board}: cannot run {cc}: {e}"))?;
        if !o.status.success() {
            let err = String::from_utf8_lossy(&o.stderr);
            let first = err
                .lines()
                .find(|l| l.contains("error"))
                .or_else(|| err.lines().next())
                .unwrap_or("no message");
            return Err(format!(
                "board {board}: {}: building for {target} with {cc} failed: {first}",
                source.display()
            ));
        }
        built.insert(p.to_string(), exe);
    }
    std::fs::write(out.join("build.txt"), log)
        .map_err(|e| format!("board {board}: cannot write {}: {e}", out.display()))?;
    Ok(Some(Built {
        target: target.to_string(),
        dir: out.to_path_buf(),
        programs: built,
    }))
}

/// The C-level checks' campaign: one user command per check (its program
/// pushed and gated), lwmalloc against the system malloc, no workload.
pub fn settings(c: &Criteria, main: &Settings, built: &Built) -> Result<Option<Settings>, String> {
    let reqs = c_requirements(c);
    if reqs.is_empty() {
        return Ok(None);
    }
    let mut commands: Vec<UserCommand> = Vec::new();
    let mut reps = 1;
    for (tests, r, timeout) in reqs {
        reps = reps.max(r);
        for t in tests {
            if commands.iter().any(|c| c.name == t.command_name()) {
                continue;
            }
            let exe = built.programs.get(t.program).ok_or_else(|| {
                format!(
                    "C-level check {}: program {} was not built",
                    t.name(),
                    t.program
                )
            })?;
            let mut argv = vec![exe.display().to_string()];
            argv.extend(t.group.map(String::from));
            let mut cmd = crate::commands::make(
                &t.command_name(),
                argv,
                &[],
                BTreeMap::new(),
                Some(timeout),
                &built.dir,
                &format!("C-level check {}", t.name()),
            )?;
            // Judged on its own `ok`/`not ok` lines: its output holds
            // addresses and counts that differ from run to run.
            cmd.check_output = false;
            commands.push(cmd);
        }
    }
    Ok(Some(Settings {
        workloads: Vec::new(),
        warmup: 0,
        reps,
        max_reps: reps.max(crate::limits::DEFAULT_MAX_REPS),
        commands,
        ..main.clone()
    }))
}

/// How one allocator's repetitions of a check went: Ok(what passed) or
/// Err(why not, naming the raw file).
fn side(list: &[Rep], reps: u32, program: &str, timeout_s: u64) -> Result<String, String> {
    let done = format!("# {program}: all ");
    for r in list {
        let last = r.stdout_tail.lines().rev().find(|l| l.starts_with(&done));
        if r.ok && last.is_some() {
            continue;
        }
        let not_ok = r
            .stdout_tail
            .lines()
            .find(|l| l.starts_with("not ok "))
            .map(String::from);
        let why = match (r.status.as_str(), not_ok) {
            ("timed_out", _) => {
                format!(
                    "timed out after {timeout_s} s (a deadlock or a hang); process group killed"
                )
            }
            (_, Some(line)) => line,
            (_, None) if r.ok => {
                format!("exited 0 without its last line `# {program}: all N checks passed`")
            }
            (status, None) => format!("{status} {}", r.why).trim_end().to_string(),
        };
        return Err(format!("{}: {why}", r.file));
    }
    if list.len() < reps as usize {
        return Err(format!("{} of {reps} repetitions ran", list.len()));
    }
    let checks: Vec<String> = list
        .iter()
        .filter_map(|r| {
            let l = r.stdout_tail.lines().rev().find(|l| l.starts_with(&done))?;
            l[done.len()..].split_whitespace().next().map(String::from)
        })
        .collect();
    Ok(format!(
        "{} of {reps} repetition(s) passed ({} C checks each)",
        list.len(),
        checks.first().map(String::as_str).unwrap_or("?")
    ))
}

/// The board's error in the C-level campaign's manifest, if it failed.
/// Read as plain JSON, unchecked (not `rundir::read_manifest`): only the
/// board's status and error are needed here.
fn board_error(dir: &Path, board: &str) -> Option<String> {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(crate::rundir::manifest_path(dir)).ok()?).ok()?;
    let b = m["boards"]
        .as_array()?
        .iter()
        .find(|b| b["name"] == board)?;
    if b["status"] == "done" {
        return None;
    }
    Some(
        b["error"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("board {board} {}", b["status"].as_str().unwrap_or("?"))),
    )
}

/// One result per check of `tests`: passes when every repetition under
/// lwmalloc passed; the system malloc's result is the control, recorded
/// (a check failing under both is said to, not blamed on lwmalloc).
pub fn checks(
    run: Result<(&Path, &str), &str>,
    board: &str,
    tests: &[CTest],
    reps: u32,
    timeout_s: u64,
) -> Vec<CheckResult> {
    let threshold = format!(
        "passes under {UNDER_TEST} in all {reps} repetition(s), each within {timeout_s} s; {BASELINE} is the control"
    );
    let (dir, rel) = match run {
        Ok(x) => x,
        Err(why) => {
            return tests
                .iter()
                .map(|t| CheckResult {
                    name: t.name(),
                    found: format!("not run: {why}"),
                    threshold: threshold.clone(),
                    status: Status::Fail,
                    evidence: vec![],
                })
                .collect()
        }
    };
    let failed_board = board_error(dir, board);
    tests
        .iter()
        .map(|t| {
            let mine = reps_in(dir, board, &t.command_name(), UNDER_TEST);
            let base = reps_in(dir, board, &t.command_name(), BASELINE);
            let evidence: Vec<String> = mine
                .iter()
                .chain(&base)
                .map(|r| format!("{rel}/{}", r.file))
                .collect();
            if mine.is_empty() && base.is_empty() {
                // Never ran (a board that failed, or was lost, first): no
                // side failed the check.
                return CheckResult {
                    name: t.name(),
                    found: match &failed_board {
                        Some(b) => format!("not run: {b}"),
                        None => "not run: no result under either allocator".into(),
                    },
                    threshold: threshold.clone(),
                    status: Status::Fail,
                    evidence,
                };
            }
            let with_board = |e: String, list: &[Rep]| match &failed_board {
                Some(b) if list.len() < reps as usize => format!("{e} ({b})"),
                _ => e,
            };
            let m = side(&mine, reps, t.program, timeout_s).map_err(|e| with_board(e, &mine));
            let b = side(&base, reps, t.program, timeout_s).map_err(|e| with_board(e, &base));
            let (found, status) = match (m, b) {
                (Ok(m), Ok(_)) => (
                    format!("{m} under {UNDER_TEST}; passed under {BASELINE} (the control)"),
                    Status::Pass,
                ),
                (Ok(m), Err(b)) => (
                    format!(
                        "{m} under {UNDER_TEST}; FAILED under {BASELINE} (the control): {b}"
                    ),
                    Status::Pass,
                ),
                (Err(m), Ok(_)) => (
                    format!(
                        "FAILED under {UNDER_TEST}: {m}; passed under {BASELINE} (the control)"
                    ),
                    Status::Fail,
                ),
                (Err(m), Err(b)) => (
                    format!(
                        "fails under {BASELINE} (the control) too, so not blamed on {UNDER_TEST} (a check or board problem): {b}; under {UNDER_TEST}: {m}"
                    ),
                    Status::Fail,
                ),
            };
            CheckResult {
                name: t.name(),
                found,
                threshold: threshold.clone(),
                status,
                evidence,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_are_unique_valid_command_names_and_name_real_groups() {
        let mut seen = Vec::new();
        for t in CONFORMANCE.iter().chain(THREADS_FORK) {
            crate::commands::check_name(&t.command_name()).unwrap();
            assert!(!seen.contains(&t.command_name()), "{}", t.name());
            seen.push(t.command_name());
            let src = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../allocator/preload/tests/c")
                .join(format!("{}.c", t.program));
            let text = std::fs::read_to_string(&src).unwrap();
            if let Some(g) = t.group {
                assert!(
                    text.contains(&format!("{{\"{g}\", {g}}}")),
                    "{}: no group {g}",
                    src.display()
                );
            }
        }
    }

    fn rep(ok: bool, status: &str, tail: &str) -> Rep {
        Rep {
            file: "raw/b/c.x/lwmalloc/rep-001.json".into(),
            ok,
            status: status.into(),
            stdout_sha256: None,
            survived: None,
            why: String::new(),
            workload_report: None,
            stdout_tail: tail.into(),
        }
    }

    #[test]
    fn a_check_that_never_ran_on_a_failed_board_says_so_once_and_blames_no_allocator() {
        let dir = std::env::temp_dir().join(format!("lwm-ctests-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("manifest.json"),
            r#"{"boards":[{"name":"b","status":"failed","error":"board b: unreachable"}]}"#,
        )
        .unwrap();
        let r = checks(Ok((&dir, "runs/c-tests")), "b", THREADS_FORK, 1, 9);
        assert_eq!(r.len(), THREADS_FORK.len());
        assert_eq!(r[0].name, "stress");
        assert_eq!(r[0].found, "not run: board b: unreachable");
        assert_eq!(r[0].status, Status::Fail);
        let r = checks(Err("interrupted"), "b", CONFORMANCE, 1, 9);
        assert!(r.iter().all(|c| c.found == "not run: interrupted"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_check_passes_only_with_its_last_line_and_a_failure_names_its_not_ok_line() {
        let pass = rep(true, "ok", "ok 1 - a\n# aligned: all 3 checks passed\n");
        assert_eq!(
            side(&[pass], 1, "aligned", 5).unwrap(),
            "1 of 1 repetition(s) passed (3 C checks each)"
        );
        let half = rep(true, "ok", "ok 1 - a\n");
        assert!(side(&[half], 1, "aligned", 5)
            .unwrap_err()
            .contains("without its last line"));
        let bad = rep(
            false,
            "exit_failure",
            "ok 1 - a\nnot ok 2 - aligned.c:125: check `x` failed: misaligned\n",
        );
        assert!(side(&[bad], 1, "aligned", 5)
            .unwrap_err()
            .ends_with("not ok 2 - aligned.c:125: check `x` failed: misaligned"));
        let hung = rep(false, "timed_out", "ok 1 - a\n");
        assert!(side(&[hung], 1, "stress", 5)
            .unwrap_err()
            .contains("timed out after 5 s (a deadlock"));
        assert_eq!(
            side(&[], 1, "stress", 5).unwrap_err(),
            "0 of 1 repetitions ran"
        );
    }
}
