//! Regressions that other people's test suites found (tests/c/regressions.c):
//! threads beyond the per-thread caches freeing blocks whose first word is
//! not a heap address (CPython's test_queue crashed), fork against stdio's
//! locks (glibc's tst-malloc-fork-deadlock), fork from a signal handler
//! interrupting malloc (tst-mallocfork2), and errno left alone by
//! successful calls and by free (tst-malloc-thread-fail, tst-free-errno).
//! Each group fails (crash, hang or a check) against the allocator before
//! its fix, and passes against glibc.

use crate::common::{run_c_group, skip, target_env};

#[test]
fn many_threads() {
    run_c_group("regressions", "many_threads");
}

#[test]
fn fork_stdio() {
    run_c_group("regressions", "fork_stdio");
}

#[test]
fn fork_signal() {
    run_c_group("regressions", "fork_signal");
}

#[test]
fn errno_kept() {
    run_c_group("regressions", "errno_kept");
}

#[test]
fn errno_map_limit() {
    run_c_group("regressions", "errno_map_limit");
}

/// A fork child's threads come and go (taking the lowest free slots) and
/// free blocks of a thread the fork left behind (whose slot stays retired).
/// Coverage: it also passes with that slot handed out again, whose ids
/// would repeat only after 32 reuses and whose harm is hard to observe.
#[test]
fn fork_slot_reuse() {
    if target_env::emulated() {
        // qemu-user 7.2 asserts in its own TCG (plugins/core.c, cpu-exec.c)
        // when the fork child of a threaded process creates a thread.
        return skip(
            "regressions fork_slot_reuse",
            "qemu-user cannot start a thread in the fork child of a threaded process",
        );
    }
    run_c_group("regressions", "fork_slot_reuse");
}

/// The fork child of a threaded process starts a thread and forks again
/// (CPython's test_multiprocessing_fork hung so: the first fork's handlers
/// locked every arena and the child unlocked only those in use).
#[test]
fn fork_again() {
    if target_env::emulated() {
        // As for fork_slot_reuse: a thread in the fork child of a threaded
        // process.
        return skip(
            "regressions fork_again",
            "qemu-user cannot start a thread in the fork child of a threaded process",
        );
    }
    run_c_group("regressions", "fork_again");
}
