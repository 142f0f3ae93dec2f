//! The instruction-set gate: every artifact is checked against the board's
//! CPU and glibc before it is pushed.
//!
//! Checks, in order: the ELF machine, class and float ABI match the board's
//! target; an instruction scan of every executable section (ARMv6 CPUs: no
//! Thumb-2, ARMv7-only, VFPv3+ or NEON instruction; ARMv8.0 CPUs: no LSE
//! atomics outside the run-time-dispatched outline-atomics helpers); the
//! ARM build attributes (Tag_CPU_arch, Tag_THUMB_ISA_use, Tag_FP_arch,
//! Tag_Advanced_SIMD_arch) within the CPU; and no GLIBC_ symbol version
//! newer than the board's glibc.
//!
//! The instruction scan is the authority: rust-lld, which links the cross
//! builds, keeps the build attributes of its first input (the C start
//! files) rather than merging them, so on its output the attributes are a
//! coarse check (GNU ld merges them).
//!
//! A stripped artifact has no symbol table, so the scan takes symbols (the
//! `$a`/`$t`/`$d` mapping symbols and function names) from its `.debug`
//! companion, written by `lwm build` beside it and matched by build ID.

mod arm32;
mod glibc;
mod scan;

use std::path::Path;

use lwm_elf::{self as elf, Elf, Symbol};

use crate::board::BoardProfile;
use crate::platform::cpu;
use crate::platform::target::{self, TargetIsa};

/// A gate refusal: one line naming the artifact, and where it applies the
/// instruction and the function that contains it.
#[derive(Debug)]
pub struct GateFailure(pub String);

impl std::fmt::Display for GateFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GateFailure {}

/// What the gate checked on one artifact (kept in the manifest).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateReport {
    pub artifact: String,
    /// e.g. `ARM v6KZ, ARM/Thumb-1 only, VFPv2, hard-float`.
    pub isa: String,
    /// Newest GLIBC_x.y version the artifact needs, if any.
    pub newest_glibc: Option<String>,
    /// Each check that ran, in words.
    pub checks: Vec<String>,
}

/// Everything a check needs, and the one-line failure format.
struct Context<'a> {
    artifact: &'a Path,
    board: &'a BoardProfile,
}

impl Context<'_> {
    fn fail(&self, what: impl std::fmt::Display) -> GateFailure {
        GateFailure(format!(
            "gate: {}: {what} (board {}, cpu {})",
            self.artifact.display(),
            self.board.name,
            self.board.cpu
        ))
    }
}

/// Checks `artifact` for `board`'s CPU and glibc.
pub fn check(artifact: &Path, board: &BoardProfile) -> Result<GateReport, GateFailure> {
    let cx = Context { artifact, board };
    let data = std::fs::read(artifact).map_err(|e| cx.fail(format!("cannot read: {e}")))?;
    let elf = Elf::parse(&data).map_err(|e| cx.fail(format!("not a usable ELF file: {e}")))?;
    let cpu = cpu::lookup(&board.cpu).ok_or_else(|| {
        cx.fail(format!(
            "unknown cpu `{}` in the board profile; the gate knows {}",
            board.cpu,
            cpu::names()
        ))
    })?;
    let mut checks = Vec::new();
    let isa = check_machine(&cx, &elf, &mut checks)?;

    match (cpu, elf.machine) {
        (cpu::Cpu::Native, _) => checks.push(format!(
            "instruction set: {} on the host itself (cpu native), not scanned",
            elf.machine_name()
        )),
        (cpu::Cpu::X86_64, elf::EM_X86_64) => checks.push(format!(
            "instruction set: {} on an x86-64 board (cpu {}), the baseline every x86-64 runs, not scanned",
            elf.machine_name(),
            board.cpu
        )),
        (cpu::Cpu::X86_64, _) => {
            return Err(cx.fail(format!("{} code on an x86-64 board", elf.machine_name())))
        }
        (cpu::Cpu::Arm { arm32, .. }, elf::EM_ARM) => {
            let limits =
                arm32.ok_or_else(|| cx.fail("32-bit ARM code, but this CPU runs no AArch32"))?;
            if limits.scan {
                let symbols = symbols_for(&cx, &elf, true)?;
                let (finding, coverage) = scan::scan_arm32(&elf, &symbols);
                if let Some(f) = finding {
                    return Err(cx.fail(describe(&f, limits.label)));
                }
                checks.push(format!(
                    "instruction scan: {} ARM/Thumb instructions in {}: no Thumb-2, ARMv7-only, VFPv3+ or NEON instruction",
                    coverage.instructions,
                    coverage.sections.join(", ")
                ));
            }
            check_arm_attributes(&cx, &elf, &limits, &mut checks)?;
        }
        (cpu::Cpu::Arm { aarch64, .. }, elf::EM_AARCH64) => {
            let limits =
                aarch64.ok_or_else(|| cx.fail("AArch64 code, but this CPU is 32-bit only"))?;
            if limits.lse {
                checks.push(format!("LSE atomics: allowed ({})", limits.label));
            } else {
                let symbols = symbols_for(&cx, &elf, false)?;
                let (finding, coverage) = scan::scan_lse(&elf, &symbols);
                if let Some(f) = finding {
                    return Err(cx.fail(describe(&f, limits.label)));
                }
                let mut line = format!(
                    "instruction scan: {} AArch64 instructions in {}: no LSE atomics",
                    coverage.instructions,
                    coverage.sections.join(", ")
                );
                if coverage.allowed > 0 {
                    line.push_str(&format!(
                        " outside {} in {} outline-atomics helpers (run-time dispatched on HWCAP_ATOMICS)",
                        coverage.allowed,
                        coverage.allowed_in.len()
                    ));
                }
                checks.push(line);
            }
        }
        (cpu::Cpu::Arm { .. }, _) => {
            return Err(cx.fail(format!("{} code on an ARM board", elf.machine_name())))
        }
    }

    let newest_glibc = check_glibc(&cx, &elf, &mut checks)?;
    Ok(GateReport {
        artifact: artifact.display().to_string(),
        isa,
        newest_glibc,
        checks,
    })
}

/// `ARMv7 instruction 'movw' in function 'f' at 0x1234 (3 in all; the CPU
/// is ...)`.
fn describe(f: &scan::Finding, cpu_is: &str) -> String {
    let more = if f.total > 1 {
        format!(", {} such instructions in all", f.total)
    } else {
        String::new()
    };
    format!(
        "{} instruction '{}' in function '{}' at {:#x}{more}; the CPU runs {cpu_is}",
        f.violation.kind, f.violation.mnemonic, f.function, f.address
    )
}

/// ELF machine, class and float ABI against the board's target triple;
/// returns the ISA description for the report.
fn check_machine(cx: &Context, elf: &Elf, checks: &mut Vec<String>) -> Result<String, GateFailure> {
    let target = cx.board.target.as_str();
    let Some(spec) = target::target(target) else {
        let known: Vec<&str> = target::TARGETS.iter().map(|t| t.triple).collect();
        return Err(cx.fail(format!(
            "target `{target}`: the gate knows {}",
            known.join(", ")
        )));
    };
    let (machine, is64) = match spec.isa {
        TargetIsa::Aarch64 => (elf::EM_AARCH64, true),
        TargetIsa::Arm32 { .. } => (elf::EM_ARM, false),
        TargetIsa::X86_64 => (elf::EM_X86_64, true),
    };
    if elf.machine != machine || elf.is64 != is64 {
        return Err(cx.fail(format!(
            "built for {} {}-bit, the board's target {target} needs {}",
            elf.machine_name(),
            if elf.is64 { 64 } else { 32 },
            elf::machine_name(machine)
        )));
    }
    if machine != elf::EM_ARM {
        checks.push(format!(
            "ELF: {} 64-bit, as target {target}",
            elf.machine_name()
        ));
        return Ok(match machine {
            elf::EM_AARCH64 => "AArch64".to_string(),
            _ => elf.machine_name(),
        });
    }
    let hard = elf.flags & elf::EF_ARM_ABI_FLOAT_HARD != 0;
    let soft = elf.flags & elf::EF_ARM_ABI_FLOAT_SOFT != 0;
    let wants_hard = matches!(
        spec.isa,
        TargetIsa::Arm32 {
            hard_float: true,
            ..
        }
    );
    if (wants_hard && !hard) || (!wants_hard && hard) {
        return Err(cx.fail(format!(
            "{} ELF, the board's target {target} is {}",
            if hard {
                "hard-float"
            } else if soft {
                "soft-float"
            } else {
                "float-ABI-unmarked"
            },
            if wants_hard {
                "hard-float"
            } else {
                "soft-float"
            }
        )));
    }
    let abi = if hard { "hard-float" } else { "soft-float" };
    checks.push(format!(
        "ELF: ARM 32-bit, {abi}, EABI version {}, as target {target}",
        elf.flags >> 24
    ));
    let attrs = elf.arm_attributes();
    let get = |tag| attrs.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
    let thumb = match get(9) {
        Some(2..) => "Thumb-2",
        Some(1) => "ARM/Thumb-1 only",
        _ => "no Thumb",
    };
    Ok(format!(
        "ARM {}, {thumb}, {}, {abi}",
        get(6).map_or("(no Tag_CPU_arch)", elf::arm_arch_name),
        fp_name(get(10).unwrap_or(0))
    ))
}

fn fp_name(tag: u64) -> &'static str {
    match tag {
        0 => "no FP",
        1 => "VFPv1",
        2 => "VFPv2",
        3 => "VFPv3",
        4 => "VFPv3-D16",
        5 => "VFPv4",
        6 => "VFPv4-D16",
        7 => "ARMv8 FP",
        8 => "ARMv8 FP-D16",
        _ => "FP later than ARMv8",
    }
}

/// Tag_CPU_arch, Tag_THUMB_ISA_use, Tag_FP_arch and Tag_Advanced_SIMD_arch
/// within the CPU's limits.
fn check_arm_attributes(
    cx: &Context,
    elf: &Elf,
    limits: &cpu::Arm32Limits,
    checks: &mut Vec<String>,
) -> Result<(), GateFailure> {
    let attrs = elf.arm_attributes();
    if attrs.is_empty() {
        checks.push("ARM attributes: none in the file, not checked".into());
        return Ok(());
    }
    let get = |tag| attrs.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
    let says = |what: String| {
        cx.fail(format!(
            "ELF attributes say {what}; the CPU runs {} only",
            limits.label
        ))
    };
    if let Some(arch) = get(6) {
        let m_profile = matches!(arch, 11 | 12 | 13 | 16 | 17);
        let v6t2_without_thumb2 = arch == 8 && !limits.thumb2;
        if arch > limits.max_arch_tag || m_profile || v6t2_without_thumb2 {
            return Err(says(format!(
                "ARM {} (Tag_CPU_arch)",
                elf::arm_arch_name(arch)
            )));
        }
    }
    if get(9).is_some_and(|t| t >= 2) && !limits.thumb2 {
        return Err(says("Thumb-2 (Tag_THUMB_ISA_use)".into()));
    }
    if let Some(fp) = get(10).filter(|fp| *fp > limits.max_fp_tag) {
        return Err(says(format!("{} (Tag_FP_arch)", fp_name(fp))));
    }
    if get(12).is_some_and(|s| s > 0) && !limits.neon {
        return Err(says("NEON (Tag_Advanced_SIMD_arch)".into()));
    }
    checks.push(format!(
        "ARM attributes: Tag_CPU_arch {}, {}, {}: within {}",
        get(6).map_or("absent", elf::arm_arch_name),
        if get(9).is_some_and(|t| t >= 2) {
            "Thumb-2"
        } else {
            "Thumb-1"
        },
        fp_name(get(10).unwrap_or(0)),
        limits.label
    ));
    Ok(())
}

/// The newest GLIBC_ version needed, against the board's glibc.
fn check_glibc(
    cx: &Context,
    elf: &Elf,
    checks: &mut Vec<String>,
) -> Result<Option<String>, GateFailure> {
    let needed = elf.needed_symbol_versions();
    let Some((newest, symbols)) = glibc::newest(&needed) else {
        checks.push("glibc: no versioned glibc symbols needed".into());
        return Ok(None);
    };
    let names = |symbols: &[String]| {
        let shown: Vec<&str> = symbols.iter().take(3).map(String::as_str).collect();
        let more = symbols.len().saturating_sub(3);
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    };
    match &cx.board.glibc {
        None => checks.push(format!(
            "glibc: needs {newest} ({}); board glibc not declared (checked when run)",
            names(&symbols)
        )),
        Some(board) => {
            let have = glibc::parse(board)
                .ok_or_else(|| cx.fail(format!("board glibc `{board}` is not a version number")))?;
            if glibc::parse(&newest).is_some_and(|need| need > have) {
                return Err(cx.fail(format!(
                    "needs {newest} (symbol {}), the board has glibc {board}",
                    names(&symbols)
                )));
            }
            checks.push(format!("glibc: needs {newest} at most, board has {board}"));
        }
    }
    Ok(Some(newest))
}

/// Symbols for the scan: the artifact's own .symtab, else its `.debug`
/// companion's (which must carry the same build ID). `required`: without
/// mapping symbols ARM code, Thumb code and data cannot be told apart, so
/// the 32-bit scan refuses to guess.
fn symbols_for(cx: &Context, elf: &Elf, required: bool) -> Result<Vec<Symbol>, GateFailure> {
    let own = elf.symbol_entries(false);
    if !own.is_empty() {
        return Ok(own);
    }
    let companion = crate::build::debug_companion(cx.artifact);
    match std::fs::read(&companion) {
        Ok(bytes) => {
            let debug =
                Elf::parse(&bytes).map_err(|e| cx.fail(format!("{}: {e}", companion.display())))?;
            if build_id(&debug) != build_id(elf) {
                return Err(cx.fail(format!(
                    "{} is not this file's symbol companion (build IDs differ)",
                    companion.display()
                )));
            }
            Ok(debug.symbol_entries(false))
        }
        Err(_) if required => Err(cx.fail(format!(
            "stripped, and no symbol companion {}: cannot tell ARM code, Thumb code and data apart",
            companion.display()
        ))),
        // AArch64 has no Thumb state; function names then come from .dynsym.
        Err(_) => Ok(elf.symbol_entries(true)),
    }
}

fn build_id<'a>(elf: &Elf<'a>) -> Option<&'a [u8]> {
    elf.sections
        .iter()
        .find(|s| s.name == ".note.gnu.build-id")
        .map(|s| elf.section_data(s))
}
