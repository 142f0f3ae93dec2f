//! A private `local` board for a test's campaigns: the shipped profile
//! with its own work dir, so that tests running at once (libtest runs a
//! binary's tests in parallel) never share a work dir, and so never wait
//! on one another's board lock or touch the user's
//! `~/.cache/lwm/boards/local`.
//!
//! ```ignore
//! #[path = "support/local_board.rs"]
//! mod local_board;
//! local_board::write(&boards_dir, &work_dir);
//! ```
#![allow(dead_code)]

use std::path::Path;

/// Writes `boards_dir/local.toml`: the shipped profile with `work_dir`.
pub fn write(boards_dir: &Path, work_dir: &Path) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards/local.toml");
    let text = std::fs::read_to_string(shipped).unwrap();
    let mut replaced = false;
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("work_dir") {
                replaced = true;
                format!("work_dir = \"{}\"\n", work_dir.display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert!(replaced, "boards/local.toml has no work_dir line");
    std::fs::create_dir_all(boards_dir).unwrap();
    std::fs::write(boards_dir.join("local.toml"), text).unwrap();
}
