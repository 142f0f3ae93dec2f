//! The order of a board's runs: per workload, warm-ups, then rounds of one
//! repetition per allocator (A B A B ...) until the plan is met; then the
//! stdout check of user commands.

use crate::rundir::{CellKey, Event};

use super::super::plan;
use super::super::store::{RunKey, RunKind};
use super::record::say;
use super::{BoardOutcome, Session, Stop};

impl<'a> Session<'a> {
    pub(super) fn campaign(&mut self) -> BoardOutcome {
        let workloads = self.workloads.clone();
        for w in &workloads {
            match self.workload(w) {
                Ok(()) => {}
                Err(Stop::Cancelled) => return BoardOutcome::Interrupted,
                Err(Stop::Failed(e)) => return BoardOutcome::Failed(e),
            }
        }
        BoardOutcome::Done {
            runs: self.runs,
            failed_runs: self.failed_runs,
            no_result: self.no_result,
        }
    }

    /// Warm-ups, then rounds of one repetition per allocator (A B A B ...)
    /// until the plan is met.
    fn workload(&mut self, workload: &str) -> Result<(), Stop> {
        let board = self.job.board.name.clone();
        let settings = self.job.settings.clone();
        let mut existing = Vec::new();
        for a in &self.allocators {
            let e = self
                .job
                .store
                .existing(&board, workload, &a.name)
                .map_err(|e| Stop::Failed(e.to_string()))?;
            existing.push(e);
        }
        let mut times: Vec<Vec<f64>> = self
            .allocators
            .iter()
            .map(|a| plan::collected_times(self.job.store.dir(), &board, workload, &a.name))
            .collect();
        let mut warmed = false;
        let mut round = 0u32;
        loop {
            if !plan::wants_round(&settings, round, &times) {
                break;
            }
            let todo: Vec<usize> = (0..self.allocators.len())
                .filter(|&i| !existing[i].reps.contains(&round))
                .collect();
            if !todo.is_empty() && !warmed {
                for w in 0..settings.warmup {
                    // `i` names the allocator to self.key and self.run too.
                    #[allow(clippy::needless_range_loop)]
                    for i in 0..self.allocators.len() {
                        let key = self.key(workload, i, RunKind::Warmup, existing[i].warmups + w);
                        self.run(&key, i, workload)?;
                    }
                }
                warmed = true;
            }
            for i in todo {
                let key = self.key(workload, i, RunKind::Rep, round);
                if let Some(t) = self.run(&key, i, workload)? {
                    times[i].push(t);
                }
            }
            round += 1;
        }
        // A command whose output may change (--no-output-check,
        // `check_output = false`) is measured without the check.
        if self.command(workload).is_some_and(|c| c.check_output) {
            self.check_stdout(workload);
        }
        Ok(())
    }

    /// The user command named `name`, if it is one (else a workload).
    pub(super) fn command(&self, name: &str) -> Option<&'a crate::commands::UserCommand> {
        self.job.settings.commands.iter().find(|c| c.name == name)
    }

    /// Fails the repetitions of command `name` whose stdout differs from
    /// its stdout under `system` (the report applies the same rule to the
    /// raw documents).
    fn check_stdout(&mut self, name: &str) {
        use crate::commands::stdout_check::{mismatches, Output};
        let board = self.job.board.name.clone();
        let mut outputs: Vec<(String, u32, Option<String>)> = Vec::new();
        let run_dir = self.job.store.dir();
        for a in &self.allocators {
            let cell = CellKey::new(&board, name, &a.name);
            // No directory: nothing recorded yet.
            for (file, raw) in cell.files(run_dir).unwrap_or_default() {
                let Some(rep) = raw.filter(|r| r.is_rep_document()).map(|r| r.index) else {
                    continue;
                };
                let Some(doc) = std::fs::read(cell.dir(run_dir).join(&file))
                    .ok()
                    .and_then(|b| plan::parse_agent_output(&b).ok())
                else {
                    continue;
                };
                if let Some(run) = doc.runs.first().filter(|r| r.ok) {
                    outputs.push((a.name.clone(), rep, run.stdout.sha256.clone()));
                }
            }
        }
        let view: Vec<Output> = outputs
            .iter()
            .map(|(a, rep, h)| Output {
                allocator: a,
                rep: *rep,
                sha256: h.as_deref(),
            })
            .collect();
        for (i, why) in mismatches(name, &view) {
            self.failed_runs += 1;
            self.job.store.record(&Event::StdoutDiffers {
                board: board.clone(),
                command: name.into(),
                allocator: outputs[i].0.clone(),
                rep: outputs[i].1,
                error: why.clone(),
            });
            say(&self.job.progress, format!("board {board}: {why}"));
        }
    }

    fn key(&self, workload: &str, alloc: usize, kind: RunKind, index: u32) -> RunKey {
        RunKey {
            board: self.job.board.name.clone(),
            workload: workload.to_string(),
            allocator: self.allocators[alloc].name.clone(),
            kind,
            index,
        }
    }
}
