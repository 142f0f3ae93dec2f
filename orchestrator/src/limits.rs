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

/// The timed workloads of `lwm-workload` (registry::TIMED): they run for a
/// wall-clock duration (`Settings::duration_s`), so `all` leaves them out
/// and naming one needs a duration.
pub const DURATION_WORKLOADS: &[&str] = &["steady-soak"];

/// Workloads of `lwm-workload` run only when named (registry::ON_REQUEST):
/// `all` leaves them out. `peak-return` holds a 200 MiB peak.
pub const ON_REQUEST_WORKLOADS: &[&str] = &["peak-return"];

/// Whether `all` includes `workload`.
pub fn in_all(workload: &str) -> bool {
    !DURATION_WORKLOADS.contains(&workload) && !ON_REQUEST_WORKLOADS.contains(&workload)
}

/// Longest duration of a timed workload: a week (`lwm-workload` refuses more).
pub const MAX_DURATION_S: u64 = 7 * 24 * 3600;

/// `30`, `30s`, `10m`, `1.5h`: whole seconds, at least 1 and at most
/// [`MAX_DURATION_S`] (a bare number is seconds).
pub fn parse_duration(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, unit) = match v.char_indices().last()? {
        (i, 's') => (&v[..i], 1.0),
        (i, 'm') => (&v[..i], 60.0),
        (i, 'h') => (&v[..i], 3600.0),
        _ => (v, 1.0),
    };
    let secs = num.trim().parse::<f64>().ok()? * unit;
    (secs.is_finite() && secs.round() >= 1.0 && secs.round() <= MAX_DURATION_S as f64)
        .then(|| secs.round() as u64)
}

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
    let timed = s
        .workloads
        .iter()
        .find(|w| DURATION_WORKLOADS.contains(&w.as_str()));
    if let (Some(w), None) = (timed, s.duration_s) {
        return Err(BadSetting::new(
            "--duration",
            "duration_s",
            format!("{w} runs for a wall-clock time: give one (e.g. 10m)"),
        ));
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
    if let Some(d) = s.duration_s.filter(|d| !(1..=MAX_DURATION_S).contains(d)) {
        return Err(BadSetting::new(
            "--duration",
            "duration_s",
            format!("{d} s is not a duration from 1 s to 7 days"),
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
        if t != "all"
            && !KNOWN_WORKLOADS.contains(&t.as_str())
            && !DURATION_WORKLOADS.contains(&t.as_str())
            && !ON_REQUEST_WORKLOADS.contains(&t.as_str())
        {
            return Err(BadSetting::new(
                "--workloads",
                "workloads",
                format!(
                    "unknown workload `{t}` (known: all, {}; timed, with --duration: {}; when named: {})",
                    KNOWN_WORKLOADS.join(", "),
                    DURATION_WORKLOADS.join(", "),
                    ON_REQUEST_WORKLOADS.join(", ")
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
            duration_s: None,
        }
    }

    fn flag_of(f: impl FnOnce(&mut Settings)) -> &'static str {
        let mut s = settings();
        f(&mut s);
        check_settings(&s).expect_err("refused").flag
    }

    #[test]
    fn durations_are_whole_seconds_in_s_m_or_h() {
        assert_eq!(parse_duration("30"), Some(30));
        assert_eq!(parse_duration("30s"), Some(30));
        assert_eq!(parse_duration("10m"), Some(600));
        assert_eq!(parse_duration("1.5h"), Some(5400));
        assert_eq!(parse_duration(" 2h "), Some(7200));
        assert_eq!(parse_duration("168h"), Some(MAX_DURATION_S));
        for bad in [
            "", "0", "0s", "-5m", "ten", "10x", "m", "169h", "nan", "inf", "0.2s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_timed_workload_needs_a_duration_and_all_leaves_it_out() {
        let mut s = settings();
        s.workloads = vec!["steady-soak".into()];
        let e = check_settings(&s).expect_err("no duration");
        assert_eq!(e.flag, "--duration");
        assert!(
            e.why.contains("steady-soak runs for a wall-clock time"),
            "{}",
            e.why
        );
        s.duration_s = Some(30);
        assert_eq!(check_settings(&s), Ok(()));
        s.duration_s = Some(0);
        assert_eq!(check_settings(&s).expect_err("zero").flag, "--duration");
        let all = crate::campaign::plan::resolve_workloads(
            &["all".into()],
            &["larson".into(), "steady-soak".into()],
        )
        .unwrap();
        assert_eq!(all, ["larson"]);
        let named = crate::campaign::plan::resolve_workloads(
            &["all".into(), "steady-soak".into()],
            &["larson".into(), "steady-soak".into()],
        )
        .unwrap();
        assert_eq!(named, ["larson", "steady-soak"]);
        // An on-request workload runs when named, without a duration.
        let board = ["larson".into(), "peak-return".into()];
        let all = crate::campaign::plan::resolve_workloads(&["all".into()], &board).unwrap();
        assert_eq!(all, ["larson"]);
        s.workloads = vec!["peak-return".into()];
        s.duration_s = None;
        assert_eq!(check_settings(&s), Ok(()));
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
