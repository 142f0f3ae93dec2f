//! Faults of emulated boards, made for real with QEMU and the cached
//! qemu-pi4 image: a guest that hangs while booting (the boot watchdog:
//! QEMU killed and booted again when the serial console stays silent, the
//! board failed with the console's last lines after the last try), and a
//! guest that reboots mid-campaign (reported as the VM going away, every
//! result kept, `--resume` boots it again and finishes).
//!
//! These boot QEMU system VMs, so they are ignored by default and run by
//! `scripts/test-emulated.sh` (part of the README test command):
//! `cargo test --release -p lwm --test vm_faults -- --ignored --test-threads 1`

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/vm_processes.rs"]
mod vm_processes;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use campaign::{assert_kept, events_named, manifest, raw_files, rep_docs, wait_until};
use lwm::board::{self, ProviderSpec};
use lwm::provider::qemu::{StalledBoot, VmBoard};

/// Asserts no QEMU of `dir` is left running (this test binary, whose
/// command line may name it, aside).
fn assert_no_vm_left(dir: &Path) {
    vm_processes::assert_none_left(dir, Some("vm_faults"));
}

static NO_CANCEL: AtomicBool = AtomicBool::new(false);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped qemu-pi4 profile as `boards/NAME.toml` in `dir`, with
/// `extra` added to its `[qemu]` section.
fn pi4_profile_with(dir: &Path, name: &str, extra: &str) {
    let shipped = workspace().join("boards/qemu-pi4.toml");
    let profile = std::fs::read_to_string(shipped).unwrap();
    assert!(profile.contains("[qemu]\n"), "{profile}");
    let edited = profile.replace("[qemu]\n", &format!("[qemu]\n{extra}\n"));
    std::fs::write(dir.join("boards").join(format!("{name}.toml")), edited).unwrap();
}

/// A guest whose kernel cannot start init (`rdinit=` names nothing, no
/// root device) panics and, with `panic=0`, waits forever: its console
/// stops for good before sshd ever answers. The watchdog kills it and
/// boots it again, twice, then fails the board with the console's last
/// lines, long before `boot_s`.
#[test]
#[ignore = "boots a QEMU VM (needs the qemu-pi4 image, built on first use)"]
fn a_guest_that_hangs_while_booting_is_booted_again_then_the_board_fails_with_its_console() {
    let dir = campaign::scratch("vm-hang");
    pi4_profile_with(
        &dir,
        "qemu-pi4-hang",
        "kernel_args = \"rdinit=/nonexistent panic=0\"\nboot_stall_s = 20\nboot_tries = 2",
    );
    let started = Instant::now();
    let out = campaign::run(
        &dir,
        &[
            "eval",
            "--board",
            "qemu-pi4-hang",
            "--workloads",
            "small-burst",
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "1",
            "--run-id",
            "hang",
            "--no-progress",
        ],
    );
    eprintln!("lwm took {:?} (builds included)", started.elapsed());
    let run_dir = dir.join("results/hang");
    assert_no_vm_left(&run_dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // From the board's start to its failure: far below the profile's
    // boot_s (300 s), so the watchdog ended it, not the boot timeout.
    let at = |event: &str| {
        events_named(&run_dir, event)[0]["t_unix_ms"]
            .as_u64()
            .unwrap()
    };
    let board_s = (at("board_finished") - at("board_started")) as f64 / 1000.0;
    eprintln!("the board failed {board_s} s after it started");
    assert!(board_s < 150.0, "{board_s} s");

    // One line naming the board, the hang and the console's last lines.
    let line = stderr
        .lines()
        .find(|l| l.starts_with("lwm: board qemu-pi4-hang: "))
        .unwrap_or_else(|| panic!("no board line in {stderr}"));
    assert!(line.contains("boot hung on each of 2 tries"), "{line}");
    assert!(line.contains("no console output for 20 s"), "{line}");
    assert!(line.contains("console's last lines: "), "{line}");
    assert!(
        line.contains("Kernel panic"),
        "the panic is among them: {line}"
    );

    // Each try is an event, an incident of the board, and in the report.
    let stalls = events_named(&run_dir, "vm_boot_stalled");
    assert_eq!(stalls.len(), 2, "{stalls:?}");
    for (i, e) in stalls.iter().enumerate() {
        assert_eq!(e["board"], "qemu-pi4-hang");
        assert_eq!(e["try"], i + 1);
        assert_eq!(e["tries"], 2);
        assert!(e["silent_s"].as_f64().unwrap() >= 20.0, "{e}");
        let kept = PathBuf::from(e["console_log"].as_str().unwrap());
        let text = std::fs::read_to_string(&kept).unwrap();
        assert!(text.contains("Kernel panic"), "{}", kept.display());
    }
    assert!(events_named(&run_dir, "vm_booted").is_empty());
    let m = manifest(&run_dir);
    let board = &m["boards"][0];
    assert_eq!(board["status"], "failed");
    assert_eq!(board["incidents"].as_array().unwrap().len(), 2, "{board}");
    let report = std::fs::read_to_string(run_dir.join("report.txt")).unwrap();
    assert!(
        report.contains("incident: boot try 1 of 2: no console output for"),
        "{report}"
    );
    assert!(report.contains("incident: boot try 2 of 2: "), "{report}");
    assert!(report.contains("board failed: "), "{report}");
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(html.contains("Incident: boot try 1 of 2"), "report.html");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A workspace whose images/ is the real one except that qemu-pi4 boots
/// through `wrapper` (not part of the image hash: the cached image is used).
fn workspace_booting_through(tag: &str, wrapper: &str) -> PathBuf {
    let ws = campaign::scratch(&format!("ws-{tag}"));
    let images = ws.join("images");
    std::fs::create_dir_all(images.join("qemu-pi4")).unwrap();
    let real = workspace().join("images");
    for f in ["build.sh", "lib.sh"] {
        std::fs::copy(real.join(f), images.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(real.join("guest"), images.join("guest")).unwrap();
    std::fs::copy(
        real.join("qemu-pi4/recipe.sh"),
        images.join("qemu-pi4/recipe.sh"),
    )
    .unwrap();
    let script = ws.join("qemu-first-try-frozen");
    std::fs::write(&script, wrapper).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let args = std::fs::read_to_string(real.join("qemu-pi4/boot.args")).unwrap();
    let args = args.replacen(
        "\nqemu-system-aarch64\n",
        &format!("\n{}\n", script.display()),
        1,
    );
    std::fs::write(images.join("qemu-pi4/boot.args"), args).unwrap();
    ws
}

/// The first try's QEMU starts with its CPUs stopped (`-S`): its console
/// stays empty. The watchdog kills it after `boot_stall` and the second
/// try boots; the board is usable and the stalled try was reported.
#[test]
#[ignore = "boots a QEMU VM (needs the qemu-pi4 image, built on first use)"]
fn a_boot_that_hangs_once_is_killed_and_the_next_try_boots() {
    let ws = workspace_booting_through(
        "frozen-once",
        "#!/bin/sh\n\
         # The first QEMU of this workspace never runs its guest.\n\
         count=\"$0.count\"\n\
         if [ ! -e \"$count\" ]; then : >\"$count\"; exec qemu-system-aarch64 -S \"$@\"; fi\n\
         exec qemu-system-aarch64 \"$@\"\n",
    );
    let mut b = board::load(&workspace().join("boards"), "qemu-pi4").unwrap();
    let Some(ProviderSpec::Qemu(spec)) = &mut b.provider else {
        panic!("qemu-pi4 is a VM board");
    };
    // Far above the longest silence of a healthy boot (about 1 s idle),
    // so that a loaded host cannot make the second try look hung.
    spec.boot_stall = Duration::from_secs(20);
    let state = ws.join("state");
    let stalls: Mutex<Vec<StalledBoot>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let vm = VmBoard::start(
        &b,
        &ws,
        &state,
        &|m| eprintln!("qemu-pi4: {m}"),
        &|s| stalls.lock().unwrap().push(s.clone()),
        &NO_CANCEL,
    )
    .unwrap();
    eprintln!("booted after {:?}", started.elapsed());
    let stalls = stalls.into_inner().unwrap();
    assert_eq!(stalls.len(), 1, "{stalls:?}");
    assert_eq!((stalls[0].attempt, stalls[0].tries), (1, 3));
    assert!(stalls[0].silent >= Duration::from_secs(20), "{stalls:?}");
    assert_eq!(stalls[0].console_tail, "(nothing)");
    assert_eq!(vm.vm.tries(), 2);
    // The stopped first QEMU is gone; the second answers SSH.
    let mut t = lwm::transport::connect(&vm.board).unwrap();
    let out = t
        .exec(&["uname".into(), "-m".into()], &[], Duration::from_secs(60))
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "aarch64");
    let qemus = vm_processes::processes_mentioning(&state, Some("vm_faults"));
    assert_eq!(qemus.len(), 1, "{qemus:?}");
    drop(t);
    drop(vm);
    assert_no_vm_left(&state);
    let _ = std::fs::remove_dir_all(&ws);
}

/// The image's kit key (beside the cached image directory).
fn kit_key() -> PathBuf {
    let out = Command::new("bash")
        .arg(workspace().join("images/build.sh"))
        .args(["--key", "qemu-pi4"])
        .output()
        .unwrap();
    let image_dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    image_dir.parent().unwrap().join("kit_ed25519")
}

/// The guest reboots while a run is in progress (`reboot` as root does it:
/// sysrq b, an immediate reset; QEMU runs with -no-reboot, so the VM is
/// gone). lwm says so, naming the board and the run; every result is kept;
/// `--resume` boots the VM again and finishes.
#[test]
#[ignore = "boots a QEMU VM twice (needs the qemu-pi4 image, built on first use)"]
fn a_guest_rebooted_mid_campaign_is_named_and_resume_boots_it_again_to_finish() {
    let dir = campaign::scratch("vm-reboot");
    std::fs::copy(
        workspace().join("boards/qemu-pi4.toml"),
        dir.join("boards/qemu-pi4.toml"),
    )
    .unwrap();
    let run_dir = dir.join("results/reboot");
    let mut child = campaign::lwm(
        &dir,
        &[
            "eval",
            "--board",
            "qemu-pi4",
            "--workloads",
            "small-burst",
            "--allocators",
            "lwmalloc,system",
            "--reps",
            "3",
            "--warmup",
            "0",
            "--scale",
            "0.5",
            "--run-id",
            "reboot",
            "--no-progress",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Once a result is in and the next run has started.
    wait_until(Duration::from_secs(600), "a run in progress", || {
        assert!(child.try_wait().unwrap().is_none(), "lwm ended early");
        !rep_docs(&run_dir).is_empty()
            && campaign::events(&run_dir)
                .last()
                .is_some_and(|e| e["event"] == "run_started")
    });
    let before = raw_files(&run_dir);
    let port = events_named(&run_dir, "vm_booted")[0]["port"]
        .as_u64()
        .unwrap();
    let rebooted = Command::new("ssh")
        .arg("-i")
        .arg(kit_key())
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            run_dir.join("boards/qemu-pi4/vm/known_hosts").display()
        ))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        .args(["-p", &port.to_string(), "root@127.0.0.1"])
        .arg("echo b > /proc/sysrq-trigger")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    eprintln!("ssh reboot -> {rebooted:?}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- lwm\n{stderr}");
    assert_no_vm_left(&run_dir);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| {
            l.starts_with("lwm: board qemu-pi4: the VM went away during qemu-pi4/small-burst/")
        })
        .unwrap_or_else(|| panic!("no line naming the board and the run: {stderr}"));
    assert!(line.contains("the guest rebooted"), "{line}");
    assert!(stderr.contains("lwm eval --resume reboot"), "{stderr}");
    assert_eq!(manifest(&run_dir)["boards"][0]["status"], "failed");
    assert_eq!(events_named(&run_dir, "vm_gone").len(), 1);
    assert_kept(&run_dir, &before);

    let out = campaign::run(&dir, &["eval", "--resume", "reboot", "--no-progress"]);
    assert_no_vm_left(&run_dir);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rep_docs(&run_dir).len(), 2 * 3);
    assert_kept(&run_dir, &before);
    assert_eq!(events_named(&run_dir, "vm_booted").len(), 2);
    assert_eq!(manifest(&run_dir)["boards"][0]["status"], "done");
    let _ = std::fs::remove_dir_all(&dir);
}
