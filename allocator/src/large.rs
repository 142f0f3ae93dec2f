//! Blocks with a mapping of their own: requests at or above the dynamic
//! mmap threshold. Freeing one unmaps it at once, and (as glibc does)
//! raises the threshold to its size, so a program that keeps recycling
//! buffers of that size gets them from the heap instead.
//!
//! Layout: `[mapping start ...][offset word][header][user bytes ...]`; the
//! header holds the mapping length, the offset word the distance from the
//! mapping start to the header.
//!
//! A freed mapping is gone, so a second free of it would fault reading the
//! header. Mapped blocks therefore always start at offset `2 * WORD` or 0
//! within a 4 KiB page (`MAYBE_MAPPED`), `free` sends such pointers to its
//! slow path, and that path first looks them up among the blocks unmapped
//! most recently: a double free is reported instead of faulting.

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::config::*;
use crate::header::*;
use crate::{counters, os};

/// Offsets within a 4 KiB page at which mapped blocks start.
#[inline(always)]
pub const fn maybe_mapped(user: usize) -> bool {
    user & 4095 <= 2 * WORD
}

const RECENT: usize = 64;
static RECENTLY_UNMAPPED: [AtomicUsize; RECENT] = [const { AtomicUsize::new(0) }; RECENT];
static NEXT_RECENT: AtomicUsize = AtomicUsize::new(0);

/// Whether `user` is a mapped block freed lately (and not mapped again).
pub fn recently_unmapped(user: usize) -> bool {
    RECENTLY_UNMAPPED
        .iter()
        .any(|slot| slot.load(Relaxed) == user)
}

/// Drops the entries inside `[start, start + len)`, which was just mapped
/// again (by us: a heap region or a mapped block) and may hold live blocks.
pub fn forget_unmapped(start: usize, len: usize) {
    for slot in &RECENTLY_UNMAPPED {
        let user = slot.load(Relaxed);
        if user.wrapping_sub(start) < len {
            let _ = slot.compare_exchange(user, 0, Relaxed, Relaxed);
        }
    }
}

static MMAP_THRESHOLD: AtomicUsize = AtomicUsize::new(MMAP_THRESHOLD_DEFAULT);
static TRIM_THRESHOLD: AtomicUsize = AtomicUsize::new(MMAP_THRESHOLD_DEFAULT);

#[inline]
pub fn mmap_threshold() -> usize {
    MMAP_THRESHOLD.load(Relaxed)
}

/// Resident free bytes in one heap chunk beyond which they go back to the OS.
#[inline]
pub fn trim_threshold() -> usize {
    TRIM_THRESHOLD.load(Relaxed)
}

/// A block of `len` bytes was freed: one bigger than the mmap threshold
/// raises it (as glibc's does), so a program that keeps recycling buffers
/// of that size gets them from the heap, and the heap keeps twice that
/// free before trimming.
#[inline]
pub fn freed_big(len: usize) {
    if len > mmap_threshold() && len <= MMAP_THRESHOLD_MAX {
        MMAP_THRESHOLD.store(len, Relaxed);
        TRIM_THRESHOLD.store(2 * len, Relaxed);
    }
}

/// A fresh mapping holding `n` usable bytes aligned to `align`; null if
/// the kernel refuses.
pub fn map_chunk(n: usize, align: usize) -> *mut u8 {
    let page = os::page_size();
    // Over-aligned blocks start on a page boundary (see maybe_mapped).
    let align = if align <= ALIGN {
        ALIGN
    } else {
        align.max(4096)
    };
    let Some(len) = n.checked_add(align + 2 * WORD + page - 1) else {
        return core::ptr::null_mut();
    };
    let len = len & !(page - 1);
    let base = os::map(len) as usize;
    if base == 0 {
        return core::ptr::null_mut();
    }
    counters::mapped(len);
    forget_unmapped(base, len);
    let user = round_up(base + 2 * WORD, align);
    let c = user - WORD;
    // SAFETY: both words lie inside the fresh mapping.
    unsafe {
        *(c as *mut usize) = len | MMAP | ALLOC;
        *((c - WORD) as *mut usize) = c - base;
    }
    user as *mut u8
}

/// Mapping start and length of the mapped chunk at `user` with header `h`;
/// aborts if the offset word cannot be genuine.
///
/// # Safety
/// `user` passed the header check of a mapped chunk.
unsafe fn mapping_of(user: usize, h: usize, function: &str) -> (usize, usize) {
    let len = h & !FLAGS;
    // SAFETY: a mapped chunk's offset word sits just below its header.
    let offset = unsafe { *((user - 2 * WORD) as *const usize) };
    let base = (user - WORD).wrapping_sub(offset);
    if offset >= len || (base | len) & (os::page_size() - 1) != 0 {
        fatal_invalid(function);
    }
    (base, len)
}

#[cold]
fn fatal_invalid(function: &str) -> ! {
    os::fatal(function, "invalid pointer")
}

/// Usable bytes of the mapped chunk at `user`.
///
/// # Safety
/// `user` is a live mapped chunk with header `h`.
pub unsafe fn usable(user: usize, h: usize) -> usize {
    // SAFETY: forwarded contract.
    let (base, len) = unsafe { mapping_of(user, h, "malloc_usable_size") };
    base + len - user
}

/// # Safety
/// `user` is a live mapped chunk with header `h`, no longer used.
pub unsafe fn unmap_chunk(user: usize, h: usize, function: &str) {
    // SAFETY: forwarded contract.
    let (base, len) = unsafe { mapping_of(user, h, function) };
    freed_big(len);
    // Recorded before the unmap: until munmap returns the kernel cannot
    // give the address to anyone else, and whoever maps it next clears it.
    RECENTLY_UNMAPPED[NEXT_RECENT.fetch_add(1, Relaxed) % RECENT].store(user, Relaxed);
    // SAFETY: the whole mapping belonged to this chunk.
    unsafe { os::unmap(base as *mut u8, len) };
    counters::unmapped(len);
    counters::returned(len);
}

/// Resizes the mapped chunk at `user` to `n` usable bytes with mremap;
/// null (chunk untouched) if the kernel refuses.
///
/// # Safety
/// `user` is a live mapped chunk with header `h`.
pub unsafe fn remap_chunk(user: usize, h: usize, n: usize) -> *mut u8 {
    // SAFETY: forwarded contract.
    let (base, len) = unsafe { mapping_of(user, h, "realloc") };
    let page = os::page_size();
    let head = user - base;
    let Some(new_len) = n.checked_add(head + page - 1) else {
        return core::ptr::null_mut();
    };
    let new_len = new_len & !(page - 1);
    // SAFETY: [base, base + len) is exactly this chunk's mapping.
    let moved = unsafe { os::remap(base as *mut u8, len, new_len) } as usize;
    if moved == 0 {
        return core::ptr::null_mut();
    }
    counters::unmapped(len);
    counters::mapped(new_len);
    forget_unmapped(moved, new_len);
    // SAFETY: the header moved with the mapping, at the same offset.
    unsafe { *((moved + head - WORD) as *mut usize) = new_len | MMAP | ALLOC };
    (moved + head) as *mut u8
}
