//! Everything the allocator asks of the operating system. Nothing here
//! allocates, so it is safe during initialisation and after fork.
//!
//! Nothing here changes `errno` either: system calls are made directly
//! (`syscall`), not through libc's wrappers, which set errno on failure. A
//! futex wait that finds the lock already free fails with EAGAIN, munmap
//! fails with ENOMEM at the map-count limit, mremap and mmap failures may be
//! recovered from, and glibc (like POSIX 2024 for free) never lets a
//! successful call change errno. The API layer sets errno itself when a
//! call fails. Direct calls also keep the library's imports, and so its
//! size, down.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

/// Makes system call `nr` with up to six arguments; returns the kernel's
/// result (a negated errno value on failure).
///
/// # Safety
/// The arguments must be valid for the call, as for the libc wrapper.
#[inline(never)]
unsafe fn syscall(nr: usize, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> isize {
    let result: isize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the Linux x86_64 system call convention; the kernel
    // clobbers rcx and r11 only (caller's contract for the arguments).
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => result,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e, in("r9") f,
            lateout("rcx") _, lateout("r11") _,
            options(nostack)
        )
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: the Linux aarch64 convention: number in x8, result in x0.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a as isize => result,
            in("x1") b, in("x2") c, in("x3") d, in("x4") e, in("x5") f,
            options(nostack)
        )
    };
    #[cfg(target_arch = "arm")]
    // SAFETY: the Linux ARM EABI convention: number in r7, result in r0
    // (ARM state, where r11, not r7, is the frame pointer).
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("r7") nr,
            inlateout("r0") a as isize => result,
            in("r1") b, in("r2") c, in("r3") d, in("r4") e, in("r5") f,
            options(nostack)
        )
    };
    result
}

/// The address a system call returned, or null if it failed (results
/// from -4095 to -1 are negated errno values).
#[inline]
fn address_or_null(result: isize) -> *mut u8 {
    if (-4095..0).contains(&result) {
        core::ptr::null_mut()
    } else {
        result as *mut u8
    }
}

/// The number of the mmap call taking a byte offset (mmap2 on 32-bit ARM,
/// whose offset counts pages; ours is always 0, so it does not matter).
#[cfg(target_arch = "arm")]
const SYS_MMAP: usize = libc::SYS_mmap2 as usize;
#[cfg(not(target_arch = "arm"))]
const SYS_MMAP: usize = libc::SYS_mmap as usize;

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

pub fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// The kernel's page size, from the auxiliary vector (4 KiB to 64 KiB on our boards).
#[inline]
pub fn page_size() -> usize {
    let cached = PAGE_SIZE.load(Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: getauxval only reads the auxiliary vector; AT_PAGESZ is
    // always there, so it never sets errno.
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
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as usize;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as usize;
    // SAFETY: an anonymous private mapping touches no existing memory.
    address_or_null(unsafe { syscall(SYS_MMAP, 0, len, prot, flags, usize::MAX, 0) })
}

/// Address space for `len` bytes, inaccessible and not charged against
/// the commit limit until `commit`ted; null if the kernel refuses (an
/// RLIMIT_AS, for one).
pub fn reserve(len: usize) -> *mut u8 {
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as usize;
    // SAFETY: an anonymous private mapping touches no existing memory.
    address_or_null(unsafe { syscall(SYS_MMAP, 0, len, 0, flags, usize::MAX, 0) })
}

/// Makes `[p, p + len)` of a reservation readable and writable; false if
/// the kernel refuses (the commit limit under strict overcommit).
///
/// # Safety
/// The range must lie inside a reservation of the caller's.
pub unsafe fn commit(p: usize, len: usize) -> bool {
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as usize;
    // SAFETY: guaranteed by the caller; only its reservation changes.
    unsafe { syscall(libc::SYS_mprotect as usize, p, len, prot, 0, 0, 0) == 0 }
}

/// Returns `[p, p + len)` to the reserved state: its pages are freed and
/// no longer charged. One call (a fixed mapping over it), where
/// MADV_DONTNEED and mprotect would take two.
///
/// # Safety
/// The range must be page-aligned, inside a reservation of the caller's,
/// and hold nothing anyone needs.
pub unsafe fn decommit(p: usize, len: usize) {
    let flags =
        (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED) as usize;
    // SAFETY: guaranteed by the caller; MAP_FIXED replaces only that range.
    unsafe { syscall(SYS_MMAP, p, len, 0, flags, usize::MAX, 0) };
}

/// # Safety
/// `[p, p + len)` must be a mapping (or part of one) that nothing uses any more.
pub unsafe fn unmap(p: *mut u8, len: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { syscall(libc::SYS_munmap as usize, p as usize, len, 0, 0, 0, 0) };
}

/// Grows or moves a mapping; null when the kernel refuses.
///
/// # Safety
/// `[p, p + old_len)` must be one whole mapping owned by the caller.
pub unsafe fn remap(p: *mut u8, old_len: usize, new_len: usize) -> *mut u8 {
    let may_move = libc::MREMAP_MAYMOVE as usize;
    // SAFETY: guaranteed by the caller; MAYMOVE keeps the contents.
    address_or_null(unsafe {
        syscall(
            libc::SYS_mremap as usize,
            p as usize,
            old_len,
            new_len,
            may_move,
            0,
            0,
        )
    })
}

/// Drops the pages of `[p, p + len)` from RSS; they read back as zero.
///
/// # Safety
/// The range must be page-aligned, mapped, and hold nothing anyone needs.
pub unsafe fn release(p: *mut u8, len: usize) {
    let advice = libc::MADV_DONTNEED as usize;
    // SAFETY: guaranteed by the caller.
    unsafe { syscall(libc::SYS_madvise as usize, p as usize, len, advice, 0, 0, 0) };
}

/// Asks the kernel not to back `[p, p + len)` with transparent huge pages:
/// where THP is "always" (Debian's arm64 kernels), the first touch of a
/// segment, aligned to 4 MiB, would otherwise make 2 MiB resident at once.
/// Errors (no THP in the kernel) are of no consequence.
pub fn no_huge_pages(p: usize, len: usize) {
    let advice = libc::MADV_NOHUGEPAGE as usize;
    // SAFETY: advice only; it changes no contents.
    unsafe { syscall(libc::SYS_madvise as usize, p, len, advice, 0, 0, 0) };
}

/// CPUs this process may run on (at least 1), without touching /proc or /sys.
pub fn cpu_count() -> usize {
    let mut set = [0usize; 16];
    let bytes = core::mem::size_of_val(&set);
    // SAFETY: the kernel writes at most `bytes` bytes into set.
    let n = unsafe {
        syscall(
            libc::SYS_sched_getaffinity as usize,
            0,
            bytes,
            set.as_mut_ptr() as usize,
            0,
            0,
            0,
        )
    };
    if n <= 0 {
        return 1;
    }
    let words = (n as usize).min(bytes) / core::mem::size_of::<usize>();
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
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: rest is a valid readable buffer of rest.len() bytes.
        let n = unsafe {
            syscall(
                libc::SYS_write as usize,
                fd as usize,
                rest.as_ptr() as usize,
                rest.len(),
                0,
                0,
                0,
            )
        };
        if n <= 0 {
            return;
        }
        rest = rest.get(n as usize..).unwrap_or(&[]);
    }
}

/// Opens `path` (NUL-terminated) for appending, creating it; the
/// descriptor, or a negative value.
///
/// # Safety
/// `path` points to a NUL-terminated string.
pub unsafe fn open_append(path: *const u8) -> i32 {
    let flags = (libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC) as usize;
    // SAFETY: the kernel reads the string (caller's contract).
    unsafe {
        syscall(
            libc::SYS_openat as usize,
            libc::AT_FDCWD as usize,
            path as usize,
            flags,
            0o644,
            0,
            0,
        ) as i32
    }
}

/// A close-on-exec copy of `fd` numbered `min` or above, or a negative value.
pub fn copy_fd(fd: i32, min: i32) -> i32 {
    let command = libc::F_DUPFD_CLOEXEC as usize;
    // SAFETY: F_DUPFD_CLOEXEC only creates a descriptor.
    unsafe {
        syscall(
            libc::SYS_fcntl as usize,
            fd as usize,
            command,
            min as usize,
            0,
            0,
            0,
        ) as i32
    }
}

pub fn close(fd: i32) {
    // SAFETY: closing a descriptor touches no memory.
    unsafe { syscall(libc::SYS_close as usize, fd as usize, 0, 0, 0, 0, 0) };
}

pub fn getpid() -> u64 {
    // SAFETY: getpid has no arguments and cannot fail.
    unsafe { syscall(libc::SYS_getpid as usize, 0, 0, 0, 0, 0, 0) as u64 }
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
pub fn futex_wait(word: &AtomicU32, expected: u32) {
    let op = (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as usize;
    // SAFETY: the kernel only reads the futex word, which outlives the call.
    unsafe {
        syscall(
            libc::SYS_futex as usize,
            word.as_ptr() as usize,
            op,
            expected as usize,
            0,
            0,
            0,
        )
    };
}

/// Wakes one waiter of `word`.
pub fn futex_wake(word: &AtomicU32) {
    let op = (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as usize;
    // SAFETY: FUTEX_WAKE only uses the address as a key.
    unsafe {
        syscall(
            libc::SYS_futex as usize,
            word.as_ptr() as usize,
            op,
            1,
            0,
            0,
            0,
        )
    };
}
