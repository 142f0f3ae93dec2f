//! Compile-time layout of the allocator, pinned by static assertions.
//!
//! Every chunk is `[header word][user bytes...]`: the user pointer is
//! `ALIGN`-aligned and the header is the word just below it. Chunk sizes
//! count the header, so a chunk of `s` bytes gives `s - WORD` usable bytes.

use core::mem::size_of;

/// Bytes in a machine word: the header size.
pub const WORD: usize = size_of::<usize>();

/// `alignof(max_align_t)`: 16 on x86_64 and aarch64, 8 on 32-bit ARM, as glibc.
pub const ALIGN: usize = 2 * WORD;

/// Heap chunk sizes are multiples of this, on every target, so the low four
/// header bits are always free for flags.
pub const GRAIN: usize = 16;

/// Largest small chunk (header included). Requests that fit go to the pools.
pub const SMALL_MAX_CHUNK: usize = 256;

/// Largest request served by the small pools.
pub const SMALL_MAX_REQUEST: usize = SMALL_MAX_CHUNK - WORD;

/// Number of small size classes: one per `ALIGN` step up to `SMALL_MAX_CHUNK`.
pub const NUM_CLASSES: usize = SMALL_MAX_CHUNK / ALIGN;

/// Size of the heap chunk that hosts one small page.
pub const SMALL_PAGE_BYTES: usize = 4096;

/// A free heap chunk holds header, two links, a resident-byte estimate and
/// a footer.
pub const MIN_HEAP_CHUNK: usize = round_up(5 * WORD, GRAIN);

/// Upper bound on arenas (the arena index lives in 4 header bits on 32-bit).
pub const MAX_ARENAS: usize = 16;

/// Smallest heap region mapped at once.
pub const REGION_MIN_BYTES: usize = 1 << 20;

/// Requests of at least this size start out as their own mapping; the
/// threshold rises (as glibc's does) when such a mapping is freed, so
/// programs that cycle large buffers stop paying a page fault per byte.
pub const MMAP_THRESHOLD_DEFAULT: usize = 128 * 1024;

/// Ceiling of the dynamic mmap threshold (glibc's values).
pub const MMAP_THRESHOLD_MAX: usize = if WORD == 8 { 32 << 20 } else { 16 << 20 };

/// Largest request at all: glibc refuses anything above `PTRDIFF_MAX`.
pub const MAX_REQUEST: usize = isize::MAX as usize - 4 * 4096;

/// Deferred frees pending past this many bytes are coalesced at free time,
/// so memory returns to the OS even if no large allocation follows.
pub const DEFER_LIMIT_BYTES: usize = 256 * 1024;

/// Heap chunks up to this size (requests up to 1032 B, as glibc's tcache)
/// are also kept in the thread caches when freed.
pub const MEDIUM_MAX_CHUNK: usize = 1040;

/// One thread-cache bucket per heap-chunk size from SMALL_MAX_CHUNK + 16.
pub const MEDIUM_BUCKETS: usize = (MEDIUM_MAX_CHUNK - SMALL_MAX_CHUNK) / GRAIN;

/// Chunks kept per bucket, and bytes kept in all buckets of one thread:
/// bounded so that many threads do not hoard memory on small boards.
pub const MEDIUM_PER_BUCKET: u32 = 6;
pub const MEDIUM_CACHE_BYTES: usize = 32 * 1024;

/// Bucket of a medium heap chunk of `size` bytes.
#[inline(always)]
pub const fn medium_bucket(size: usize) -> usize {
    size / GRAIN - SMALL_MAX_CHUNK / GRAIN - 1
}

/// Thread-cache slots; threads beyond this use the arenas directly.
pub const THREAD_SLOTS: usize = 256;

/// Heap-chunk bins: four per power of two from 16 B up to 2^27 B.
pub const NUM_BINS: usize = 96;

/// Words of the non-empty-bin bitmap.
pub const BIN_MAP_WORDS: usize = NUM_BINS / 32;

pub const fn round_up(n: usize, to: usize) -> usize {
    (n + to - 1) & !(to - 1)
}

/// Small class of a request of `n <= SMALL_MAX_REQUEST` bytes.
#[inline(always)]
pub const fn class_of(n: usize) -> usize {
    (n + WORD - 1) / ALIGN
}

/// Chunk size of small class `c`.
#[inline(always)]
pub const fn class_chunk(c: usize) -> usize {
    (c + 1) * ALIGN
}

/// Usable bytes of a block of small class `c`.
#[inline(always)]
pub const fn class_usable(c: usize) -> usize {
    class_chunk(c) - WORD
}

/// Blocks a thread keeps per class before it gives half back: about 2 KiB
/// of each class, between 8 and 32 blocks.
pub const fn cache_capacity(c: usize) -> u32 {
    let n = 2048 / class_chunk(c);
    let n = if n < 8 { 8 } else { n };
    (if n > 32 { 32 } else { n }) as u32
}

/// Per-class thread-cache capacities, computed once at compile time.
pub const CACHE_CAPACITY: [u32; NUM_CLASSES] = {
    let mut caps = [0u32; NUM_CLASSES];
    let mut c = 0;
    while c < NUM_CLASSES {
        caps[c] = cache_capacity(c);
        c += 1;
    }
    caps
};

const _: () = assert!(ALIGN.is_power_of_two() && ALIGN <= GRAIN);
const _: () = assert!(SMALL_MAX_CHUNK % ALIGN == 0);
const _: () = assert!(class_of(0) == 0 && class_of(1) == 0);
const _: () = assert!(class_of(ALIGN - WORD) == 0 && class_of(ALIGN - WORD + 1) == 1);
const _: () = assert!(class_of(SMALL_MAX_REQUEST) == NUM_CLASSES - 1);
const _: () = assert!(class_usable(NUM_CLASSES - 1) == SMALL_MAX_REQUEST);
// A free small block stores one link in its user bytes.
const _: () = assert!(class_usable(0) >= WORD);
// The small-class number fits its 6 header bits.
const _: () = assert!(NUM_CLASSES <= 64);
// Page offsets fit the 16 header bits above bit 16 on 32-bit targets.
const _: () = assert!(SMALL_PAGE_BYTES <= 1 << 16);
const _: () = assert!(MIN_HEAP_CHUNK % GRAIN == 0 && MIN_HEAP_CHUNK < SMALL_PAGE_BYTES);
const _: () = assert!(NUM_BINS % 32 == 0 && NUM_BINS == (27 - 4 + 1) * 4);
const _: () = assert!(THREAD_SLOTS.is_power_of_two());
const _: () = assert!(medium_bucket(SMALL_MAX_CHUNK + GRAIN) == 0);
const _: () = assert!(medium_bucket(MEDIUM_MAX_CHUNK) == MEDIUM_BUCKETS - 1);
const _: () = assert!(MEDIUM_MAX_CHUNK > SMALL_MAX_CHUNK + MIN_HEAP_CHUNK);
// Heap chunk sizes must stay below the arena bits of the header.
const _: () = assert!(MMAP_THRESHOLD_MAX * 2 < (1usize << (WORD * 8 - 4)));
