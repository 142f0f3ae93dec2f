//! The allocation functions with glibc 2.36 semantics and lwm_get_stats,
//! checked by the C programs in tests/c (one group per test, one process per
//! group) running under LD_PRELOAD=liblwmalloc.so.

use crate::common::{assert_c_passed, c_command, run, run_c_group, HANG_GUARD};

/// One #[test] per group of a C program, named after the group.
macro_rules! c_groups {
    ($program:literal: $($group:ident),+ $(,)?) => {
        $(
            #[test]
            fn $group() {
                run_c_group($program, stringify!($group));
            }
        )+
    };
}

mod basic_alloc {
    use super::*;
    c_groups!("basic_alloc":
        malloc_alignment,
        malloc_zero,
        malloc_failure,
        free_null_and_errno,
        calloc_zeroed,
        calloc_after_dirty_free,
        calloc_overflow,
        usable_size,
    );
}

mod realloc {
    use super::*;
    c_groups!("realloc":
        realloc_null_is_malloc,
        realloc_to_zero_frees,
        realloc_keeps_contents,
        realloc_walk_up_and_down,
        realloc_shrink_then_grow,
        realloc_failure_keeps_block,
        reallocarray_semantics,
    );
}

mod aligned {
    use super::*;
    c_groups!("aligned":
        posix_memalign_invalid,
        posix_memalign_huge,
        posix_memalign_valid,
        memalign_valid,
        aligned_alloc_valid,
        memalign_invalid,
        valloc_pvalloc,
        realloc_of_aligned_blocks,
    );
}

mod stats_api {
    use super::*;
    c_groups!("stats_api":
        interface_contract,
        call_counters,
        live_bytes_follow_allocations,
    );
}

#[test]
fn malloc_in_signal_handlers() {
    let outcome = run(c_command("signal_malloc", &[]), HANG_GUARD);
    assert_c_passed(&outcome, "signal_malloc");
}

/// The harness must not accept a program that silently ran on glibc: every
/// C program, told to expect lwmalloc but run without the preload, fails
/// before doing anything else.
#[test]
fn programs_refuse_to_pass_without_the_preload() {
    let programs: [(&str, &[&str]); 9] = [
        ("basic_alloc", &["malloc_zero"]),
        ("realloc", &["realloc_null_is_malloc"]),
        ("aligned", &["valloc_pvalloc"]),
        ("stats_api", &["interface_contract"]),
        ("signal_malloc", &[]),
        ("misuse", &["double_free_24"]),
        ("stress", &[]),
        ("rss_return", &["1000"]),
        ("exit_report", &[]),
    ];
    for (program, args) in programs {
        let mut command = c_command(program, args);
        command.env_remove("LD_PRELOAD").env("LWM_EXPECT", "1");
        let outcome = run(command, HANG_GUARD);
        assert!(
            outcome.status.code() == Some(1) && outcome.stdout.starts_with("not ok 1 - "),
            "{program} did not refuse to run with LWM_EXPECT=1 but no preload:\n{}",
            outcome.transcript()
        );
    }
}
