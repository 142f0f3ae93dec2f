//! Naming wait statuses' signals, and finding what is left of a run's
//! process group. (The child itself is waited for and reaped with wait4
//! by the launcher: see `launcher`. getrusage(RUSAGE_CHILDREN) would not
//! do: it keeps the largest child ever.)

/// "SIGSEGV" for 11; "signal N" for a number the platform does not name.
pub fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => format!("signal {sig}"),
    }
}

/// Processes other than `leader` still in process group `pgid`.
pub fn group_members(pgid: i32, leader: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| p != leader)
        .filter(|&p| {
            // Field 5 of stat is pgrp; skip past the parenthesised comm first.
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.to_string()))
                .and_then(|rest| rest.split_whitespace().nth(2)?.parse::<i32>().ok())
                == Some(pgid)
        })
        .collect()
}
