//! The LWM_STATS=1 exit report: exactly one well-formed line per exiting
//! process on stderr, with counters that cover what the program did; the
//! same line appended to a file (`LWM_STATS=/path`) or written to a
//! descriptor (`LWM_STATS_FD=N`) instead; and no output at all without
//! LWM_STATS.

use crate::common::{assert_c_passed, c_command, lwmalloc_or_skip, run, stats_lines, HANG_GUARD};
use std::time::Duration;

fn pid_printed(stdout: &str, key: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key)?.parse().ok())
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{stdout}"))
}

/// `report` holds one line for the forking parent and one for its child
/// (the pids exit_report printed), and no others.
fn assert_parent_and_child_reported(report: &str, outcome: &crate::common::Outcome) {
    let mut pids: Vec<u64> = stats_lines(report).iter().map(|s| s.pid).collect();
    pids.sort();
    let mut expected = vec![
        pid_printed(&outcome.stdout, "pid="),
        pid_printed(&outcome.stdout, "child_pid="),
    ];
    expected.sort();
    assert_eq!(
        pids,
        expected,
        "report lines by pid in:\n{report}\n{}",
        outcome.transcript()
    );
}

#[test]
fn one_report_line_with_counters_at_exit() {
    if lwmalloc_or_skip("exit_report::one_report_line_with_counters_at_exit").is_none() {
        return;
    }
    let mut command = c_command("exit_report", &[]);
    command.env("LWM_STATS", "1");
    let outcome = run(command, HANG_GUARD);
    assert_c_passed(&outcome, "exit_report");
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one stderr line\n{}",
        outcome.transcript()
    );
    let stats = stats_lines(&outcome.stderr);
    assert_eq!(stats.len(), 1, "no report line\n{}", outcome.transcript());
    let s = &stats[0];
    let context = format!("{s:?}\n{}", outcome.transcript());
    assert_eq!(
        s.pid,
        pid_printed(&outcome.stdout, "pid="),
        "pid= {context}"
    );
    // The program made 10 mallocs, 7 frees, 3 reallocs, 2 callocs and 4
    // aligned allocations (libc may add its own).
    assert!(
        s.malloc >= 10 && s.free >= 7 && s.realloc >= 3,
        "call counts: {context}"
    );
    assert!(s.calloc >= 2 && s.aligned >= 4, "call counts: {context}");
    // Blocks left live on purpose: over 200000 bytes.
    assert!(s.live >= 200_000, "live: {context}");
    assert!(
        s.mapped >= s.live && s.peak_mapped >= s.mapped,
        "mapped/peak: {context}"
    );
    assert!(
        s.mapped >= s.heap && s.heap >= s.free_heap,
        "heap/free_heap: {context}"
    );
    assert!(
        (0.0..=100.0).contains(&s.fragmentation),
        "fragmentation: {context}"
    );
}

#[test]
fn each_process_reports_its_own_pid_after_fork() {
    if lwmalloc_or_skip("exit_report::each_process_reports_its_own_pid_after_fork").is_none() {
        return;
    }
    let mut command = c_command("exit_report", &["fork"]);
    command.env("LWM_STATS", "1");
    let outcome = run(command, HANG_GUARD);
    assert_c_passed(&outcome, "exit_report fork");
    assert_parent_and_child_reported(&outcome.stderr, &outcome);
    assert_eq!(
        outcome.stderr.lines().count(),
        2,
        "extra stderr\n{}",
        outcome.transcript()
    );
}

/// exit() while other threads are inside malloc/realloc/free: one report,
/// exit status 0, no deadlock (the hang guard turns one into a failure).
#[test]
fn report_while_other_threads_allocate() {
    if lwmalloc_or_skip("exit_report::report_while_other_threads_allocate").is_none() {
        return;
    }
    for _ in 0..5 {
        let mut command = c_command("exit_report", &["busy_threads"]);
        command.env("LWM_STATS", "1");
        let outcome = run(command, Duration::from_secs(30));
        assert_c_passed(&outcome, "exit_report busy_threads");
        let stats = stats_lines(&outcome.stderr);
        assert!(
            stats.len() == 1 && outcome.stderr.lines().count() == 1,
            "expected exactly one report line\n{}",
            outcome.transcript()
        );
        assert_eq!(
            stats[0].pid,
            u64::from(outcome.pid),
            "{}",
            outcome.transcript()
        );
    }
}

/// `LWM_STATS=/path`: each process appends its own line to the file, and
/// stderr stays empty (test runners that check stderr are left alone).
#[test]
fn report_appended_to_a_file() {
    if lwmalloc_or_skip("exit_report::report_appended_to_a_file").is_none() {
        return;
    }
    let file = crate::common::scratch_dir().join("stats-report.txt");
    std::fs::write(&file, "earlier line\n").unwrap();
    let mut command = c_command("exit_report", &["fork"]);
    command.env("LWM_STATS", &file);
    let outcome = run(command, HANG_GUARD);
    assert_c_passed(&outcome, "exit_report fork");
    assert!(
        outcome.stderr.is_empty(),
        "stderr not empty\n{}",
        outcome.transcript()
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.starts_with("earlier line\n"),
        "file not appended to:\n{written}"
    );
    assert_parent_and_child_reported(&written, &outcome);
}

/// `LWM_STATS_FD=1`: the line goes to the descriptor named (stdout here),
/// not to stderr.
#[test]
fn report_written_to_a_descriptor() {
    if lwmalloc_or_skip("exit_report::report_written_to_a_descriptor").is_none() {
        return;
    }
    let mut command = c_command("exit_report", &[]);
    command.env("LWM_STATS_FD", "1");
    let outcome = run(command, HANG_GUARD);
    assert_c_passed(&outcome, "exit_report");
    assert!(
        outcome.stderr.is_empty(),
        "stderr not empty\n{}",
        outcome.transcript()
    );
    let stats = stats_lines(&outcome.stdout);
    assert!(
        stats.len() == 1 && stats[0].pid == pid_printed(&outcome.stdout, "pid="),
        "expected one report line on stdout\n{}",
        outcome.transcript()
    );
}

#[test]
fn silent_without_lwm_stats() {
    if lwmalloc_or_skip("exit_report::silent_without_lwm_stats").is_none() {
        return;
    }
    let outcome = run(c_command("exit_report", &["fork"]), HANG_GUARD);
    assert_c_passed(&outcome, "exit_report fork");
    assert!(
        outcome.stderr.is_empty(),
        "stderr not empty\n{}",
        outcome.transcript()
    );
}

#[test]
fn report_line_format_is_exact() {
    let line = "lwmalloc: pid=12 malloc=3 free=2 realloc=1 calloc=0 aligned=0 live=64 \
                mapped=4096 peak_mapped=8192 returned=0 heap=4096 free_heap=1024 \
                fragmentation=12.5%";
    let s = crate::common::stats_line::parse(line).unwrap();
    assert_eq!(
        (s.pid, s.malloc, s.free_heap, s.fragmentation),
        (12, 3, 1024, 12.5)
    );
    for bad in [
        line.replace("fragmentation=12.5%", "fragmentation=12.50%"),
        line.replace("fragmentation=12.5%", "fragmentation=12%"),
        line.replace(" free=2", " frees=2"),
        line.replace("live=64 ", "live=64  "),
        line.replace("heap=4096 free_heap", "free_heap=1024 heap"),
        line.replace("malloc=3", "malloc=-3"),
        format!("{line} extra=1"),
    ] {
        assert!(
            crate::common::stats_line::parse(&bad).is_err(),
            "accepted: {bad}"
        );
    }
}
