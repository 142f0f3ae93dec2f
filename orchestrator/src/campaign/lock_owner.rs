//! Who holds a board lock (`board_lock`): the lwm process that took it,
//! and whether that process still runs, which only the machine it runs on
//! can tell (its hostname and boot id, then its pid and the pid's start
//! time, so that a reused pid is not taken for the owner).

use serde::{Deserialize, Serialize};

use super::clock::utc_readable;

/// The owner record kept in the lock on the board (one JSON line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOwner {
    pub run_id: String,
    pub pid: u32,
    pub host: String,
    /// `/proc/sys/kernel/random/boot_id` of `host`: the same name after a
    /// reboot is not the same machine state.
    pub boot_id: String,
    /// Start time of `pid` in clock ticks since boot (`/proc/PID/stat`
    /// field 22).
    pub pid_start: u64,
    pub since_unix_ms: u64,
    /// The owner refreshes the lock at least this often while it runs; a
    /// lock left untouched longer by an owner on another machine is stale.
    pub stale_after_s: u64,
}

/// Whether the owner is still running, as far as this machine can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Dead,
    /// The owner runs on another machine (or this one before a reboot is
    /// not told apart): only the lock's age can tell.
    Unknown,
}

impl LockOwner {
    /// This process, holding the lock for `run_id`.
    pub fn this_process(run_id: &str, since_unix_ms: u64, stale_after_s: u64) -> LockOwner {
        let pid = std::process::id();
        LockOwner {
            run_id: run_id.to_string(),
            pid,
            host: host_name(),
            boot_id: boot_id(),
            pid_start: pid_start(pid).unwrap_or(0),
            since_unix_ms,
            stale_after_s,
        }
    }

    /// Alive, dead, or not for this machine to say.
    pub fn liveness(&self) -> Liveness {
        if self.host != host_name() || self.boot_id != boot_id() {
            return Liveness::Unknown;
        }
        match pid_start(self.pid) {
            Some(start) if start == self.pid_start => Liveness::Alive,
            _ => Liveness::Dead,
        }
    }

    /// `run RUN (lwm pid P on host H since T)`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "run {} (lwm pid {} on host {} since {})",
            self.run_id,
            self.pid,
            self.host,
            utc_readable(self.since_unix_ms)
        )
    }
}

fn host_name() -> String {
    read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown".into())
}

fn boot_id() -> String {
    read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default()
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Field 22 of `/proc/PID/stat` (the process's start time), `None` when
/// no such process exists.
fn pid_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start past the last ')'. Field 3 is index 0.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_gone_pid_is_dead() {
        let me = LockOwner::this_process("r", 0, 60);
        assert!(me.pid_start > 0);
        assert_eq!(me.liveness(), Liveness::Alive);
        let reused = LockOwner {
            pid_start: me.pid_start + 1,
            ..me.clone()
        };
        assert_eq!(reused.liveness(), Liveness::Dead);
        let elsewhere = LockOwner {
            host: format!("{}-elsewhere", me.host),
            ..me
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
    }
}
