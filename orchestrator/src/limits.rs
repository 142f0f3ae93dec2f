//! What a campaign's settings may be: the ranges `lwm`, the agent and the
//! workloads accept. Checked at the door (the command line, before any run
//! directory exists) and again when a manifest is read, so that a value
//! that would fail every run, or could not be written back as JSON (NaN),
//! never gets into a run directory.

use crate::manifest::Settings;

/// The workloads `lwm-workload list` prints (workloads/src/registry.rs;
/// `tests/door_checks.rs` keeps the two lists equal). Known here so that a
/// misspelt `--workloads` is refused before a build or a board is touched;
/// the board's own list is still checked when it runs.
pub const KNOWN_WORKLOADS: &[&str] = &[
    "small-burst",
    "sensor-queue",
    "json-telemetry",
    "edge-ai-frames",
    "log-config",
    "larson",
    "xmalloc",
    "mstress",
    "thread-churn",
    "alloc-test",
    "cache-scratch",
    "realloc-growth",
    "malloc-large",
    "frag-soak",
    "sqlite",
];

/// `lwm-workload --threads` accepts 1 to this (workloads/src/main.rs).
pub const MAX_THREADS: u32 = 1024;

fn thread_count_ok(t: u32) -> bool {
    (1..=MAX_THREADS).contains(&t)
}

/// Checks the thread count recorded per board in a manifest read back.
pub fn check_board_threads(boards: &[crate::manifest::BoardEntry]) -> Result<(), String> {
    match boards
        .iter()
        .find(|b| b.threads.is_some_and(|t| !thread_count_ok(t)))
    {
        Some(b) => Err(format!(
            "boards[{}].threads: {} is not a thread count from 1 to {MAX_THREADS}",
            b.name,
            b.threads.unwrap_or_default()
        )),
        None => Ok(()),
    }
}

/// Repetitions (and warm-ups) per workload and allocator: more would take
/// days on a Pi and is surely a typo.
pub const MAX_REPS: u32 = 10_000;

/// `--scale` above this makes one run last hours on a Pi 4 (1.0 is 10-30 s).
pub const MAX_SCALE: f64 = 1000.0;

/// `--max-reps` when not given (or `--reps`, when that is more).
pub const DEFAULT_MAX_REPS: u32 = 30;

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSetting {
    /// The command-line flag that sets it (`--noise`).
    pub flag: &'static str,
    /// Its name in the manifest's `settings` (`noise_threshold`).
    pub field: &'static str,
    /// Why, with the value (no flag or field name in it).
    pub why: String,
}

impl BadSetting {
    fn new(flag: &'static str, field: &'static str, why: String) -> BadSetting {
        BadSetting { flag, field, why }
    }
}

/// Checks every value of `s`, the names of workloads and allocators
/// included; the first bad one is returned.
pub fn check_settings(s: &Settings) -> Result<(), BadSetting> {
    check_numbers(s)?;
    // User commands may run alone (then no workload is named).
    if !s.workloads.is_empty() || s.commands.is_empty() {
        check_workloads(&s.workloads)?;
    }
    check_allocator_tokens(&s.allocators)
}

/// Checks the numbers of `s` (what a manifest read back must hold: a run
/// made by another version of lwm may name workloads this one lacks).
pub fn check_numbers(s: &Settings) -> Result<(), BadSetting> {
    if s.reps == 0 || s.reps > MAX_REPS {
        return Err(BadSetting::new(
            "--reps",
            "reps",
            format!("{} is not a repetition count from 1 to {MAX_REPS}", s.reps),
        ));
    }
    if s.warmup > MAX_REPS {
        return Err(BadSetting::new(
            "--warmup",
            "warmup",
            format!("{} is not a warm-up count from 0 to {MAX_REPS}", s.warmup),
        ));
    }
    if let Some(t) = s.target_ci {
        // NaN fails both comparisons.
        if !(t > 0.0 && t < 1.0) {
            return Err(BadSetting::new(
                "--target-ci",
                "target_ci",
                format!("{t} is not a fraction between 0 and 1 (e.g. 0.02)"),
            ));
        }
    }
    // Recorded even without --target-ci (it is then unused); always a cap
    // at least --reps.
    if s.max_reps < s.reps || s.max_reps > MAX_REPS {
        return Err(BadSetting::new(
            "--max-reps",
            "max_reps",
            format!(
                "{} must be from --reps ({}) to {MAX_REPS}: it caps the repetitions --target-ci adds",
                s.max_reps, s.reps
            ),
        ));
    }
    if !(s.scale > 0.0 && s.scale <= MAX_SCALE) {
        return Err(BadSetting::new(
            "--scale",
            "scale",
            format!("{} is not a positive number up to {MAX_SCALE}", s.scale),
        ));
    }
    if let Some(t) = s.threads.filter(|t| !thread_count_ok(*t)) {
        return Err(BadSetting::new(
            "--threads",
            "threads",
            format!(
                "{t} is not a thread count from 1 to {MAX_THREADS} (what the workloads accept)"
            ),
        ));
    }
    if !(s.noise_threshold >= 0.0 && s.noise_threshold < 1.0) {
        return Err(BadSetting::new(
            "--noise",
            "noise_threshold",
            format!(
                "{} is not a fraction from 0 to below 1 (0.02 = 2 %)",
                s.noise_threshold
            ),
        ));
    }
    Ok(())
}

fn check_workloads(tokens: &[String]) -> Result<(), BadSetting> {
    if tokens.is_empty() {
        return Err(BadSetting::new(
            "--workloads",
            "workloads",
            "names no workload".into(),
        ));
    }
    for t in tokens {
        if t != "all" && !KNOWN_WORKLOADS.contains(&t.as_str()) {
            return Err(BadSetting::new(
                "--workloads",
                "workloads",
                format!(
                    "unknown workload `{t}` (known: all, {})",
                    KNOWN_WORKLOADS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The allocator tokens' syntax: what can be checked without the boards'
/// profiles (`crate::campaign::plan::check_allocator_names` does the rest).
fn check_allocator_tokens(tokens: &[String]) -> Result<(), BadSetting> {
    let bad = |why: String| Err(BadSetting::new("--allocators", "allocators", why));
    for t in tokens {
        if let Some((name, path)) = t.split_once('=') {
            if name == "lwmalloc" || name == "system" || name == "available" {
                return bad(format!("`{t}`: `{name}` is built in; choose another name"));
            }
            if !valid_allocator_name(name) {
                return bad(format!(
                    "`{t}`: a name is lower-case letters, digits, '-' and '_'"
                ));
            }
            if !path.starts_with('/') {
                return bad(format!(
                    "`{t}`: the library must be an absolute path on the board"
                ));
            }
        } else if t.is_empty() || !valid_allocator_name(t) {
            return bad(format!(
                "`{t}` is not an allocator name (lwmalloc, system, available, a name from the board profile, or NAME=/path/lib.so)"
            ));
        }
    }
    if !tokens.iter().any(|t| t == "system") {
        return bad("must include `system`: every ratio is relative to it".into());
    }
    if !tokens.iter().any(|t| t != "system") {
        return bad("name at least one allocator besides `system`".into());
    }
    Ok(())
}

/// Allocator names become directory names under `raw/BOARD/WORKLOAD/`.
pub fn valid_allocator_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            workloads: vec!["all".into()],
            allocators: vec!["lwmalloc".into(), "system".into()],
            warmup: 1,
            reps: 5,
            target_ci: None,
            max_reps: 5,
            scale: 0.2,
            threads: Some(4),
            seed: 1,
            noise_threshold: 0.02,
            commands: Vec::new(),
        }
    }

    fn flag_of(f: impl FnOnce(&mut Settings)) -> &'static str {
        let mut s = settings();
        f(&mut s);
        check_settings(&s).expect_err("refused").flag
    }

    #[test]
    fn defaults_pass_and_every_bad_value_names_its_flag() {
        assert_eq!(check_settings(&settings()), Ok(()));
        assert_eq!(flag_of(|s| s.noise_threshold = f64::NAN), "--noise");
        assert_eq!(flag_of(|s| s.noise_threshold = -1.0), "--noise");
        assert_eq!(flag_of(|s| s.threads = Some(0)), "--threads");
        assert_eq!(flag_of(|s| s.threads = Some(100_000)), "--threads");
        assert_eq!(flag_of(|s| s.scale = f64::INFINITY), "--scale");
        assert_eq!(flag_of(|s| s.reps = 0), "--reps");
        assert_eq!(
            flag_of(|s| {
                s.target_ci = Some(0.02);
                s.max_reps = 0
            }),
            "--max-reps"
        );
        assert_eq!(flag_of(|s| s.target_ci = Some(f64::NAN)), "--target-ci");
        assert_eq!(
            flag_of(|s| s.workloads = vec!["nosuch".into()]),
            "--workloads"
        );
        assert_eq!(
            flag_of(|s| s.allocators = vec!["system".into()]),
            "--allocators"
        );
        assert_eq!(
            flag_of(|s| s.allocators = vec!["lwmalloc".into()]),
            "--allocators"
        );
        assert_eq!(
            flag_of(|s| s.allocators.push("x=relative.so".into())),
            "--allocators"
        );
    }
}
