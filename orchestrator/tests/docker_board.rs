//! The Docker board and the cross images for real: a Docker engine
//! (started here where none runs), the arm64 board image (built on first
//! use), a container whose sshd lwm reaches with the image's own host key
//! under the strict policy, the same agent and pipeline as any board, and
//! no container left behind whether the campaign succeeds, fails or lwm is
//! killed. Also: an image from docker/ builds the ARMv6 board packages
//! and the result passes lwm's gate for the Pi Zero W.
//!
//! They need root, Docker and qemu-user (scripts/setup-docker.sh), so they
//! are ignored by default; scripts/test-docker.sh runs them:
//! `cargo test --release -p lwm --test docker_board -- --ignored --test-threads 1`

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lwm::provider::docker::{self as container, Engine, OWNER_PID_LABEL, OWNER_START_LABEL};

#[path = "support/campaign.rs"]
mod campaign;

use lwm::build::default_workspace as workspace;

fn scratch(tag: &str) -> PathBuf {
    campaign::empty_dir(&format!("docker-{tag}"))
}

/// The engine, started for this test where none runs (and then stopped
/// when the last holder drops it).
fn engine() -> Arc<Engine> {
    Engine::acquire(&workspace()).expect("a Docker engine (scripts/setup-docker.sh)")
}

fn lwm_eval(results: &Path, run_id: &str, allocators: &str) -> Command {
    let mut c = campaign::lwm_with_results(results);
    c.args([
        "eval",
        "--board",
        "docker-arm64",
        "--workloads",
        "small-burst",
        "--allocators",
        allocators,
        "--reps",
        "2",
        "--warmup",
        "0",
        "--scale",
        "0.02",
        "--no-progress",
        "--run-id",
        run_id,
    ]);
    c
}

fn events(run_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run_dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The name of the container the run started (its `container_started` event).
fn started_container(run_dir: &Path) -> Option<String> {
    events(run_dir)
        .iter()
        .find(|e| e["event"] == "container_started")
        .and_then(|e| e["container"].as_str().map(str::to_string))
}

/// Whether the engine still knows a container of that name, running or not.
fn container_exists(engine: &Engine, name: &str) -> bool {
    let out = engine
        .docker()
        .args(["ps", "--all", "--quiet", "--filter"])
        .arg(format!("name=^{name}$"))
        .output()
        .unwrap();
    assert!(out.status.success(), "docker ps failed");
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

fn wait_until_gone(engine: &Engine, name: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !container_exists(engine, name) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

fn ok_document(path: &Path) -> bool {
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    doc["runs"][0]["ok"] == true
}

#[test]
#[ignore = "runs a Docker container (builds its image on first use)"]
fn eval_on_the_docker_board_runs_both_allocators_marks_memory_and_leaves_no_container() {
    let engine = engine();
    let results = scratch("eval");
    let out = lwm_eval(&results, "ok", "lwmalloc,system")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    campaign::show(&["eval"], &out);
    assert!(out.status.success());
    let run = results.join("ok");
    for alloc in ["lwmalloc", "system"] {
        for rep in ["rep-000.json", "rep-001.json"] {
            let doc = run
                .join("raw/docker-arm64/small-burst")
                .join(alloc)
                .join(rep);
            assert!(ok_document(&doc), "{} not an ok run", doc.display());
        }
    }
    // The agent really ran on aarch64, as a Cortex-A72 through qemu-user.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let board = &manifest["boards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "docker-arm64")
        .cloned()
        .expect("board in manifest");
    assert_eq!(board["emulation"], "qemu-user", "{board}");
    assert!(
        board["environment"].to_string().contains("aarch64"),
        "{board}"
    );

    // Every report marks the memory figures.
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("peak RSS (not representative: qemu-user)"),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["boards"][0]["memory_representative"], false);
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("**not representative**"), "{md}");

    // Started, reached, and gone.
    let name = started_container(&run).expect("a container_started event");
    assert!(
        !container_exists(&engine, &name),
        "container {name} left behind"
    );
    let known = std::fs::read_to_string(run.join("boards/docker-arm64/container/known_hosts"))
        .expect("known_hosts written for the container");
    assert!(
        known.starts_with("[127.0.0.1]:") && known.contains(" ssh-ed25519 "),
        "{known}"
    );
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
#[ignore = "runs a Docker container (builds its image on first use)"]
fn a_failing_campaign_leaves_no_container() {
    let engine = engine();
    let results = scratch("fail");
    // A missing allocator fails its own runs (not the board): exit 1.
    let out = lwm_eval(
        &results,
        "bogus",
        "lwmalloc,system,bogus=/nonexistent/libbogus.so",
    )
    .stdin(Stdio::null())
    .output()
    .unwrap();
    campaign::show(&["eval"], &out);
    assert_eq!(out.status.code(), Some(1), "an allocator that is not there");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/libbogus.so"), "{stderr}");
    let name = started_container(&results.join("bogus"))
        .expect("the container was started before the runs failed");
    assert!(
        !container_exists(&engine, &name),
        "container {name} left behind"
    );
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
#[ignore = "runs a Docker container (builds its image on first use)"]
fn a_killed_lwm_leaves_no_container() {
    let engine = engine();
    let results = scratch("killed");
    let run = results.join("killed");
    let mut child = lwm_eval(&results, "killed", "lwmalloc,system")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(900);
    let name = loop {
        if let Some(name) = started_container(&run) {
            break name;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("lwm ended ({status}) before starting the container");
        }
        assert!(Instant::now() < deadline, "no container started");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(container_exists(&engine, &name));
    // SIGKILL: lwm runs no cleanup at all.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        wait_until_gone(&engine, &name, Duration::from_secs(60)),
        "container {name} outlived the lwm that started it"
    );
    let _ = std::fs::remove_dir_all(&results);
}

#[test]
#[ignore = "runs the Docker engine (builds the board image on first use)"]
fn containers_of_a_dead_lwm_are_removed_and_live_ones_kept() {
    let engine = engine();
    let state = scratch("orphans");
    let image = container::ensure_image(
        &workspace(),
        &engine,
        "board-arm64",
        &state.join("build.log"),
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    let create = |name: &str, pid: u32, ticks: u64| {
        let status = engine
            .docker()
            .args(["create", "--name", name])
            .args(["--label", &format!("{OWNER_PID_LABEL}={pid}")])
            .args(["--label", &format!("{OWNER_START_LABEL}={ticks}")])
            .arg(&image.tag)
            .arg("true")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "docker create {name}");
    };
    let me = std::process::id();
    let (pid, ticks) = container::this_process();
    // Above the kernel's pid limit: no such process can run.
    let dead = format!("lwm-test-dead-{me}");
    // This process's pid with another start time: a reused pid.
    let reused = format!("lwm-test-reused-{me}");
    let live = format!("lwm-test-live-{me}");
    create(&dead, 4_194_305, 1);
    create(&reused, pid, ticks + 1);
    create(&live, pid, ticks);
    let removed = container::remove_orphans(&engine).unwrap();
    let keep_live = container_exists(&engine, &live);
    let _ = engine.docker().args(["rm", "--force", &live]).output();
    assert!(removed.contains(&dead), "{removed:?}");
    assert!(removed.contains(&reused), "{removed:?}");
    assert!(!removed.contains(&live), "{removed:?}");
    assert!(!container_exists(&engine, &dead));
    assert!(!container_exists(&engine, &reused));
    assert!(keep_live, "a container of a live lwm was removed");
    let _ = std::fs::remove_dir_all(&state);
}

/// What `cross build` does with a Cross.toml image, without cross: the
/// host's Rust toolchain and cargo home mounted into the image, cargo run
/// in it with the image's environment (linker, C compiler, flags, the
/// ARMv6 stand-in start files).
#[test]
#[ignore = "builds the board packages in a cross image (minutes)"]
fn the_armv6_cross_image_builds_board_packages_that_pass_the_gate() {
    let engine = engine();
    let ws = workspace().canonicalize().unwrap();
    let triple = "arm-unknown-linux-gnueabihf";
    let log = scratch("cross").join("build.log");
    let dir = Command::new("bash")
        .arg(ws.join("docker/build.sh"))
        .arg(format!("cross-{triple}"))
        .env("DOCKER_HOST", engine.host())
        .stderr(std::fs::File::create(&log).unwrap())
        .output()
        .unwrap();
    assert!(
        dir.status.success(),
        "image build failed, see {}",
        log.display()
    );
    let dir = String::from_utf8_lossy(&dir.stdout).trim().to_string();
    let tag = std::fs::read_to_string(Path::new(&dir).join("image")).unwrap();
    let sysroot = String::from_utf8(
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let target_dir = ws.join("target/docker-cross");
    std::fs::create_dir_all(&target_dir).unwrap();
    let started = Instant::now();
    let out = engine
        .docker()
        .args(["run", "--rm", "-w", "/project"])
        .args(["-e", "CARGO_HOME=/cargo", "-e", "CARGO_TARGET_DIR=/target"])
        .args(["-v", &format!("{}:/cargo", cargo_home.display())])
        .args(["-v", &format!("{}:/rust:ro", sysroot.trim())])
        .args(["-v", &format!("{}:/project:ro", ws.display())])
        .args(["-v", &format!("{}:/target", target_dir.display())])
        .arg(tag.trim())
        .args(["sh", "-c"])
        .arg(format!(
            "PATH=/rust/bin:$PATH cargo build --release --locked --target {triple} \
             --config cross/size.toml -Zbuild-std=std,panic_abort \
             -p lwmalloc-preload -p lwm-agent -p lwm-workload"
        ))
        .output()
        .unwrap();
    eprintln!(
        "cargo in {} took {:.0} s\n{}",
        tag.trim(),
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "cargo build in the cross image failed"
    );

    let board = lwm::board::load(&ws.join("boards"), "pi-zero-w").unwrap();
    assert_eq!(board.target, triple);
    for artifact in ["liblwmalloc.so", "lwm-agent", "lwm-workload"] {
        let path = target_dir.join(triple).join("release").join(artifact);
        let report = lwm::gate::check(&path, &board)
            .unwrap_or_else(|e| panic!("the gate refused {}: {e}", path.display()));
        eprintln!("{artifact}: {} ({:?})", report.isa, report.newest_glibc);
        assert!(report.isa.contains("v6"), "{artifact}: {}", report.isa);
    }
}

/// Gates a build made elsewhere, e.g. by `cross` with the images of
/// Cross.toml: `LWM_GATE_DIR=target/cross-rs/aarch64-unknown-linux-gnu/release
/// LWM_GATE_BOARD=pi4 cargo test --release -p lwm --test docker_board -- --ignored gate_dir`.
#[test]
#[ignore = "checks the build in $LWM_GATE_DIR for board $LWM_GATE_BOARD"]
fn the_build_in_lwm_gate_dir_passes_the_gate_of_lwm_gate_board() {
    let (Ok(dir), Ok(board)) = (
        std::env::var("LWM_GATE_DIR"),
        std::env::var("LWM_GATE_BOARD"),
    ) else {
        panic!("set LWM_GATE_DIR (a release directory) and LWM_GATE_BOARD (a board name)");
    };
    let board = lwm::board::load(&workspace().join("boards"), &board).unwrap();
    for artifact in ["liblwmalloc.so", "lwm-agent", "lwm-workload"] {
        let path = Path::new(&dir).join(artifact);
        let report = lwm::gate::check(&path, &board)
            .unwrap_or_else(|e| panic!("the gate refused {}: {e}", path.display()));
        eprintln!("{artifact}: {} ({:?})", report.isa, report.newest_glibc);
    }
}
