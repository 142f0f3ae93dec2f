//! The instruction-set gate on small binaries built here with the Debian
//! cross compilers (scripts/setup-cross.sh): ARMv6 code passes for the
//! Pi Zero W; ARMv7, Thumb-2 and VFPv3 code, LSE atomics for a Cortex-A72,
//! a glibc newer than the board's, the wrong machine and the wrong float
//! ABI are refused with one line naming the instruction, the function and
//! the artifact.

use std::path::{Path, PathBuf};
use std::process::Command;

use lwm::board::BoardProfile;
use lwm::gate;

#[path = "support/cross.rs"]
mod cross;
use cross::{armv6_hf_flags, board, run};

fn scratch() -> PathBuf {
    cross::scratch("gate-test")
}

fn pi_zero() -> BoardProfile {
    board(
        "pi-zero-w",
        "arm-unknown-linux-gnueabihf",
        "arm1176jzf-s",
        Some("2.36"),
    )
}

fn pi4() -> BoardProfile {
    board(
        "pi4",
        "aarch64-unknown-linux-gnu",
        "cortex-a72",
        Some("2.36"),
    )
}

fn orin() -> BoardProfile {
    board(
        "jetson-orin-nano",
        "aarch64-unknown-linux-gnu",
        "cortex-a78ae",
        Some("2.35"),
    )
}

/// `source` compiled by `gcc` with `flags` into a shared object linked
/// without any start files or libraries, so it holds only this code.
fn shared_object(gcc: &str, flags: &[&str], source: &str, extra_link: &[&str]) -> PathBuf {
    let dir = scratch();
    let c = dir.join("code.c");
    std::fs::write(&c, source).unwrap();
    let so = dir.join("libcode.so");
    run(Command::new(gcc)
        .args(flags)
        .args(["-O2", "-fPIC", "-shared", "-nostdlib", "-Wl,--build-id"])
        .arg(&c)
        .arg("-o")
        .arg(&so)
        .args(extra_link));
    so
}

fn refusal(artifact: &Path, b: &BoardProfile) -> String {
    match gate::check(artifact, b) {
        Ok(report) => panic!("gate accepted {}: {report:#?}", artifact.display()),
        Err(e) => e.to_string(),
    }
}

const CONSTANT_SOURCE: &str = "unsigned load_constant(void) { return 0x12345678u; }\n\
     double scale(double x, double y) { return x * y + 0.5; }\n";

#[test]
fn armv6_code_passes_for_the_pi_zero() {
    let so = shared_object(
        "arm-linux-gnueabihf-gcc",
        &armv6_hf_flags(),
        CONSTANT_SOURCE,
        &[],
    );
    let report = gate::check(&so, &pi_zero()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.isa.contains("v6KZ") && report.isa.contains("VFPv2"),
        "{report:#?}"
    );
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.starts_with("instruction scan:")),
        "{report:#?}"
    );
}

#[test]
fn armv7_movw_is_refused_naming_instruction_function_and_artifact() {
    let so = shared_object(
        "arm-linux-gnueabihf-gcc",
        &[
            "-march=armv7-a",
            "-marm",
            "-mfpu=vfpv3-d16",
            "-mfloat-abi=hard",
        ],
        CONSTANT_SOURCE,
        &[],
    );
    let message = refusal(&so, &pi_zero());
    assert!(
        message.starts_with(&format!(
            "gate: {}: ARMv7 instruction 'movw' in function 'load_constant' at 0x",
            so.display()
        )),
        "{message}"
    );
    assert!(
        message.ends_with("(board pi-zero-w, cpu arm1176jzf-s)"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    // The same file is fine on an ARMv7 board.
    let armv7 = board(
        "armv7",
        "armv7-unknown-linux-gnueabihf",
        "cortex-a7",
        Some("2.36"),
    );
    gate::check(&so, &armv7).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn thumb2_code_is_refused() {
    let so = shared_object(
        "arm-linux-gnueabihf-gcc",
        &[
            "-march=armv7-a",
            "-mthumb",
            "-mfpu=vfpv3-d16",
            "-mfloat-abi=hard",
        ],
        "int pick(int a, int b) { return a ? b : 7; }\n",
        &[],
    );
    let message = refusal(&so, &pi_zero());
    assert!(
        message.contains(": Thumb-2 instruction '") && message.contains("in function 'pick'"),
        "{message}"
    );
}

#[test]
fn vfpv3_immediate_move_is_refused() {
    let so = shared_object(
        "arm-linux-gnueabihf-gcc",
        &[
            "-march=armv6kz+fp",
            "-marm",
            "-mfpu=vfpv3-d16",
            "-mfloat-abi=hard",
        ],
        "double one(void) { return 1.0; }\n",
        &[],
    );
    let message = refusal(&so, &pi_zero());
    assert!(
        message.contains("VFPv3 instruction 'vmov (immediate)' in function 'one'"),
        "{message}"
    );
}

#[test]
fn a_stripped_artifact_is_scanned_with_its_debug_companion() {
    let so = shared_object(
        "arm-linux-gnueabihf-gcc",
        &[
            "-march=armv7-a",
            "-marm",
            "-mfpu=vfpv3-d16",
            "-mfloat-abi=hard",
        ],
        CONSTANT_SOURCE,
        &[],
    );
    let stripped = so.with_file_name("stripped.so");
    run(Command::new("arm-linux-gnueabihf-strip")
        .arg("--strip-all")
        .arg("-o")
        .arg(&stripped)
        .arg(&so));
    // Without symbols, ARM code and literal data cannot be told apart.
    let message = refusal(&stripped, &pi_zero());
    assert!(message.contains("no symbol companion"), "{message}");
    // A companion from another build is refused.
    let other = shared_object(
        "arm-linux-gnueabihf-gcc",
        &armv6_hf_flags(),
        "int other(void) { return 1; }\n",
        &[],
    );
    let companion = lwm::build::debug_companion(&stripped);
    run(Command::new("arm-linux-gnueabihf-objcopy")
        .arg("--only-keep-debug")
        .arg(&other)
        .arg(&companion));
    let message = refusal(&stripped, &pi_zero());
    assert!(message.contains("build IDs differ"), "{message}");
    // The right companion names the function again.
    run(Command::new("arm-linux-gnueabihf-objcopy")
        .arg("--only-keep-debug")
        .arg(&so)
        .arg(&companion));
    let message = refusal(&stripped, &pi_zero());
    assert!(
        message.contains("ARMv7 instruction 'movw' in function 'load_constant'"),
        "{message}"
    );
}

const COUNTER_SOURCE: &str = "unsigned counter;\n\
     unsigned bump_counter(void) { return __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST); }\n";

#[test]
fn lse_atomics_are_refused_on_the_pi4_and_accepted_on_the_orin() {
    let so = shared_object(
        "aarch64-linux-gnu-gcc",
        &["-march=armv8.1-a", "-mno-outline-atomics"],
        COUNTER_SOURCE,
        &[],
    );
    let message = refusal(&so, &pi4());
    assert!(
        message.contains("ARMv8.1 LSE instruction 'ldadd' in function 'bump_counter'")
            && message.ends_with("(board pi4, cpu cortex-a72)"),
        "{message}"
    );
    let report = gate::check(&so, &orin()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report
        .checks
        .iter()
        .any(|c| c.starts_with("LSE atomics: allowed")));
}

#[test]
fn outline_atomics_helpers_pass_on_the_pi4() {
    // ARMv8.0 code calling libgcc's __aarch64_ldadd4_acq_rel, which uses
    // LSE only after checking the CPU for it.
    let so = shared_object(
        "aarch64-linux-gnu-gcc",
        &["-march=armv8-a", "-moutline-atomics"],
        COUNTER_SOURCE,
        &["-lgcc"],
    );
    let report = gate::check(&so, &pi4()).unwrap_or_else(|e| panic!("{e}"));
    let scan = report
        .checks
        .iter()
        .find(|c| c.starts_with("instruction scan:"))
        .expect("scan line");
    assert!(scan.contains("outline-atomics helpers"), "{scan}");
}

#[test]
fn a_glibc_newer_than_the_boards_is_refused() {
    let dir = scratch();
    let c = dir.join("main.c");
    std::fs::write(
        &c,
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("hello");
    run(Command::new("aarch64-linux-gnu-gcc")
        .arg(&c)
        .arg("-o")
        .arg(&exe));
    // Linked against Debian 12's glibc: __libc_start_main@GLIBC_2.34.
    let jetpack5 = board(
        "jetpack5",
        "aarch64-unknown-linux-gnu",
        "cortex-a78ae",
        Some("2.31"),
    );
    let message = refusal(&exe, &jetpack5);
    assert!(
        message.contains("needs GLIBC_2.34 (symbol __libc_start_main), the board has glibc 2.31"),
        "{message}"
    );
    let report = gate::check(&exe, &orin()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.newest_glibc.as_deref(), Some("GLIBC_2.34"));
}

#[test]
fn the_wrong_machine_or_float_abi_is_refused() {
    let aarch64 = shared_object(
        "aarch64-linux-gnu-gcc",
        &[],
        "int f(void) { return 1; }\n",
        &[],
    );
    let message = refusal(&aarch64, &pi_zero());
    assert!(message.contains("built for aarch64 64-bit"), "{message}");
    let soft = shared_object(
        "arm-linux-gnueabi-gcc",
        &["-march=armv6kz", "-marm", "-mfloat-abi=soft"],
        "int f(void) { return 1; }\n",
        &[],
    );
    let message = refusal(&soft, &pi_zero());
    assert!(
        message.contains(
            "soft-float ELF, the board's target arm-unknown-linux-gnueabihf is hard-float"
        ),
        "{message}"
    );
    let armel = board(
        "pi-zero-armel",
        "arm-unknown-linux-gnueabi",
        "arm1176jzf-s",
        Some("2.36"),
    );
    gate::check(&soft, &armel).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn an_unknown_cpu_is_refused_listing_the_known_ones() {
    let so = shared_object(
        "aarch64-linux-gnu-gcc",
        &[],
        "int f(void) { return 1; }\n",
        &[],
    );
    let message = refusal(
        &so,
        &board("odd", "aarch64-unknown-linux-gnu", "cortex-a999", None),
    );
    assert!(
        message.contains("unknown cpu `cortex-a999`") && message.contains("cortex-a72"),
        "{message}"
    );
}
