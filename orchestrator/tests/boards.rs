//! Board profiles: the shipped ones load, inheritance merges field by
//! field, and every kind of bad profile is refused with file, line and field.

use std::time::Duration;

use lwm::board::{self, Access, Emulation, HostKeyPolicy};

#[path = "support/profile_dir.rs"]
mod profile_dir;
use profile_dir::{shipped_boards, Dir};

const SSH_BASE: &str = r#"
target = "aarch64-unknown-linux-gnu"
cpu = "cortex-a72"
work_dir = "/home/pi/lwm"
[transport]
kind = "ssh"
host = "pi4.local"
user = "pi"
identity = "keys/id"
"#;

#[test]
fn every_shipped_profile_loads() {
    let all = board::load_all(&shipped_boards()).unwrap();
    let names: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
    for want in ["local", "pi-zero-w", "pi4", "jetson-orin-nano"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.starts_with('_')),
        "bases are not boards: {names:?}"
    );
    let local = all.iter().find(|b| b.name == "local").unwrap();
    assert_eq!(local.access, Access::Local);
    assert_eq!(local.provider, None);
    assert!(local.work_dir.starts_with('/'), "{}", local.work_dir);
}

#[test]
fn pi_zero_inherits_from_the_raspberry_pi_os_base() {
    let pz = board::load(&shipped_boards(), "pi-zero-w").unwrap();
    assert_eq!(pz.target, "arm-unknown-linux-gnueabihf");
    assert_eq!(pz.cpu, "arm1176jzf-s");
    assert_eq!(pz.glibc.as_deref(), Some("2.36"));
    assert_eq!(pz.work_dir, "/home/pi/lwm");
    assert_eq!(
        pz.allocators.get("jemalloc").map(String::as_str),
        Some("/usr/lib/arm-linux-gnueabihf/libjemalloc.so.2")
    );
    assert_eq!(pz.timeouts.run, Duration::from_secs(1800), "own value wins");
    assert_eq!(pz.timeouts.connect, Duration::from_secs(15), "inherited");
    let Access::Ssh(Some(ssh)) = &pz.access else {
        panic!("ssh expected")
    };
    assert_eq!(pz.provider, None, "a board that is simply there");
    assert_eq!(ssh.host, "pizero.local");
    assert_eq!(ssh.user, "pi");
    assert_eq!(ssh.port, 22);
    assert_eq!(ssh.host_key_policy, HostKeyPolicy::Strict);
    assert!(ssh.identity.as_ref().unwrap().is_absolute());

    let pi4 = board::load(&shipped_boards(), "pi4").unwrap();
    assert_eq!(
        pi4.allocators["mimalloc"],
        "/usr/lib/aarch64-linux-gnu/libmimalloc.so.2"
    );
    assert_ne!(
        pz.file_sha256, pi4.file_sha256,
        "the hash covers the board's own file"
    );
}

#[test]
fn relative_paths_are_relative_to_the_file_that_wrote_them() {
    let d = Dir::new("relpath");
    d.file("b", SSH_BASE);
    let b = board::load(&d.0, "b").unwrap();
    let Access::Ssh(Some(ssh)) = b.access else {
        panic!()
    };
    assert_eq!(ssh.identity.unwrap(), d.0.join("keys/id"));
    assert_eq!(b.emulation, Emulation::None);
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let d = Dir::new("unknown");
    d.file("b", &SSH_BASE.replace("host = ", "hots = "));
    let msg = d.load_err("b");
    assert!(msg.contains("b.toml:7:"), "{msg}");
    assert!(msg.contains("unknown field `hots`"), "{msg}");
}

#[test]
fn unknown_field_in_an_extended_profile_names_that_file() {
    let d = Dir::new("unknown-base");
    d.file("_base", "glibc = \"2.36\"\nwork_dri = \"/x\"\n");
    d.file("b", &format!("extends = \"_base\"\n{SSH_BASE}"));
    let msg = d.load_err("b");
    assert!(msg.contains("_base.toml:2:"), "{msg}");
    assert!(msg.contains("work_dri"), "{msg}");
}

#[test]
fn mistyped_value_names_its_line() {
    let d = Dir::new("mistyped");
    d.file(
        "b",
        &SSH_BASE.replace("user = \"pi\"", "user = \"pi\"\nport = \"22\""),
    );
    let msg = d.load_err("b");
    assert!(msg.contains("b.toml:9:"), "{msg}");
    assert!(msg.contains("string"), "{msg}");
    // The README promises the field too, also outside any table.
    assert!(msg.contains("field `transport.port`"), "{msg}");
    d.file(
        "c",
        "workload_scale = \"fast\"\ntarget = \"host\"\ncpu = \"native\"\nwork_dir = \"/tmp/x\"\n[transport]\nkind = \"local\"\n",
    );
    let msg = d.load_err("c");
    assert!(
        msg.contains("c.toml:1: field `workload_scale`:") && msg.contains("\"fast\""),
        "{msg}"
    );
}

#[test]
fn bad_values_are_refused_where_they_are_set() {
    let d = Dir::new("values");
    let cases: &[(&str, &str, &str)] = &[
        ("cortex-a72\"", "arm1176jzf-s\"", "cannot run target"),
        ("cortex-a72\"", "cortex-a99\"", "unknown CPU"),
        (
            "aarch64-unknown-linux-gnu\"",
            "mips-unknown-linux-gnu\"",
            "unsupported target",
        ),
        ("/home/pi/lwm\"", "lwm\"", "absolute path"),
        (
            "kind = \"ssh\"",
            "kind = \"telnet\"",
            "not one of local, ssh",
        ),
        (
            "identity = \"keys/id\"",
            "identity = \"keys/id\"\nuse_agent = true",
            "not both",
        ),
    ];
    for (from, to, expect) in cases {
        d.file("b", &SSH_BASE.replace(from, to));
        let msg = d.load_err("b");
        assert!(msg.contains(expect), "{from} -> {to}: {msg}");
        assert!(msg.contains("b.toml:"), "{msg}");
    }
}

#[test]
fn local_boards_refuse_ssh_fields_and_ssh_boards_need_them() {
    let d = Dir::new("kinds");
    d.file(
        "l",
        "target = \"host\"\ncpu = \"native\"\nwork_dir = \"/tmp/x\"\n[transport]\nkind = \"local\"\nhost = \"a\"\n",
    );
    let msg = d.load_err("l");
    assert!(msg.contains("l.toml:6:"), "{msg}");
    assert!(msg.contains("transport.host"), "{msg}");

    d.file("s", &SSH_BASE.replace("host = \"pi4.local\"\n", ""));
    let msg = d.load_err("s");
    assert!(msg.contains("missing field `transport.host`"), "{msg}");
}

#[test]
fn missing_fields_missing_parents_and_cycles() {
    let d = Dir::new("chain");
    d.file(
        "m",
        &SSH_BASE.replace("target = \"aarch64-unknown-linux-gnu\"\n", ""),
    );
    assert!(d.load_err("m").contains("missing field `target`"));

    d.file("orphan", &format!("extends = \"nowhere\"\n{SSH_BASE}"));
    let msg = d.load_err("orphan");
    assert!(
        msg.contains("orphan.toml:1:") && msg.contains("nowhere"),
        "{msg}"
    );

    d.file("x", "extends = \"y\"\n")
        .file("y", "extends = \"x\"\n");
    assert!(d.load_err("x").contains("cycle"));

    let msg = d.load_err("no-such-board");
    assert!(msg.contains("unknown board `no-such-board`"), "{msg}");
}

#[test]
fn builtin_allocator_names_cannot_be_redefined() {
    let d = Dir::new("alloc");
    d.file(
        "b",
        &format!("{SSH_BASE}[allocators]\nsystem = \"/lib/libc.so.6\"\n"),
    );
    let msg = d.load_err("b");
    assert!(
        msg.contains("b.toml:11:") && msg.contains("built in"),
        "{msg}"
    );
}

/// One table names the CPUs for profile loading and for the gate: each CPU
/// a profile may name loads with a target it runs and is known to the gate
/// (whatever else the gate then says of an x86-64 test binary), and the
/// gate knows no CPU a profile could not name.
#[test]
fn every_cpu_a_profile_may_name_is_known_to_the_gate() {
    let d = Dir::new("cpus");
    let artifact = std::env::current_exe().unwrap();
    let targets = std::iter::once("host").chain(lwm::platform::TARGETS.iter().map(|t| t.triple));
    let mut loaded = 0;
    for cpu in lwm::platform::CPUS {
        let target = targets
            .clone()
            .find(|t| lwm::platform::cpu_runs(&cpu.cpu, t))
            .unwrap_or_else(|| panic!("no target a profile can name runs {}", cpu.name));
        d.file(
            "b",
            &format!(
                "target = \"{target}\"\ncpu = \"{}\"\nwork_dir = \"/tmp/lwm\"\n[transport]\nkind = \"local\"\n",
                cpu.name
            ),
        );
        let mut profile =
            board::load(&d.0, "b").unwrap_or_else(|e| panic!("cpu {}: {e}", cpu.name));
        if profile.target == "host" {
            profile.target = lwm::build::host_triple();
        }
        if let Err(e) = lwm::gate::check(&artifact, &profile) {
            assert!(!e.0.contains("unknown cpu"), "cpu {}: {e}", cpu.name);
        }
        loaded += 1;
    }
    assert!(loaded >= 22, "{loaded} CPUs");
}

/// The two tables disagreed before: `x86-64` loaded and then the gate
/// refused it, `cortex-a8` the other way round.
#[test]
fn x86_64_passes_the_gate_and_cortex_a8_loads() {
    let d = Dir::new("x86-64");
    d.file(
        "x",
        "target = \"x86_64-unknown-linux-gnu\"\ncpu = \"x86-64\"\nwork_dir = \"/tmp/lwm\"\n[transport]\nkind = \"local\"\n",
    );
    let x = board::load(&d.0, "x").unwrap();
    if cfg!(target_arch = "x86_64") {
        let report = lwm::gate::check(&std::env::current_exe().unwrap(), &x).unwrap();
        assert!(
            report.checks.iter().any(|c| c.contains("x86-64 board")),
            "{report:?}"
        );
    }
    d.file(
        "a8",
        &SSH_BASE
            .replace("aarch64-unknown-linux-gnu", "armv7-unknown-linux-gnueabihf")
            .replace("cortex-a72", "cortex-a8"),
    );
    let a8 = board::load(&d.0, "a8").unwrap();
    assert_eq!(a8.cpu, "cortex-a8");
    d.file("a64", &SSH_BASE.replace("cortex-a72", "cortex-a8"));
    let msg = d.load_err("a64");
    assert!(
        msg.contains("a64.toml:3: field `cpu`: a cortex-a8 cannot run target"),
        "{msg}"
    );
}
