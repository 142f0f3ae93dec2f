//! Load and exit hooks through .init_array / .fini_array: no atexit (which
//! may allocate) and nothing that runs before libc is ready.

use core::sync::atomic::{AtomicI32, Ordering::Relaxed};

/// Where the exit report goes, or -1 for no report. A private copy of
/// stderr made at load time: GNU coreutils and others close fd 2 before
/// they exit, and the report must survive that.
static REPORT_FD: AtomicI32 = AtomicI32::new(-1);

/// High enough not to take a descriptor number a program expects to get.
const REPORT_FD_MIN: i32 = 200;

extern "C" fn on_load() {
    lwmalloc_core::initialise();
    // SAFETY: the name is NUL-terminated; getenv does not allocate.
    let value = unsafe { libc::getenv(c"LWM_STATS".as_ptr()) };
    // SAFETY: a non-null getenv result is a NUL-terminated string.
    if !value.is_null() && unsafe { *value } != 0 && unsafe { *value } != b'0' as libc::c_char {
        // SAFETY: F_DUPFD_CLOEXEC only creates a descriptor; children that
        // exec get their own copy of the library and make their own.
        let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, REPORT_FD_MIN) };
        REPORT_FD.store(if fd >= 0 { fd } else { 2 }, Relaxed);
    }
}

extern "C" fn on_exit() {
    let fd = REPORT_FD.swap(-1, Relaxed);
    if fd < 0 {
        return;
    }
    let mut line = lwmalloc_core::Line::new();
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() } as u64;
    lwmalloc_core::summary_line(&lwmalloc_core::snapshot(), pid, &mut line);
    lwmalloc_core::write_fd(fd, line.bytes());
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

#[used]
#[link_section = ".fini_array"]
static ON_EXIT: extern "C" fn() = on_exit;
