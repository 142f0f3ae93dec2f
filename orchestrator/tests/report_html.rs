//! The HTML report rendered by a real headless Chromium: the DOM it builds
//! has the expected charts, escapes text, loads nothing external, and the
//! page paints something.

mod report_fixture;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lwm::report::write_reports;
use report_fixture::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs headless Chromium on `page` with `extra` arguments, in a fresh
/// profile, killed after BROWSER_TIMEOUT. Returns stdout.
fn chromium(page: &Path, extra: &[String], scratch_dir: &Path) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium"
    );
    let profile = scratch_dir.join(format!(
        "profile-{}",
        extra.len() + extra.iter().map(|e| e.len()).sum::<usize>()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    let out_path = scratch_dir.join("chromium.stdout");
    let err_path = scratch_dir.join("chromium.stderr");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSER_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium failed ({status}); stderr:\n{}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    std::fs::read_to_string(&out_path).unwrap()
}

fn dump_dom(page: &Path, scratch_dir: &Path) -> String {
    let dom = chromium(page, &["--dump-dom".to_string()], scratch_dir);
    assert!(dom.contains("</html>"), "no DOM dumped:\n{dom}");
    dom
}

fn screenshot(page: &Path, png: &Path, scratch_dir: &Path) -> Vec<u8> {
    chromium(
        page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".to_string(),
        ],
        scratch_dir,
    );
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    bytes
}

/// The attribute text of every opening `<tag ...>` in `dom`.
fn tags<'a>(dom: &'a str, tag: &str) -> Vec<&'a str> {
    dom.split(&format!("<{tag} "))
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(""))
        .collect()
}

/// Elements `<tag>` whose class attribute is exactly `class`.
fn count(dom: &str, tag: &str, class: &str) -> usize {
    tags(dom, tag)
        .iter()
        .filter(|a| a.contains(&format!("class=\"{class}\"")))
        .count()
}

/// Elements `<tag>` of class `class` carrying `data-metric="metric"`.
fn count_metric(dom: &str, tag: &str, class: &str, metric: &str) -> usize {
    tags(dom, tag)
        .iter()
        .filter(|a| {
            a.contains(&format!("class=\"{class}\""))
                && a.contains(&format!("data-metric=\"{metric}\""))
        })
        .count()
}

#[test]
fn chromium_renders_the_charts_escapes_text_and_loads_nothing_external() {
    let dir = standard_run("html");
    write_reports(&dir).unwrap();
    let page = dir.join("report.html");
    let dom = dump_dom(&page, &dir);

    let non_system = ALLOCATORS.len() - 1;
    // One bar and one whisker per workload × non-system allocator × metric.
    assert_eq!(
        count(&dom, "rect", "ratio-bar"),
        WORKLOADS.len() * non_system * 2,
        "{dom}"
    );
    assert_eq!(
        count(&dom, "path", "whisker"),
        WORKLOADS.len() * non_system * 2
    );
    for metric in ["time", "memory"] {
        assert_eq!(
            count_metric(&dom, "rect", "ratio-bar", metric),
            WORKLOADS.len() * non_system,
            "{metric}"
        );
    }
    // Geometric-mean bars are separate, one per allocator and metric.
    assert_eq!(count(&dom, "rect", "geomean-bar"), non_system * 2);
    assert_eq!(count(&dom, "path", "geomean-whisker"), non_system * 2);
    // A reference line at 1.0 in each ratio chart.
    assert_eq!(count(&dom, "svg", "ratio-chart"), 2);
    assert_eq!(count(&dom, "line", "ref-line"), 2);
    // One memory chart per workload, one line per allocator.
    assert_eq!(count(&dom, "svg", "mem-chart"), WORKLOADS.len());
    assert_eq!(
        count(&dom, "polyline", "mem-line"),
        WORKLOADS.len() * ALLOCATORS.len()
    );
    // Summary tables and the failed run.
    assert_eq!(count(&dom, "table", "summary"), 2);
    assert_eq!(count(&dom, "tr", "failed-run"), 1);
    // The error's markup characters stayed text: no element was created.
    assert!(
        dom.contains("agent exited with signal 11 &lt;SIGSEGV&gt; &amp; \"core\""),
        "{dom}"
    );
    assert!(
        !dom.to_lowercase().contains("<sigsegv"),
        "unescaped markup became an element"
    );
    // Manifest facts.
    assert!(dom.contains("0123456789abcdef0123456789abcdef01234567"));
    assert!(dom.contains(&"ab".repeat(32)), "board file hash");
    assert!(dom.contains(&"cd".repeat(32)), "artifact SHA-256");
    assert!(dom.contains("2024-03-01 14:05:09 UTC") && dom.contains("2024-03-01 14:21:49 UTC"));
    // The bars' data attributes carry the ratios the table shows.
    let bar = dom
        .split("<rect class=\"ratio-bar\" data-allocator=\"lwmalloc\" data-workload=\"sqlite\" data-metric=\"memory\" data-ratio=\"")
        .nth(1)
        .expect("lwmalloc's sqlite memory bar");
    let ratio: f64 = bar.split('"').next().unwrap().parse().unwrap();
    assert!((ratio - 0.7).abs() < 0.01, "{ratio}");

    // Self-contained: nothing for the browser to fetch.
    let lower = dom.to_lowercase();
    for needle in [
        "<script", "<link", "<img", "<iframe", "<object", "<embed", " src=", " href=", "url(",
        "@import", "http:", "https:",
    ] {
        assert!(
            !lower.contains(needle),
            "external reference {needle:?} in the report"
        );
    }
    cleanup(&dir);
}

#[test]
fn chromium_paints_the_report() {
    let dir = standard_run("html-shot");
    write_reports(&dir).unwrap();
    let blank = dir.join("blank.html");
    std::fs::write(
        &blank,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body></body></html>\n",
    )
    .unwrap();
    let blank_png = screenshot(&blank, &dir.join("blank.png"), &dir);
    let report_png = screenshot(&dir.join("report.html"), &dir.join("report.png"), &dir);
    println!(
        "screenshot sizes: blank {} B, report {} B",
        blank_png.len(),
        report_png.len()
    );
    // A white page compresses to almost nothing; text, tables and charts do not.
    assert!(
        report_png.len() > 50_000,
        "report screenshot only {} bytes",
        report_png.len()
    );
    assert!(
        report_png.len() > 10 * blank_png.len(),
        "report screenshot ({} B) is not much richer than a blank page ({} B)",
        report_png.len(),
        blank_png.len()
    );
    // 1280 x 2000 as asked (IHDR width and height).
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    assert_eq!(
        (be(&report_png[16..20]), be(&report_png[20..24])),
        (1280, 2000)
    );
    cleanup(&dir);
}

#[test]
fn chromium_shows_the_memory_of_a_qemu_user_board_as_not_representative() {
    let dir = qemu_user_run("html-qemu-user");
    write_reports(&dir).unwrap();
    let dom = dump_dom(&dir.join("report.html"), &dir);
    let (real, user) = dom
        .split_once("data-board=\"docker-arm64\"")
        .expect("both boards on the page");
    // Real hardware: memory table marked representative, no badge.
    assert!(
        real.contains("data-metric=\"memory\" data-representative=\"true\""),
        "{real}"
    );
    assert_eq!(count(real, "span", "not-representative"), 0, "{real}");
    // qemu-user: its memory table and its memory-over-time heading carry
    // the badge; its time table does not.
    assert!(
        user.contains("data-metric=\"memory\" data-representative=\"false\""),
        "{user}"
    );
    assert!(
        user.contains("data-metric=\"time\" data-representative=\"true\""),
        "{user}"
    );
    assert_eq!(count(user, "span", "not-representative"), 2, "{user}");
    assert!(
        user.contains(">not representative (qemu-user)</span>"),
        "{user}"
    );
    cleanup(&dir);
}
