//! Threads and fork: tests/c/stress.c (cross-thread frees through a shared
//! exchange, threads created and joined in rounds, some exiting with live
//! blocks, forks while workers allocate; every block verified before free
//! and after realloc; children guarded by alarm()).

use crate::common::{assert_c_passed, c_command, run, HANG_GUARD};

#[test]
fn threads_cross_thread_frees_and_fork() {
    let outcome = run(c_command("stress", &[]), HANG_GUARD);
    assert_c_passed(&outcome, "stress");
    assert!(
        outcome.stdout.contains("forked children") && outcome.stdout.contains("cross-thread frees"),
        "stress did not report its fork and cross-thread counts\n{}",
        outcome.transcript()
    );
}
