//! What the board's CPU can execute and which glibc it has, as far as the
//! binary checks need to know.

use crate::elf::{self, Elf};
use crate::schema::{Cpu, Environment};

/// What the CPU can execute, as far as the checks need to know.
#[derive(Clone, Debug)]
pub struct CpuCaps {
    pub machine: u16,
    pub is64: bool,
    /// ARM architecture level the CPU implements (6 for ARM1176, 7, 8).
    pub arm_level: Option<u32>,
    pub thumb2: bool,
    pub vfp3: bool,
    pub neon: bool,
    /// AArch64 LSE atomics (ARMv8.1).
    pub lse: bool,
    pub glibc: Option<(u32, u32)>,
    pub description: String,
}

const HWCAP_ARM_THUMBEE: u64 = 1 << 11; // ThumbEE implies Thumb-2
const HWCAP_ARM_NEON: u64 = 1 << 12;
const HWCAP_ARM_VFPV3: u64 = 1 << 13;
const HWCAP_AARCH64_ATOMICS: u64 = 1 << 8;

/// `2.36` (or `2`) as (major, minor).
pub(super) fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    Some((
        it.next()?.parse().ok()?,
        it.next().unwrap_or("0").parse().ok()?,
    ))
}

impl CpuCaps {
    pub fn detect(env: &Environment) -> CpuCaps {
        let own = std::fs::read("/proc/self/exe").ok();
        let (mut machine, mut is64) = own
            .as_deref()
            .and_then(|d| Elf::parse(d).ok())
            .map(|e| (e.machine, e.is64))
            .unwrap_or((0, true));
        let cpu: &Cpu = &env.cpu;
        let m = env.kernel.machine.as_str();
        // A 32-bit agent on a 64-bit kernel: describe the CPU, not the agent.
        if m == "aarch64" {
            machine = elf::EM_AARCH64;
            is64 = true;
        } else if m == "x86_64" {
            machine = elf::EM_X86_64;
            is64 = true;
        }
        let platform = cpu.platform.clone().unwrap_or_default();
        let level_of = |s: &str| {
            s.strip_prefix('v')
                .or_else(|| s.strip_prefix("armv"))
                .and_then(|r| r.chars().next()?.to_digit(10))
        };
        let arm_level = match machine {
            elf::EM_ARM => level_of(&platform).or_else(|| level_of(m)),
            elf::EM_AARCH64 => Some(8),
            _ => None,
        };
        let has = |f: &str| cpu.features.iter().any(|x| x == f);
        let hw = cpu.hwcap.unwrap_or(0);
        let arm32 = machine == elf::EM_ARM;
        CpuCaps {
            machine,
            is64,
            arm_level,
            thumb2: arm_level.is_some_and(|l| l >= 7) || (arm32 && hw & HWCAP_ARM_THUMBEE != 0),
            vfp3: has("vfpv3")
                || has("vfpv4")
                || (arm32 && hw & HWCAP_ARM_VFPV3 != 0)
                || machine == elf::EM_AARCH64,
            neon: has("neon") || has("asimd") || (arm32 && hw & HWCAP_ARM_NEON != 0),
            lse: has("atomics") || (machine == elf::EM_AARCH64 && hw & HWCAP_AARCH64_ATOMICS != 0),
            glibc: env.libc.version.as_deref().and_then(parse_version),
            description: format!(
                "{} ({}{})",
                cpu.model.clone().unwrap_or_else(|| m.to_string()),
                m,
                if platform.is_empty() {
                    String::new()
                } else {
                    format!(", {platform}")
                }
            ),
        }
    }
}
