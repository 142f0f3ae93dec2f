//! What `--resume` may change. A resumed run keeps the settings it
//! recorded, since the runs on disk were made with them: a flag that
//! disagrees is refused, naming it, rather than silently ignored. The one
//! change allowed is `--extend` with more `--reps` (or a higher `--max-reps`):
//! the runs already made stay valid and more are added.

use crate::manifest::{Manifest, Settings};

/// Flags `--extend` lets grow.
const EXTENDABLE: &[&str] = &["--reps", "--max-reps"];

/// One flag given with `--resume` that disagrees with the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub flag: &'static str,
    pub given: String,
    pub recorded: String,
}

/// The explicitly given flags whose values differ from what `recorded`
/// holds. `boards` are the `--board` names given (empty: not given).
pub fn changes(
    recorded: &Manifest,
    explicit_flags: &[&'static str],
    given: &Settings,
    boards: &[String],
    run_id: Option<&str>,
) -> Vec<Change> {
    let r = &recorded.settings;
    let mut out = Vec::new();
    for &flag in explicit_flags {
        let (given, recorded) = match flag {
            "--board" => {
                let mut g = boards.to_vec();
                g.sort();
                g.dedup();
                let mut r: Vec<String> = recorded.boards.iter().map(|b| b.name.clone()).collect();
                r.sort();
                (g.join(","), r.join(","))
            }
            "--workloads" => (given.workloads.join(","), r.workloads.join(",")),
            // The run's commands are recorded whole; given again they must
            // be the same.
            "--command" | "--push" | "--suite" | "-- PROGRAM" | "--no-output-check" => {
                (commands_text(&given.commands), commands_text(&r.commands))
            }
            "--allocators" => (given.allocators.join(","), r.allocators.join(",")),
            "--reps" => (given.reps.to_string(), r.reps.to_string()),
            "--warmup" => (given.warmup.to_string(), r.warmup.to_string()),
            "--target-ci" => (opt(given.target_ci), opt(r.target_ci)),
            "--max-reps" => (given.max_reps.to_string(), r.max_reps.to_string()),
            "--scale" => (given.scale.to_string(), r.scale.to_string()),
            "--duration" => (
                opt(given.duration_s.map(|d| d as f64)),
                opt(r.duration_s.map(|d| d as f64)),
            ),
            "--threads" => (threads_text(given.threads), threads_text(r.threads)),
            "--seed" => (given.seed.to_string(), r.seed.to_string()),
            "--noise" => (
                given.noise_threshold.to_string(),
                r.noise_threshold.to_string(),
            ),
            // The run directory is named by --resume itself.
            "--run-id" => (
                run_id.unwrap_or_default().to_string(),
                recorded.run_id.clone(),
            ),
            _ => continue,
        };
        if given != recorded {
            out.push(Change {
                flag,
                given,
                recorded,
            });
        }
    }
    out
}

/// Applies `changes` to `settings` when `--extend` allows every one of
/// them; otherwise the one-line refusal.
pub fn apply(
    settings: &mut Settings,
    changes: &[Change],
    extend: bool,
    run_id: &str,
) -> Result<bool, String> {
    if changes.is_empty() {
        return Ok(false);
    }
    let listed = changes
        .iter()
        .map(|c| format!("{} {} (the run has {})", c.flag, c.given, c.recorded))
        .collect::<Vec<_>>()
        .join(", ");
    let extendable = changes.iter().all(|c| {
        EXTENDABLE.contains(&c.flag)
            && matches!((c.given.parse::<u32>(), c.recorded.parse::<u32>()), (Ok(g), Ok(r)) if g > r)
    });
    if !extend || !extendable {
        let hint = if extendable {
            "; add --extend to add repetitions to it"
        } else {
            "; a resumed run keeps its recorded settings (--extend allows only more --reps or --max-reps)"
        };
        return Err(format!(
            "--resume {run_id}: {listed} would change the campaign{hint}"
        ));
    }
    for c in changes {
        let n: u32 = c.given.parse().expect("checked above");
        match c.flag {
            "--reps" => settings.reps = n,
            _ => settings.max_reps = n,
        }
    }
    settings.max_reps = settings.max_reps.max(settings.reps);
    Ok(true)
}

/// User commands as `NAME=ARGV` for a refusal line.
fn commands_text(c: &[crate::commands::UserCommand]) -> String {
    let v: Vec<String> = c
        .iter()
        .map(|c| {
            format!(
                "{}={} push {:?}{}",
                c.name,
                c.argv.join(" "),
                c.push,
                if c.check_output {
                    ""
                } else {
                    " (output not checked)"
                }
            )
        })
        .collect();
    if v.is_empty() {
        "no commands".into()
    } else {
        v.join(", ")
    }
}

/// A thread-count setting as `--threads` would give it.
fn threads_text(t: Option<u32>) -> String {
    t.map(|n| n.to_string())
        .unwrap_or_else(|| "each board's CPU count".into())
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_else(|| "none".into())
}
