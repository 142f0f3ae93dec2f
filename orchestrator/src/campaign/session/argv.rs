//! The agent's command line for one run, and the limits it is given.

use std::time::Duration;

use super::{Session, AGENT_REL, WORKLOAD_REL};

impl Session<'_> {
    pub(super) fn agent_argv(&self, alloc: usize, workload: &str) -> Vec<String> {
        let s = &self.job.settings;
        let allocator = self.allocators[alloc]
            .path
            .clone()
            .unwrap_or_else(|| "system".to_string());
        let agent = format!("{}/{AGENT_REL}", self.work_dir);
        // One measured run per call: the campaign does warm-up and reps.
        let one_run = |timeout_s: u64| -> Vec<String> {
            [
                "--allocator",
                &allocator,
                "--reps",
                "1",
                "--warmup",
                "0",
                "--timeout",
                &timeout_s.to_string(),
                "--quiet",
                "--quiet-child",
            ]
            .map(String::from)
            .to_vec()
        };
        if let Some(c) = self.command(workload) {
            let timeout = c.timeout_s.unwrap_or(self.job.board.timeouts.run.as_secs());
            let mut argv = vec![
                agent,
                "run".into(),
                "--cwd".into(),
                format!("{}/{}", self.work_dir, c.board_dir_rel()),
            ];
            argv.extend(one_run(timeout));
            if let Some(limit) = c.limit_as_bytes {
                argv.extend(["--limit-as".into(), limit.to_string()]);
            }
            argv.push("--".into());
            argv.extend(c.board_argv(&self.work_dir));
            return argv;
        }
        let mut argv = vec![
            agent,
            "run".into(),
            "--workload".into(),
            workload.into(),
            "--workload-bin".into(),
            format!("{}/{WORKLOAD_REL}", self.work_dir),
            "--seed".into(),
            s.seed.to_string(),
            "--scale".into(),
            board_scale(s.scale, self.job.board.workload_scale).to_string(),
            "--threads".into(),
            self.threads.to_string(),
        ];
        if let Some(d) = timed_duration(&self.job.settings, workload) {
            // Not scaled: a board's workload_scale shortens work, not time.
            argv.extend(["--duration".into(), format!("{}s", d.as_secs())]);
            // Its report holds a sample per period (up to 1024): keep the
            // whole line.
            argv.extend(["--tail".into(), TIMED_TAIL_BYTES.to_string()]);
        }
        argv.extend(one_run(self.workload_limit(workload).as_secs()));
        argv
    }

    /// How long one run of `workload` may take: the profile's run timeout,
    /// plus the duration of a timed workload.
    pub(super) fn workload_limit(&self, workload: &str) -> Duration {
        self.job.board.timeouts.run
            + timed_duration(&self.job.settings, workload).unwrap_or_default()
    }
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
