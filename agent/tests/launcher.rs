//! End-to-end tests of how children are started: through the launcher
//! process (agent/src/launcher), with exactly the agent's intended
//! environment, working directory and descriptors.

mod common;

use common::{agent, doc, AGENT};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lwm-launcher-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A program the kernel refuses to exec is a spawn_failed run with the
/// reason, and the launcher stays in step for the next run.
#[test]
fn a_program_that_cannot_be_executed_is_a_spawn_failure() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("noexec");
    let prog = dir.join("not-a-program");
    std::fs::write(&prog, "neither ELF nor #!\n").unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    let prog = prog.to_str().unwrap();
    let out = agent(&["run", "--quiet", "--reps", "2", "--warmup", "0", "--", prog]);
    assert_eq!(out.status.code(), Some(1));
    let d = doc(&out);
    for r in &d.runs {
        assert_eq!(r.status, "spawn_failed");
        assert_eq!(r.pid, None);
        assert_eq!(r.max_rss_floor_kib, None);
        assert_eq!(
            r.problems,
            [format!(
                "cannot start {prog}: Exec format error (os error {})",
                libc::ENOEXEC
            )]
        );
    }
}

/// The child gets stdin on /dev/null, the capture pipes, no other
/// descriptor, the agent's working directory, and its environment minus an
/// inherited LD_PRELOAD.
#[test]
fn the_child_gets_exactly_its_environment_and_descriptors() {
    let dir = scratch("cwd");
    let shim = dir.join("libnothing.so");
    let c = dir.join("nothing.c");
    std::fs::write(&c, "int lwm_test_nothing(void) { return 0; }\n").unwrap();
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&shim)
        .arg(&c)
        .status()
        .unwrap();
    assert!(st.success());
    let script = "echo \"cwd=$(pwd)\"; echo \"preload=[$LD_PRELOAD] marker=$LWM_TEST_MARKER\"; \
                  ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; readlink /proc/self/fd/0";
    let out = Command::new(AGENT)
        .args([
            "run", "--quiet", "--reps", "1", "--warmup", "0", "--", "sh", "-c", script,
        ])
        .current_dir(&dir)
        .env("LD_PRELOAD", &shim)
        .env("LWM_TEST_MARKER", "kept")
        .output()
        .unwrap();
    let d = doc(&out);
    let r = &d.runs[0];
    assert!(r.ok, "{:?}", r.problems);
    let lines: Vec<&str> = r.stdout.tail.lines().collect();
    assert_eq!(lines[0], format!("cwd={}", dir.display()));
    assert_eq!(lines[1], "preload=[] marker=kept");
    // 0, 1, 2, and the directory `ls` itself opened to list them.
    assert_eq!(
        lines[2].trim(),
        "0 1 2 3",
        "the child inherited stray descriptors"
    );
    assert_eq!(lines[3], "/dev/null");
    assert!(d
        .summary
        .warnings
        .iter()
        .any(|w| w.contains("LD_PRELOAD=") && w.contains("removed")));
}

/// If the agent dies mid-run, the launcher kills the run's process group
/// rather than leave it running into the next measurement.
#[test]
fn a_dead_agent_takes_its_run_with_it() {
    let dir = scratch("orphan");
    let pidfile = dir.join("child.pid");
    let script = format!("echo $$ > {}; exec sleep 60", pidfile.display());
    let mut a = Command::new(AGENT)
        .args([
            "run", "--quiet", "--reps", "1", "--warmup", "0", "--", "sh", "-c", &script,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let child: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    a.kill().unwrap();
    a.wait().unwrap();
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with(['Z', 'X']))
            })
            == Some(false)
    };
    let killed_at = Instant::now();
    while alive(child) {
        assert!(
            killed_at.elapsed() < Duration::from_secs(10),
            "the run's process {child} outlived the agent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
