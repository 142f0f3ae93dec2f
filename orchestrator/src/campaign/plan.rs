//! What a board runs: the workloads and allocators a campaign's settings
//! name, resolved against what the board has, and when to stop adding
//! repetitions.

use std::path::Path;

use lwm_contract::schema::RunDocument;

use crate::board::BoardProfile;
use crate::manifest::Settings;

/// The allocator tokens `--allocators` defaults to: ours, the C library's,
/// and whichever of the board profile's allocators are installed.
pub const DEFAULT_ALLOCATORS: &[&str] = &["lwmalloc", "system", "available"];

/// One allocator as a board runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocatorChoice {
    pub name: String,
    /// Library to preload, on the board; `None` for `system`.
    pub path: Option<String>,
    /// Why this allocator cannot run on the board (its library is missing
    /// or unreadable there): each of its runs is recorded as failed with
    /// this reason, and the other allocators' runs go on.
    pub unusable: Option<String>,
}

/// Checks, before anything runs, that every allocator named without a
/// path is built in or in `board`'s profile.
pub fn check_allocator_names(tokens: &[String], board: &BoardProfile) -> Result<(), String> {
    for t in tokens {
        let builtin = ["lwmalloc", "system", "available"].contains(&t.as_str());
        if !builtin && !t.contains('=') && !board.allocators.contains_key(t) {
            let mut known = vec!["lwmalloc", "system", "available"];
            known.extend(board.allocators.keys().map(String::as_str));
            return Err(format!(
                "unknown allocator `{t}` (known here: {}, or NAME=/path/lib.so)",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Resolves workload tokens (`all` or names) against the board's
/// `lwm-workload list`, keeping the board's order for `all`.
pub fn resolve_workloads(tokens: &[String], available: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens {
        if t == "all" {
            // A timed workload would make every campaign last its duration,
            // and an on-request one hold 200 MiB.
            for w in available.iter().filter(|w| crate::limits::in_all(w)) {
                if !out.contains(w) {
                    out.push(w.clone());
                }
            }
        } else if available.contains(t) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        } else {
            return Err(format!(
                "unknown workload `{t}` (this lwm-workload has: {})",
                available.join(", ")
            ));
        }
    }
    if out.is_empty() {
        return Err("no workloads selected".into());
    }
    Ok(out)
}

/// Resolves allocator tokens: `lwmalloc`, `system`, a name from the board
/// profile's `[allocators]`, `NAME=/path/on/board.so`, or `available` (the
/// profile's allocators that exist on the board). An allocator named
/// explicitly whose library is not on the board is kept, marked unusable
/// with the reason; `available` skips missing ones.
pub fn resolve_allocators(
    tokens: &[String],
    board: &BoardProfile,
    lwmalloc_path: &str,
    mut exists: impl FnMut(&str) -> bool,
) -> Result<Vec<AllocatorChoice>, String> {
    let mut out: Vec<AllocatorChoice> = Vec::new();
    let add = |c: AllocatorChoice, out: &mut Vec<AllocatorChoice>| {
        if !out.iter().any(|o| o.name == c.name) {
            out.push(c);
        }
    };
    for t in tokens {
        match t.as_str() {
            "lwmalloc" => add(
                AllocatorChoice {
                    name: "lwmalloc".into(),
                    path: Some(lwmalloc_path.into()),
                    unusable: None,
                },
                &mut out,
            ),
            "system" => add(
                AllocatorChoice {
                    name: "system".into(),
                    path: None,
                    unusable: None,
                },
                &mut out,
            ),
            "available" => {
                for (name, path) in &board.allocators {
                    if exists(path) {
                        add(
                            AllocatorChoice {
                                name: name.clone(),
                                path: Some(path.clone()),
                                unusable: None,
                            },
                            &mut out,
                        );
                    }
                }
            }
            _ => {
                let (name, path) = match t.split_once('=') {
                    Some((n, p)) => (n.to_string(), p.to_string()),
                    None => match board.allocators.get(t) {
                        Some(p) => (t.clone(), p.clone()),
                        None => {
                            let mut known = vec!["lwmalloc", "system", "available"];
                            known.extend(board.allocators.keys().map(String::as_str));
                            return Err(format!(
                                "unknown allocator `{t}` (known here: {}, or NAME=/path/lib.so)",
                                known.join(", ")
                            ));
                        }
                    },
                };
                if name.is_empty() || name == "lwmalloc" || name == "system" {
                    return Err(format!("allocator `{t}`: choose another name"));
                }
                let unusable = (!path.starts_with('/') || !exists(&path)).then(|| {
                    format!("allocator {name}: {path} is not a readable file on the board")
                });
                add(
                    AllocatorChoice {
                        name,
                        path: Some(path),
                        unusable,
                    },
                    &mut out,
                );
            }
        }
    }
    if !out.iter().any(|a| a.name == "system") {
        return Err("the allocators must include `system`: every ratio is relative to it".into());
    }
    if out.len() < 2 {
        return Err("name at least one allocator besides `system`".into());
    }
    Ok(out)
}

/// The profile's allocators that `available` left out, as (name, path).
pub fn skipped_optional(
    tokens: &[String],
    board: &BoardProfile,
    chosen: &[AllocatorChoice],
) -> Vec<(String, String)> {
    if !tokens.iter().any(|t| t == "available") {
        return Vec::new();
    }
    board
        .allocators
        .iter()
        .filter(|(n, _)| !chosen.iter().any(|c| &c.name == *n))
        .map(|(n, p)| (n.clone(), p.clone()))
        .collect()
}

/// Whether round `round` (0-based) should run, given the times collected
/// so far for each allocator. Fixed: `reps` rounds. Adaptive: at least
/// `reps`, then more until every allocator's median time is known within
/// `target_ci` (relative 95 % half-width), at most `max_reps`.
pub fn wants_round(settings: &Settings, round: u32, times: &[Vec<f64>]) -> bool {
    if round < settings.reps {
        return true;
    }
    match settings.target_ci {
        None => false,
        Some(target) => {
            round < settings.max_reps
                && times.iter().any(|t| {
                    t.len() < 3 || crate::stats::ci_half_width_rel(t, settings.seed) > target
                })
        }
    }
}

/// Wall times of the successful repetitions already on disk (for resuming
/// an adaptive campaign).
pub fn collected_times(run_dir: &Path, board: &str, workload: &str, allocator: &str) -> Vec<f64> {
    let cell = crate::rundir::CellKey::new(board, workload, allocator);
    // Sorted by name: in repetition order.
    let files: Vec<std::path::PathBuf> = cell
        .files(run_dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, raw)| raw.is_some_and(|r| r.is_rep_document()))
        .map(|(name, _)| cell.dir(run_dir).join(name))
        .collect();
    files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|b| parse_agent_output(&b).ok())
        // The same rule as the report: a time it would refuse adds nothing.
        .filter(|d| d.runs.len() == 1 && crate::report::check_run_document(d).is_ok())
        .filter_map(|d| d.runs.first().filter(|r| r.ok).map(|r| r.wall_s))
        .collect()
}

/// Parses what `lwm-agent run` printed.
pub fn parse_agent_output(stdout: &[u8]) -> Result<RunDocument, String> {
    if stdout.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("no output".into());
    }
    serde_json::from_slice(stdout).map_err(|e| format!("unreadable agent document: {e}"))
}
