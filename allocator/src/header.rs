//! The one-word chunk header and its encodings.
//!
//! Bits 0..4 are flags. The rest depends on the kind of chunk:
//! - heap chunk (`SMALL` and `MMAP` clear): bits 4..ARENA_SHIFT hold the
//!   chunk size (a multiple of 16), the top 4 bits the owning arena;
//! - small block (`SMALL`): bits 4..10 the class, 10..16 a check tag, 16..
//!   the distance back to its page, so free needs no lookup table;
//! - mapped chunk (`MMAP` and `ALLOC`): the mapping length (a page
//!   multiple); the word below the header holds the distance from the
//!   mapping start.
//!
//! A heap chunk's header is written by its arena under the arena lock,
//! except that a thread cache flips `ALLOC`/`CACHED` of chunks it holds
//! without it; so the arena sets and clears a neighbour's `PREV_FREE` with
//! atomic read-modify-write (`heap::hdr_update`), and so does the cache.

use crate::config::WORD;

pub const ALLOC: usize = 1;
pub const SMALL: usize = 2;
pub const MMAP: usize = 4;
/// Heap chunk: the chunk below is free (its footer holds its size).
pub const PREV_FREE: usize = 8;
/// A heap chunk with `MMAP` set and `ALLOC` clear sits in a thread cache:
/// freed for its user, still taken for its arena. Mapped chunks always have
/// `ALLOC` set, so the two never mix.
pub const CACHED: usize = MMAP;
/// Heap chunks with either bit are not free for their arena.
pub const BUSY: usize = ALLOC | CACHED;
pub const FLAGS: usize = 15;

pub const ARENA_SHIFT: u32 = WORD as u32 * 8 - 4;
pub const SIZE_MASK: usize = ((1usize << ARENA_SHIFT) - 1) & !FLAGS;

pub const CLASS_SHIFT: u32 = 4;
pub const CLASS_MASK: usize = 63;
pub const TAG_SHIFT: u32 = 10;
pub const TAG: usize = 0b101101 << TAG_SHIFT;
pub const TAG_MASK: usize = 63 << TAG_SHIFT;
pub const PAGE_SHIFT: u32 = 16;

/// The bits a live small block must show; everything else is misuse.
pub const SMALL_LIVE_MASK: usize = ALLOC | SMALL | MMAP | TAG_MASK;
pub const SMALL_LIVE: usize = ALLOC | SMALL | TAG;

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
pub const fn small_header(class: usize, page_distance: usize) -> usize {
    (page_distance << PAGE_SHIFT) | TAG | (class << CLASS_SHIFT) | SMALL
}

#[inline(always)]
pub const fn small_class(h: usize) -> usize {
    (h >> CLASS_SHIFT) & CLASS_MASK
}

#[inline(always)]
pub const fn small_page_distance(h: usize) -> usize {
    h >> PAGE_SHIFT
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

const _: () = assert!(crate::config::NUM_CLASSES - 1 <= CLASS_MASK);
const _: () = assert!(small_class(small_header(5, 4000)) == 5);
const _: () = assert!(small_page_distance(small_header(5, 4000)) == 4000);
const _: () = assert!(heap_size(heap_header(4096, 15, ALLOC | PREV_FREE)) == 4096);
const _: () = assert!(heap_arena(heap_header(4096, 15, ALLOC)) == 15);
