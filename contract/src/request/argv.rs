//! The host's side: a request as the agent's command line. Only what
//! differs from the agent's defaults is written, so the argv recorded in a
//! run document reads as what was asked for.

use super::{AgentRequest, DoctorRequest, RunRequest, RunTarget};

impl AgentRequest {
    /// The command line that makes the agent at `agent` (its path on the
    /// board) do this; [`AgentRequest::parse`] reads it back as `self`.
    pub fn to_argv(&self, agent: &str) -> Vec<String> {
        let mut argv = vec![agent.to_string()];
        match self {
            AgentRequest::Run(run) => {
                argv.push("run".into());
                run.push_args(&mut argv);
            }
            AgentRequest::Doctor(doctor) => {
                argv.push("doctor".into());
                doctor.push_args(&mut argv);
            }
            AgentRequest::Environment => argv.push("environment".into()),
            AgentRequest::Version => argv.push("--version".into()),
            AgentRequest::Help => argv.push("--help".into()),
        }
        argv
    }
}

/// Appends `flag value`.
fn push_option(argv: &mut Vec<String>, flag: &str, value: impl ToString) {
    argv.push(flag.into());
    argv.push(value.to_string());
}

impl RunRequest {
    fn push_args(&self, argv: &mut Vec<String>) {
        let default = RunRequest::new(self.target.clone());
        if let Some(cwd) = &self.cwd {
            push_option(argv, "--cwd", cwd);
        }
        if let RunTarget::Workload(workload) = &self.target {
            push_option(argv, "--workload", &workload.name);
            if let Some(runner) = &workload.runner {
                push_option(argv, "--workload-bin", runner);
            }
            argv.extend(workload.options_argv());
        }
        if self.allocator != default.allocator {
            push_option(argv, "--allocator", &self.allocator);
        }
        if self.reps != default.reps {
            push_option(argv, "--reps", self.reps);
        }
        if self.warmup != default.warmup {
            push_option(argv, "--warmup", self.warmup);
        }
        if self.timeout != default.timeout {
            // f64's Display is the shortest text that parses back to the
            // same value: 600 s is written `600`, 2.5 s `2.5`.
            let seconds = self.timeout.map_or(0.0, |t| t.as_secs_f64());
            push_option(argv, "--timeout", seconds);
        }
        if self.interval != default.interval {
            push_option(argv, "--interval", self.interval.as_millis());
        }
        if let Some(limit) = self.limit_as {
            push_option(argv, "--limit-as", limit);
        }
        if self.tail_bytes != default.tail_bytes {
            push_option(argv, "--tail", self.tail_bytes);
        }
        if !self.forward_stderr {
            argv.push("--quiet-child".into());
        }
        if self.quiet {
            argv.push("--quiet".into());
        }
        if let Some(output) = &self.output {
            push_option(argv, "--output", output);
        }
        if let RunTarget::Command(command) = &self.target {
            argv.push("--".into());
            argv.extend(command.iter().cloned());
        }
    }
}

impl DoctorRequest {
    fn push_args(&self, argv: &mut Vec<String>) {
        let default = DoctorRequest::default();
        if self.dir != default.dir {
            push_option(argv, "--dir", &self.dir);
        }
        if self.min_free_mem_mib != default.min_free_mem_mib {
            push_option(argv, "--min-free-mem", self.min_free_mem_mib);
        }
        if self.min_free_disk_mib != default.min_free_disk_mib {
            push_option(argv, "--min-free-disk", self.min_free_disk_mib);
        }
        // A binary named like an option is read as one unless `--` ends
        // the options first.
        if self.binaries.iter().any(|b| b.starts_with('-')) {
            argv.push("--".into());
        }
        argv.extend(self.binaries.iter().cloned());
    }
}
