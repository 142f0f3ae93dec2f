//! The C-level checks of `lwm qualify` (`c-conformance`, `threads-fork`)
//! built for every board target with the real Debian cross compilers
//! (installed by scripts/setup-cross.sh, which scripts/test.sh runs first),
//! exactly as `lwm qualify` builds them for a board: every program passes
//! the instruction-set and glibc gate of the boards that use the target
//! (ARMv6 hard-float included: the stand-in start files keep Debian's ARMv7
//! ones out), and where qemu-user can run the target, a check runs and
//! passes there against the target's glibc (the control). A few seconds.

use std::path::Path;
use std::process::Command;

use lwm::board::BoardProfile;
use lwm::qualify::ctests;

#[path = "support/cross.rs"]
mod cross;

fn board(name: &str, target: &str, cpu: &str) -> BoardProfile {
    cross::board(name, target, cpu, Some("2.36"))
}

const BOTH: &str = "[qualification]\nname = \"c\"\ndescription = \"d\"\n\
[[requirement]]\nid = \"C\"\ndescription = \"d\"\nkind = \"c-conformance\"\nmandatory = true\n\
[[requirement]]\nid = \"T\"\ndescription = \"d\"\nkind = \"threads-fork\"\nmandatory = true\n";

/// A target, the boards it must suit, and the qemu-user command that runs
/// its programs here (None: none can).
type Target = (
    &'static str,
    Vec<BoardProfile>,
    Option<&'static [&'static str]>,
);

#[test]
fn the_c_checks_build_for_every_board_target_pass_its_gate_and_run_under_qemu_user() {
    let criteria = lwm::qualify::criteria::parse(Path::new("c.toml"), BOTH).unwrap();
    let out = std::env::temp_dir().join(format!("lwm-qualify-cross-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let targets: [Target; 4] = [
        (
            "arm-unknown-linux-gnueabihf",
            vec![board(
                "pi-zero-w",
                "arm-unknown-linux-gnueabihf",
                "arm1176jzf-s",
            )],
            // Debian's armhf loader is ARMv7: not runnable on an emulated ARM1176.
            None,
        ),
        (
            "arm-unknown-linux-gnueabi",
            vec![board(
                "pi-zero-armel",
                "arm-unknown-linux-gnueabi",
                "arm1176jzf-s",
            )],
            Some(&[
                "qemu-arm",
                "-cpu",
                "arm1176",
                "-L",
                "/usr/arm-linux-gnueabi",
            ]),
        ),
        (
            "aarch64-unknown-linux-gnu",
            vec![
                board("pi4", "aarch64-unknown-linux-gnu", "cortex-a72"),
                board(
                    "jetson-orin-nano",
                    "aarch64-unknown-linux-gnu",
                    "cortex-a78ae",
                ),
            ],
            Some(&[
                "qemu-aarch64",
                "-cpu",
                "cortex-a72",
                "-L",
                "/usr/aarch64-linux-gnu",
            ]),
        ),
        (
            "armv7-unknown-linux-gnueabihf",
            vec![board("armv7", "armv7-unknown-linux-gnueabihf", "cortex-a7")],
            Some(&["qemu-arm", "-L", "/usr/arm-linux-gnueabihf"]),
        ),
    ];
    for (target, boards, runner) in targets {
        let dir = out.join(target);
        let built = ctests::build(
            &lwm::build::default_workspace(),
            &criteria,
            target,
            &boards[0].name,
            &dir,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("programs to build");
        assert_eq!(built.programs.len(), 7, "{target}");
        let log = std::fs::read_to_string(dir.join("build.txt")).unwrap();
        assert!(log.contains("-gcc"), "{log}");
        for (name, exe) in &built.programs {
            for b in &boards {
                let report = lwm::gate::check(exe, b)
                    .unwrap_or_else(|e| panic!("{target}: {name} for board {}: {e}", b.name));
                eprintln!("{target}: {name} for {}: {}", b.name, report.isa);
            }
        }
        if let Some([qemu, args @ ..]) = runner {
            let o = Command::new(qemu)
                .args(args)
                .arg(&built.programs["aligned"])
                .arg("aligned_alloc_valid")
                .output()
                .unwrap_or_else(|e| panic!("{qemu}: {e}"));
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success() && stdout.contains("# aligned: all "),
                "{target} under {qemu}: {:?}\n{stdout}{}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    // The ARMv6 hard-float build used the stand-in start files.
    let log = std::fs::read_to_string(out.join("arm-unknown-linux-gnueabihf/build.txt")).unwrap();
    assert!(
        log.contains("-march=armv6kz+fp") && log.contains("startfiles"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_target_lwm_cannot_build_for_is_refused_in_one_line_naming_the_board() {
    let criteria = lwm::qualify::criteria::parse(Path::new("c.toml"), BOTH).unwrap();
    let out = std::env::temp_dir().join(format!("lwm-qualify-nocc-{}", std::process::id()));
    let e = ctests::build(
        &lwm::build::default_workspace(),
        &criteria,
        "riscv64gc-unknown-linux-gnu",
        "visionfive",
        &out,
    )
    .unwrap_err();
    assert!(
        e.starts_with("board visionfive: target riscv64gc-unknown-linux-gnu: the C-level checks cannot be built for it"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn lwm_qualify_without_the_boards_cross_compiler_exits_2_naming_the_board_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("lwm-qualify-nogcc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("boards")).unwrap();
    std::fs::create_dir_all(dir.join("empty-path")).unwrap();
    std::fs::write(dir.join("key"), "").unwrap();
    // An aarch64 board (never reached: the C checks are built first).
    std::fs::write(
        dir.join("boards/far.toml"),
        format!(
            "description = \"far\"\ntarget = \"aarch64-unknown-linux-gnu\"\ncpu = \"cortex-a72\"\n\
             work_dir = \"/tmp/lwm-never\"\n[transport]\nkind = \"ssh\"\nhost = \"127.0.0.1\"\n\
             port = 1\nuser = \"nobody\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\n",
            dir.join("key").display(),
            dir.join("known_hosts").display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("c.toml"), BOTH).unwrap();
    // A PATH without the cross compiler (nor anything else).
    let out = Command::new(env!("CARGO_BIN_EXE_lwm"))
        .current_dir(&dir)
        .env("PATH", dir.join("empty-path"))
        .args(["--boards-dir", "boards", "qualify", "--board", "far"])
        .args(["--criteria", "c.toml", "--out", "b", "--no-progress"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert_eq!(
        e.trim_end(),
        "lwm: board far: the C-level checks for aarch64-unknown-linux-gnu need `aarch64-linux-gnu-gcc`, which is not installed (run scripts/setup-cross.sh)"
    );
    assert!(!dir.join("b").exists(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}
