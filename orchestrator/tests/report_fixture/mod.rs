//! Run directories for the report and compare tests, built from a REAL
//! agent document: `lwm-agent run` is executed once on `/bin/sleep` and its
//! `RunDocument` is the template every fixture repetition is cloned from;
//! only the measured values (wall time, peak RSS, the RSS timeline scaled
//! to that peak) and the allocator labels are set per repetition.

#![allow(dead_code)] // each test file uses a different part

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use lwm::manifest::{
    ArtifactEntry, BoardEntry, Manifest, Settings, Toolchain, MANIFEST_SCHEMA, MANIFEST_VERSION,
};
use lwm_contract::schema::RunDocument;

/// The lwm-agent binary of this build, built if a lone `cargo test -p lwm` did not.
pub fn agent_bin() -> PathBuf {
    let lwm = Path::new(env!("CARGO_BIN_EXE_lwm"));
    let agent = lwm.with_file_name("lwm-agent");
    if !agent.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "lwm-agent"]);
        if lwm
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "release")
        {
            cmd.arg("--release");
        }
        assert!(
            cmd.status().expect("run cargo").success(),
            "building lwm-agent failed"
        );
    }
    agent
}

/// One real agent document (one run of `sleep 0.2`, so the sampler sees a few points).
pub fn template() -> &'static RunDocument {
    static DOC: OnceLock<RunDocument> = OnceLock::new();
    DOC.get_or_init(|| {
        let out = Command::new(agent_bin())
            .args([
                "run",
                "--quiet",
                "--reps",
                "1",
                "--warmup",
                "0",
                "--",
                "/bin/sleep",
                "0.2",
            ])
            .env_remove("LD_PRELOAD")
            .output()
            .expect("run lwm-agent");
        assert!(
            out.status.success(),
            "lwm-agent failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: RunDocument =
            serde_json::from_slice(&out.stdout).expect("agent prints a run document");
        assert_eq!(doc.runs.len(), 1);
        assert!(doc.runs[0].ok);
        assert!(doc.runs[0].rusage.is_some());
        assert!(
            doc.runs[0].memory.samples.len() >= 2,
            "the sampler saw sleep 0.2 at least twice"
        );
        doc
    })
}

/// A repetition document: the template with the given measurements.
pub fn rep_doc(workload: &str, allocator: &str, wall_s: f64, max_rss_kib: u64) -> RunDocument {
    let mut d = template().clone();
    d.invocation.workload = Some(workload.to_string());
    if allocator != "system" {
        d.allocator.kind = "preload".into();
        d.allocator.path = Some(format!("/opt/lwm/lib{allocator}.so"));
        d.allocator.resolved_path = d.allocator.path.clone();
    }
    let run = &mut d.runs[0];
    run.wall_s = wall_s;
    let template_peak = run.rusage.as_ref().unwrap().max_rss_kib.max(1) as f64;
    run.rusage.as_mut().unwrap().max_rss_kib = max_rss_kib;
    // The template's timeline, stretched to the new duration and peak.
    let t_scale = wall_s * 1000.0 / run.memory.samples.last().unwrap().t_ms.max(1.0);
    let n = run.memory.samples.len();
    for (i, s) in run.memory.samples.iter_mut().enumerate() {
        s.t_ms *= t_scale;
        // A ramp to the peak so the plotted lines differ per allocator.
        let ramp = 0.5 + 0.5 * (i + 1) as f64 / n as f64;
        s.rss_kib = s
            .rss_kib
            .map(|r| (r as f64 / template_peak * max_rss_kib as f64 * ramp) as u64);
    }
    run.memory.peak_rss_kib = run.memory.samples.iter().filter_map(|s| s.rss_kib).max();
    d.agent.max_rss_kib = Some(1500);
    d
}

/// What to measure for (workload, allocator, rep): (wall_s, max_rss_kib).
pub type Measure<'a> = &'a dyn Fn(&str, &str, u32) -> (f64, u64);

pub struct BoardSpec<'a> {
    pub name: &'a str,
    pub emulation: &'a str,
    pub workloads: &'a [&'a str],
    pub allocators: &'a [&'a str],
    pub reps: u32,
    pub measure: Measure<'a>,
    /// Extra repetitions (after the ok ones) that failed: (workload, allocator, error).
    pub failures: &'a [(&'a str, &'a str, &'a str)],
}

/// ±1 % deterministic jitter; `phase` shifts the pattern so two runs differ.
pub fn jitter(rep: u32, phase: u32) -> f64 {
    const PATTERN: [f64; 7] = [0.0, 0.6, -0.8, 1.0, -0.3, 0.4, -1.0];
    1.0 + PATTERN[((rep + phase) % 7) as usize] / 100.0
}

/// Writes a complete run directory at `dir`: manifest.json and raw/.
pub fn write_run(dir: &Path, run_id: &str, boards: &[BoardSpec]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut entries = Vec::new();
    for b in boards {
        for w in b.workloads {
            for a in b.allocators {
                let cell = dir.join("raw").join(b.name).join(w).join(a);
                std::fs::create_dir_all(&cell).unwrap();
                // A warm-up document; reports ignore its numbers.
                write_json(&cell.join("warmup-000.json"), &rep_doc(w, a, 99.0, 99_999));
                for rep in 0..b.reps {
                    let (t, rss) = (b.measure)(w, a, rep);
                    write_json(
                        &cell.join(format!("rep-{rep:03}.json")),
                        &rep_doc(w, a, t, rss),
                    );
                }
                for (i, (fw, fa, err)) in b
                    .failures
                    .iter()
                    .filter(|(fw, fa, _)| fw == w && fa == a)
                    .enumerate()
                {
                    let rep = b.reps + i as u32;
                    let failed = serde_json::json!({
                        "schema": "lwm.failed-run", "schema_version": 1,
                        "board": b.name, "workload": fw, "allocator": fa, "rep": rep,
                        "error": err, "stdout_tail": "", "stderr_tail": "line one\nSegmentation fault\n",
                    });
                    write_json(&cell.join(format!("rep-{rep:03}.failed.json")), &failed);
                }
            }
        }
        entries.push(board_entry(b));
    }
    let first = &boards[0];
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.into(),
        schema_version: MANIFEST_VERSION,
        run_id: run_id.into(),
        project_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        project_dirty: Some(false),
        toolchain: Toolchain {
            rustc: Some("rustc 1.95.0".into()),
            cargo: Some("cargo 1.95.0".into()),
            build_flags: vec!["--release".into()],
        },
        settings: Settings {
            workloads: first.workloads.iter().map(|s| s.to_string()).collect(),
            allocators: first.allocators.iter().map(|s| s.to_string()).collect(),
            warmup: 1,
            reps: first.reps,
            target_ci: None,
            max_reps: first.reps,
            scale: 1.0,
            // The default: each board's CPU count, recorded per board.
            threads: None,
            seed: 42,
            noise_threshold: 0.02,
            commands: Vec::new(),
            duration_s: None,
        },
        boards: entries,
        started_unix_ms: 1_709_301_909_000,
        ended_unix_ms: Some(1_709_302_909_000),
        resumed_unix_ms: vec![],
    };
    write_json(&dir.join("manifest.json"), &manifest);
}

fn board_entry(b: &BoardSpec) -> BoardEntry {
    let allocators: BTreeMap<String, Option<String>> = b
        .allocators
        .iter()
        .map(|a| {
            (
                a.to_string(),
                (*a != "system").then(|| format!("/opt/lwm/lib{a}.so")),
            )
        })
        .collect();
    BoardEntry {
        name: b.name.into(),
        description: format!("test board {}", b.name),
        file: format!("boards/{}.toml", b.name),
        file_sha256: "ab".repeat(32),
        target: "aarch64-unknown-linux-gnu".into(),
        cpu: "cortex-a72".into(),
        emulation: b.emulation.into(),
        workload_scale: 1.0,
        threads: Some(2),
        allocators,
        artifacts: vec![ArtifactEntry {
            name: "liblwmalloc.so".into(),
            local_path: "target/aarch64-unknown-linux-gnu/release/liblwmalloc.so".into(),
            board_path: "/opt/lwm/liblwmalloc.so".into(),
            sha256: "cd".repeat(32),
            size_bytes: 18_432,
            gate: None,
        }],
        environment: None,
        status: "done".into(),
        error: None,
        incidents: Vec::new(),
    }
}

pub fn write_json<T: serde::Serialize>(path: &Path, v: &T) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwm-report-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The standard fixture: 2 workloads × 3 allocators × 5 reps.
/// system: 1 s / 2 s and 10 / 20 MiB; lwmalloc 0.8× time, 0.7× memory;
/// jemalloc same time, 1.2× memory. ±1 % jitter on everything.
pub const WORKLOADS: [&str; 2] = ["small-burst", "sqlite"];
pub const ALLOCATORS: [&str; 3] = ["system", "lwmalloc", "jemalloc"];

pub fn standard_measure(w: &str, a: &str, rep: u32) -> (f64, u64) {
    standard_measure_phase(w, a, rep, 0)
}

pub fn standard_measure_phase(w: &str, a: &str, rep: u32, phase: u32) -> (f64, u64) {
    let (base_t, base_kib) = if w == "sqlite" {
        (2.0, 20_480.0)
    } else {
        (1.0, 10_240.0)
    };
    let (ft, fm) = match a {
        "lwmalloc" => (0.8, 0.7),
        "jemalloc" => (1.0, 1.2),
        _ => (1.0, 1.0),
    };
    let j = jitter(rep, phase);
    let j2 = jitter(rep, phase + 3);
    (base_t * ft * j, (base_kib * fm * j2) as u64)
}

/// The standard fixture written to a fresh scratch directory, with a planted
/// outlier (jemalloc's rep 2 of small-burst took 3x as long) and one failed
/// repetition (sqlite/jemalloc rep 5) whose error needs escaping.
pub fn standard_run(name: &str) -> PathBuf {
    let dir = scratch(name);
    write_run(
        &dir,
        "run-standard",
        &[BoardSpec {
            name: "pi4",
            emulation: "none",
            workloads: &WORKLOADS,
            allocators: &ALLOCATORS,
            reps: 5,
            measure: &standard_with_outlier,
            failures: &[(
                "sqlite",
                "jemalloc",
                "agent exited with signal 11 <SIGSEGV> & \"core\"",
            )],
        }],
    );
    dir
}

/// `standard_measure` plus the planted outlier of `standard_run`.
pub fn standard_with_outlier(w: &str, a: &str, rep: u32) -> (f64, u64) {
    let (t, m) = standard_measure(w, a, rep);
    if w == "small-burst" && a == "jemalloc" && rep == 2 {
        (t * 3.0, m)
    } else {
        (t, m)
    }
}

/// Removes a scratch directory once its test passed (a failing test keeps
/// it for inspection).
pub fn cleanup(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// Two boards measured alike, real hardware (`pi4`) and a qemu-user
/// container (`docker-arm64`), whose memory figures reports must mark as
/// not representative.
pub fn qemu_user_run(name: &str) -> PathBuf {
    let dir = scratch(name);
    let spec = |name, emulation| BoardSpec {
        name,
        emulation,
        workloads: &WORKLOADS,
        allocators: &ALLOCATORS,
        reps: 3,
        measure: &standard_measure,
        failures: &[],
    };
    write_run(
        &dir,
        "run-qemu-user",
        &[spec("pi4", "none"), spec("docker-arm64", "qemu-user")],
    );
    dir
}
