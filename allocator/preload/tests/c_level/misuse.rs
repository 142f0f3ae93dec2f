//! Misuse detection: free or realloc of a pointer lwmalloc never returned,
//! and an immediate double free, must print one `lwmalloc: ` line naming the
//! function on stderr and abort (SIGABRT). One child process per scenario.
//! lwmalloc-only: glibc detects other cases with other messages.

use crate::common::{c_command, lwmalloc_or_skip, run, HANG_GUARD};

const SIGABRT: i32 = 6;

fn names_function(line: &str, function: &str) -> bool {
    // `function` as a whole word, so "free" is not found inside "free_heap".
    line.match_indices(function).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + function.len()..].chars().next();
        let word_char = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !word_char(before) && !word_char(after)
    })
}

fn assert_aborts_naming(scenario: &str, function: &str) {
    if lwmalloc_or_skip(&format!("misuse::{scenario}")).is_none() {
        return;
    }
    let outcome = run(c_command("misuse", &[scenario]), HANG_GUARD);
    assert_eq!(
        outcome.signal(),
        Some(SIGABRT),
        "{scenario}: expected SIGABRT, process {}\n{}",
        outcome.describe_status(),
        outcome.transcript()
    );
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert!(
        lines.len() == 1
            && lines[0].starts_with("lwmalloc: ")
            && names_function(lines[0], function),
        "{scenario}: expected exactly one stderr line starting with `lwmalloc: ` and naming \
         `{function}`\n{}",
        outcome.transcript()
    );
}

macro_rules! misuse_tests {
    ($($scenario:ident => $function:literal),+ $(,)?) => {
        $(
            #[test]
            fn $scenario() {
                assert_aborts_naming(stringify!($scenario), $function);
            }
        )+
    };
}

misuse_tests! {
    free_interior_16 => "free",
    free_interior_32 => "free",
    free_large_interior_32 => "free",
    free_stack => "free",
    free_static => "free",
    free_mmap_page => "free",
    realloc_interior_16 => "realloc",
    realloc_interior_32 => "realloc",
    realloc_large_interior_32 => "realloc",
    realloc_stack => "realloc",
    realloc_static => "realloc",
    realloc_after_free_24 => "realloc",
    free_after_moving_realloc => "free",
    double_free_24 => "free",
    double_free_4000 => "free",
    double_free_300000 => "free",
}

#[test]
fn function_name_matching_is_by_word() {
    assert!(names_function(
        "lwmalloc: free(): invalid pointer 0x10",
        "free"
    ));
    assert!(names_function("lwmalloc: double free of 0x10", "free"));
    assert!(!names_function(
        "lwmalloc: realloc(): invalid pointer",
        "free"
    ));
    assert!(!names_function("lwmalloc: free_heap=0", "free"));
}
