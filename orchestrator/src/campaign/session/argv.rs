//! The agent's command line (lwm-contract's `AgentRequest`) for one run
//! and for the doctor, and the limits a run is given.

use std::time::Duration;

use lwm_contract::request::{AgentRequest, DoctorRequest, RunRequest, RunTarget, WorkloadRun};

use super::{Session, AGENT_REL, LIBRARY_REL, WORKLOAD_REL};

impl Session<'_> {
    /// The agent's command line for one run of `workload` under allocator
    /// `alloc`.
    pub(super) fn agent_argv(&self, alloc: usize, workload: &str) -> Vec<String> {
        let agent = format!("{}/{AGENT_REL}", self.work_dir);
        AgentRequest::Run(self.run_request(alloc, workload)).to_argv(&agent)
    }

    fn run_request(&self, alloc: usize, workload: &str) -> RunRequest {
        let s = &self.job.settings;
        let command = self.command(workload);
        let (target, timeout_s) = match command {
            Some(c) => (
                RunTarget::Command(c.board_argv(&self.work_dir)),
                c.timeout_s.unwrap_or(self.job.board.timeouts.run.as_secs()),
            ),
            None => (
                RunTarget::Workload(WorkloadRun {
                    runner: Some(format!("{}/{WORKLOAD_REL}", self.work_dir)),
                    seed: Some(s.seed.to_string()),
                    scale: Some(board_scale(s.scale, self.job.board.workload_scale).to_string()),
                    threads: Some(self.threads.to_string()),
                    // Not scaled: a board's workload_scale shortens work, not time.
                    duration: timed_duration(s, workload).map(|d| format!("{}s", d.as_secs())),
                    ..WorkloadRun::new(workload)
                }),
                self.workload_limit(workload).as_secs(),
            ),
        };
        let mut request = RunRequest::new(target);
        request.allocator = self.allocators[alloc]
            .path
            .clone()
            .unwrap_or_else(|| "system".to_string());
        // One measured run per call: the campaign does warm-up and reps.
        request.reps = 1;
        request.warmup = 0;
        // 0: no limit, as the agent's --timeout 0.
        request.timeout = (timeout_s > 0).then(|| Duration::from_secs(timeout_s));
        request.quiet = true;
        request.forward_stderr = false;
        if let Some(c) = command {
            request.cwd = Some(format!("{}/{}", self.work_dir, c.board_dir_rel()));
            request.limit_as = c.limit_as_bytes;
        }
        if timed_duration(s, workload).is_some() {
            // Its report holds a sample per period (up to 1024): keep the
            // whole line.
            request.tail_bytes = TIMED_TAIL_BYTES;
        }
        request
    }

    /// How long one run of `workload` may take: the profile's run timeout,
    /// plus the duration of a timed workload.
    pub(super) fn workload_limit(&self, workload: &str) -> Duration {
        self.job.board.timeouts.run
            + timed_duration(&self.job.settings, workload).unwrap_or_default()
    }
}

/// The agent's command line for `lwm-agent doctor` in `work_dir`: the
/// board and the three pushed binaries.
pub(super) fn doctor_argv(work_dir: &str) -> Vec<String> {
    let agent = format!("{work_dir}/{AGENT_REL}");
    let request = DoctorRequest {
        dir: work_dir.into(),
        binaries: vec![
            agent.clone(),
            format!("{work_dir}/{WORKLOAD_REL}"),
            format!("{work_dir}/{LIBRARY_REL}"),
        ],
        ..DoctorRequest::default()
    };
    AgentRequest::Doctor(request).to_argv(&agent)
}

/// The agent's `--tail` for a timed workload's runs.
const TIMED_TAIL_BYTES: usize = 256 << 10;

/// The duration of `workload` when it is a timed one.
pub(super) fn timed_duration(s: &crate::manifest::Settings, workload: &str) -> Option<Duration> {
    crate::limits::DURATION_WORKLOADS
        .contains(&workload)
        .then_some(s.duration_s)
        .flatten()
        .map(Duration::from_secs)
}

/// The scale this board runs workloads at, rounded to nine significant
/// digits so that 0.1 x 0.05 is passed as 0.005, not 0.005000000000000001.
fn board_scale(campaign: f64, board: f64) -> f64 {
    let x = campaign * board;
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 8 - x.abs().log10().floor() as i32;
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

#[cfg(test)]
mod tests {
    use super::board_scale;

    #[test]
    fn board_scale_keeps_the_digits_people_wrote() {
        assert_eq!(board_scale(0.1, 0.05).to_string(), "0.005");
        assert_eq!(board_scale(0.2, 0.1).to_string(), "0.02");
        assert_eq!(board_scale(0.2, 1.0), 0.2);
        assert_eq!(board_scale(3.0, 0.3).to_string(), "0.9");
    }
}
