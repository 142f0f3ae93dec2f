//! Everything the allocator asks of the operating system. Nothing here
//! allocates, so it is safe during initialisation and after fork.
//!
//! Nothing here changes `errno` either: a futex wait that finds the lock
//! already free returns EAGAIN, munmap fails with ENOMEM at the map-count
//! limit, mremap and mmap failures may be recovered from, and glibc (like
//! POSIX 2024 for free) never lets a successful call change errno. The API
//! layer sets errno itself when a call fails.

use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// Puts errno back as it was when dropped.
struct KeepErrno(i32);

impl KeepErrno {
    fn new() -> Self {
        KeepErrno(errno())
    }
}

impl Drop for KeepErrno {
    fn drop(&mut self) {
        set_errno(self.0);
    }
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// The kernel's page size, from the auxiliary vector (4 KiB to 64 KiB on our boards).
#[inline]
pub fn page_size() -> usize {
    let cached = PAGE_SIZE.load(Relaxed);
    if cached != 0 {
        return cached;
    }
    let _keep = KeepErrno::new();
    // SAFETY: getauxval only reads the auxiliary vector.
    let p = unsafe { libc::getauxval(libc::AT_PAGESZ) } as usize;
    let p = if p.is_power_of_two() && p >= 4096 {
        p
    } else {
        4096
    };
    PAGE_SIZE.store(p, Relaxed);
    p
}

/// Fresh zeroed read-write memory, or null.
pub fn map(len: usize) -> *mut u8 {
    let _keep = KeepErrno::new();
    // SAFETY: an anonymous private mapping touches no existing memory.
    let p = unsafe {
        libc::mmap(
            null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        null_mut()
    } else {
        p as *mut u8
    }
}

/// # Safety
/// `[p, p + len)` must be a mapping (or part of one) that nothing uses any more.
pub unsafe fn unmap(p: *mut u8, len: usize) {
    let _keep = KeepErrno::new();
    // SAFETY: guaranteed by the caller.
    unsafe { libc::munmap(p as *mut libc::c_void, len) };
}

/// Grows or moves a mapping; null when the kernel refuses.
///
/// # Safety
/// `[p, p + old_len)` must be one whole mapping owned by the caller.
pub unsafe fn remap(p: *mut u8, old_len: usize, new_len: usize) -> *mut u8 {
    let _keep = KeepErrno::new();
    // SAFETY: guaranteed by the caller; MAYMOVE keeps the contents.
    let q = unsafe {
        libc::mremap(
            p as *mut libc::c_void,
            old_len,
            new_len,
            libc::MREMAP_MAYMOVE,
        )
    };
    if q == libc::MAP_FAILED {
        null_mut()
    } else {
        q as *mut u8
    }
}

/// Drops the pages of `[p, p + len)` from RSS; they read back as zero.
///
/// # Safety
/// The range must be page-aligned, mapped, and hold nothing anyone needs.
pub unsafe fn release(p: *mut u8, len: usize) {
    let _keep = KeepErrno::new();
    // SAFETY: guaranteed by the caller.
    unsafe { libc::madvise(p as *mut libc::c_void, len, libc::MADV_DONTNEED) };
}

pub fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// CPUs this process may run on (at least 1), without touching /proc or /sys.
pub fn cpu_count() -> usize {
    let _keep = KeepErrno::new();
    let mut set = [0usize; 16];
    // SAFETY: the kernel writes at most size_of_val(&set) bytes into set.
    let n = unsafe {
        libc::syscall(
            libc::SYS_sched_getaffinity,
            0,
            core::mem::size_of_val(&set),
            set.as_mut_ptr(),
        )
    };
    if n <= 0 {
        return 1;
    }
    let words = (n as usize).min(core::mem::size_of_val(&set)) / core::mem::size_of::<usize>();
    set[..words]
        .iter()
        .map(|w| w.count_ones() as usize)
        .sum::<usize>()
        .max(1)
}

pub fn write_stderr(bytes: &[u8]) {
    write_fd(2, bytes)
}

pub fn write_fd(fd: i32, bytes: &[u8]) {
    let _keep = KeepErrno::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: rest is a valid readable buffer of rest.len() bytes.
        let n = unsafe { libc::write(fd, rest.as_ptr() as *const libc::c_void, rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// Reports misuse on one line and aborts: never continue on a corrupt heap.
#[cold]
#[inline(never)]
pub fn fatal(function: &str, what: &str) -> ! {
    let mut line = crate::fmt::Line::new();
    line.str("lwmalloc: ")
        .str(function)
        .str("(): ")
        .str(what)
        .str("\n");
    write_stderr(line.bytes());
    // SAFETY: abort never returns and needs no preconditions.
    unsafe { libc::abort() }
}

/// Waits while `*word == expected` (futex wait, private).
pub fn futex_wait(word: &core::sync::atomic::AtomicU32, expected: u32) {
    let _keep = KeepErrno::new();
    // SAFETY: the kernel only reads the futex word, which outlives the call.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            null_mut::<libc::timespec>(),
        )
    };
}

/// Wakes one waiter of `word`.
pub fn futex_wake(word: &core::sync::atomic::AtomicU32) {
    let _keep = KeepErrno::new();
    // SAFETY: FUTEX_WAKE only uses the address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        )
    };
}
