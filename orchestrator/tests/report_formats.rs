//! Reports of a fixture run directory built from real agent documents:
//! the terminal table, CSV, JSON, Markdown; loading errors.

mod report_fixture;

use std::path::Path;

use lwm::report::{load_run, write_reports};
use report_fixture::*;

fn line_with<'a>(text: &'a str, block: &str, workload: &str) -> &'a str {
    let start = text
        .find(block)
        .unwrap_or_else(|| panic!("no block {block:?} in\n{text}"));
    text[start..]
        .lines()
        .find(|l| l.starts_with(workload))
        .unwrap_or_else(|| panic!("no row {workload} in block {block}\n{text}"))
}

#[test]
fn terminal_table_shows_ratios_intervals_and_verdicts() {
    let dir = standard_run("terminal");
    let table = write_reports(&dir).unwrap();
    assert_eq!(
        table,
        std::fs::read_to_string(dir.join("report.txt")).unwrap()
    );
    println!("{table}");

    assert!(
        table.contains(
            "== board pi4 | cpu cortex-a72 | emulation none | reps 5 | threads 2 | 30 ok, 1 failed"
        ),
        "{table}"
    );
    assert!(
        !table.contains("note:"),
        "real hardware gets no emulation note"
    );

    let time_row = line_with(&table, "time:", "small-burst");
    assert!(time_row.contains("0.80x ["), "{time_row}");
    assert!(time_row.contains("] faster"), "{time_row}");
    assert!(
        time_row.contains("1.000 s"),
        "system's absolute median: {time_row}"
    );
    // jemalloc takes the same time: no verdict either way; with 5 runs its
    // outlier (kept) reaches the interval's upper end, an honest width.
    assert!(time_row.trim_end().ends_with("same"), "{time_row}");
    let jemalloc_cell = time_row.split("faster").nth(1).unwrap();
    assert!(jemalloc_cell.contains("1.01x [0.99–2."), "{time_row}");

    let mem_row = line_with(&table, "peak RSS:", "sqlite");
    assert!(mem_row.contains("20.0 MiB"), "{mem_row}");
    assert!(
        mem_row.contains("0.70x [") && mem_row.contains("] less"),
        "{mem_row}"
    );
    assert!(
        mem_row.contains("1.20x [") && mem_row.trim_end().ends_with("more"),
        "{mem_row}"
    );

    let geo = line_with(&table, "peak RSS:", "geomean");
    assert!(geo.contains("0.70x [") && geo.contains("1.20x ["), "{geo}");
    let geo_t = line_with(&table, "time:", "geomean");
    assert!(geo_t.contains("0.80x ["), "{geo_t}");

    // The planted outlier is summarised with its value; it did not move the median.
    assert!(
        table.contains(
            "\n  small-burst/jemalloc: 1 outlier; worst: wall time rep 2, 2.976 s (median 1.006 s, +196 %)\n"
        ),
        "{table}"
    );
    // The failure is listed with its one-line error.
    assert!(
        table.contains("sqlite/jemalloc rep 5: agent exited with signal 11 <SIGSEGV>"),
        "{table}"
    );
    // Warm-up documents (99 s) are never counted.
    assert!(
        !table.contains("99.00 s") && !table.contains("97.7 MiB"),
        "{table}"
    );

    for line in table.lines() {
        assert!(
            line.chars().count() <= 100,
            "line over 100 columns: {line:?}"
        );
    }
    cleanup(&dir);
}

#[test]
fn three_allocators_fit_in_100_columns_and_emulated_boards_get_notes() {
    let dir = scratch("wide");
    let workloads = ["json-telemetry", "edge-ai-frames"];
    let allocators = ["system", "lwmalloc", "jemalloc", "mimalloc", "tcmalloc"];
    let measure = |w: &str, a: &str, rep: u32| {
        let f = match a {
            "lwmalloc" => 0.83,
            "jemalloc" => 1.07,
            "mimalloc" => 0.71,
            "tcmalloc" => 1.31,
            _ => 1.0,
        };
        let base = if w == "json-telemetry" {
            12.345
        } else {
            0.8765
        };
        (
            base * f * jitter(rep, 1),
            (123_456.0 * f * jitter(rep, 4)) as u64,
        )
    };
    let spec = |name, emulation| BoardSpec {
        name,
        emulation,
        workloads: &workloads,
        allocators: &allocators,
        reps: 5,
        measure: &measure,
        failures: &[],
    };
    write_run(
        &dir,
        "run-wide",
        &[
            spec("jetson", "none"),
            spec("pi0-qemu", "qemu-system"),
            spec("pi4-user", "qemu-user"),
        ],
    );
    let table = write_reports(&dir).unwrap();
    println!("{table}");
    for line in table.lines() {
        assert!(
            line.chars().count() <= 100,
            "line over 100 columns ({}): {line:?}",
            line.chars().count()
        );
    }
    // Four non-system allocators: a block of three, then a block of one.
    let header_rows = table.lines().filter(|l| l.starts_with("workload")).count();
    assert_eq!(header_rows, 3 * 2 * 2, "3 boards x 2 metrics x 2 blocks");
    assert!(table.contains("0.71x ["), "{table}");
    assert!(table.contains("1.31x ["), "{table}");
    assert!(table
        .contains("   note: times are emulation times, compare allocators only within this board"));
    assert!(table.contains("   note: memory and time not representative (qemu-user)"));
    assert_eq!(
        table.matches("note:").count(),
        2,
        "only the emulated boards"
    );
    cleanup(&dir);
}

#[test]
fn csv_has_one_row_per_board_workload_allocator_metric() {
    let dir = standard_run("csv");
    write_reports(&dir).unwrap();
    let csv = std::fs::read_to_string(dir.join("report.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 3 * 2, "{csv}");
    let columns = lines[0].split(',').count();
    // No field here needs quoting, so every row splits into the header's columns.
    for l in &lines {
        assert_eq!(l.split(',').count(), columns, "{l}");
    }
    let row = lines
        .iter()
        .find(|l| l.starts_with("pi4,sqlite,lwmalloc,peak_rss_kib,KiB,5,0,"))
        .unwrap_or_else(|| panic!("{csv}"));
    let f: Vec<&str> = row.split(',').collect();
    let ratio: f64 = f[12].parse().unwrap();
    assert!((ratio - 0.7).abs() < 0.01, "{row}");
    assert_eq!(f[15], "faster", "{row}");
    // Every raw sample, in repetition order.
    assert_eq!(f[17], "true", "real hardware's memory is its own: {row}");
    let samples: Vec<u64> = f[18].split(';').map(|s| s.parse().unwrap()).collect();
    let expected: Vec<u64> = (0..5)
        .map(|r| standard_measure("sqlite", "lwmalloc", r).1)
        .collect();
    assert_eq!(samples, expected);
    let jem = lines
        .iter()
        .find(|l| l.starts_with("pi4,sqlite,jemalloc,wall_s,s,5,1,"))
        .unwrap();
    assert!(jem.split(',').nth(15) == Some("no_difference"), "{jem}");
    let outlier = lines
        .iter()
        .find(|l| l.starts_with("pi4,small-burst,jemalloc,wall_s,"))
        .unwrap();
    assert_eq!(outlier.split(',').nth(16), Some("2"), "{outlier}");
    cleanup(&dir);
}

#[test]
fn json_has_every_statistic_and_every_raw_sample() {
    let dir = standard_run("json");
    write_reports(&dir).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(v["schema"], "lwm.report");
    assert_eq!(v["manifest"]["run_id"], "run-standard");
    assert_eq!(v["method"]["bootstrap_resamples"], 5000);
    let board = &v["boards"][0];
    assert_eq!(board["name"], "pi4");
    assert_eq!(board["failed_runs"].as_array().unwrap().len(), 1);
    assert_eq!(board["failed_runs"][0]["rep"], 5);
    for (wi, w) in WORKLOADS.iter().enumerate() {
        for (ai, a) in ALLOCATORS.iter().enumerate() {
            let cell = &board["workloads"][wi]["cells"][ai];
            assert_eq!(cell["allocator"], *a);
            let samples = cell["samples"].as_array().unwrap();
            assert_eq!(samples.len(), 5);
            for (rep, s) in samples.iter().enumerate() {
                let (t, m) = standard_with_outlier(w, a, rep as u32);
                assert_eq!(s["rep"], rep as u64);
                assert_eq!(s["wall_s"].as_f64().unwrap(), t, "raw value kept exactly");
                assert_eq!(s["peak_rss_kib"].as_u64().unwrap(), m);
                assert_eq!(s["peak_source"], "rusage");
                assert!(dir.join(s["file"].as_str().unwrap()).is_file());
            }
            let t = &cell["time"];
            assert!(t["ci"]["low"].as_f64().unwrap() <= t["median"].as_f64().unwrap());
            assert!(t["median"].as_f64().unwrap() <= t["ci"]["high"].as_f64().unwrap());
            if *a == "system" {
                assert!(cell["time_vs_system"].is_null());
            } else {
                assert!(cell["memory_vs_system"]["ratio"].as_f64().is_some());
            }
            assert!(cell["timeline"].as_array().unwrap().len() >= 2);
        }
    }
    let lw = &board["workloads"][0]["cells"][1];
    assert_eq!(lw["time"]["outlier_reps"], serde_json::json!([]));
    assert_eq!(lw["time_vs_system"]["verdict"], "faster");
    let je = &board["workloads"][0]["cells"][2];
    assert_eq!(je["time"]["outlier_reps"], serde_json::json!([2]));
    assert_eq!(je["time_vs_system"]["verdict"], "no_difference");
    let geo = &board["geomean"][0];
    assert_eq!(geo["allocator"], "lwmalloc");
    assert_eq!(geo["workloads"], 2);
    assert!((geo["time"]["ratio"].as_f64().unwrap() - 0.8).abs() < 0.01);
    cleanup(&dir);
}

#[test]
fn markdown_has_tables_facts_and_escaped_errors() {
    let dir = standard_run("md");
    write_reports(&dir).unwrap();
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.starts_with("# lwm report: run run-standard\n"), "{md}");
    assert!(
        md.contains("| workload | system | lwmalloc | jemalloc |"),
        "{md}"
    );
    assert!(md.contains("| **geomean** |"), "{md}");
    assert!(
        md.contains("**0.80x ["),
        "significant verdicts in bold: {md}"
    );
    assert!(
        md.contains("| project commit | 0123456789abcdef0123456789abcdef01234567 |"),
        "{md}"
    );
    assert!(md.contains(&"cd".repeat(32)), "artifact SHA-256");
    assert!(md.contains("2024-03-01 14:05:09 UTC"));
    assert!(
        md.contains("&lt;SIGSEGV&gt; &amp; \"core\""),
        "error escaped: {md}"
    );
    // Every table row has the header's number of columns.
    for table in md.split("\n\n").filter(|b| b.starts_with("| workload")) {
        let cols = table.lines().next().unwrap().matches('|').count();
        for l in table.lines() {
            assert_eq!(l.replace("\\|", "").matches('|').count(), cols, "{l}");
        }
    }
    cleanup(&dir);
}

#[test]
fn bad_inputs_are_one_line_naming_the_file() {
    let missing = Path::new("/nonexistent/lwm-run");
    let e = format!("{:#}", load_run(missing).unwrap_err());
    assert!(
        e.contains("/nonexistent/lwm-run") && !e.contains('\n'),
        "{e}"
    );

    let dir = standard_run("bad-manifest");
    std::fs::write(
        dir.join("manifest.json"),
        "{\"schema\": \"lwm.manifest\",\n \"oops\": 1}",
    )
    .unwrap();
    let e = format!("{:#}", write_reports(&dir).unwrap_err());
    assert!(e.contains("manifest.json") && !e.contains('\n'), "{e}");

    cleanup(&dir);

    // A raw document with two runs.
    let dir = standard_run("two-runs");
    let path = dir.join("raw/pi4/sqlite/lwmalloc/rep-001.json");
    let mut doc = rep_doc("sqlite", "lwmalloc", 1.0, 1000);
    doc.runs.push(doc.runs[0].clone());
    write_json(&path, &doc);
    let e = format!("{:#}", load_run(&dir).unwrap_err());
    assert!(
        e.contains("raw/pi4/sqlite/lwmalloc/rep-001.json") && e.contains("holds 2 runs"),
        "{e}"
    );

    cleanup(&dir);

    // A preload document filed under system would mislabel numbers.
    let dir = standard_run("mislabel");
    write_json(
        &dir.join("raw/pi4/sqlite/system/rep-000.json"),
        &rep_doc("sqlite", "lwmalloc", 1.0, 1000),
    );
    let e = format!("{:#}", load_run(&dir).unwrap_err());
    assert!(
        e.contains("raw/pi4/sqlite/system/rep-000.json") && e.contains("preload"),
        "{e}"
    );

    cleanup(&dir);

    // Truncated JSON.
    let dir = standard_run("truncated");
    let path = dir.join("raw/pi4/small-burst/system/rep-003.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let e = format!("{:#}", load_run(&dir).unwrap_err());
    assert!(e.contains("rep-003.json") && !e.contains('\n'), "{e}");
    cleanup(&dir);
}

#[test]
fn impossible_numbers_in_a_raw_document_are_refused_naming_file_and_field() {
    type Spoil = fn(&mut lwm_contract::schema::Run);
    let cases: [(&str, Spoil, &str); 8] = [
        ("negative-time", |r| r.wall_s = -1.0, "runs[0].wall_s is -1"),
        ("zero-time", |r| r.wall_s = 0.0, "runs[0].wall_s is 0"),
        (
            "negative-cpu",
            |r| r.rusage.as_mut().unwrap().user_s = -0.5,
            "runs[0].rusage.user_s is -0.5",
        ),
        (
            "huge-rss",
            |r| r.rusage.as_mut().unwrap().max_rss_kib = u64::MAX / 2,
            "runs[0].rusage.max_rss_kib",
        ),
        ("ok-but-failed", |r| r.ok = false, "runs[0].ok is false"),
        (
            "ok-with-signal",
            |r| r.signal = Some(9),
            "runs[0].status \"ok\" contradicts",
        ),
        (
            "exit-failure-with-0",
            |r| {
                r.ok = false;
                r.status = "exit_failure".into();
            },
            "runs[0].status \"exit_failure\" contradicts exit_code Some(0)",
        ),
        (
            "unknown-status",
            |r| {
                r.ok = false;
                r.status = "fine".into();
            },
            "runs[0].status \"fine\" is not one of",
        ),
    ];
    for (name, spoil, expected) in cases {
        let dir = standard_run(name);
        let mut doc = rep_doc("sqlite", "lwmalloc", 1.0, 1000);
        spoil(&mut doc.runs[0]);
        write_json(&dir.join("raw/pi4/sqlite/lwmalloc/rep-001.json"), &doc);
        let e = format!("{:#}", write_reports(&dir).unwrap_err());
        assert!(
            e.contains("raw/pi4/sqlite/lwmalloc/rep-001.json: ") && e.contains(expected),
            "{name}: {e}"
        );
        assert!(!e.contains('\n'), "{e}");
        cleanup(&dir);
    }
    // NaN cannot be written as JSON at all; a hand-edited file holding a
    // string or null for a time is refused by type.
    let dir = standard_run("null-time");
    let path = dir.join("raw/pi4/sqlite/lwmalloc/rep-001.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["runs"][0]["wall_s"] = serde_json::Value::Null;
    let spoiled = serde_json::to_string_pretty(&v).unwrap();
    std::fs::write(&path, spoiled).unwrap();
    let e = format!("{:#}", write_reports(&dir).unwrap_err());
    assert!(e.contains("rep-001.json") && e.contains("null"), "{e}");
    cleanup(&dir);
}

#[test]
fn agent_documents_with_failed_runs_count_as_failures_and_stray_files_warn() {
    let dir = standard_run("agent-failed");
    let mut doc = rep_doc("sqlite", "lwmalloc", 1.0, 1000);
    doc.runs[0].ok = false;
    doc.runs[0].status = "signaled".into();
    doc.runs[0].exit_code = None;
    doc.runs[0].signal = Some(11);
    doc.runs[0].problems = vec!["killed by SIGSEGV".into(), "core dumped".into()];
    write_json(&dir.join("raw/pi4/sqlite/lwmalloc/rep-005.json"), &doc);
    // A workload that refused its arguments: its own words are reported.
    let mut doc = rep_doc("sqlite", "lwmalloc", 0.01, 1000);
    doc.runs[0].ok = false;
    doc.runs[0].status = "exit_failure".into();
    doc.runs[0].exit_code = Some(2);
    doc.runs[0].problems = vec!["exited with status 2".into()];
    doc.runs[0].stderr.tail =
        "lwm-workload: option --threads: '100000' is not a thread count from 1 to 1024\n".into();
    write_json(&dir.join("raw/pi4/sqlite/lwmalloc/rep-006.json"), &doc);
    std::fs::write(dir.join("raw/pi4/sqlite/lwmalloc/notes.txt"), "x").unwrap();
    let table = write_reports(&dir).unwrap();
    assert!(
        table.contains(
            "sqlite/lwmalloc rep 5: agent run status signaled: killed by SIGSEGV; core dumped"
        ),
        "{table}"
    );
    let unwrapped = table.replace("\n    ", " ");
    assert!(
        unwrapped.contains(
            "sqlite/lwmalloc rep 6: agent run status exit_failure: exited with status 2 | stderr: lwm-workload: option --threads: '100000' is not a thread count from 1 to 1024"
        ),
        "{table}"
    );
    assert!(table.contains("30 ok, 3 failed"), "{table}");
    assert!(
        table.contains("raw/pi4/sqlite/lwmalloc/notes.txt: unexpected file, ignored"),
        "{table}"
    );
    cleanup(&dir);
}

#[test]
fn a_campaign_in_progress_reports_what_it_has() {
    let dir = standard_run("partial");
    // lwmalloc never ran on sqlite yet.
    std::fs::remove_dir_all(dir.join("raw/pi4/sqlite/lwmalloc")).unwrap();
    let table = write_reports(&dir).unwrap();
    let row = line_with(&table, "time:", "sqlite");
    let cells: Vec<&str> = row
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        ["sqlite", "2.000 s", "-", "1.00x [0.99–1.01] same"],
        "missing cell shown as '-': {row}"
    );
    let geo = line_with(&table, "time:", "geomean");
    assert!(
        geo.contains("0.80x ["),
        "lwmalloc's geomean over the one workload it has: {geo}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["boards"][0]["geomean"][0]["workloads"], 1);
    cleanup(&dir);
}

#[test]
fn the_all_selector_is_not_a_workload_row() {
    let dir = standard_run("all-selector");
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["settings"]["workloads"] = serde_json::json!(["all"]);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let table = write_reports(&dir).unwrap();
    assert!(
        !table.lines().any(|l| l.starts_with("all ")),
        "no row for the selector:\n{table}"
    );
    assert!(table.contains("sqlite"), "{table}");
    cleanup(&dir);
}

#[test]
fn memory_of_a_qemu_user_board_is_marked_not_representative_in_every_format() {
    let dir = qemu_user_run("qemu-user");
    let table = write_reports(&dir).unwrap();
    println!("{table}");
    // Terminal: the qemu-user board's memory block says so; the real
    // board's does not.
    let (real, user) = table
        .split_once("== board docker-arm64")
        .expect("both boards in the table");
    assert!(real.contains("\npeak RSS: median;"), "{real}");
    assert!(!real.contains("not representative"), "{real}");
    assert!(
        user.contains("\npeak RSS (not representative: qemu-user): median;"),
        "{user}"
    );
    assert!(!user.contains("\npeak RSS: median;"), "{user}");

    // Markdown: the memory heading of the qemu-user board and a line why.
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let (real, user) = md.split_once("## Board docker-arm64").unwrap();
    assert!(real.contains("### Peak RSS (median;"), "{real}");
    assert!(!real.contains("not representative"), "{real}");
    assert!(
        user.contains("### Peak RSS — **not representative** (qemu-user) (median;"),
        "{user}"
    );
    assert!(
        user.contains("> **Memory not representative:** under qemu-user"),
        "{user}"
    );

    // JSON: a field per board.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let boards = json["boards"].as_array().unwrap();
    let field = |name: &str, key: &str| {
        boards
            .iter()
            .find(|b| b["name"] == name)
            .unwrap_or_else(|| panic!("no board {name}"))[key]
            .as_bool()
            .unwrap_or_else(|| panic!("{name}: no boolean {key}"))
    };
    assert!(field("pi4", "memory_representative"));
    assert!(field("pi4", "time_representative"));
    assert!(!field("docker-arm64", "memory_representative"));
    assert!(!field("docker-arm64", "time_representative"));

    // CSV: the `representative` column of every row.
    let csv = std::fs::read_to_string(dir.join("report.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "representative").unwrap();
    let mut seen = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let expected = if f[0] == "pi4" { "true" } else { "false" };
        assert_eq!(f[col], expected, "{line}");
        seen += 1;
    }
    assert_eq!(seen, 2 * WORKLOADS.len() * ALLOCATORS.len() * 2);
    cleanup(&dir);
}

#[test]
fn emulation_the_agent_detected_is_shown_and_undeclared_qemu_user_warned() {
    let dir = standard_run("detected");
    let path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // What lwm-agent reports when it runs under qemu-user, on a board whose
    // profile claims real hardware.
    manifest["boards"][0]["environment"] = serde_json::json!({
        "emulation": {
            "user_mode": true,
            "virtual_machine": null,
            "evidence": ["non-x86 agent sees an x86 /proc/cpuinfo (qemu-user)"]
        }
    });
    assert_eq!(manifest["boards"][0]["emulation"], "none");
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    write_reports(&dir).unwrap();

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("board pi4: its profile says emulation \\\"none\\\", but the agent found qemu-user emulation")
            && warnings.contains("set emulation = \\\"qemu-user\\\" in boards/pi4.toml"),
        "{warnings}"
    );
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("agent detected"), "{md}");
    assert!(
        md.contains("non-x86 agent sees an x86 /proc/cpuinfo"),
        "{md}"
    );

    // A virtual machine is a fact, not a warning (KVM figures are close to
    // the hardware's).
    manifest["boards"][0]["environment"] = serde_json::json!({
        "emulation": { "user_mode": false, "virtual_machine": "QEMU virt",
                       "evidence": ["device tree: linux,dummy-virt"] }
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    write_reports(&dir).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert!(
        !json["warnings"].to_string().contains("agent found"),
        "{}",
        json["warnings"]
    );
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("virtual machine QEMU virt"), "{md}");
    cleanup(&dir);
}
