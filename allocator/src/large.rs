//! Blocks with a mapping of their own: requests at or above the dynamic
//! mmap threshold. Freeing one unmaps it at once, and (as glibc does)
//! raises the threshold to its size, so a program that keeps recycling
//! buffers of that size gets them from the heap instead.
//!
//! Layout: `[mapping start ...][offset word][header][user bytes ...]`; the
//! header holds the mapping length, the offset word the distance from the
//! mapping start to the header.

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::config::*;
use crate::header::*;
use crate::{os, stats};

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

/// A fresh mapping holding `n` usable bytes aligned to `align`; null if
/// the kernel refuses.
pub fn map_chunk(n: usize, align: usize) -> *mut u8 {
    let page = os::page_size();
    let Some(len) = n.checked_add(align + 2 * WORD + page - 1) else {
        return core::ptr::null_mut();
    };
    let len = len & !(page - 1);
    let base = os::map(len) as usize;
    if base == 0 {
        return core::ptr::null_mut();
    }
    stats::mapped(len);
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
    if offset >= len || base % os::page_size() != 0 || len % os::page_size() != 0 {
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
    if len > mmap_threshold() && len <= MMAP_THRESHOLD_MAX {
        MMAP_THRESHOLD.store(len, Relaxed);
        TRIM_THRESHOLD.store(2 * len, Relaxed);
    }
    // SAFETY: the whole mapping belonged to this chunk.
    unsafe { os::unmap(base as *mut u8, len) };
    stats::unmapped(len);
    stats::returned(len);
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
    stats::unmapped(len);
    stats::mapped(new_len);
    // SAFETY: the header moved with the mapping, at the same offset.
    unsafe { *((moved + head - WORD) as *mut usize) = new_len | MMAP | ALLOC };
    (moved + head) as *mut u8
}
