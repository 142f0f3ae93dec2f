//! `liblwmalloc.so` / `liblwmalloc.a`: the C allocation interface over the
//! lwmalloc core, for LD_PRELOAD or static linking. `no_std`, and panics
//! abort: nothing here may unwind into C.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

mod exports;
mod lifecycle;

#[cfg(not(test))]
#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    lwmalloc_core::write_stderr(b"lwmalloc: internal error\n");
    // SAFETY: abort has no preconditions and never returns.
    unsafe { libc::abort() }
}
