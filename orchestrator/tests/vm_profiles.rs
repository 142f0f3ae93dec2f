//! `[qemu]` board profiles: the shipped emulated boards load as VM boards,
//! and a VM board that also says how to reach it, or claims real hardware,
//! is refused with file and line.

use std::time::Duration;

use lwm::board::{self, Access, Emulation, ProviderSpec};

#[path = "support/profile_dir.rs"]
mod profile_dir;
use profile_dir::{shipped_boards, Dir};

const VM_BASE: &str = r#"
target = "aarch64-unknown-linux-gnu"
cpu = "cortex-a72"
work_dir = "/root/lwm"
[qemu]
image = "qemu-pi4"
"#;

#[test]
fn shipped_emulated_boards_are_vm_boards() {
    for (name, image, target) in [
        ("qemu-pi4", "qemu-pi4", "aarch64-unknown-linux-gnu"),
        ("qemu-pizero", "qemu-pizero", "arm-unknown-linux-gnueabi"),
    ] {
        let b = board::load(&shipped_boards(), name).unwrap();
        assert_eq!(b.emulation, Emulation::System, "{name}");
        assert_eq!(b.target, target, "{name}");
        match &b.provider {
            Some(ProviderSpec::Qemu(vm)) => assert_eq!(vm.image, image, "{name}"),
            other => panic!("{name}: provider {other:?}"),
        }
        // Reached over SSH once booted: no address before.
        assert_eq!(b.access, Access::Ssh(None), "{name}");
        // Emulated boards shrink their workloads; real ones keep the size.
        assert!(b.workload_scale < 1.0, "{name}: {}", b.workload_scale);
        let recipe = shipped_boards().join(format!("../images/{image}"));
        assert!(recipe.join("recipe.sh").is_file(), "{name}: no recipe");
        assert!(recipe.join("boot.args").is_file(), "{name}: no boot.args");
    }
}

#[test]
fn a_vm_board_defaults_to_qemu_system_and_a_boot_timeout() {
    let d = Dir::new("defaults");
    d.file("vm", VM_BASE);
    let b = board::load(&d.0, "vm").unwrap();
    assert_eq!(b.emulation, Emulation::System);
    let Some(ProviderSpec::Qemu(vm)) = b.provider else {
        panic!("not a VM board");
    };
    assert_eq!(vm.boot_timeout, Duration::from_secs(300));
    assert_eq!(vm.keepalive_s, 15);
}

#[test]
fn a_workload_scale_that_is_not_positive_is_refused_at_its_line() {
    let d = Dir::new("scale");
    d.file("vm", &format!("workload_scale = -0.5\n{VM_BASE}"));
    let msg = d.load_err("vm");
    assert!(
        msg.contains("vm.toml:1") && msg.contains("workload_scale"),
        "{msg}"
    );
    d.file("ok", &format!("workload_scale = 0.25\n{VM_BASE}"));
    assert_eq!(board::load(&d.0, "ok").unwrap().workload_scale, 0.25);
    d.file("plain", VM_BASE);
    assert_eq!(board::load(&d.0, "plain").unwrap().workload_scale, 1.0);
}

#[test]
fn a_vm_board_with_a_transport_section_is_refused() {
    let d = Dir::new("transport");
    d.file(
        "vm",
        &format!("{VM_BASE}[transport]\nkind = \"ssh\"\nhost = \"x\"\n"),
    );
    let msg = d.load_err("vm");
    assert!(msg.contains("vm.toml"), "{msg}");
    assert!(msg.contains("remove its [transport]"), "{msg}");
}

#[test]
fn a_vm_board_inheriting_a_transport_is_refused_naming_the_base() {
    let d = Dir::new("inherited");
    d.file(
        "_base",
        "[transport]\nkind = \"ssh\"\nhost = \"x\"\nuser = \"u\"\nuse_agent = true\n",
    );
    d.file("vm", &format!("extends = \"_base\"\n{VM_BASE}"));
    let msg = d.load_err("vm");
    assert!(msg.contains("_base.toml"), "{msg}");
}

#[test]
fn a_vm_board_claiming_real_hardware_is_refused_at_its_line() {
    let d = Dir::new("emulation");
    d.file("vm", &format!("emulation = \"none\"\n{VM_BASE}"));
    let msg = d.load_err("vm");
    assert!(msg.contains("vm.toml:1"), "{msg}");
    assert!(msg.contains("qemu-system"), "{msg}");
}

#[test]
fn bad_qemu_fields_are_refused_where_they_are_set() {
    let d = Dir::new("fields");
    d.file("zero", &format!("{VM_BASE}boot_s = 0\n"));
    let msg = d.load_err("zero");
    assert!(
        msg.contains("zero.toml:7") && msg.contains("boot_s"),
        "{msg}"
    );

    d.file("name", &VM_BASE.replace("qemu-pi4", "../etc"));
    let msg = d.load_err("name");
    assert!(
        msg.contains("name.toml:6") && msg.contains("qemu.image"),
        "{msg}"
    );

    d.file("unknown", &format!("{VM_BASE}memory = 4\n"));
    let msg = d.load_err("unknown");
    assert!(
        msg.contains("unknown.toml:7") && msg.contains("memory"),
        "{msg}"
    );

    d.file(
        "orphan",
        "target = \"host\"\ncpu = \"native\"\nwork_dir = \"/tmp/x\"\n[transport]\nkind = \"local\"\n[qemu]\nboot_s = 5\n",
    );
    let msg = d.load_err("orphan");
    assert!(
        msg.contains("orphan.toml:7") && msg.contains("qemu.image"),
        "{msg}"
    );
}

#[test]
fn the_boot_watchdog_has_defaults_and_its_fields_are_checked_at_their_line() {
    let vm = |d: &Dir, name: &str| match board::load(&d.0, name).unwrap().provider {
        Some(ProviderSpec::Qemu(vm)) => vm,
        other => panic!("{name}: provider {other:?}"),
    };
    let d = Dir::new("watchdog");
    d.file("plain", VM_BASE);
    let plain = vm(&d, "plain");
    assert_eq!(plain.boot_stall, Duration::from_secs(90));
    assert_eq!(board::DEFAULT_BOOT_STALL_S, 90);
    assert_eq!(plain.boot_tries, 3);
    assert_eq!(plain.kernel_args, None);

    d.file(
        "set",
        &format!("{VM_BASE}boot_stall_s = 20\nboot_tries = 1\nkernel_args = \" loglevel=7 \"\n"),
    );
    let set = vm(&d, "set");
    assert_eq!(set.boot_stall, Duration::from_secs(20));
    assert_eq!(set.boot_tries, 1);
    assert_eq!(set.kernel_args.as_deref(), Some("loglevel=7"));

    for (name, line, field) in [
        ("stall0", "boot_stall_s = 0", "qemu.boot_stall_s"),
        ("tries0", "boot_tries = 0", "qemu.boot_tries"),
        ("tries11", "boot_tries = 11", "qemu.boot_tries"),
        (
            "twolines",
            "kernel_args = \"quiet\\ninit=/x\"",
            "qemu.kernel_args",
        ),
        ("typed", "boot_tries = \"3\"", "boot_tries"),
    ] {
        d.file(name, &format!("{VM_BASE}{line}\n"));
        let msg = d.load_err(name);
        assert!(
            msg.contains(&format!("{name}.toml:7")) && msg.contains(field),
            "{name}: {msg}"
        );
    }
    d.file(
        "orphan",
        "target = \"host\"\ncpu = \"native\"\nwork_dir = \"/tmp/x\"\n[transport]\nkind = \"local\"\n[qemu]\nboot_tries = 2\n",
    );
    let msg = d.load_err("orphan");
    assert!(
        msg.contains("orphan.toml:7") && msg.contains("qemu.image"),
        "{msg}"
    );
}
