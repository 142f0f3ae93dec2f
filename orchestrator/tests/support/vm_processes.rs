//! Whether QEMU of a run is still running: QEMU gets its console path
//! inside the run (or state) directory, so its command line names it.
//!
//! ```ignore
//! #[path = "support/vm_processes.rs"]
//! mod vm_processes;
//! vm_processes::assert_none_left(&run_dir, None);
//! ```
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

/// Processes whose command line mentions `dir`, except those whose command
/// line also holds `except` (a test binary that names the directory).
pub fn processes_mentioning(dir: &Path, except: Option<&str>) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && !except.is_some_and(|x| cmdline.contains(x)) {
            found.push(format!("{}: {cmdline}", e.file_name().to_string_lossy()));
        }
    }
    found
}

/// Waits up to 20 s for QEMU to be reaped, then asserts nothing of `dir`
/// is left running.
pub fn assert_none_left(dir: &Path, except: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = processes_mentioning(dir, except);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
