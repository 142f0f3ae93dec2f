//! Opening a board's session: gate and hash the artifacts, connect, lock
//! the board, push, run the agent's doctor and settle the board's plan
//! (workloads, allocators, threads).

use std::time::{Duration, Instant};

use crate::rundir::events::{Event, PushedFile};
use lwm_contract::schema::{Check, CheckStatus, DoctorDocument};

use crate::manifest::ArtifactEntry;
use crate::transport::{self, PushFile, Transport};

use super::super::locked_transport::LockedTransport;
use super::super::plan;
use super::super::threads::board_threads;
use super::argv::{doctor_argv, timed_duration};
use super::record::say;
use super::{BoardJob, Session, AGENT_REL, LIBRARY_REL, WORKLOAD_REL};

impl<'a> Session<'a> {
    /// Gate, connect, push, check the board and settle the plan.
    pub(super) fn open(
        job: &'a BoardJob,
        provided: Option<Box<dyn crate::provider::RunningBoard>>,
    ) -> Result<Session<'a>, String> {
        let board = &job.board;
        // A timed workload's runs come on top of the profile's budget, so
        // an hours-long soak is not cut short by it.
        let s = &job.settings;
        let timed_runs = s
            .workloads
            .iter()
            .filter_map(|w| timed_duration(s, w))
            .sum::<Duration>()
            * (s.warmup + s.planned_reps())
            * s.allocators.len() as u32;
        let deadline = Instant::now() + board.timeouts.board + timed_runs;
        job.progress.set_message("checking artifacts");
        let mut entries = Vec::new();
        let mut files = Vec::new();
        for (name, local, rel, mode) in [
            ("lwm-agent", &job.artifacts.agent, AGENT_REL, 0o755),
            ("lwm-workload", &job.artifacts.workload, WORKLOAD_REL, 0o755),
            (
                "liblwmalloc.so",
                &job.artifacts.liblwmalloc,
                LIBRARY_REL,
                0o644,
            ),
        ] {
            let gate = crate::gate::check(local, board).map_err(|e| e.to_string())?;
            let data = std::fs::read(local)
                .map_err(|e| format!("{}: cannot read artifact: {e}", local.display()))?;
            let sha256 = lwm_contract::sha256::sha256_hex(&data);
            entries.push(ArtifactEntry {
                name: name.to_string(),
                local_path: local.display().to_string(),
                board_path: format!("{}/{rel}", board.work_dir),
                sha256: sha256.clone(),
                size_bytes: data.len() as u64,
                gate: Some(gate),
            });
            files.push(PushFile {
                local: local.clone(),
                remote_rel: rel.to_string(),
                mode,
                sha256,
            });
        }
        for cmd in &job.settings.commands {
            for (file, entry) in super::super::command_files::command_files(cmd, board)? {
                files.push(file);
                entries.push(entry);
            }
        }
        let _ = job
            .store
            .update_board(&board.name, |b| b.artifacts = entries);

        job.progress.set_message("connecting");
        let transport = transport::connect(board).map_err(|e| e.to_string())?;
        // Nothing is pushed to a board another campaign uses; from here
        // on, dropping `transport` releases the lock.
        job.progress.set_message("locking the board");
        let mut transport = LockedTransport::lock(transport, board, job.store.clone(), &|l| {
            say(&job.progress, l)
        })?;
        job.progress.set_message("pushing artifacts");
        let pushed = transport.push(&files).map_err(|e| e.to_string())?;
        job.store.record(&Event::Pushed {
            board: board.name.clone(),
            files: files
                .iter()
                .zip(&pushed)
                .map(|(f, o)| PushedFile {
                    file: f.remote_rel.clone(),
                    outcome: format!("{o:?}"),
                })
                .collect(),
        });
        let work_dir = transport.work_dir().to_string();

        job.progress.set_message("checking the board");
        let doctor = doctor(job, transport.as_mut(), &work_dir)?;
        // Kept in the manifest as a JSON value: its readers take the parts
        // they need typed (`BoardEntry::agent_emulation`, ...).
        let environment = serde_json::to_value(&doctor.environment)
            .map_err(|e| format!("board {}: {e}", board.name))?;
        let builtin = list_workloads(job, transport.as_mut(), &work_dir)?;
        // User commands alone name no workload.
        let mut workloads = if job.settings.workloads.is_empty() {
            Vec::new()
        } else {
            plan::resolve_workloads(&job.settings.workloads, &builtin)
                .map_err(|e| format!("board {}: {e}", board.name))?
        };
        for cmd in &job.settings.commands {
            if builtin.contains(&cmd.name) {
                return Err(format!(
                    "board {}: command name `{}` is a built-in workload's there; choose another",
                    board.name, cmd.name
                ));
            }
            // Its results sit where a workload's do.
            workloads.push(cmd.name.clone());
        }
        let allocators = plan::resolve_allocators(
            &job.settings.allocators,
            board,
            &format!("{work_dir}/{LIBRARY_REL}"),
            |path| board_has_file(transport.as_mut(), path),
        )
        .map_err(|e| format!("board {}: {e}", board.name))?;
        for skipped in plan::skipped_optional(&job.settings.allocators, board, &allocators) {
            job.store.record(&Event::AllocatorSkipped {
                board: board.name.clone(),
                allocator: skipped.0.clone(),
                path: skipped.1.clone(),
                reason: "not installed on the board".into(),
            });
            say(
                &job.progress,
                format!(
                    "{}: allocator {} skipped: {} not found on the board",
                    board.name, skipped.0, skipped.1
                ),
            );
        }
        for a in &allocators {
            if let Some(why) = &a.unusable {
                job.store.record(&Event::AllocatorUnusable {
                    board: board.name.clone(),
                    allocator: a.name.clone(),
                    reason: why.clone(),
                });
                say(
                    &job.progress,
                    format!("{}: {why}: its runs are recorded as failed", board.name),
                );
            }
        }
        let recorded_threads = job
            .store
            .manifest()
            .boards
            .iter()
            .find(|b| b.name == board.name)
            .and_then(|b| b.threads);
        let threads = board_threads(
            job.settings.threads,
            recorded_threads,
            Some(&doctor.environment.cpu),
        )
        .map_err(|e| format!("board {}: {e}", board.name))?;
        let _ = job.store.update_board(&board.name, |b| {
            b.threads = Some(threads);
            b.environment = Some(environment.clone());
            b.allocators = allocators
                .iter()
                .map(|a| (a.name.clone(), a.path.clone()))
                .collect();
        });
        let planned = workloads.len() as u64
            * allocators.len() as u64
            * u64::from(job.settings.warmup + job.settings.planned_reps());
        job.progress.set_length(planned);
        Ok(Session {
            job,
            provided,
            transport,
            deadline,
            work_dir,
            workloads,
            allocators,
            threads,
            runs: 0,
            failed_runs: 0,
            no_result: 0,
        })
    }
}

/// Runs `lwm-agent doctor` on the board; a failing check fails the board.
/// The document is kept as boards/BOARD/doctor.json.
fn doctor(job: &BoardJob, t: &mut dyn Transport, work_dir: &str) -> Result<DoctorDocument, String> {
    let board = &job.board.name;
    let argv = doctor_argv(work_dir);
    let out = t
        .exec(&argv, &[], job.board.timeouts.run)
        .map_err(|e| e.to_string())?;
    let doc: DoctorDocument = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "board {board}: lwm-agent doctor printed no document ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )
    })?;
    job.store
        .save_file(&crate::rundir::doctor_rel(board), &out.stdout)
        .map_err(|e| format!("board {board}: {e:#}"))?;
    let failing = fatal_doctor_checks(&doc.checks);
    if !failing.is_empty() {
        return Err(format!(
            "board {board}: lwm-agent doctor failed: {}",
            failing.join("; ")
        ));
    }
    Ok(doc)
}

/// Doctor checks that stop a board, as `name: detail`: every failed one.
fn fatal_doctor_checks(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect()
}

fn list_workloads(
    job: &BoardJob,
    t: &mut dyn Transport,
    work_dir: &str,
) -> Result<Vec<String>, String> {
    let argv = vec![format!("{work_dir}/{WORKLOAD_REL}"), "list".to_string()];
    let out = t
        .exec(&argv, &[], job.board.timeouts.run)
        .map_err(|e| e.to_string())?;
    if out.status != Some(0) {
        return Err(format!(
            "board {}: lwm-workload list failed: {}",
            job.board.name,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Whether `path` is a readable file on the board.
fn board_has_file(t: &mut dyn Transport, path: &str) -> bool {
    let argv = vec!["test".to_string(), "-r".to_string(), path.to_string()];
    matches!(t.exec(&argv, &[], Duration::from_secs(30)), Ok(o) if o.status == Some(0))
}

#[cfg(test)]
mod tests {
    use super::fatal_doctor_checks;

    #[test]
    fn every_failed_doctor_check_stops_the_board() {
        let checks: Vec<lwm_contract::schema::Check> = serde_json::from_value(serde_json::json!([
            { "name": "lse_atomics", "target": "bin/lwm-agent", "status": "fail", "detail": "12 LSE" },
            { "name": "free_disk", "target": null, "status": "fail", "detail": "45 MiB free" },
            { "name": "free_memory", "target": null, "status": "pass", "detail": "ok" },
        ]))
        .unwrap();
        assert_eq!(
            fatal_doctor_checks(&checks),
            ["lse_atomics: 12 LSE", "free_disk: 45 MiB free"]
        );
    }
}
