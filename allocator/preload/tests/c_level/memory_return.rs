//! Memory goes back to the OS: tests/c/rss_return.c allocates ~64 MiB in
//! blocks of one size, touches it, frees it all, and requires its RSS (from
//! /proc/self/statm) to fall below 50 % of the peak.

use crate::common::{assert_c_passed, c_command, report, run, skip, target_env, HANG_GUARD};

fn rss_returns_after_freeing(block_size: usize) {
    if target_env::emulated() {
        // /proc/self/statm describes the qemu-user process: the guest's
        // memory plus the emulator's own, which varies.
        return skip(
            &format!("memory_return {block_size}"),
            "RSS under qemu-user is the emulator's, not the program's",
        );
    }
    let outcome = run(
        c_command("rss_return", &[&block_size.to_string()]),
        HANG_GUARD,
    );
    assert_c_passed(&outcome, &format!("rss_return {block_size}"));
    if let Some(line) = outcome.stdout.lines().find(|l| l.contains("freed all")) {
        report(&format!("rss_return {block_size}: {line}"));
    }
}

#[test]
fn small_blocks_of_1000_bytes() {
    rss_returns_after_freeing(1000);
}

/// Between the small sizes and the mmap threshold.
#[test]
fn medium_blocks_of_16_kib() {
    rss_returns_after_freeing(16 * 1024);
}

/// Above the ~128 KiB mmap threshold.
#[test]
fn large_blocks_of_200_kib() {
    rss_returns_after_freeing(200 * 1024);
}
