//! One agent run on the board, and what a lost connection costs: one
//! reconnect, the orphaned agent stopped, the run made again.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::rundir::Event;

use crate::transport::{self, TransportError};

use super::super::plan;
use super::super::store::{RunKey, RunKind};
use super::record::say;
use super::{Session, Stop, AGENT_GRACE};

impl Session<'_> {
    /// One agent run. Returns the run's wall time when it succeeded.
    pub(super) fn run(
        &mut self,
        key: &RunKey,
        alloc: usize,
        workload: &str,
    ) -> Result<Option<f64>, Stop> {
        if self.job.cancel.load(Ordering::SeqCst) {
            return Err(Stop::Cancelled);
        }
        self.transport.heartbeat().map_err(Stop::Failed)?;
        let now = Instant::now();
        if now >= self.deadline {
            return Err(Stop::Failed(format!(
                "board {}: board timeout of {} s reached before {key}",
                self.job.board.name,
                self.job.board.timeouts.board.as_secs()
            )));
        }
        self.job.progress.set_message(format!(
            "{workload} / {} {}",
            key.allocator,
            match key.kind {
                RunKind::Warmup => format!("warm-up {}", key.index),
                RunKind::Rep => format!("rep {}", key.index),
            }
        ));
        if let Some(why) = self.allocators[alloc].unusable.clone() {
            // Nothing to run: the reason stands for the run, and the other
            // allocators' runs go on.
            self.job.progress.inc(1);
            self.runs += u32::from(key.kind == RunKind::Rep);
            self.record_failure(key, &why, &[], &[]);
            return Ok(None);
        }
        let argv = self.agent_argv(alloc, workload);
        let (env, run_limit) = match self.command(workload) {
            Some(c) => (
                c.env.clone().into_iter().collect::<Vec<_>>(),
                c.timeout_s
                    .map(Duration::from_secs)
                    .unwrap_or(self.job.board.timeouts.run),
            ),
            None => (Vec::new(), self.workload_limit(workload)),
        };
        let timeout = (run_limit + AGENT_GRACE).min(self.deadline - now);
        self.job.store.record(&Event::RunStarted {
            run: key.to_string(),
        });
        let mut result = self.transport.exec(&argv, &env, timeout);
        if let Err(lost @ TransportError::Disconnected { .. }) = &result {
            // One reconnect: a board that drops a single connection (Wi-Fi,
            // a restarted sshd) is not dead, and the run is made again.
            let lost = lost.detail().to_string();
            self.reconnect(key, &lost)?;
            self.job.store.record(&Event::RunStarted {
                run: key.to_string(),
            });
            result = self.transport.exec(&argv, &env, timeout);
            if let Err(again @ TransportError::Disconnected { .. }) = &result {
                let why = format!(
                    "board {}: connection lost again after reconnecting, during {key}: {}",
                    key.board,
                    again.detail()
                );
                let why = self.unless_gone(why, key);
                self.record_failure(key, &why, &[], &[]);
                return Err(Stop::Failed(why));
            }
        }
        self.job.progress.inc(1);
        self.runs += u32::from(key.kind == RunKind::Rep);
        match result {
            Ok(out) => {
                let doc = plan::parse_agent_output(&out.stdout);
                match (out.status, doc) {
                    (Some(0 | 1), Ok(doc)) => {
                        if let Err(e) = self.job.store.save_document(key, &out.stdout) {
                            return Err(Stop::Failed(format!("cannot save {key}: {e}")));
                        }
                        let run = doc.runs.first();
                        let ok = run.is_some_and(|r| r.ok);
                        self.job.store.record(&Event::RunFinished {
                            run: key.to_string(),
                            ok,
                            file: self.job.store.relative_raw_path(key),
                            problems: run.map(|r| r.problems.clone()).unwrap_or_default(),
                        });
                        if !ok {
                            self.count_failure(key);
                            let why = run
                                .and_then(|r| r.problems.first().cloned())
                                .unwrap_or_else(|| "no run in the agent's document".into());
                            say(
                                &self.job.progress,
                                format!("board {}: {key}: run failed: {why}", key.board),
                            );
                        }
                        Ok(run.filter(|r| r.ok).map(|r| r.wall_s))
                    }
                    (status, doc) => {
                        let why = match (status, doc) {
                            (Some(s), Err(e)) => format!("agent exited with status {s}: {e}"),
                            (Some(s), Ok(_)) => format!("agent exited with status {s}"),
                            (None, _) => format!(
                                "lwm-agent was killed by signal {} on the board",
                                out.signal.as_deref().unwrap_or("(not named)")
                            ),
                        };
                        let first = String::from_utf8_lossy(&out.stderr)
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .map(|l| format!(" ({})", l.trim()))
                            .unwrap_or_default();
                        self.record_failure(
                            key,
                            &format!("{why}{first}"),
                            &out.stdout,
                            &out.stderr,
                        );
                        Ok(None)
                    }
                }
            }
            Err(e @ TransportError::Timeout { .. }) => {
                self.record_failure(key, &e.to_string(), &[], &[]);
                Ok(None)
            }
            Err(e) => {
                let msg = format!("{e} (during {key})");
                self.record_failure(key, &e.to_string(), &[], &[]);
                Err(Stop::Failed(msg))
            }
        }
    }

    /// After the connection dropped during `key` (`lost` says how):
    /// connects again, or fails the board saying why. The run that was
    /// lost left nothing and is made again by the caller; the loss is an
    /// event and an incident of the board.
    fn reconnect(&mut self, key: &RunKey, lost: &str) -> Result<(), Stop> {
        let board = key.board.clone();
        self.job.store.record(&Event::ConnectionLost {
            board: board.clone(),
            run: key.to_string(),
            error: lost.into(),
        });
        match transport::connect(&self.job.board) {
            Ok(t) => {
                let orphan = self.transport.lost_command();
                *self.transport = t;
                let stopped = orphan.and_then(|(pid, program)| self.stop_orphan(pid, &program));
                let note = format!(
                    "connection lost during {key} ({lost}); reconnected{}, the run made again",
                    stopped.as_deref().unwrap_or("")
                );
                self.job.store.record(&Event::Reconnected {
                    board: board.clone(),
                    run: key.to_string(),
                    stopped: stopped.clone(),
                });
                say(&self.job.progress, format!("board {board}: {note}"));
                self.incident(note);
                Ok(())
            }
            Err(e) => {
                let why = format!(
                    "board {board}: connection lost during {key} ({lost}); reconnect failed: {}",
                    e.detail()
                );
                let why = self.unless_gone(why, key);
                self.record_failure(key, &why, &[], &[]);
                Err(Stop::Failed(why))
            }
        }
    }

    /// Stops the agent a lost connection left running on the board (it
    /// would run on beside the run made again, skewing it), if `pid` is
    /// still `program`; with pid 0 (the connection died before the board
    /// said the pid), every process running `program`, the agent in this
    /// board's work dir, of which no other run of the campaign is in
    /// flight. SIGKILL to the agent alone: its launcher sees it die and
    /// kills the measured child's group. Returns what was done, for the
    /// incident line.
    fn stop_orphan(&mut self, pid: u32, program: &str) -> Option<String> {
        // Without a pid, only a program of our own work dir is looked for:
        // never a system binary other people's processes run.
        if pid == 0 && !program.starts_with(&format!("{}/", self.work_dir)) {
            return None;
        }
        const SCRIPT: &str = r#"target=$(readlink -f "$2") || exit 0
if [ "$1" = 0 ]; then pids=$(cd /proc && ls -d [0-9]*); else pids=$1; fi
for p in $pids; do
  exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
  [ "$exe" = "$target" ] && kill -s KILL "$p" && echo "stopped $p"
done
exit 0"#;
        let argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            SCRIPT.to_string(),
            "lwm-stop-orphan".to_string(),
            pid.to_string(),
            program.to_string(),
        ];
        let out = self
            .transport
            .exec(&argv, &[], Duration::from_secs(30))
            .ok()?;
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        let stopped: Vec<&str> = said
            .lines()
            .filter_map(|l| l.strip_prefix("stopped "))
            .collect();
        (!stopped.is_empty()).then(|| {
            format!(
                " (its agent, pid {}, still ran on the board: stopped)",
                stopped.join(", ")
            )
        })
    }

    /// `why` the board failed during `key`, unless the board itself is
    /// gone (a VM whose QEMU exited): then that is the reason given.
    fn unless_gone(&mut self, why: String, key: &RunKey) -> String {
        match self
            .provided
            .as_mut()
            .and_then(|p| p.gone(Duration::from_secs(3)))
        {
            Some(gone) => {
                let msg = format!("board {}: the VM went away during {key}: {gone}", key.board);
                self.job.store.record(&Event::VmGone {
                    board: key.board.clone(),
                    run: key.to_string(),
                    error: msg.clone(),
                });
                msg
            }
            None => why,
        }
    }
}
