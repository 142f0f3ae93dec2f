//! Load and exit hooks through .init_array / .fini_array: no atexit (which
//! may allocate) and nothing that runs before libc is ready.
//!
//! Where the exit report goes (nothing set: no report):
//! - `LWM_STATS=1` (any value without a `/`, except `0`): stderr;
//! - `LWM_STATS=/path/file` (any value with a `/`): appended to that file,
//!   one line per process, so test runners and programs that check their
//!   stderr are left alone;
//! - `LWM_STATS_FD=N`: file descriptor N, as it was when the program
//!   started.

use core::sync::atomic::{AtomicI32, AtomicPtr, Ordering::Relaxed};

/// The descriptor the exit report is written to, or -1. A private copy
/// made at load time: GNU coreutils and others close fd 2 before they
/// exit, and the report must survive that.
static REPORT_FD: AtomicI32 = AtomicI32::new(-1);

/// The file the exit report is appended to (a `LWM_STATS` value in the
/// environment block, which lives as long as the process), or null.
static REPORT_PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(core::ptr::null_mut());

/// High enough not to take a descriptor number a program expects to get.
const REPORT_FD_MIN: i32 = 200;

fn env(name: &core::ffi::CStr) -> Option<&'static core::ffi::CStr> {
    // SAFETY: the name is NUL-terminated; getenv does not allocate.
    let value = unsafe { libc::getenv(name.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: a non-null getenv result is a NUL-terminated string in the
    // environment block, which outlives every use here.
    Some(unsafe { core::ffi::CStr::from_ptr(value) })
}

/// A close-on-exec copy of `fd` above the usual range, or negative.
/// Children that exec get their own copy of the library and make their own.
fn private_copy(fd: i32) -> i32 {
    lwmalloc_core::copy_fd(fd, REPORT_FD_MIN)
}

fn parse_fd(digits: &[u8]) -> Option<i32> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0i32, |n, d| n * 10 + i32::from(d - b'0')),
    )
}

extern "C" fn on_load() {
    // The allocator sets itself up on its first allocation, not here: its
    // set-up registers fork handlers with libc, which alone made a program
    // that never allocates 80-140 KiB bigger (libc pages faulted in).
    if let Some(fd) = env(c"LWM_STATS_FD").and_then(|v| parse_fd(v.to_bytes())) {
        REPORT_FD.store(private_copy(fd), Relaxed);
    } else if let Some(setting) = env(c"LWM_STATS") {
        let value = setting.to_bytes();
        if value.contains(&b'/') {
            // The environment block outlives the process's exit handlers.
            REPORT_PATH.store(setting.as_ptr() as *mut libc::c_char, Relaxed);
        } else if !value.is_empty() && value != b"0" {
            let fd = private_copy(2);
            REPORT_FD.store(if fd >= 0 { fd } else { 2 }, Relaxed);
        }
    }
}

extern "C" fn on_exit() {
    let mut fd = REPORT_FD.swap(-1, Relaxed);
    let path = REPORT_PATH.swap(core::ptr::null_mut(), Relaxed);
    let opened = !path.is_null();
    if opened {
        // SAFETY: path is a NUL-terminated string from the environment.
        fd = unsafe { lwmalloc_core::open_append(path as *const u8) };
    }
    if fd < 0 {
        return;
    }
    let mut line = lwmalloc_core::Line::new();
    let pid = lwmalloc_core::getpid();
    lwmalloc_core::summary_line(&lwmalloc_core::snapshot(), pid, &mut line);
    // One write of one line: with O_APPEND, lines of processes exiting at
    // the same time do not interleave.
    lwmalloc_core::write_fd(fd, line.bytes());
    if opened {
        lwmalloc_core::close(fd);
    }
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

#[used]
#[link_section = ".fini_array"]
static ON_EXIT: extern "C" fn() = on_exit;
