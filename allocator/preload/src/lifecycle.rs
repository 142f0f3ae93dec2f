//! Load and exit hooks through .init_array / .fini_array: no atexit (which
//! may allocate) and nothing that runs before libc is ready.

use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

static PRINT_AT_EXIT: AtomicBool = AtomicBool::new(false);

extern "C" fn on_load() {
    lwmalloc_core::initialise();
    // SAFETY: the name is NUL-terminated; getenv does not allocate.
    let value = unsafe { libc::getenv(c"LWM_STATS".as_ptr()) };
    // SAFETY: a non-null getenv result is a NUL-terminated string.
    if !value.is_null() && unsafe { *value } != 0 && unsafe { *value } != b'0' as libc::c_char {
        PRINT_AT_EXIT.store(true, Relaxed);
    }
}

extern "C" fn on_exit() {
    if !PRINT_AT_EXIT.swap(false, Relaxed) {
        return;
    }
    let mut line = lwmalloc_core::Line::new();
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() } as u64;
    lwmalloc_core::summary_line(&lwmalloc_core::snapshot(), pid, &mut line);
    lwmalloc_core::write_stderr(line.bytes());
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

#[used]
#[link_section = ".fini_array"]
static ON_EXIT: extern "C" fn() = on_exit;
