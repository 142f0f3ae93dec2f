//! Raw-encoding classifier for 32-bit ARM code on an ARMv6KZ + VFPv2 CPU
//! (the Pi Zero W's ARM1176JZF-S): which instructions it cannot execute.
//! ARM state words and Thumb state halfwords are classified separately;
//! the caller tells them apart (and skips literal data) with the ELF
//! mapping symbols `$a`, `$t`, `$d`.
//!
//! Covered: the ARMv6T2/ARMv7 additions in ARM state (MOVW/MOVT, bit-field
//! ops, RBIT, MLS, SDIV/UDIV, DMB/DSB/ISB, PLI, PLDW, the unprivileged
//! halfword loads/stores), Advanced SIMD (NEON) in both encodings, VFP
//! beyond VFPv2 (VMOV immediate, fixed-point and half-precision VCVT, fused
//! multiply-add, registers D16-D31), and in Thumb state every 32-bit
//! encoding but the Thumb-1 BL/BLX pair, plus CBZ/CBNZ, IT and the 16-bit
//! hints. The 16-bit Thumb-2 ones are exactly those qemu-arm -cpu arm1176
//! runs silently.

/// What a violation is, for the gate's message: e.g. `ARMv7 instruction 'movw'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    /// `ARMv7`, `Thumb-2`, `NEON`, `VFPv3` ...
    pub kind: &'static str,
    pub mnemonic: &'static str,
}

const fn v(kind: &'static str, mnemonic: &'static str) -> Option<Violation> {
    Some(Violation { kind, mnemonic })
}

/// An ARM state instruction word the ARMv6KZ + VFPv2 CPU cannot execute.
pub fn arm_violation(w: u32) -> Option<Violation> {
    if w >> 28 == 0xF {
        return unconditional(w);
    }
    if w & 0x0FF0_0000 == 0x0300_0000 {
        return v("ARMv7", "movw");
    }
    if w & 0x0FF0_0000 == 0x0340_0000 {
        return v("ARMv7", "movt");
    }
    if w & 0x0FE0_0070 == 0x07E0_0050 {
        return v("ARMv7", "ubfx");
    }
    if w & 0x0FE0_0070 == 0x07A0_0050 {
        return v("ARMv7", "sbfx");
    }
    if w & 0x0FE0_0070 == 0x07C0_0010 {
        return v("ARMv7", if w & 0xF == 0xF { "bfc" } else { "bfi" });
    }
    if w & 0x0FFF_0FF0 == 0x06FF_0F30 {
        return v("ARMv7", "rbit");
    }
    if w & 0x0FF0_00F0 == 0x0060_0090 {
        return v("ARMv7", "mls");
    }
    if w & 0x0FF0_F0F0 == 0x0710_F010 {
        return v("ARMv7", "sdiv");
    }
    if w & 0x0FF0_F0F0 == 0x0730_F010 {
        return v("ARMv7", "udiv");
    }
    // LDRHT/STRHT/LDRSBT/LDRSHT: extra load/store, post-indexed with W=1.
    if w & 0x0F20_0090 == 0x0020_0090 && w & 0x60 != 0 && w & (1 << 24) == 0 {
        return v("ARMv7", "ldrht/strht");
    }
    vfp(w)
}

fn unconditional(w: u32) -> Option<Violation> {
    match w & 0xFFFF_FFF0 {
        0xF57F_F050 => return v("ARMv7", "dmb"),
        0xF57F_F040 => return v("ARMv7", "dsb"),
        0xF57F_F060 => return v("ARMv7", "isb"),
        _ => {}
    }
    if w & 0xFF70_F000 == 0xF450_F000 || w & 0xFF70_F010 == 0xF650_F000 {
        return v("ARMv7", "pli");
    }
    if w & 0xFF70_F000 == 0xF510_F000 || w & 0xFF70_F010 == 0xF710_F000 {
        return v("ARMv7", "pldw");
    }
    if w & 0xFE00_0000 == 0xF200_0000 {
        return v("NEON", "Advanced SIMD data processing");
    }
    if w & 0xFF10_0000 == 0xF400_0000 {
        return v("NEON", "vld/vst (Advanced SIMD)");
    }
    None
}

/// VFP (coprocessors 10 and 11) beyond VFPv2 with 16 double registers.
fn vfp(w: u32) -> Option<Violation> {
    let double = w & (1 << 8) != 0;
    let d_bit = w & (1 << 22) != 0;
    let n_bit = w & (1 << 7) != 0;
    let m_bit = w & (1 << 5) != 0;
    let d32 = v("VFPv3-D32", "D16-D31 register");
    // Data processing: cond 1110 opc1 .... 101x ..0. ....
    if w & 0x0F00_0E10 == 0x0E00_0A00 {
        let opc1 = (w >> 20) & 0xB;
        match opc1 {
            0b1001 => return v("VFPv4", "vfnma/vfnms"),
            0b1010 => return v("VFPv4", "vfma/vfms"),
            0b1011 => {
                let opc2 = (w >> 16) & 0xF;
                if w & (1 << 6) == 0 {
                    return v("VFPv3", "vmov (immediate)");
                }
                if opc2 == 0b0010 || opc2 == 0b0011 {
                    return v("VFPv3", "vcvtb/vcvtt (half precision)");
                }
                if opc2 & 0b1010 == 0b1010 {
                    return v("VFPv3", "vcvt (fixed-point)");
                }
                // VMOV/VABS/VNEG/VSQRT/VCMP: Dd and Dm are doubles.
                let plain = matches!(opc2, 0b0000 | 0b0001 | 0b0100 | 0b0101);
                if plain && double && (d_bit || m_bit) {
                    return d32;
                }
            }
            _ => {
                if double && (d_bit || n_bit || m_bit) {
                    return d32;
                }
            }
        }
        return None;
    }
    // VDUP from a core register is Advanced SIMD.
    if w & 0x0F90_0F5F == 0x0E80_0B10 {
        return v("NEON", "vdup");
    }
    // 64-bit transfer VMOV Rt, Rt2 <-> Dm.
    if w & 0x0FE0_0FD0 == 0x0C40_0B10 {
        return if m_bit { d32 } else { None };
    }
    // Extension register load/store (VLDR/VSTR/VLDM/VSTM/VPUSH/VPOP) of doubles.
    if w & 0x0E00_0F00 == 0x0C00_0B00 && w & 0x01A0_0000 != 0 {
        let first = ((w >> 12) & 0xF) + if d_bit { 16 } else { 0 };
        let is_multiple = w & 0x0120_0000 != 0x0100_0000; // not VLDR/VSTR
        let count = if is_multiple { (w & 0xFF) / 2 } else { 1 };
        if first + count.max(1) > 16 {
            return d32;
        }
    }
    None
}

/// A Thumb state instruction the ARMv6KZ CPU (Thumb-1 only) cannot
/// execute. `first` is the halfword at the address; `second` the one after
/// it (for 32-bit encodings). Returns the violation and the instruction
/// length in bytes.
pub fn thumb_violation(first: u16, second: Option<u16>) -> (Option<Violation>, u64) {
    if first >> 11 >= 0b11101 {
        // A 32-bit encoding. Thumb-1 has only BL / BLX (immediate), whose
        // second halves are 11111 / 11101 (J1 = J2 = 1).
        let Some(second) = second else {
            return (v("Thumb-2", "truncated 32-bit instruction"), 2);
        };
        let bl_pair = first >> 11 == 0b11110
            && (second & 0xF800 == 0xF800 || (second & 0xF800 == 0xE800 && second & 1 == 0));
        if bl_pair {
            return (None, 4);
        }
        let mnemonic = match first & 0xFBF0 {
            0xF240 => "movw",
            0xF2C0 => "movt",
            _ => "32-bit Thumb-2 instruction",
        };
        return (v("Thumb-2", mnemonic), 4);
    }
    let violation = if first & 0xF500 == 0xB100 {
        v("Thumb-2", if first & 0x0800 == 0 { "cbz" } else { "cbnz" })
    } else if first & 0xFF00 == 0xBF00 {
        v(
            "Thumb-2",
            if first & 0xF != 0 {
                "it"
            } else {
                "nop/yield/wfe/wfi/sev (16-bit hint)"
            },
        )
    } else {
        None
    };
    (violation, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodings from GNU as (arm-linux-gnueabihf-as, .arch armv7-a).
    #[test]
    fn armv7_only_arm_instructions_are_named() {
        let cases: [(u32, &str); 24] = [
            (0xe3010234, "movw"),
            (0xe3451678, "movt"),
            (0xe7e20151, "ubfx"),
            (0xe7a20151, "sbfx"),
            (0xe7c40111, "bfi"),
            (0xe7c4011f, "bfc"),
            (0xe6ff0f31, "rbit"),
            (0xe0603291, "mls"),
            (0xe710f211, "sdiv"),
            (0xe730f211, "udiv"),
            (0xf57ff05b, "dmb"),
            (0xf57ff04f, "dsb"),
            (0xf57ff06f, "isb"),
            (0xf4d0f000, "pli"),
            (0xe0f100b2, "ldrht/strht"),
            (0xeeb70b00, "vmov (immediate)"),
            (0xeeb70a00, "vmov (immediate)"),
            (0xee700ba1, "D16-D31 register"),
            (0xeea10b02, "vfma/vfms"),
            (0xeeba0bc8, "vcvt (fixed-point)"),
            (0xf2220844, "Advanced SIMD data processing"),
            (0xf420078f, "vld/vst (Advanced SIMD)"),
            (0xedd00b00, "D16-D31 register"),
            (0xeeb20a60, "vcvtb/vcvtt (half precision)"),
        ];
        for (word, mnemonic) in cases {
            assert_eq!(
                arm_violation(word).map(|v| v.mnemonic),
                Some(mnemonic),
                "{word:#010x}"
            );
        }
        assert_eq!(
            arm_violation(0xed2d8b12).map(|v| v.mnemonic),
            Some("D16-D31 register")
        ); // vpush {d8-d16}
        assert_eq!(
            arm_violation(0xec510b31).map(|v| v.mnemonic),
            Some("D16-D31 register")
        ); // vmov r0, r1, d17
        assert_eq!(arm_violation(0xeea00b10).map(|v| v.mnemonic), Some("vdup"));
    }

    #[test]
    fn armv6kz_and_vfpv2_instructions_pass() {
        for word in [
            0xee321b03u32, // vadd.f64 d1, d2, d3
            0xed901b00,    // vldr d1, [r0]
            0xed2d8b10,    // vpush {d8-d15}
            0xec510b11,    // vmov r0, r1, d1
            0xf57ff01f,    // clrex (ARMv6K)
            0xe1b20f9f,    // ldrexd (ARMv6K)
            0xee070fba,    // mcr p15, 0, r0, c7, c10, 5 (the ARMv6 barrier)
            0xe7f00ffe,    // udf #254 (a deliberate trap)
            0xf5d0f000,    // pld [r0]
            0xe12fff1e,    // bx lr
            0xe0810002,    // add r0, r1, r2
            0xe6bf0f31,    // rev r0, r1
        ] {
            assert_eq!(arm_violation(word), None, "{word:#010x}");
        }
    }

    #[test]
    fn thumb2_encodings_are_found_and_thumb1_passes() {
        assert_eq!(thumb_violation(0xb130, None).0.unwrap().mnemonic, "cbz");
        assert_eq!(thumb_violation(0xbf08, None).0.unwrap().mnemonic, "it");
        assert!(thumb_violation(0xbf00, None).0.is_some()); // 16-bit nop hint
        assert_eq!(
            thumb_violation(0xf240, Some(0x0001)),
            (v("Thumb-2", "movw"), 4)
        );
        assert_eq!(thumb_violation(0xf000, Some(0xf802)), (None, 4)); // bl
        assert_eq!(thumb_violation(0xf7ff, Some(0xeffe)), (None, 4)); // blx
        assert_eq!(thumb_violation(0xf000, Some(0xd802)).1, 4); // b.w (J1 = 0)
        assert!(thumb_violation(0xf000, Some(0xd802)).0.is_some());
        assert_eq!(thumb_violation(0x1840, None), (None, 2)); // adds r0, r0, r1
        assert_eq!(thumb_violation(0x46c0, None), (None, 2)); // mov r8, r8 (Thumb-1 nop)
    }
}
