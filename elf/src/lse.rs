//! The AArch64 code scan for ARMv8.1 LSE atomics and v8.3 LDAPR, which an
//! ARMv8.0 core (the Pi 4's Cortex-A72) cannot run: instructions no ELF
//! reader classifies, so the scan is ours.

/// LSE instructions in a stretch of AArch64 code, told apart by whether
/// they can run on an ARMv8.0 CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LseScan {
    /// LSE (or LDAPR) instructions executed unconditionally: SIGILL on a
    /// CPU without LSE.
    pub unguarded: usize,
    /// Byte offset of the first unguarded one.
    pub first_unguarded: Option<usize>,
    /// LSE instructions that run only after a run-time check found LSE
    /// (see [`lse_is_guarded`]): safe everywhere.
    pub guarded: usize,
}

/// Scans AArch64 code (4-byte aligned instruction words) for ARMv8.1 LSE
/// atomics and v8.3 LDAPR.
pub fn scan_lse(code: &[u8], little_endian: bool) -> LseScan {
    let mut scan = LseScan::default();
    for at in (0..code.len() / 4 * 4).step_by(4) {
        if !is_lse(word_at(code, at, little_endian)) {
            continue;
        }
        if lse_is_guarded(code, at, little_endian) {
            scan.guarded += 1;
        } else {
            scan.unguarded += 1;
            scan.first_unguarded.get_or_insert(at);
        }
    }
    scan
}

/// Whether the LSE instruction at byte offset `at` of `code` runs only
/// when the CPU has LSE. Rust's compiler-builtins and libgcc build their
/// outline-atomics helpers (`__aarch64_cas4_acq`, ...) as
///
/// ```text
/// ldrb wN, [xM, #flag]   // __aarch64_have_lse_atomics, set at start-up
/// cbz  wN, 1f            // no LSE: the ARMv8.0 exclusive loop after ret
/// <one LSE instruction>
/// ret
/// 1: ldxr/stxr loop
/// ```
///
/// Recognising that shape, not the helpers' names, works on stripped
/// binaries, which is what a board receives, so the board's doctor and
/// the host's gate use the same rule.
pub fn lse_is_guarded(code: &[u8], at: usize, little_endian: bool) -> bool {
    const RET: u32 = 0xd65f_03c0;
    if at < 8 || at + 8 > code.len() {
        return false;
    }
    let load = word_at(code, at - 8, little_endian);
    let branch = word_at(code, at - 4, little_endian);
    let after = word_at(code, at + 4, little_endian);
    // LDRB (immediate, unsigned offset), 32-bit destination.
    let is_ldrb = load & 0xffc0_0000 == 0x3940_0000;
    // CBZ (32-bit) whose target is `at + 8`: imm19 = 3 words from `at - 4`.
    let skips_lse_and_ret = branch & !0x1f == 0x3400_0060;
    is_ldrb && skips_lse_and_ret && load & 0x1f == branch & 0x1f && after == RET
}

/// The 4-byte word at byte offset `at` of `code` in the file's byte order.
/// Panics if fewer than 4 bytes remain.
pub fn word_at(code: &[u8], at: usize, little_endian: bool) -> u32 {
    let a: [u8; 4] = code[at..at + 4].try_into().expect("4 bytes");
    if little_endian {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}

/// Whether the AArch64 instruction word `w` is an ARMv8.1 LSE atomic (CAS,
/// CASP, LD<op>, SWP) or a v8.3 LDAPR: illegal on an ARMv8.0 core.
pub fn is_lse(w: u32) -> bool {
    let atomic_op = w & 0x3F20_0C00 == 0x3820_0000; // LD<op>, SWP, LDAPR
    let cas = w & 0x3FA0_7C00 == 0x08A0_7C00;
    let casp = w & 0xBFA0_7C00 == 0x0820_7C00;
    atomic_op || cas || casp
}
