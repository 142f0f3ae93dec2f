//! The one-word header of heap and mapped chunks, and its encodings (small
//! blocks have none: see page.rs).
//!
//! Bits 0..4 are flags. The rest depends on the kind of chunk:
//! - heap chunk (`MMAP` clear): bits 4..ARENA_SHIFT hold the chunk size
//!   (a multiple of 16), the top 4 bits the owning arena;
//! - mapped chunk (`MMAP` and `ALLOC`): the mapping length (a page
//!   multiple); the word below the header holds the distance from the
//!   mapping start.
//!
//! A heap chunk's header is written only by its arena, under the arena lock.

use crate::config::WORD;

pub const ALLOC: usize = 1;
/// Free heap chunk: its pages (all but the first and last) were given back.
pub const PURGED: usize = 2;
pub const MMAP: usize = 4;
/// Heap chunk: the chunk below is free (its footer holds its size).
pub const PREV_FREE: usize = 8;
pub const FLAGS: usize = 15;

pub const ARENA_SHIFT: u32 = WORD as u32 * 8 - 4;
pub const SIZE_MASK: usize = ((1usize << ARENA_SHIFT) - 1) & !FLAGS;

/// Header word of a chunk whose user pointer is `user`.
///
/// # Safety
/// `user` must be a chunk's user pointer, so the word below it is readable.
#[inline(always)]
pub unsafe fn header(user: *mut u8) -> *mut usize {
    // SAFETY: the caller guarantees the word below `user` is the header.
    unsafe { user.sub(WORD) as *mut usize }
}

#[inline(always)]
pub const fn heap_header(size: usize, arena: usize, flags: usize) -> usize {
    size | (arena << ARENA_SHIFT) | flags
}

#[inline(always)]
pub const fn heap_size(h: usize) -> usize {
    h & SIZE_MASK
}

#[inline(always)]
pub const fn heap_arena(h: usize) -> usize {
    h >> ARENA_SHIFT
}

const _: () = assert!(heap_size(heap_header(4096, 15, ALLOC | PREV_FREE)) == 4096);
const _: () = assert!(heap_arena(heap_header(4096, 15, ALLOC)) == 15);
