//! Every target `lwm build` supports is built with the real cross
//! toolchains, every artifact passes the instruction-set gate of the boards
//! that use it, and liblwmalloc.so fits its 20 KB budget on ARMv6 and
//! aarch64. Minutes of compiling (two std builds from source for ARMv6), so
//! ignored by the plain `cargo test` and run by scripts/test-cross.sh:
//!
//!     cargo test --release -p lwm --test build_targets -- --ignored --nocapture
//!
//! The footprint table is written to target/lwm-artifacts/footprint.md
//! (docs/footprint.md is a copy of it).

use std::io::Write;
use std::time::Instant;

use lwm::board::BoardProfile;
use lwm::build::{self, Artifacts, BuildOptions};

#[path = "support/cross.rs"]
mod cross;
use cross::board;

/// Printed past libtest's capture, so CI logs show progress and figures.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// (target, boards whose gate its artifacts must pass).
fn targets() -> Vec<(String, Vec<BoardProfile>)> {
    let host = build::host_triple();
    vec![
        (
            "arm-unknown-linux-gnueabihf".into(),
            vec![board(
                "pi-zero-w",
                "arm-unknown-linux-gnueabihf",
                "arm1176jzf-s",
                Some("2.36"),
            )],
        ),
        (
            "arm-unknown-linux-gnueabi".into(),
            vec![board(
                "pi-zero-armel",
                "arm-unknown-linux-gnueabi",
                "arm1176jzf-s",
                Some("2.36"),
            )],
        ),
        (
            "aarch64-unknown-linux-gnu".into(),
            vec![
                board(
                    "pi4",
                    "aarch64-unknown-linux-gnu",
                    "cortex-a72",
                    Some("2.36"),
                ),
                board(
                    "jetson-orin-nano",
                    "aarch64-unknown-linux-gnu",
                    "cortex-a78ae",
                    Some("2.35"),
                ),
            ],
        ),
        (
            "armv7-unknown-linux-gnueabihf".into(),
            vec![board(
                "armv7",
                "armv7-unknown-linux-gnueabihf",
                "cortex-a7",
                Some("2.36"),
            )],
        ),
        (host.clone(), vec![board("local", &host, "native", None)]),
    ]
}

fn build_and_gate(target: &str, boards: &[BoardProfile]) -> Result<Artifacts, String> {
    let started = Instant::now();
    let opts = BuildOptions {
        workspace: build::default_workspace(),
        target: target.into(),
    };
    let progress = |line: &str| {
        if !line.starts_with("cargo: Compiling") {
            say(&format!("  [{target}] {line}"));
        }
    };
    let artifacts =
        build::build(&opts, &progress).map_err(|e| format!("{target}: build failed: {e:#}"))?;
    say(&format!(
        "  [{target}] built in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    for file in artifacts.files() {
        assert!(file.is_file(), "{}: missing", file.display());
        assert!(
            build::debug_companion(file).is_file(),
            "{}: no .debug companion",
            file.display()
        );
        for b in boards {
            let report = lwm::gate::check(file, b).map_err(|e| e.to_string())?;
            say(&format!(
                "  [{target}] gate {} for {}: {}",
                report.artifact, b.name, report.isa
            ));
            for check in &report.checks {
                say(&format!("      {check}"));
            }
        }
    }
    let lib = artifacts.footprint.liblwmalloc_bytes;
    if build::budget_applies(target) && lib > build::LIBLWMALLOC_BUDGET_BYTES {
        return Err(format!(
            "{target}: stripped liblwmalloc.so is {lib} bytes, over the {} byte budget",
            build::LIBLWMALLOC_BUDGET_BYTES
        ));
    }
    Ok(artifacts)
}

/// The libraries and executables name libc.so.6 and need versioned glibc
/// symbols: a link that silently left libc out still loads under
/// LD_PRELOAD on the build machine, but not as a dependency anywhere.
fn assert_linked_against_glibc(a: &Artifacts) -> Result<(), String> {
    for file in a.files() {
        let data = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let elf = lwm_elf::Elf::parse(&data).map_err(|e| format!("{}: {e}", file.display()))?;
        if !elf
            .needed_symbol_versions()
            .iter()
            .any(|(_, v)| v.starts_with("GLIBC_"))
        {
            return Err(format!(
                "{}: needs no GLIBC_ symbol version: libc not linked",
                file.display()
            ));
        }
    }
    Ok(())
}

#[test]
#[ignore = "builds every cross target (minutes): run by scripts/test-cross.sh"]
fn every_target_builds_passes_its_gate_and_fits_the_footprint_budget() {
    // Two builds at a time: one's single-threaded phases (the SQLite C
    // compile, the LTO links) overlap the other's. The -Zbuild-std targets
    // (32-bit ARM) share one target directory, the others the workspace's.
    let all = targets();
    let order: Vec<String> = all.iter().map(|(t, _)| t.clone()).collect();
    let (build_std, plain): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|(t, _)| t.starts_with("arm"));
    let run_group = |group: Vec<(String, Vec<BoardProfile>)>| {
        group
            .into_iter()
            .map(|(target, boards)| {
                say(&format!("building {target}"));
                let result = build_and_gate(&target, &boards)
                    .and_then(|a| assert_linked_against_glibc(&a).map(|()| a));
                (target, result)
            })
            .collect::<Vec<_>>()
    };
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| run_group(build_std));
        let second = s.spawn(|| run_group(plain));
        (first.join().unwrap(), second.join().unwrap())
    });
    let mut built = Vec::new();
    let mut failures = Vec::new();
    for (_, result) in first.into_iter().chain(second) {
        match result {
            Ok(a) => built.push(a),
            Err(e) => failures.push(e),
        }
    }
    built.sort_by_key(|a| order.iter().position(|t| *t == a.target));
    let table = build::footprint_table(&built);
    say(&format!("\n{table}"));
    let out = build::target_dir(&build::default_workspace()).join("lwm-artifacts/footprint.md");
    std::fs::write(&out, &table).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let docs = build::default_workspace().join("docs/footprint.md");
    let documented = std::fs::read_to_string(&docs).unwrap_or_default();
    if failures.is_empty() && !documented.contains(&table) {
        say(&format!(
            "note: {} differs from this build's table ({}); copy it over to update the docs",
            docs.display(),
            out.display()
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(built.len(), 5);
}
