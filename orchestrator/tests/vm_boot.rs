//! Emulated boards for real: the images are built (first use, minutes)
//! and cached, QEMU boots them, the guest answers SSH with the image's own
//! host key under the strict policy, and QEMU is gone once the VM is
//! dropped, whether the boot succeeded or failed.
//!
//! These boot QEMU system VMs, so they are ignored by default:
//! `cargo test --release -p lwm --test vm_boot -- --ignored --test-threads 1`
//! (needs scripts/setup-qemu.sh).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lwm::board::{self, ProviderSpec};
use lwm::provider::qemu::VmBoard;

static NO_CANCEL: AtomicBool = AtomicBool::new(false);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn state_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lwm-vm-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn port_answers(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(1),
    )
    .is_ok()
}

/// Boots board `name`, checks `uname -m` and the allocators its profile
/// names, then drops the VM and checks QEMU no longer holds the port.
fn boots_and_answers_ssh(name: &str, machine: &str) {
    let b = board::load(&workspace().join("boards"), name).unwrap();
    let state = state_dir(name);
    let vm = VmBoard::start(
        &b,
        &workspace(),
        &state,
        &|m| eprintln!("{name}: {m}"),
        &|s| panic!("{name}: a healthy boot hung: {s:?}"),
        &NO_CANCEL,
    )
    .unwrap();
    eprintln!("{name}: sshd answered after {:?}", vm.vm.booted_in());
    let Some(ssh) = vm.board.ssh() else {
        panic!("a booted VM is reached over SSH");
    };
    let port = ssh.port;
    let known = std::fs::read_to_string(&ssh.known_hosts).unwrap();
    assert!(
        known.starts_with(&format!("[127.0.0.1]:{port} ssh-ed25519 ")),
        "{known}"
    );

    let mut t = lwm::transport::connect(&vm.board).unwrap();
    let out = t
        .exec(&["uname".into(), "-m".into()], &[], Duration::from_secs(60))
        .unwrap();
    assert_eq!(out.status, Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), machine);
    for (alloc, path) in &b.allocators {
        let out = t
            .exec(
                &["test".into(), "-e".into(), path.clone()],
                &[],
                Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(out.status, Some(0), "{name}: {alloc} missing at {path}");
    }
    drop(t);
    drop(vm);
    assert!(
        !port_answers(port),
        "{name}: QEMU still holds port {port} after drop"
    );
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
#[ignore = "boots a QEMU VM (builds its image on first use)"]
fn qemu_pi4_boots_and_answers_ssh_as_aarch64() {
    boots_and_answers_ssh("qemu-pi4", "aarch64");
}

#[test]
#[ignore = "boots a QEMU VM (builds its image on first use)"]
fn qemu_pizero_boots_and_answers_ssh_as_armv6l() {
    boots_and_answers_ssh("qemu-pizero", "armv6l");
}

/// A workspace whose images/ is the real one except for `boot.args` of
/// qemu-pi4 (not part of the image hash, so the cached image is used).
fn workspace_with_boot_args(tag: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let ws = state_dir(&format!("ws-{tag}"));
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
    let args = std::fs::read_to_string(real.join("qemu-pi4/boot.args")).unwrap();
    std::fs::write(images.join("qemu-pi4/boot.args"), edit(&args)).unwrap();
    ws
}

#[test]
#[ignore = "boots a QEMU VM (builds its image on first use)"]
fn a_vm_that_never_answers_fails_in_time_and_is_stopped() {
    // The guest's port 22 is forwarded to nothing (port 2222 in the guest).
    let ws = workspace_with_boot_args("silent", |a| a.replace("-:22", "-:2222"));
    let mut b = board::load(&workspace().join("boards"), "qemu-pi4").unwrap();
    let Some(ProviderSpec::Qemu(spec)) = &mut b.provider else {
        panic!("qemu-pi4 is a VM board");
    };
    spec.boot_timeout = Duration::from_secs(45);
    let state = state_dir("silent");
    let started = std::time::Instant::now();
    let err = match VmBoard::start(&b, &ws, &state, &|_| {}, &|_| {}, &NO_CANCEL) {
        Ok(_) => panic!("nothing answers on the forwarded port"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("did not answer in time"), "{err}");
    assert!(err.contains("qemu-pi4"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&ws);
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
#[ignore = "starts QEMU (needs the cached qemu-pi4 image)"]
fn a_qemu_that_refuses_its_command_line_fails_with_its_own_message() {
    let ws = workspace_with_boot_args("badmachine", |a| {
        a.replace("\nvirt\n", "\nno-such-machine\n")
    });
    let b = board::load(&workspace().join("boards"), "qemu-pi4").unwrap();
    let state = state_dir("badmachine");
    let err = match VmBoard::start(&b, &ws, &state, &|_| {}, &|_| {}, &NO_CANCEL) {
        Ok(_) => panic!("QEMU has no such machine"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("QEMU exited"), "{err}");
    assert!(err.contains("unsupported machine type"), "{err}");
    let _ = std::fs::remove_dir_all(&ws);
    let _ = std::fs::remove_dir_all(&state);
}

/// Processes whose command line contains `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(cmdline);
            }
        }
    }
    found
}

#[test]
#[ignore = "starts a real image build (mmdebstrap) and cancels it"]
fn cancelling_an_image_build_stops_it_and_keeps_nothing() {
    // A recipe with one more comment line: a new hash, so a real build.
    let ws = workspace_with_boot_args("cancel-build", |a| a.to_string());
    let recipe = ws.join("images/qemu-pi4/recipe.sh");
    let mut text = std::fs::read_to_string(&recipe).unwrap();
    text.push_str(&format!("# cancelled build {}\n", std::process::id()));
    std::fs::write(&recipe, text).unwrap();
    let b = board::load(&workspace().join("boards"), "qemu-pi4").unwrap();
    let state = state_dir("cancel-build");
    let cancel = AtomicBool::new(false);
    let build_dirs = || processes_mentioning("/lwm/images/.build-qemu-pi4.");
    let result = std::thread::scope(|s| {
        let starting = s.spawn(|| VmBoard::start(&b, &ws, &state, &|_| {}, &|_| {}, &cancel));
        // Cancel once mmdebstrap is at work in its build directory.
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        while build_dirs().iter().all(|c| !c.contains("mmdebstrap")) {
            assert!(!starting.is_finished(), "the build ended by itself");
            assert!(std::time::Instant::now() < deadline, "no mmdebstrap");
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(2));
        cancel.store(true, Ordering::SeqCst);
        starting.join().unwrap()
    });
    let err = match result {
        Ok(_) => panic!("the build was cancelled"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("qemu-pi4") && err.contains("interrupted"),
        "{err}"
    );
    // Nothing of the build keeps running.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !build_dirs().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "still running: {:?}",
            build_dirs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Neither a finished image nor a half-built one is left in the cache.
    let key = std::process::Command::new("bash")
        .arg(ws.join("images/build.sh"))
        .args(["--key", "qemu-pi4"])
        .output()
        .unwrap();
    let image_dir = PathBuf::from(String::from_utf8_lossy(&key.stdout).trim());
    assert!(!image_dir.exists(), "{}", image_dir.display());
    let cache = image_dir.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".build-qemu-pi4."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(!mounts.contains("/.build-qemu-pi4."), "{mounts}");
    let _ = std::fs::remove_dir_all(&ws);
    let _ = std::fs::remove_dir_all(&state);
}
