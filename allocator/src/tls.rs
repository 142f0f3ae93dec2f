//! One word of thread-local storage, `lwm_thread_state`, reached with the
//! initial-exec TLS model of each target: two or three instructions, no
//! call, no `__tls_get_addr`, nothing that allocates. `#[thread_local]` is
//! not stable, so the variable is declared in `global_asm!` (in `.tbss`, so
//! glibc zeroes it for every new thread, including one that reuses a dead
//! thread's stack) and read and written with `asm!`.
//!
//! Initial-exec TLS needs the static TLS block: a library loaded at start-up
//! (LD_PRELOAD, a link dependency, a static link) always gets it; a
//! `dlopen` later takes it from glibc's small surplus, which one word fits.
//!
//! Why TLS and not the thread pointer hashed into a table: a dead thread's
//! thread pointer comes back with the next thread that reuses its stack, so
//! a table keyed on it hands that thread the dead one's state, bypassing the
//! exit bookkeeping. TLS is born zero with every thread.

#[cfg(all(target_arch = "arm", target_feature = "thumb-mode"))]
compile_error!("lwmalloc's TLS access is written for the ARM instruction set, not Thumb");

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm")))]
compile_error!("lwmalloc supports x86_64, aarch64 and 32-bit ARM Linux");

// `%` for the ELF section type and symbol type: `@` starts a comment in ARM
// assembly. Hidden: each copy of the allocator (a preloaded library, a
// static archive in a program) has its own variable.
core::arch::global_asm!(
    ".pushsection .tbss.lwm_thread_state,\"awT\",%nobits",
    ".p2align 3",
    ".globl lwm_thread_state",
    ".hidden lwm_thread_state",
    ".type lwm_thread_state,%object",
    ".size lwm_thread_state,8",
    "lwm_thread_state:",
    ".zero 8",
    ".popsection",
);

// `tls_asm!(LAST)`: the thread pointer in `{tp}` and this word's offset
// from it in `{v}` (from the GOT: initial-exec), then the instruction LAST,
// which leaves the result in `{v}`.
//
// ARM: TPIDRURO is the thread pointer on ARMv6K and later (the ARM1176 of
// the Pi Zero is ARMv6KZ). The literal holds the GOT entry's distance from
// the PC-relative load (PC reads 8 ahead in ARM state); the branch skips it.
#[cfg(target_arch = "x86_64")]
macro_rules! tls_asm {
    ($last:literal) => {{
        let v: usize;
        // SAFETY: reads our GOT entry and the thread's own TLS; no side
        // effect.
        unsafe {
            core::arch::asm!(
                "mov {v}, qword ptr [rip + lwm_thread_state@GOTTPOFF]",
                $last,
                v = out(reg) v,
                options(nostack, readonly, pure)
            )
        };
        v
    }};
}

#[cfg(target_arch = "aarch64")]
macro_rules! tls_asm {
    ($last:literal) => {{
        let v: usize;
        // SAFETY: as on x86_64, with tpidr_el0 as the thread pointer.
        unsafe {
            core::arch::asm!(
                "mrs {tp}, tpidr_el0",
                "adrp {v}, :gottprel:lwm_thread_state",
                "ldr {v}, [{v}, #:gottprel_lo12:lwm_thread_state]",
                $last,
                tp = out(reg) _,
                v = out(reg) v,
                options(nostack, readonly, preserves_flags, pure)
            )
        };
        v
    }};
}

#[cfg(target_arch = "arm")]
macro_rules! tls_asm {
    ($last:literal) => {{
        let v: usize;
        // SAFETY: as on x86_64, with TPIDRURO as the thread pointer.
        unsafe {
            core::arch::asm!(
                "ldr {v}, 3f",
                "2: ldr {v}, [pc, {v}]",
                "mrc p15, 0, {tp}, c13, c0, 3",
                $last,
                "b 4f",
                "3: .word lwm_thread_state(gottpoff) + (. - 2b - 8)",
                "4:",
                tp = out(reg) _,
                v = out(reg) v,
                options(nostack, readonly, preserves_flags, pure)
            )
        };
        v
    }};
}

/// The calling thread's word (0 in a new thread).
#[inline(always)]
pub fn get() -> usize {
    #[cfg(target_arch = "x86_64")]
    return tls_asm!("mov {v}, qword ptr fs:[{v}]");
    #[cfg(not(target_arch = "x86_64"))]
    return tls_asm!("ldr {v}, [{tp}, {v}]");
}

/// The address of the calling thread's word: distinct among live threads.
#[inline]
pub fn address() -> usize {
    #[cfg(target_arch = "x86_64")]
    return tls_asm!("add {v}, qword ptr fs:[0]");
    #[cfg(not(target_arch = "x86_64"))]
    return tls_asm!("add {v}, {tp}, {v}");
}

/// Sets the calling thread's word.
#[inline]
pub fn set(value: usize) {
    // SAFETY: `address()` is this thread's own word, aligned and live for
    // as long as the thread runs.
    unsafe { *(address() as *mut usize) = value };
}
