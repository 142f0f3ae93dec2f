//! Every CPU a board profile may name, with what it executes. Profile
//! loading takes the names and which targets each runs from here, and the
//! gate takes its instruction-set limits, so the two cannot disagree.

use super::target::{TargetIsa, TargetSpec};

/// Limits of a CPU running 32-bit ARM code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm32Limits {
    /// Highest Tag_CPU_arch value the CPU runs (9 = v6K, 10 = v7, 14 = v8).
    pub max_arch_tag: u64,
    /// Thumb-2 (32-bit Thumb encodings, IT, CBZ, ...).
    pub thumb2: bool,
    /// Highest Tag_FP_arch (2 = VFPv2, 4 = VFPv3-D16, 6 = VFPv4-D16, 8 = ARMv8 FP).
    pub max_fp_tag: u64,
    /// VFP registers D16-D31 (VFPv3-D32 and later).
    pub d32: bool,
    pub neon: bool,
    /// Whether every ARMv7 instruction is allowed: the instruction scan
    /// only runs for CPUs below ARMv7, where the traps are.
    pub scan: bool,
    pub label: &'static str,
}

/// Limits of a CPU running AArch64 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aarch64Limits {
    /// ARMv8.1 LSE atomics (and the v8.3 LDAPR the same scan finds).
    pub lse: bool,
    pub label: &'static str,
}

/// What a board CPU executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cpu {
    /// The host itself (`native`): the gate checks the machine type and glibc.
    Native,
    /// Any x86-64 machine: every x86-64 CPU runs the baseline the x86_64
    /// target is built for, so the gate checks the machine type and glibc.
    X86_64,
    Arm {
        arm32: Option<Arm32Limits>,
        aarch64: Option<Aarch64Limits>,
    },
}

/// A CPU a profile's `cpu` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSpec {
    pub name: &'static str,
    pub cpu: Cpu,
}

const ARMV6KZ: Arm32Limits = Arm32Limits {
    max_arch_tag: 9,
    thumb2: false,
    max_fp_tag: 2,
    d32: false,
    neon: false,
    scan: true,
    label: "ARMv6KZ + VFPv2 (ARM and Thumb-1 only)",
};
const ARMV7_VFPV3: Arm32Limits = Arm32Limits {
    max_arch_tag: 10,
    thumb2: true,
    max_fp_tag: 4,
    d32: true,
    neon: true,
    scan: false,
    label: "ARMv7-A + VFPv3 + NEON",
};
const ARMV7_VFPV4: Arm32Limits = Arm32Limits {
    max_fp_tag: 6,
    label: "ARMv7-A + VFPv4 + NEON",
    ..ARMV7_VFPV3
};
const ARMV8_AARCH32: Arm32Limits = Arm32Limits {
    max_arch_tag: 14,
    max_fp_tag: 8,
    label: "ARMv8-A AArch32",
    ..ARMV7_VFPV3
};
const ARMV8_0: Aarch64Limits = Aarch64Limits {
    lse: false,
    label: "ARMv8.0-A (no LSE atomics)",
};
const ARMV8_2: Aarch64Limits = Aarch64Limits {
    lse: true,
    label: "ARMv8.2-A (LSE atomics)",
};

const ARMV6: Cpu = Cpu::Arm {
    arm32: Some(ARMV6KZ),
    aarch64: None,
};
const ARMV7_A8_A9: Cpu = Cpu::Arm {
    arm32: Some(ARMV7_VFPV3),
    aarch64: None,
};
const ARMV7_A7_A15: Cpu = Cpu::Arm {
    arm32: Some(ARMV7_VFPV4),
    aarch64: None,
};
const ARMV8_0_CORE: Cpu = Cpu::Arm {
    arm32: Some(ARMV8_AARCH32),
    aarch64: Some(ARMV8_0),
};
const ARMV8_2_CORE: Cpu = Cpu::Arm {
    arm32: Some(ARMV8_AARCH32),
    aarch64: Some(ARMV8_2),
};

const fn spec(name: &'static str, cpu: Cpu) -> CpuSpec {
    CpuSpec { name, cpu }
}

/// Every CPU the kit knows, in the order error messages list them.
pub const CPUS: &[CpuSpec] = &[
    spec("native", Cpu::Native),
    spec("x86-64", Cpu::X86_64),
    spec("arm1176jzf-s", ARMV6),
    spec("arm1176jz-s", ARMV6),
    spec("arm1136jf-s", ARMV6),
    spec("cortex-a7", ARMV7_A7_A15),
    spec("cortex-a8", ARMV7_A8_A9),
    spec("cortex-a9", ARMV7_A8_A9),
    spec("cortex-a15", ARMV7_A7_A15),
    spec("cortex-a17", ARMV7_A7_A15),
    spec("cortex-a35", ARMV8_0_CORE),
    spec("cortex-a53", ARMV8_0_CORE),
    spec("cortex-a57", ARMV8_0_CORE),
    spec("cortex-a72", ARMV8_0_CORE),
    spec("cortex-a73", ARMV8_0_CORE),
    spec("cortex-a55", ARMV8_2_CORE),
    spec("cortex-a75", ARMV8_2_CORE),
    spec("cortex-a76", ARMV8_2_CORE),
    spec("cortex-a77", ARMV8_2_CORE),
    spec("cortex-a78", ARMV8_2_CORE),
    spec("cortex-a78ae", ARMV8_2_CORE),
    spec("neoverse-n1", ARMV8_2_CORE),
];

/// The CPU named `name` (a board profile's `cpu`), or None if unknown.
pub fn lookup(name: &str) -> Option<Cpu> {
    CPUS.iter().find(|c| c.name == name).map(|c| c.cpu)
}

/// Every CPU name, comma-separated, for messages.
pub fn names() -> String {
    let names: Vec<&str> = CPUS.iter().map(|c| c.name).collect();
    names.join(", ")
}

impl Cpu {
    /// Whether this CPU executes code built for `target`. `native` runs
    /// what this machine runs: the target `host` names here.
    pub fn runs(&self, target: &TargetSpec) -> bool {
        match (self, target.isa) {
            (Cpu::Native, _) => super::target::host().is_some_and(|h| h.isa == target.isa),
            (Cpu::X86_64, TargetIsa::X86_64) => true,
            (Cpu::Arm { aarch64, .. }, TargetIsa::Aarch64) => aarch64.is_some(),
            (Cpu::Arm { arm32, .. }, TargetIsa::Arm32 { arch_tag, .. }) => {
                arm32.is_some_and(|limits| limits.max_arch_tag >= arch_tag)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_resolves_and_the_boards_have_the_right_limits() {
        for spec in CPUS {
            assert!(lookup(spec.name).is_some(), "{}", spec.name);
        }
        assert_eq!(lookup("cortex-a99"), None);
        let Some(Cpu::Arm {
            arm32: Some(pi_zero),
            aarch64: None,
        }) = lookup("arm1176jzf-s")
        else {
            panic!("arm1176jzf-s")
        };
        assert!(!pi_zero.thumb2 && !pi_zero.neon && pi_zero.max_fp_tag == 2 && pi_zero.scan);
        let Some(Cpu::Arm {
            aarch64: Some(pi4), ..
        }) = lookup("cortex-a72")
        else {
            panic!("cortex-a72")
        };
        assert!(!pi4.lse);
        let Some(Cpu::Arm {
            aarch64: Some(orin),
            ..
        }) = lookup("cortex-a78ae")
        else {
            panic!("cortex-a78ae")
        };
        assert!(orin.lse);
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in CPUS.iter().enumerate() {
            assert!(CPUS[i + 1..].iter().all(|b| b.name != a.name), "{}", a.name);
        }
    }
}
