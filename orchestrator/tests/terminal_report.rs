//! What `lwm eval` and `lwm report` leave in the terminal: tables that fit
//! in 100 columns with five allocators (or wrap by allocator, never
//! breaking a row), outliers in one line per workload and allocator, and
//! the closing headline per board.

mod report_fixture;

use std::collections::BTreeMap;
use std::path::Path;

use lwm::limits::KNOWN_WORKLOADS;
use lwm::report::write_reports;
use report_fixture::*;

/// The terminal width every line must fit (the issue's, not a constant
/// of the code under test).
const TERMINAL_WIDTH: usize = 100;

const FIVE: [&str; 5] = ["system", "lwmalloc", "jemalloc", "mimalloc", "tcmalloc"];

/// The longest workload names the kit has, so the first column is as wide
/// as it gets.
fn longest_workloads(n: usize) -> Vec<&'static str> {
    let mut names = KNOWN_WORKLOADS.to_vec();
    names.sort_by_key(|w| std::cmp::Reverse(w.len()));
    names.truncate(n);
    names
}

/// One table of the terminal report, as read back from its lines.
#[derive(Debug)]
struct Table {
    metric: String,
    allocators: Vec<String>,
    /// First cell -> the whole line.
    rows: BTreeMap<String, String>,
}

/// Every table of `text`: a title line (`time: ...`, `peak RSS...`), a
/// header line starting with `workload`, then its rows.
fn tables(text: &str, workloads: &[&str]) -> Vec<Table> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(metric) = ["time:", "peak RSS"]
            .iter()
            .find(|m| l.starts_with(*m))
            .map(|m| m.trim_end_matches(':').to_string())
        else {
            continue;
        };
        let header: Vec<&str> = lines[i + 1].split_whitespace().collect();
        assert_eq!(&header[..2], ["workload", "system"], "{}", lines[i + 1]);
        let mut rows = BTreeMap::new();
        for row in &lines[i + 2..] {
            let first = row.split_whitespace().next().unwrap_or("");
            if !workloads.contains(&first) && first != "geomean" {
                break;
            }
            assert!(
                rows.insert(first.to_string(), row.to_string()).is_none(),
                "{first} twice in one table:\n{text}"
            );
        }
        out.push(Table {
            metric,
            allocators: header[2..].iter().map(|s| s.to_string()).collect(),
            rows,
        });
    }
    out
}

/// The ratio cells of a row: `0.80x [0.79–0.81] faster`, or `-`.
fn ratio_cells(row: &str) -> Vec<String> {
    row.split("  ")
        .map(str::trim)
        .filter(|c| c.contains("x [") || *c == "-")
        .map(str::to_string)
        .collect()
}

/// Checks the layout of `text` for `allocators` (system first) and
/// `workloads`; returns the number of tables per metric.
fn check_layout(text: &str, allocators: &[&str], workloads: &[&str]) -> usize {
    for line in text.lines() {
        assert!(
            line.chars().count() <= TERMINAL_WIDTH,
            "line over {TERMINAL_WIDTH} columns ({}): {line:?}\n{text}",
            line.chars().count()
        );
    }
    let tables = tables(text, workloads);
    let mut per_metric: BTreeMap<&str, Vec<&Table>> = BTreeMap::new();
    for t in &tables {
        per_metric.entry(&t.metric).or_default().push(t);
    }
    assert_eq!(
        per_metric.keys().copied().collect::<Vec<_>>(),
        ["peak RSS", "time"]
    );
    let others: Vec<String> = allocators[1..].iter().map(|s| s.to_string()).collect();
    let mut groupings = Vec::new();
    for (metric, ts) in &per_metric {
        // Wrapped by allocator: each one in exactly one table, in order.
        let seen: Vec<String> = ts.iter().flat_map(|t| t.allocators.clone()).collect();
        assert_eq!(seen, others, "{metric}:\n{text}");
        for t in ts {
            assert!(
                !t.allocators.is_empty(),
                "a table without allocators:\n{text}"
            );
            // No row broken: every workload and the geomean on one line
            // each, with a cell for every allocator of the table.
            let mut names: Vec<&str> = t.rows.keys().map(|k| k.as_str()).collect();
            names.sort();
            let mut expected: Vec<&str> = workloads.to_vec();
            expected.push("geomean");
            expected.sort();
            assert_eq!(names, expected, "{metric} {:?}:\n{text}", t.allocators);
            for row in t.rows.values() {
                assert_eq!(
                    ratio_cells(row).len(),
                    t.allocators.len(),
                    "{metric}: row {row:?} of {:?}\n{text}",
                    t.allocators
                );
            }
        }
        groupings.push(ts.iter().map(|t| t.allocators.clone()).collect::<Vec<_>>());
    }
    assert_eq!(
        groupings[0], groupings[1],
        "time and memory tables group the allocators alike"
    );
    groupings[0].len()
}

fn five_allocator_run(name: &str, workloads: &[&str], measure: Measure) -> std::path::PathBuf {
    let dir = scratch(name);
    write_run(
        &dir,
        name,
        &[BoardSpec {
            name: "jetson-orin-nano",
            emulation: "none",
            workloads,
            allocators: &FIVE,
            reps: 5,
            measure,
            failures: &[],
        }],
    );
    dir
}

#[test]
fn five_allocators_with_ordinary_ratios_wrap_into_fewer_tables_than_allocators() {
    let workloads = longest_workloads(3);
    let measure = |_: &str, a: &str, rep: u32| {
        let f = match a {
            "lwmalloc" => 0.96,
            "jemalloc" => 0.91,
            "mimalloc" => 0.77,
            "tcmalloc" => 0.75,
            _ => 1.0,
        };
        (
            1.234 * f * jitter(rep, 2),
            (40_960.0 * f * jitter(rep, 5)) as u64,
        )
    };
    let dir = five_allocator_run("width-ordinary", &workloads, &measure);
    let text = write_reports(&dir).unwrap();
    println!("{text}");
    let per_metric = check_layout(&text, &FIVE, &workloads);
    // Packed by width, not one table per allocator.
    assert!(
        per_metric < FIVE.len() - 1,
        "{per_metric} tables for 4 allocators:\n{text}"
    );
    cleanup(&dir);
}

#[test]
fn five_allocators_with_the_widest_cells_still_fit_or_wrap_without_breaking_a_row() {
    let workloads = longest_workloads(4);
    // Ratios below 0.1 print three decimals, above 100 five digits;
    // system's medians in wide units (123.4 s, 812.0 µs, 19.5 MiB).
    let measure = |w: &str, a: &str, rep: u32| {
        let f = match a {
            "lwmalloc" => 0.0517,
            "jemalloc" => 123.45,
            "mimalloc" => 0.0999,
            "tcmalloc" => 99.99,
            _ => 1.0,
        };
        let base = if w == workloads[0] { 123.4 } else { 0.000_812 };
        // Peak RSS stays below what the machine that made the template
        // document could hold (checked when read).
        (
            base * f * jitter(rep, 3),
            (20_000.0 * f.min(50.0) * jitter(rep, 6)) as u64,
        )
    };
    let dir = five_allocator_run("width-widest", &workloads, &measure);
    let text = write_reports(&dir).unwrap();
    println!("{text}");
    assert!(text.contains("0.052x ["), "{text}");
    assert!(text.contains("123.45x ["), "{text}");
    check_layout(&text, &FIVE, &workloads);
    cleanup(&dir);
}

#[test]
fn outliers_are_one_line_per_workload_and_allocator_with_the_count_and_the_worst() {
    let workloads = longest_workloads(2);
    let (w0, w1) = (workloads[0], workloads[1]);
    // Under tcmalloc, w0 has a slow repetition (1.5x) and a large one
    // (4x memory): two outliers, the memory one worst. Every other cell of
    // w1 has one slow repetition.
    let measure = move |w: &str, a: &str, rep: u32| {
        let (t, m) = (0.5 * jitter(rep, 1), (8_192.0 * jitter(rep, 4)) as u64);
        match (w == w0, a, rep) {
            (true, "tcmalloc", 1) => (t * 1.5, m),
            (true, "tcmalloc", 3) => (t, m * 4),
            (false, _, 2) => (t * 2.0, m),
            _ => (t, m),
        }
    };
    let dir = five_allocator_run("outliers", &workloads, &measure);
    let text = write_reports(&dir).unwrap();
    println!("{text}");
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("outliers"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    // One line each: w0/tcmalloc and w1 under all five; none wrapped.
    assert_eq!(section.len(), 1 + FIVE.len(), "{text}");
    assert!(section.iter().all(|l| !l.starts_with("    ")), "{text}");
    let line = section
        .iter()
        .find(|l| l.trim_start().starts_with(&format!("{w0}/tcmalloc: ")))
        .unwrap_or_else(|| panic!("no line for {w0}/tcmalloc:\n{text}"));
    assert!(
        line.contains(": 2 outliers; worst: peak RSS rep 3,"),
        "{line}"
    );
    for a in FIVE {
        let l = section
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{w1}/{a}: ")))
            .unwrap_or_else(|| panic!("no line for {w1}/{a}:\n{text}"));
        assert!(l.contains(": 1 outlier; worst: wall time rep 2,"), "{l}");
    }
    // The full list stays in the other reports: both of w0/tcmalloc's.
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains(&format!("- {w0}/tcmalloc wall time: repetitions [1]")),
        "{md}"
    );
    assert!(
        md.contains(&format!("- {w0}/tcmalloc peak RSS: repetitions [3]")),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let cell = &json["boards"][0]["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == w0)
        .unwrap()["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["allocator"] == "tcmalloc")
        .unwrap()
        .clone();
    assert_eq!(cell["time"]["outlier_reps"], serde_json::json!([1]));
    assert_eq!(cell["memory"]["outlier_reps"], serde_json::json!([3]));
    cleanup(&dir);
}

/// The geomean cell of `allocator` in the table of `metric` of `text`.
fn geomean_cell(text: &str, metric: &str, allocator: &str, workloads: &[&str]) -> String {
    let t = tables(text, workloads)
        .into_iter()
        .find(|t| t.metric == metric && t.allocators.iter().any(|a| a == allocator))
        .unwrap_or_else(|| panic!("no {metric} table with {allocator}:\n{text}"));
    let i = t.allocators.iter().position(|a| a == allocator).unwrap();
    ratio_cells(&t.rows["geomean"])[i].clone()
}

/// `lwm report` on `dir`, run from `cwd`: (stdout, stderr lines).
fn lwm_report(dir: &Path, cwd: &Path) -> (String, Vec<String>) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lwm"))
        .arg("report")
        .arg(dir)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn the_terminal_ends_with_one_headline_per_board_naming_the_report() {
    let root = scratch("headline");
    let dir = root.join("run-headline");
    let only_jemalloc = ["system", "jemalloc"];
    let spec = |name, emulation, allocators| BoardSpec {
        name,
        emulation,
        workloads: &WORKLOADS,
        allocators,
        reps: 4,
        measure: &standard_measure,
        failures: &[],
    };
    write_run(
        &dir,
        "run-headline",
        &[
            spec("pi4", "none", &ALLOCATORS),
            spec("docker-arm64", "qemu-user", &ALLOCATORS),
            spec("pi0", "none", &only_jemalloc),
        ],
    );
    let (table, stderr) = lwm_report(&dir, &root);
    assert_eq!(
        table,
        std::fs::read_to_string(dir.join("report.txt")).unwrap(),
        "stdout is the report, the headlines go with the closing lines"
    );
    println!("{table}\n{}", stderr.join("\n"));
    // The table shows one board's tables after the other; the geomean
    // cells of pi4 come first.
    let time = geomean_cell(&table, "time", "lwmalloc", &WORKLOADS);
    let memory = geomean_cell(&table, "peak RSS", "lwmalloc", &WORKLOADS);
    // The cell without its verdict word: `0.80x [0.79–0.81]`.
    let bare = |cell: &str| cell[..=cell.find(']').unwrap()].to_string();
    assert_eq!(
        stderr.len(),
        3,
        "one line per board and nothing else: {stderr:?}"
    );
    assert_eq!(
        stderr[0],
        format!(
            "lwm: pi4: lwmalloc/system geomean time {}, peak RSS {}; run-headline/report.html",
            bare(&time),
            bare(&memory)
        )
    );
    assert!(
        stderr[1].starts_with("lwm: docker-arm64: lwmalloc/system geomean time ")
            && stderr[1].ends_with(" (not representative); run-headline/report.html"),
        "{}",
        stderr[1]
    );
    assert_eq!(
        stderr[2],
        "lwm: pi0: no lwmalloc runs to set against system; run-headline/report.html"
    );
    for l in &stderr {
        assert!(dir.join("report.html").is_file(), "{l}");
    }
    cleanup(&root);
}

#[test]
fn each_boards_thread_count_is_in_the_terminal_and_the_facts() {
    let dir = standard_run("threads");
    let table = write_reports(&dir).unwrap();
    // The fixture's board ran with 2 threads, its CPU count (no --threads).
    let m: lwm::manifest::Manifest =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.settings.threads, None);
    let used = m.boards[0].threads.unwrap();
    assert!(table.contains(&format!("| threads {used} |")), "{table}");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains(&format!(
            "| workload threads | {used} (the board's CPU count) |"
        )),
        "{md}"
    );
    assert!(md.contains("threads each board's CPU count"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["boards"][0]["threads"], used);
    assert_eq!(json["schema_version"], lwm::report::REPORT_VERSION);
    cleanup(&dir);
}
