//! Containers left behind by an `lwm` that died (SIGKILL, a crash, a
//! power cut of the host's session): each board container is labelled with
//! its owner's pid and start time; one whose owner no longer runs is
//! removed before a new board container starts.

use std::process::Stdio;

use anyhow::{bail, Context};

use super::engine::{last_line, Engine};
use super::run::{OWNER_PID_LABEL, OWNER_START_LABEL};

/// This process's pid and start time (clock ticks after boot), the pair
/// that names an owner even across pid reuse.
pub fn this_process() -> (u32, u64) {
    let pid = std::process::id();
    (pid, start_ticks(pid).unwrap_or(0))
}

/// Field 22 of /proc/PID/stat: when the process started.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count
    // fields after its closing parenthesis (field 3 is the first there).
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process that labelled a container still runs.
fn owner_alive(pid: u32, ticks: u64) -> bool {
    match start_ticks(pid) {
        Some(now) => ticks == 0 || now == ticks,
        None => false,
    }
}

/// Removes every lwm board container on `engine` whose owner is gone and
/// returns their names.
pub fn remove_orphans(engine: &Engine) -> anyhow::Result<Vec<String>> {
    let out = engine
        .docker()
        .args([
            "ps",
            "--all",
            "--filter",
            &format!("label={OWNER_PID_LABEL}"),
            "--format",
            &format!(
                "{{{{.Names}}}}\t{{{{.Label \"{OWNER_PID_LABEL}\"}}}}\t{{{{.Label \"{OWNER_START_LABEL}\"}}}}"
            ),
        ])
        .output()
        .context("cannot run `docker ps`")?;
    if !out.status.success() {
        bail!(
            "docker ps failed: {}",
            last_line(&String::from_utf8_lossy(&out.stderr))
        );
    }
    let mut removed = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut fields = line.split('\t');
        let (Some(name), Some(pid), ticks) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else {
            continue;
        };
        let ticks = ticks.and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        if owner_alive(pid, ticks) {
            continue;
        }
        let status = engine
            .docker()
            .args(["rm", "--force", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("cannot run `docker rm`")?;
        if status.success() {
            removed.push(name.to_string());
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_its_own_live_owner() {
        let (pid, ticks) = this_process();
        assert!(ticks > 0);
        assert!(owner_alive(pid, ticks));
        // Same pid, another start time: a reused pid is not the owner.
        assert!(!owner_alive(pid, ticks + 1));
    }

    #[test]
    fn a_pid_that_does_not_run_is_no_owner() {
        // Above the kernel's pid_max limit (4194304): never a process.
        assert!(!owner_alive(4_194_305, 0));
    }
}
