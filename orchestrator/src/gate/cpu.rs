//! What each board CPU executes, as far as the gate checks it.

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

/// A board CPU model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cpu {
    /// The host itself (`native`): the gate checks the machine type and glibc.
    Native,
    Arm {
        arm32: Option<Arm32Limits>,
        aarch64: Option<Aarch64Limits>,
    },
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

/// Every CPU name the gate knows, for messages.
pub const KNOWN: &[&str] = &[
    "native",
    "arm1176jzf-s",
    "arm1176jz-s",
    "arm1136jf-s",
    "cortex-a7",
    "cortex-a8",
    "cortex-a9",
    "cortex-a15",
    "cortex-a17",
    "cortex-a35",
    "cortex-a53",
    "cortex-a57",
    "cortex-a72",
    "cortex-a73",
    "cortex-a55",
    "cortex-a75",
    "cortex-a76",
    "cortex-a77",
    "cortex-a78",
    "cortex-a78ae",
    "neoverse-n1",
];

/// The CPU named `name` (a board profile's `cpu`), or None if unknown.
pub fn lookup(name: &str) -> Option<Cpu> {
    let arm = |arm32, aarch64| Some(Cpu::Arm { arm32, aarch64 });
    match name {
        "native" => Some(Cpu::Native),
        "arm1176jzf-s" | "arm1176jz-s" | "arm1136jf-s" => arm(Some(ARMV6KZ), None),
        "cortex-a8" | "cortex-a9" => arm(Some(ARMV7_VFPV3), None),
        "cortex-a7" | "cortex-a15" | "cortex-a17" => arm(Some(ARMV7_VFPV4), None),
        "cortex-a35" | "cortex-a53" | "cortex-a57" | "cortex-a72" | "cortex-a73" => {
            arm(Some(ARMV8_AARCH32), Some(ARMV8_0))
        }
        "cortex-a55" | "cortex-a75" | "cortex-a76" | "cortex-a77" | "cortex-a78"
        | "cortex-a78ae" | "neoverse-n1" => arm(Some(ARMV8_AARCH32), Some(ARMV8_2)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_resolves_and_the_boards_have_the_right_limits() {
        for name in KNOWN {
            assert!(lookup(name).is_some(), "{name}");
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
}
