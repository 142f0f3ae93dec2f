//! The two ARMv6 traps the cross build avoids, shown on small programs:
//! Debian's armhf start files make an ARMv6 program ARMv7 + Thumb-2 (the
//! gate refuses it; with the stand-in start files it passes), and qemu-arm
//! with `-cpu arm1176` really traps ARMv7 code (so the emulated test runs
//! of the soft-float twin would catch what the gate catches statically).

use std::path::PathBuf;
use std::process::Command;

use lwm::board::BoardProfile;

#[path = "support/cross.rs"]
mod cross;
use cross::{armv6_hf_flags, board, run};

fn scratch(name: &str) -> PathBuf {
    cross::scratch(&format!("armv6-{name}"))
}

fn pi_zero(target: &str) -> BoardProfile {
    board("pi-zero-w", target, "arm1176jzf-s", Some("2.36"))
}

/// A constant ARMv7 code loads with movw/movt, and a division, which
/// ARMv6 has no instruction for (libgcc's __aeabi_uidiv).
const PROGRAM: &str = "#include <stdio.h>\n\
    int main(int argc, char **argv) {\n\
        (void)argv;\n\
        volatile unsigned big = 0x12345678u;\n\
        printf(\"%u\\n\", big / (unsigned)(argc + 2));\n\
        return 0;\n\
    }\n";

/// The same without a division: Debian's armhf libgcc.a, which would
/// provide __aeabi_uidiv, is Thumb-2 too (the Rust builds take those
/// helpers from compiler-builtins instead, so they never link it).
const PROGRAM_WITHOUT_DIVISION: &str = "#include <stdio.h>\n\
    int main(int argc, char **argv) {\n\
        (void)argv;\n\
        volatile unsigned big = 0x12345678u;\n\
        printf(\"%u\\n\", big * (unsigned)(argc + 2));\n\
        return 0;\n\
    }\n";

#[test]
fn debians_start_files_are_refused_and_the_stand_ins_pass() {
    let dir = scratch("startfiles");
    let source = dir.join("main.c");
    std::fs::write(&source, PROGRAM_WITHOUT_DIVISION).unwrap();
    let board = pi_zero("arm-unknown-linux-gnueabihf");

    let with_debians = dir.join("with-debian-start-files");
    run(Command::new("arm-linux-gnueabihf-gcc")
        .args(armv6_hf_flags())
        .arg("-O2")
        .arg(&source)
        .arg("-o")
        .arg(&with_debians));
    let message = lwm::gate::check(&with_debians, &board)
        .expect_err("ARMv6 code linked with Debian's ARMv7 start files passed the gate")
        .to_string();
    assert!(
        message.contains("Thumb-2 instruction") && message.contains("in function '_start'"),
        "{message}"
    );

    let stand_ins =
        lwm::build::armv6_startfiles(&lwm::build::default_workspace(), &dir.join("startfiles"))
            .unwrap_or_else(|e| panic!("{e:#}"));
    let with_stand_ins = dir.join("with-stand-ins");
    run(Command::new("arm-linux-gnueabihf-gcc")
        .args(armv6_hf_flags())
        .arg(format!("-B{}", stand_ins.display()))
        .arg("-O2")
        .arg(&source)
        .arg("-o")
        .arg(&with_stand_ins));
    let report = lwm::gate::check(&with_stand_ins, &board).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.isa.starts_with("ARM v6KZ, ARM/Thumb-1 only, VFPv2"),
        "{report:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn qemu_arm1176_traps_armv7_code_and_runs_armv6_code() {
    let dir = scratch("qemu");
    let source = dir.join("main.c");
    std::fs::write(&source, PROGRAM).unwrap();
    let run_on_arm1176 = |march: &str| {
        let exe = dir.join(format!("main-{march}"));
        run(Command::new("arm-linux-gnueabi-gcc")
            .arg(format!("-march={march}"))
            .args(["-marm", "-mfloat-abi=soft", "-O2"])
            .arg(&source)
            .arg("-o")
            .arg(&exe));
        let out = Command::new("qemu-arm")
            .args(["-cpu", "arm1176", "-L", "/usr/arm-linux-gnueabi"])
            .arg(&exe)
            .env_remove("QEMU_CPU")
            .output()
            .expect("run qemu-arm (scripts/setup-cross.sh installs it)");
        (exe, out)
    };
    let (armv6, out) = run_on_arm1176("armv6kz");
    assert!(out.status.success(), "{}: {:?}", armv6.display(), out);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "101806632\n");

    let (armv7, out) = run_on_arm1176("armv7-a");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(4),
        "{}: expected SIGILL, got {:?}",
        armv7.display(),
        out
    );
    // The gate refuses the same file before it could reach a board.
    let message = lwm::gate::check(&armv7, &pi_zero("arm-unknown-linux-gnueabi"))
        .expect_err("gate passed ARMv7 code")
        .to_string();
    assert!(message.contains("ARMv7 instruction"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
