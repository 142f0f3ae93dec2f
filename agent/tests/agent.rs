//! End-to-end tests of the lwm-agent binary: real children, real wait4,
//! real preloads (tiny libraries compiled here with cc).

mod common;

use common::{agent, doc, AGENT};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A scratch directory with the C helpers compiled once for all tests.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lwm-agent-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sources: &[(&str, &str, &[&str])] = &[
            // touch N: malloc N bytes, write every page, stay a moment so the sampler sees it.
            ("touch", "#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\nint main(int c, char **v) { size_t n = strtoull(v[1], 0, 10); int r = 0; if (n) { char *p = malloc(n); if (!p) return 1; memset(p, 1, n); r = ((volatile char *)p)[n - 1] - 1; } usleep(300000); return r; }\n", &[]),
            // grab N: try to malloc and touch N bytes; exit 1 if malloc fails.
            ("grab", "#include <stdlib.h>\n#include <string.h>\n#include <stdio.h>\nint main(int c, char **v) { size_t n = strtoull(v[1], 0, 10); char *p = malloc(n); if (!p) { fprintf(stderr, \"malloc(%zu) failed\\n\", n); return 1; } memset(p, 1, n); return ((volatile char *)p)[n - 1] - 1; }\n", &[]),
            // A preload library that replaces nothing but is mapped.
            ("libshim.so", "int lwm_test_shim_marker(void) { return 42; }\n", &["-shared", "-fPIC"]),
            // A stand-in for liblwmalloc's counters: prints the documented line at exit.
            ("libfakelwm.so", "#include <stdio.h>\n#include <unistd.h>\nint lwm_get_stats(void *o, unsigned long s) { return -1; }\n__attribute__((destructor)) static void bye(void) { fprintf(stderr, \"lwmalloc: pid=%d malloc=1 free=2 realloc=3 calloc=4 aligned=5 live=6 mapped=7 peak_mapped=8 returned=9 heap=10 free_heap=11 fragmentation=1.5%%\\n\", (int)getpid()); }\n", &["-shared", "-fPIC"]),
            ("libdep.so", "int lwm_test_dep(void) { return 1; }\n", &["-shared", "-fPIC"]),
            // A program that uses next to no memory: its max RSS is the floor.
            ("nothing-static", "int main(void) { return 0; }\n", &["-static"]),
        ];
        for (out, src, flags) in sources {
            let c = dir.join(format!("{out}.c"));
            std::fs::write(&c, src).unwrap();
            let st = Command::new("cc").args(*flags).arg("-O1").arg("-o").arg(dir.join(out)).arg(&c).status().expect("cc");
            assert!(st.success(), "cc failed for {out}");
        }
        // A library whose dependency is missing at run time: ld.so cannot load it.
        let c = dir.join("libbroken.c");
        std::fs::write(&c, "int lwm_test_dep(void); int lwm_test_broken(void) { return lwm_test_dep(); }\n").unwrap();
        let st = Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(dir.join("libbroken.so"))
            .arg(&c)
            .arg(format!("-L{}", dir.display()))
            .arg("-ldep")
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::rename(dir.join("libdep.so"), dir.join("libdep.so.moved")).unwrap();
        dir
    })
}

fn fx(name: &str) -> String {
    fixtures().join(name).to_string_lossy().into_owned()
}

fn workload_bin() -> PathBuf {
    let p = Path::new(AGENT).with_file_name("lwm-workload");
    if !p.exists() {
        // `cargo test -p lwm-agent` alone does not build the other package.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "--release", "-p", "lwm-workload"])
            .status()
            .unwrap();
        assert!(st.success());
    }
    p
}

#[test]
fn max_rss_is_measured_within_5_percent() {
    let touched_kib = 128 * 1024;
    let base = doc(&agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--",
        &fx("touch"),
        "0",
    ]));
    let base_kib = base.runs[0].rusage.as_ref().unwrap().max_rss_kib;
    let d = doc(&agent(&[
        "run",
        "--quiet",
        "--reps",
        "3",
        "--warmup",
        "0",
        "--",
        &fx("touch"),
        &(touched_kib * 1024).to_string(),
    ]));
    for r in &d.runs {
        assert!(r.ok, "{:?}", r.problems);
        let rss = r.rusage.as_ref().unwrap().max_rss_kib;
        let err = (rss as f64 - touched_kib as f64).abs() / touched_kib as f64;
        let err_net = ((rss - base_kib) as f64 - touched_kib as f64).abs() / touched_kib as f64;
        eprintln!("max RSS {rss} KiB for {touched_kib} KiB touched (baseline {base_kib} KiB): error {:.2} %, net of baseline {:.2} %", err * 100.0, err_net * 100.0);
        assert!(
            err < 0.05,
            "wait4 max RSS {rss} KiB is not within 5 % of {touched_kib} KiB"
        );
        assert!(err_net < 0.05);
        // The sampler's timeline sees the same peak (the child sleeps 300 ms after touching).
        let peak = r.memory.peak_rss_kib.unwrap();
        assert!(
            (peak as f64 - touched_kib as f64).abs() / (touched_kib as f64) < 0.05,
            "timeline peak {peak} KiB"
        );
        assert!(r.memory.samples.len() >= 3);
        assert!(r
            .memory
            .samples
            .iter()
            .all(|s| s.pss_kib.is_some() && s.private_dirty_kib.is_some()));
    }
    let m = d
        .summary
        .metrics
        .iter()
        .find(|m| m.name == "max_rss_kib")
        .unwrap();
    assert_eq!(m.n, 3);
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let pidfile = fixtures().join("bg.pid");
    let script = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
    let started = std::time::Instant::now();
    let out = agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--timeout",
        "0.5",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert!(started.elapsed().as_secs_f64() < 10.0);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a timed-out run must fail the invocation"
    );
    let d = doc(&out);
    let r = &d.runs[0];
    assert_eq!(r.status, "timed_out");
    assert!(r.timed_out && !r.ok);
    assert_eq!(r.signal_name.as_deref(), Some("SIGKILL"));
    assert!(r.wall_s >= 0.5 && r.wall_s < 5.0, "wall {}", r.wall_s);
    assert!(r.problems[0].contains("timed out"), "{:?}", r.problems);
    // The background grandchild died with its group.
    let bg: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut gone = false;
    for _ in 0..100 {
        let stat = std::fs::read_to_string(format!("/proc/{bg}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next().map(str::to_string));
        if state.is_none() || state.as_deref() == Some("Z") || state.as_deref() == Some("X") {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(gone, "background process {bg} survived the timeout");
    assert_eq!(d.summary.status, "failed");
}

#[test]
fn a_crash_is_recorded_with_its_signal() {
    let out = agent(&[
        "run",
        "--reps",
        "2",
        "--warmup",
        "0",
        "--",
        "sh",
        "-c",
        "kill -SEGV $$",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let d = doc(&out);
    for r in &d.runs {
        assert_eq!(r.status, "signaled");
        assert_eq!(r.signal, Some(11));
        assert_eq!(r.signal_name.as_deref(), Some("SIGSEGV"));
        assert!(!r.ok && r.exit_code.is_none());
    }
    assert_eq!((d.summary.ok_runs, d.summary.failed_runs), (0, 2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SIGNALED: killed by SIGSEGV"));
    // A plain non-zero exit is a failure too, with its status.
    let d = doc(&agent(&[
        "run", "--quiet", "--reps", "1", "--warmup", "0", "--", "sh", "-c", "exit 7",
    ]));
    assert_eq!(
        (d.runs[0].status.as_str(), d.runs[0].exit_code),
        ("exit_failure", Some(7))
    );
}

#[test]
fn bad_input_gives_one_clear_line() {
    let cases: [(&[&str], String); 6] = [
        (
            &["run", "--allocator", "/x/y.so", "--", "true"],
            "lwm-agent: allocator library /x/y.so: no such file\n".into(),
        ),
        (
            &["run", "--allocator", "/etc/hostname", "--", "true"],
            "lwm-agent: allocator library /etc/hostname: not an ELF file\n".into(),
        ),
        (
            &["run", "--allocator", &fx("touch"), "--", "true"],
            format!(
                "lwm-agent: allocator library {}: a program, not a shared library\n",
                fx("touch")
            ),
        ),
        (
            &["run", "--", "/no/such/program"],
            "lwm-agent: command /no/such/program: no such file\n".into(),
        ),
        (
            &["run", "--workload", "no-such-workload"],
            "lwm-agent: unknown workload 'no-such-workload'".into(),
        ),
        (
            &["doctor", "/no/such/binary"],
            "lwm-agent: binary /no/such/binary: no such file\n".into(),
        ),
    ];
    workload_bin();
    for (args, expect) in cases {
        let out = agent(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed a document");
        assert!(err.starts_with(&expect), "{args:?}: got {err:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn preload_is_proven_by_the_memory_map() {
    let d = doc(&agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--allocator",
        &fx("libshim.so"),
        "--",
        "sleep",
        "0.2",
    ]));
    let a = &d.allocator;
    assert_eq!(a.kind, "preload");
    assert_eq!(a.sha256.as_ref().unwrap().len(), 64);
    assert_eq!(a.exports_malloc, Some(false));
    assert!(!a.is_lwmalloc);
    assert!(d
        .summary
        .warnings
        .iter()
        .any(|w| w.contains("does not export malloc")));
    let p = d.runs[0].preload.as_ref().unwrap();
    assert_eq!(
        (p.status.as_str(), p.mapped),
        ("verified", Some(true)),
        "{p:?}"
    );
    assert!(d.runs[0].ok);
    // The SHA-256 is the file's.
    let sum = Command::new("sha256sum")
        .arg(fx("libshim.so"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sum.stdout).starts_with(a.sha256.as_ref().unwrap()));
}

#[test]
fn lwmalloc_counters_answer_even_for_a_short_program() {
    let out = agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--allocator",
        &fx("libfakelwm.so"),
        "--",
        "true",
    ]);
    let d = doc(&out);
    assert!(d.allocator.is_lwmalloc);
    let p = d.runs[0].preload.as_ref().unwrap();
    assert_eq!(p.status, "verified");
    let s = p.lwm_stats.as_ref().unwrap();
    assert_eq!(s.pid as i32, d.runs[0].pid.unwrap());
    assert_eq!(
        (s.malloc, s.free, s.free_heap, s.fragmentation_pct),
        (1, 2, 11, 1.5)
    );
    // The child's stderr is passed through and kept.
    assert!(String::from_utf8_lossy(&out.stderr).contains("lwmalloc: pid="));
    assert!(d.runs[0].stderr.tail.contains("lwmalloc: pid="));
}

#[test]
fn a_library_that_fails_to_load_is_a_reported_failure() {
    let out = agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--allocator",
        &fx("libbroken.so"),
        "--",
        "sleep",
        "0.1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let d = doc(&out);
    let r = &d.runs[0];
    assert_eq!(r.status, "preload_failed", "{:?}", r.problems);
    assert!(!r.ok);
    let p = r.preload.as_ref().unwrap();
    assert_eq!(p.status, "load_failed");
    assert!(p.loader_error.as_ref().unwrap().contains("libdep.so"));
    assert_eq!(d.summary.status, "failed");
}

#[test]
fn limit_as_reports_survival() {
    let d = doc(&agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--limit-as",
        "64M",
        "--",
        &fx("grab"),
        "268435456",
    ]));
    let r = &d.runs[0];
    assert_eq!(d.invocation.limit_as_bytes, Some(64 << 20));
    assert!(!r.limit_as.as_ref().unwrap().survived);
    assert!(r.stderr.tail.contains("failed"));
    let d = doc(&agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--limit-as",
        "64M",
        "--",
        &fx("grab"),
        "1048576",
    ]));
    assert!(d.runs[0].limit_as.as_ref().unwrap().survived);
    assert!(d.runs[0].ok);
}

#[test]
fn environment_is_recorded_once() {
    let d = doc(&agent(&[
        "run", "--quiet", "--reps", "2", "--warmup", "1", "--", "true",
    ]));
    let e = &d.environment;
    assert!(!e.kernel.release.is_empty() && !e.kernel.machine.is_empty());
    assert!(e.cpu.cores_online >= 1);
    assert!(e.memory.total_kib.unwrap() > 0);
    assert!(e.libc.version.is_some());
    assert!(e.load_average.is_some());
    assert_eq!(d.runs.len(), 3);
    assert!(d.runs[0].warmup && !d.runs[1].warmup);
    assert_eq!(d.summary.measured_runs, 2);
    assert!(d.agent.max_rss_kib.unwrap() > 0);
}

#[test]
fn every_workload_runs_under_the_agent() {
    let runner = workload_bin();
    let list = Command::new(&runner).arg("list").output().unwrap();
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 14);
    let allocators = [
        "system".to_string(),
        lwmalloc_so().to_string_lossy().into_owned(),
    ];
    for alloc in &allocators {
        // The timed workload, given its duration through the agent: one
        // run (two would do different amounts of work), its samples kept
        // whole in the report with a large enough --tail.
        let out = agent(&[
            "run",
            "--quiet",
            "--quiet-child",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--tail",
            "262144",
            "--allocator",
            alloc,
            "--workload",
            "steady-soak",
            "--duration",
            "3s",
            "--threads",
            "2",
        ]);
        let d = doc(&out);
        assert_eq!(d.summary.status, "ok", "{:?}", d.summary.problems);
        let rep = d.runs[0].workload_report.as_ref().unwrap();
        assert_eq!(rep["duration_s"], 3.0);
        assert!(rep["live_timeline"].as_array().unwrap().len() >= 2, "{rep}");
        assert!(d.runs[0].wall_s >= 3.0, "{}", d.runs[0].wall_s);
        for name in names.iter().filter(|n| *n != "steady-soak") {
            let out = agent(&[
                "run",
                "--quiet",
                "--quiet-child",
                "--reps",
                "2",
                "--warmup",
                "0",
                "--interval",
                "10",
                "--allocator",
                alloc,
                "--workload",
                name,
                "--scale",
                "0.01",
                "--threads",
                "2",
                "--seed",
                "3",
            ]);
            let d = doc(&out);
            assert_eq!(
                d.summary.status, "ok",
                "{name} under {alloc}: {:?}",
                d.summary.problems
            );
            assert_eq!(d.summary.workload_consistent, Some(true));
            let rep = d.runs[0].workload_report.as_ref().unwrap();
            assert_eq!(rep["workload"], name.as_str());
            assert_eq!(rep["seed"], 3);
            if alloc != "system" {
                let p = d.runs[0].preload.as_ref().unwrap();
                assert_eq!(p.status, "verified", "{name}");
                assert!(
                    p.lwm_stats.is_some(),
                    "{name}: liblwmalloc printed no counters"
                );
            }
        }
    }
}

#[test]
fn schema_doc_names_every_field() {
    let schema = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contract/SCHEMA.md"
    ))
    .unwrap();
    assert!(schema.contains(&format!(
        "Schema version: {}",
        lwm_agent::schema::SCHEMA_VERSION
    )));
    let mut docs = vec![agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--limit-as",
        "1G",
        "--allocator",
        &fx("libfakelwm.so"),
        "--",
        &fx("touch"),
        "0",
    ])];
    workload_bin();
    docs.push(agent(&[
        "run",
        "--quiet",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--workload",
        "frag-soak",
        "--scale",
        "0.01",
    ]));
    docs.push(agent(&["doctor", AGENT]));
    docs.push(agent(&["environment"]));
    fn keys(v: &serde_json::Value, under_report: bool, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if !under_report {
                        out.push(k.clone());
                    }
                    keys(x, under_report || k == "workload_report", out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| keys(x, under_report, out)),
            _ => {}
        }
    }
    for out in docs {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut ks = Vec::new();
        keys(&v, false, &mut ks);
        for k in ks {
            assert!(
                schema.contains(&format!("`{k}`")),
                "SCHEMA.md does not document field `{k}`"
            );
        }
    }
    // The doctor and environment documents round-trip too.
    let out = agent(&["doctor", AGENT]);
    let text = String::from_utf8(out.stdout).unwrap();
    let d: lwm_agent::schema::DoctorDocument = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string_pretty(&d).unwrap(), text.trim_end());
    assert!(
        d.checks
            .iter()
            .any(|c| c.name == "glibc" && c.status == "pass"),
        "{:?}",
        d.checks
    );
    assert!(d
        .checks
        .iter()
        .any(|c| c.name == "elf_machine" && c.status == "pass"));
}

/// Linux carries the agent's RSS high-water mark into each child's
/// `ru_maxrss` across fork and exec, so whatever the agent reads into
/// memory while preparing a run (the library, the workload binary) becomes
/// the floor of every measurement. Preparing a preload run must not raise it.
#[test]
fn preparing_a_preload_run_does_not_raise_the_measurement_floor() {
    let agent_rss = |allocator: &str| {
        let d = doc(&agent(&[
            "run",
            "--quiet",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--allocator",
            allocator,
            "--workload-bin",
            workload_bin().to_str().unwrap(),
            "--workload",
            "small-burst",
            "--scale",
            "0.001",
        ]));
        d.agent.max_rss_kib.expect("agent RSS recorded")
    };
    let plain = agent_rss("system");
    let preload = agent_rss(&fx("libshim.so"));
    let workload_kib = std::fs::metadata(workload_bin()).unwrap().len() / 1024;
    assert!(
        preload < plain + 512,
        "agent RSS {preload} KiB with a preload library vs {plain} KiB without \
         (the workload binary alone is {workload_kib} KiB)"
    );
}

/// The release liblwmalloc.so, the one the kit ships, built if `cargo test
/// -p lwm-agent` alone did not. Not the one beside the agent: scripts/test.sh
/// builds the tests with the `test-release` profile, whose directory has
/// none.
fn lwmalloc_so() -> PathBuf {
    let target_dir = Path::new(AGENT)
        .parent()
        .and_then(Path::parent)
        .expect("the agent lies in target/<profile>/");
    let p = target_dir.join("release").join("liblwmalloc.so");
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "--release", "-p", "lwmalloc-preload"])
            .status()
            .unwrap();
        assert!(st.success());
    }
    p
}

/// Children are started by the launcher, forked before the agent does any
/// work, so a small program's max RSS is its own and not the agent's:
/// started by the agent (std's posix_spawn shares the agent's mm until
/// exec), `/bin/true` under liblwmalloc read 2348-2684 KiB, the agent's
/// whole peak, for a true ~1 MiB; through the launcher it reads 860-1100
/// KiB over a floor of ~510 KiB (x86_64, Debian 12).
#[test]
fn a_small_program_is_measured_above_a_small_floor() {
    let lib = lwmalloc_so();
    let lib = lib.to_str().unwrap();
    let d = doc(&agent(&[
        "run",
        "--quiet",
        "--reps",
        "3",
        "--warmup",
        "1",
        "--allocator",
        lib,
        "--",
        "true",
    ]));
    assert_eq!(d.runs.len(), 4);
    let launcher = d.agent.launcher_max_rss_kib.expect("launcher RSS recorded");
    let agent_rss = d.agent.max_rss_kib.unwrap();
    assert!(
        launcher < agent_rss,
        "launcher {launcher} KiB, agent {agent_rss} KiB"
    );
    for r in &d.runs {
        assert!(r.ok, "{:?}", r.problems);
        let max = r.rusage.as_ref().unwrap().max_rss_kib;
        let floor = r.max_rss_floor_kib.expect("floor measured");
        eprintln!("run {}: max RSS {max} KiB, floor {floor} KiB, launcher {launcher} KiB, agent {agent_rss} KiB", r.index);
        assert!(floor < 1024, "floor {floor} KiB");
        // ru_maxrss comes from the kernel's approximate per-CPU RSS
        // counters, the floor from their exact sum: allow that slack.
        assert!(
            floor <= max + 256,
            "floor {floor} KiB above max RSS {max} KiB"
        );
        assert!(
            max < 1600,
            "/bin/true read {max} KiB: the floor leaks into the measurement"
        );
    }
    // A static program that does nothing reads the floor itself, and the
    // floor is what the run records (the old agent: 2224-2412 KiB).
    let d = doc(&agent(&[
        "run",
        "--quiet",
        "--reps",
        "3",
        "--warmup",
        "0",
        "--",
        &fx("nothing-static"),
    ]));
    for r in &d.runs {
        assert!(r.ok, "{:?}", r.problems);
        let max = r.rusage.as_ref().unwrap().max_rss_kib;
        let floor = r.max_rss_floor_kib.unwrap();
        eprintln!(
            "run {}: static no-op: max RSS {max} KiB, floor {floor} KiB",
            r.index
        );
        assert!(max < 1024, "a no-op program read {max} KiB");
        assert!(
            max.abs_diff(floor) <= 256,
            "max RSS {max} KiB vs floor {floor} KiB"
        );
    }
    // Where the sampler saw the program's own high-water mark, wait4's
    // figure is not above it. (It may read lower: ru_maxrss comes from the
    // kernel's approximate per-CPU RSS counters, VmHWM from their exact
    // sum; here by 110-230 KiB. The old agent read 880-1340 KiB above.)
    let d = doc(&agent(&[
        "run",
        "--quiet",
        "--reps",
        "2",
        "--warmup",
        "1",
        "--allocator",
        lib,
        "--",
        &fx("touch"),
        "0",
    ]));
    for r in &d.runs {
        assert!(r.ok, "{:?}", r.problems);
        let max = r.rusage.as_ref().unwrap().max_rss_kib;
        let hwm = r.memory.last_vm_hwm_kib.expect("sampled for 300 ms");
        eprintln!(
            "run {}: max RSS {max} KiB, sampled VmHWM {hwm} KiB",
            r.index
        );
        assert!(max <= hwm + 256, "max RSS {max} KiB vs VmHWM {hwm} KiB");
        assert!(max + 512 >= hwm, "max RSS {max} KiB vs VmHWM {hwm} KiB");
    }
}
