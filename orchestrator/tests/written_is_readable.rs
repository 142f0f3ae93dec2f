//! Everything `lwm` writes is readable again by `lwm`: for any command line
//! `lwm eval` accepts (values drawn to include NaN, infinities, negatives,
//! zero, huge and tiny numbers), the manifest the campaign store writes is
//! read back equal, and `lwm report` on the run directory reproduces every
//! report `lwm eval` wrote, byte for byte. A command line it refuses must be
//! refused before any run directory exists (checked in door_checks.rs).

mod report_fixture;

use std::path::Path;

use lwm::campaign::store::Store;
use lwm::manifest::{Manifest, Toolchain, MANIFEST_SCHEMA, MANIFEST_VERSION};
use lwm::rundir::{read_manifest, Event};
use proptest::prelude::*;
use report_fixture::{rep_doc, scratch, write_json};

const REPORTS: [&str; 5] = [
    "report.txt",
    "report.json",
    "report.csv",
    "report.md",
    "report.html",
];

/// A number as a user might type it: ordinary, edge or nonsense.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        // Mostly values a run could use, so that most cases are accepted.
        8 => (0.0001f64..0.9999).prop_map(|x| x.to_string()),
        1 => Just("nan".to_string()),
        1 => Just("inf".to_string()),
        1 => Just("-inf".to_string()),
        1 => Just("-1".to_string()),
        1 => Just("0".to_string()),
        1 => Just("1".to_string()),
        1 => Just("1e308".to_string()),
        1 => Just("5e-324".to_string()),
        1 => (0.0f64..1.0).prop_map(|x| x.to_string()),
        1 => (0.0f64..2000.0).prop_map(|x| x.to_string()),
        1 => any::<f64>().prop_map(|x| x.to_string()),
    ]
}

fn count() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (1u32..40).prop_map(|x| x.to_string()),
        1 => Just("0".to_string()),
        1 => Just("-1".to_string()),
        1 => Just("1".to_string()),
        1 => Just("1024".to_string()),
        1 => Just("1025".to_string()),
        1 => Just("100000".to_string()),
        1 => (0u32..50).prop_map(|x| x.to_string()),
        1 => any::<u32>().prop_map(|x| x.to_string()),
    ]
}

fn list(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::subsequence(pool, 0..=pool.len()).prop_map(|v| v.join(","))
}

/// `eval` flags and values, each flag present or not.
fn eval_args() -> impl Strategy<Value = Vec<String>> {
    use proptest::option::weighted;
    let flags = (
        weighted(0.5, number()),
        weighted(0.5, number()),
        weighted(0.3, number()),
        weighted(0.5, count()),
        weighted(0.5, count()),
        weighted(0.5, count()),
        weighted(0.2, count()),
        weighted(0.5, any::<u64>()),
        weighted(0.3, list(&["all", "sqlite", "small-burst", "nosuch"])),
        weighted(
            0.3,
            list(&[
                "system",
                "lwmalloc",
                "available",
                "x=/opt/libx.so",
                "y=rel.so",
            ]),
        ),
    );
    flags.prop_map(
        |(
            noise,
            scale,
            target_ci,
            reps,
            warmup,
            threads,
            max_reps,
            seed,
            workloads,
            allocators,
        )| {
            let mut args = vec!["lwm".to_string(), "eval".to_string()];
            let mut push = |flag: &str, v: Option<String>| {
                if let Some(v) = v {
                    args.push(format!("{flag}={v}"));
                }
            };
            push("--noise", noise);
            push("--scale", scale);
            push("--target-ci", target_ci);
            push("--reps", reps);
            push("--warmup", warmup);
            push("--threads", threads);
            push("--max-reps", max_reps);
            push("--seed", seed.map(|s| s.to_string()));
            push("--workloads", workloads);
            push("--allocators", allocators);
            args
        },
    )
}

fn manifest(run_id: &str, settings: lwm::manifest::Settings) -> Manifest {
    let fixture: Manifest = serde_json::from_slice(
        &std::fs::read(FIXTURE.get_or_init(fixture_run).join("manifest.json")).unwrap(),
    )
    .unwrap();
    Manifest {
        schema: MANIFEST_SCHEMA.into(),
        schema_version: MANIFEST_VERSION,
        run_id: run_id.into(),
        project_commit: None,
        project_dirty: None,
        toolchain: Toolchain {
            rustc: None,
            cargo: None,
            build_flags: vec![],
        },
        settings,
        boards: fixture.boards,
        started_unix_ms: 1_709_301_909_000,
        ended_unix_ms: None,
        resumed_unix_ms: vec![],
    }
}

static FIXTURE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// One run directory's raw/ tree, copied into every case.
fn fixture_run() -> std::path::PathBuf {
    let dir = scratch("readable-fixture");
    report_fixture::write_run(
        &dir,
        "fixture",
        &[report_fixture::BoardSpec {
            name: "pi4",
            emulation: "none",
            workloads: &["sqlite", "small-burst"],
            allocators: &["system", "lwmalloc"],
            reps: 4,
            measure: &report_fixture::standard_measure,
            failures: &[("sqlite", "lwmalloc", "agent exited with status 2")],
        }],
    );
    dir
}

fn copy_raw(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_raw(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn accepted(args: &[String]) -> Option<lwm::manifest::Settings> {
    let parsed = lwm::cli::parse(args).ok()?;
    let lwm::cli::Command::Eval(eval) = parsed.cli.command else {
        unreachable!()
    };
    eval.settings().ok()
}

/// The property below is only worth something if many of the command
/// lines it draws are accepted.
#[test]
fn most_drawn_command_lines_are_accepted() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = eval_args();
    let n = 400;
    let ok = (0..n)
        .filter(|_| accepted(&strategy.new_tree(&mut runner).unwrap().current()).is_some())
        .count();
    // 256 cases below then check about 40 accepted command lines.
    assert!(ok * 8 >= n, "only {ok} of {n} accepted");
    assert!(
        ok * 10 <= n * 9,
        "{ok} of {n} accepted: too few refusals drawn"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_accepted_command_line_gives_a_run_lwm_report_reproduces(args in eval_args()) {
        let Some(settings) = accepted(&args) else { return Ok(()) };

        let results = scratch("readable");
        let store = Store::create(&results, manifest("case", settings.clone())).unwrap();
        let run_dir = store.dir().to_path_buf();
        let started = Event::CampaignStarted { boards: vec!["pi4".into()], settings: settings.clone() };
        store.record(&started);
        drop(store);
        // The event reads back as written, settings and all.
        let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
        let (_, back) = Event::parse(events.trim_end()).unwrap();
        prop_assert_eq!(back, started);
        copy_raw(&FIXTURE.get_or_init(fixture_run).join("raw"), &run_dir.join("raw"));
        // A document whose numbers are at the edge of what is accepted.
        write_json(
            &run_dir.join("raw/pi4/small-burst/system/rep-004.json"),
            &rep_doc("small-burst", "system", 5e-324, 0),
        );

        let back = read_manifest(&run_dir).unwrap();
        prop_assert_eq!(&back.settings, &settings, "{:?}", args);

        lwm::report::write_reports(&run_dir).unwrap();
        let first: Vec<Vec<u8>> = REPORTS.iter().map(|f| std::fs::read(run_dir.join(f)).unwrap()).collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lwm"))
            .arg("report")
            .arg(&run_dir)
            .output()
            .unwrap();
        prop_assert_eq!(out.status.code(), Some(0), "{:?}: {}", args, String::from_utf8_lossy(&out.stderr));
        for (f, before) in REPORTS.iter().zip(&first) {
            let again = std::fs::read(run_dir.join(f)).unwrap();
            prop_assert!(&again == before, "{}: {} differs when written again", args.join(" "), f);
        }
        let _ = std::fs::remove_dir_all(&results);
    }
}
