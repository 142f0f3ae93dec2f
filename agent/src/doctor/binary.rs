//! Will this binary run here? Machine, float ABI and loader, the ARM
//! instruction-set level, LSE atomics on AArch64, and the glibc versions it
//! needs, each against what the CPU and system have.

use super::check;
use super::cpu::{parse_version, CpuCaps};
use crate::elf::{self, Elf};
use crate::schema::{Check, CheckStatus};

/// All checks for one binary's bytes against `cpu`. `path` is for messages;
/// `interp_exists` answers whether a loader path exists on this system.
pub fn check_binary(
    path: &str,
    data: &[u8],
    cpu: &CpuCaps,
    interp_exists: &dyn Fn(&str) -> bool,
) -> Vec<Check> {
    let t = Some(path);
    let elf = match Elf::parse(data) {
        Ok(e) => e,
        Err(e) => {
            return vec![check(
                "elf",
                t,
                CheckStatus::Fail,
                format!("cannot read: {e}"),
            )]
        }
    };
    let machine = machine_check(&elf, cpu, t);
    let foreign = machine.status == CheckStatus::Fail;
    let mut out = vec![machine];
    // Nothing else about a binary for another machine is worth saying.
    if foreign {
        return out;
    }
    out.extend(float_abi_and_loader(&elf, t, interp_exists));
    if elf.machine == elf::EM_ARM {
        out.extend(arm_instruction_set(&elf, cpu, t));
    }
    if elf.machine == elf::EM_AARCH64 {
        out.push(lse_atomics(&elf, cpu, t));
    }
    out.extend(glibc_versions(&elf, cpu, t));
    out
}

/// ARM Tag_CPU_arch → the architecture level a CPU needs to run it.
fn arm_level_needed(tag: u64) -> (u32, bool) {
    match tag {
        0..=5 => (5, false),
        6 | 7 | 9 => (6, false),
        8 => (6, true), // v6T2: Thumb-2 on v6, which the ARM1176 lacks
        10 => (7, false),
        14.. => (8, false),
        _ => (99, false), // M-profile: not for an A-profile Linux board
    }
}

/// The binary's machine and word size against the CPU's.
fn machine_check(elf: &Elf, cpu: &CpuCaps, t: Option<&str>) -> Check {
    let bits = if elf.is64 { 64 } else { 32 };
    let compat32 = cpu.machine == elf::EM_AARCH64 && elf.machine == elf::EM_ARM
        || cpu.machine == elf::EM_X86_64 && elf.machine == elf::EM_386;
    if elf.machine == cpu.machine && elf.is64 == cpu.is64 {
        check(
            "elf_machine",
            t,
            CheckStatus::Pass,
            format!("{} {bits}-bit, as the CPU", elf.machine_name()),
        )
    } else if compat32 {
        check("elf_machine", t, CheckStatus::Warn, format!("{} {bits}-bit on a 64-bit {} kernel: runs only with 32-bit compat support and a 32-bit loader", elf.machine_name(), elf::machine_name(cpu.machine)))
    } else {
        check(
            "elf_machine",
            t,
            CheckStatus::Fail,
            format!(
                "built for {} {bits}-bit; this CPU runs {}",
                elf.machine_name(),
                elf::machine_name(cpu.machine)
            ),
        )
    }
}

/// Float ABI and loader: a hard-float binary needs ld-linux-armhf.so.3.
fn float_abi_and_loader(
    elf: &Elf,
    t: Option<&str>,
    interp_exists: &dyn Fn(&str) -> bool,
) -> Vec<Check> {
    let mut out = Vec::new();
    if elf.machine == elf::EM_ARM {
        let abi = if elf.flags & elf::EF_ARM_ABI_FLOAT_HARD != 0 {
            "hard-float"
        } else if elf.flags & elf::EF_ARM_ABI_FLOAT_SOFT != 0 {
            "soft-float"
        } else {
            "float ABI unmarked"
        };
        out.push(check(
            "float_abi",
            t,
            CheckStatus::Pass,
            format!("{abi}, EABI version {}", elf.flags >> 24),
        ));
    }
    match &elf.interpreter {
        Some(i) if interp_exists(i) => out.push(check(
            "loader",
            t,
            CheckStatus::Pass,
            format!("{i} present"),
        )),
        Some(i) => out.push(check(
            "loader",
            t,
            CheckStatus::Fail,
            format!("needs the loader {i}, which this system lacks (wrong float ABI or libc?)"),
        )),
        None => {}
    }
    out
}

/// Instruction set level from the ARM build attributes: architecture,
/// Thumb-2, VFPv3, NEON.
fn arm_instruction_set(elf: &Elf, cpu: &CpuCaps, t: Option<&str>) -> Vec<Check> {
    let mut out = Vec::new();
    let attrs = elf.arm_attributes();
    let get = |tag| attrs.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
    match (get(6), cpu.arm_level) {
        (Some(arch), Some(level)) => {
            let (need, thumb2) = arm_level_needed(arch);
            if need > level || (thumb2 && !cpu.thumb2) {
                out.push(check("cpu_arch", t, CheckStatus::Fail, format!("built for ARM {} (Tag_CPU_arch), this CPU is ARMv{level}: it will die with SIGILL", elf::arm_arch_name(arch))));
            } else {
                out.push(check(
                    "cpu_arch",
                    t,
                    CheckStatus::Pass,
                    format!(
                        "ARM {} code on an ARMv{level} CPU",
                        elf::arm_arch_name(arch)
                    ),
                ));
            }
        }
        (None, _) => out.push(check(
            "cpu_arch",
            t,
            CheckStatus::Warn,
            "no ARM build attributes: architecture level not checked".into(),
        )),
        (_, None) => out.push(check(
            "cpu_arch",
            t,
            CheckStatus::Warn,
            "CPU architecture level unknown".into(),
        )),
    }
    if get(9) == Some(2) && !cpu.thumb2 {
        out.push(check(
            "thumb",
            t,
            CheckStatus::Fail,
            "uses Thumb-2 (Tag_THUMB_ISA_use=2); this CPU has Thumb-1 only".into(),
        ));
    }
    if let Some(fp) = get(10) {
        if (3..=8).contains(&fp) && !cpu.vfp3 {
            out.push(check(
                "fpu",
                t,
                CheckStatus::Fail,
                format!("needs VFPv3 or later (Tag_FP_arch={fp}); this CPU has VFPv2 at most"),
            ));
        }
    }
    if get(12).is_some_and(|v| v > 0) && !cpu.neon {
        out.push(check(
            "simd",
            t,
            CheckStatus::Fail,
            "uses NEON (Tag_Advanced_SIMD_arch); this CPU has none".into(),
        ));
    }
    out
}

/// AArch64: LSE atomics on a v8.0 core (Cortex-A72 / Raspberry Pi 4).
/// The outline-atomics helpers Rust links in hold LSE instructions that
/// run only after checking the CPU (`elf::lse_is_guarded`): not a fault.
fn lse_atomics(elf: &Elf, cpu: &CpuCaps, t: Option<&str>) -> Check {
    let (mut unguarded, mut guarded) = (0, 0);
    let mut first = None;
    for (name, code) in elf.code_sections() {
        let scan = elf::scan_lse(code, elf.little_endian);
        unguarded += scan.unguarded;
        guarded += scan.guarded;
        if let (None, Some(off)) = (&first, scan.first_unguarded) {
            first = Some(format!("{name}+{off:#x}"));
        }
    }
    let helpers = if guarded > 0 {
        format!(" ({guarded} in outline-atomics helpers, used only when the CPU has LSE)")
    } else {
        String::new()
    };
    if unguarded == 0 {
        check(
            "lse_atomics",
            t,
            CheckStatus::Pass,
            format!("no unconditional ARMv8.1 LSE / v8.3 LDAPR instructions{helpers}"),
        )
    } else if cpu.lse {
        check(
            "lse_atomics",
            t,
            CheckStatus::Pass,
            format!("{unguarded} LSE instructions; this CPU has LSE atomics"),
        )
    } else {
        check("lse_atomics", t, CheckStatus::Fail, format!("{unguarded} ARMv8.1 LSE (or v8.3 LDAPR) instructions, first at {}; this CPU is ARMv8.0 without atomics: SIGILL{helpers}", first.unwrap_or_default()))
    }
}

/// The newest glibc symbol version the binary needs against the system's.
fn glibc_versions(elf: &Elf, cpu: &CpuCaps, t: Option<&str>) -> Option<Check> {
    let needed: Vec<(u32, u32)> = elf
        .needed_versions()
        .iter()
        .filter_map(|(_, v)| v.strip_prefix("GLIBC_").and_then(parse_version))
        .collect();
    let max = needed.iter().max()?;
    let need = format!("GLIBC_{}.{}", max.0, max.1);
    Some(match cpu.glibc {
        Some(have) if have >= *max => check(
            "glibc",
            t,
            CheckStatus::Pass,
            format!("needs {need}, system has {}.{}", have.0, have.1),
        ),
        Some(have) => check(
            "glibc",
            t,
            CheckStatus::Fail,
            format!(
                "needs {need}, system glibc is {}.{}: it will not load",
                have.0, have.1
            ),
        ),
        None => check(
            "glibc",
            t,
            CheckStatus::Warn,
            format!("needs {need}, but this system's libc is not glibc"),
        ),
    })
}
