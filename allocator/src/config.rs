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

/// Largest small block. Small blocks have no header: their size class and
/// owner come from the page metadata of the segment they lie in. 1 KiB, as
/// glibc's thread cache (1032 B): the sizes most programs allocate most.
pub const SMALL_MAX: usize = 1024;

/// Largest request served by the small pages.
pub const SMALL_MAX_REQUEST: usize = SMALL_MAX;

/// Small classes step by `ALIGN` (16 B on 64-bit targets, 8 B on 32-bit ARM)
/// up to 16 steps, then eight classes per doubling: 32 classes on 64-bit
/// targets, 40 on 32-bit ones. Fewer classes mean fewer partly used pages
/// per thread; the waste per block stays within glibc's own (8 B of header
/// and 16 B rounding) up to 512 B, and within 64 B above.
pub const NUM_CLASSES: usize = count_classes();

/// Per-class arrays are this long (a power of two, so that a class index
/// can be masked instead of bounds-checked).
pub const CLASS_SLOTS: usize = NUM_CLASSES.next_power_of_two();

/// Class step for blocks of `size` bytes.
const fn class_step(size: usize) -> usize {
    let step = size.next_power_of_two() / 16;
    if step < ALIGN {
        ALIGN
    } else {
        step
    }
}

const fn count_classes() -> usize {
    let (mut size, mut n) = (ALIGN, 1);
    while size < SMALL_MAX {
        size += class_step(size + 1);
        n += 1;
    }
    n
}

/// Block size of each class.
pub const CLASS_SIZES: [u16; NUM_CLASSES] = {
    let mut sizes = [0u16; NUM_CLASSES];
    let (mut size, mut c) = (ALIGN, 0);
    loop {
        sizes[c] = size as u16;
        if size >= SMALL_MAX {
            break;
        }
        size += class_step(size + 1);
        c += 1;
    }
    sizes
};

/// Entries of a thread's `direct` table: one per request size in ALIGN
/// steps (0..=SMALL_MAX), so `malloc` finds its page without the class.
pub const DIRECT_SLOTS: usize = SMALL_MAX / ALIGN + 1;

/// `direct` entry of a request of `n <= SMALL_MAX_REQUEST` bytes.
#[inline(always)]
pub const fn direct_index(n: usize) -> usize {
    (n + ALIGN - 1) / ALIGN
}

/// The `direct` entries whose requests fall in class `c`: first and last.
pub const fn direct_range(c: usize) -> (usize, usize) {
    let first = if c == 0 {
        0
    } else {
        class_size(c - 1) / ALIGN + 1
    };
    (first, class_size(c) / ALIGN)
}

/// Segments: `SEGMENT_BYTES`-aligned mappings cut into small pages; page 0
/// holds the segment's metadata. 4 MiB / 32 KiB pages on 64-bit targets,
/// 1 MiB / 16 KiB on 32-bit ones, whose address space is small.
pub const SEGMENT_SHIFT: u32 = if WORD == 8 { 22 } else { 20 };
pub const SEGMENT_BYTES: usize = 1 << SEGMENT_SHIFT;
pub const PAGE_SHIFT: u32 = if WORD == 8 { 15 } else { 14 };
pub const PAGE_BYTES: usize = 1 << PAGE_SHIFT;
pub const PAGES_PER_SEGMENT: usize = SEGMENT_BYTES / PAGE_BYTES;

/// Address bits a user pointer can have: the segment map covers them all.
pub const ADDRESS_BITS: u32 = if WORD == 8 { 48 } else { 32 };

/// Free small pages kept resident (not given back with MADV_DONTNEED) in
/// all segments together, at least, so a program whose page empties and
/// fills again does not pay a page fault per 4 KiB each time; beyond it a
/// sixteenth of the pages in use (segment.rs). One: at 16 the small
/// workloads' peak RSS was a few percent higher and no faster, and at 4
/// (128 KiB on 64-bit) a program that freed a 200 MiB peak of small blocks
/// kept 12 % above its starting RSS, against 9.5 % now.
pub const DIRTY_PAGES_MAX: usize = 1;

/// A free heap chunk holds header, two links and a footer.
pub const MIN_HEAP_CHUNK: usize = round_up(4 * WORD, GRAIN);

/// Upper bound on arenas (the arena index lives in 4 header bits on 32-bit).
pub const MAX_ARENAS: usize = 16;

/// Address space the first heap region of an arena reserves, committed
/// as the heap grows: 64 MiB, as glibc's heaps of threads. Each further
/// region reserves twice the one before, up to `REGION_RESERVE_MAX_SHIFT`
/// doublings (1 GiB on 64-bit targets, 128 MiB on 32-bit ones, whose
/// address space is small): a small program keeps one small reservation,
/// a big heap is cut into few regions (free space does not merge across
/// them). A process whose address space is limited gets a region of
/// exactly what it needs instead. (A first reservation of 1 GiB made
/// every fork under qemu-user slow enough to starve a process forking
/// in a signal handler: qemu copies its own map of the guest's pages.)
pub const REGION_RESERVE_BYTES: usize = 64 << 20;
pub const REGION_RESERVE_MAX_SHIFT: usize = if WORD == 8 { 4 } else { 1 };

/// Bytes committed beyond a request when a region grows, so that a heap
/// growing a little at a time makes a system call per 64 KiB, not per
/// request. Commit alone costs no memory until the pages are touched.
pub const GROW_PAD_BYTES: usize = 64 * 1024;

/// Binned free heap chunks this big or bigger give their pages back
/// (MADV_DONTNEED) when the heap must grow past its peak (`purge_bins`).
pub const PURGE_MIN_BYTES: usize = 4 << 20;

/// Free bytes kept committed at the top of a region when it is trimmed, so
/// a program that frees and allocates around the top does not give pages
/// back and fault them in each time. Half glibc's M_TOP_PAD default: at
/// 128 KiB a freed 200 MiB peak of 4 KiB blocks left 12 % above the
/// starting RSS (8 % now), and no workload was faster for it.
pub const TOP_KEEP_BYTES: usize = 64 * 1024;

/// Requests of at least this size start out as their own mapping; the
/// threshold rises (as glibc's does) when such a mapping is freed, so
/// programs that cycle large buffers stop paying a page fault per byte.
pub const MMAP_THRESHOLD_DEFAULT: usize = 128 * 1024;

/// Ceiling of the dynamic mmap threshold: glibc's values, 32 MiB on 64-bit
/// targets and 512 KiB on 32-bit ones, where a buffer above it is mapped
/// and unmapped rather than kept in a heap: on a 512 MB board, peak RSS
/// matters more than the page faults of re-mapping big buffers.
pub const MMAP_THRESHOLD_MAX: usize = if WORD == 8 { 32 << 20 } else { 512 << 10 };

/// Largest request at all: glibc refuses anything above `PTRDIFF_MAX`.
pub const MAX_REQUEST: usize = isize::MAX as usize - 4 * 4096;

/// Deferred frees pending past this many bytes are coalesced at free time,
/// so memory returns to the OS even if no large allocation follows.
pub const DEFER_LIMIT_BYTES: usize = 256 * 1024;

/// Thread-cache slots; threads beyond this use the arenas directly.
pub const THREAD_SLOTS: usize = 256;

/// Heap-chunk bins: four per power of two from 16 B up to 2^27 B.
pub const NUM_BINS: usize = 96;

/// Words of the non-empty-bin bitmap.
pub const BIN_MAP_WORDS: usize = NUM_BINS / 32;

/// `n / d` (`d > 0`) for the slow paths. On 32-bit ARM a `/` by a
/// run-time divisor calls the compiler's division helpers (ARMv6 has no
/// divide instruction), 440 bytes of the 20 KB budget; shift and subtract
/// is a few instructions.
#[inline(never)]
pub fn div(n: usize, d: usize) -> usize {
    if WORD == 8 {
        return n / d;
    }
    let (mut q, mut r) = (0, 0);
    let mut bit = usize::BITS;
    while bit > 0 {
        bit -= 1;
        r = r << 1 | (n >> bit & 1);
        if r >= d {
            r -= d;
            q |= 1 << bit;
        }
    }
    q
}

pub const fn round_up(n: usize, to: usize) -> usize {
    (n + to - 1) & !(to - 1)
}

/// Requests up to this size have a class every ALIGN bytes; above it,
/// eight classes per doubling (`class_step`).
const LINEAR_MAX: usize = 16 * ALIGN;

/// Small class of a request of `n <= SMALL_MAX_REQUEST` bytes (0 is class
/// 0). Computed, not looked up: a table of one byte per ALIGN step took
/// 129 bytes of the 32-bit library. Pinned against `CLASS_SIZES` for
/// every request size below.
#[inline(never)]
pub const fn class_of(n: usize) -> usize {
    if n <= LINEAR_MAX {
        return n.saturating_sub(1) / ALIGN;
    }
    let m = n - 1;
    let e = (usize::BITS - 1 - m.leading_zeros()) as usize;
    16 + (e - LINEAR_MAX.trailing_zeros() as usize) * 8 + ((m >> (e - 3)) & 7)
}

/// Block size (and usable bytes) of small class `c`.
#[inline(always)]
pub const fn class_size(c: usize) -> usize {
    CLASS_SIZES[if c < NUM_CLASSES { c } else { NUM_CLASSES - 1 }] as usize
}

const _: () = assert!(ALIGN.is_power_of_two() && ALIGN <= GRAIN);
const _: () = assert!(SMALL_MAX % ALIGN == 0);
const _: () = assert!(class_of(0) == 0 && class_of(1) == 0 && class_of(ALIGN) == 0);
const _: () = assert!(class_of(ALIGN + 1) == 1 && class_size(1) == 2 * ALIGN);
const _: () = assert!(NUM_CLASSES == if WORD == 8 { 32 } else { 40 });
const _: () = assert!(class_size(class_of(257)) == 288);
const _: () = assert!(class_size(class_of(1000)) == 1024 && class_size(class_of(513)) == 576);
// Every class size is a multiple of its step: memalign's small path relies
// on blocks of a size that is a multiple of the alignment.
const _: () = {
    let mut c = 0;
    while c < NUM_CLASSES {
        assert!(class_size(c) % class_step(class_size(c)) == 0);
        c += 1;
    }
};
const _: () = assert!(class_of(SMALL_MAX_REQUEST) == NUM_CLASSES - 1);
// Every request size gets the smallest class that holds it.
const _: () = {
    let mut n = 0;
    while n <= SMALL_MAX_REQUEST {
        let c = class_of(n);
        assert!(c < NUM_CLASSES && class_size(c) >= n);
        assert!(c == 0 || class_size(c - 1) < n);
        n += 1;
    }
};
const _: () = assert!(class_size(NUM_CLASSES - 1) == SMALL_MAX);
const _: () = assert!(direct_index(SMALL_MAX_REQUEST) < DIRECT_SLOTS);
// A free small block stores its link and the double-free key.
const _: () = assert!(class_size(0) >= 2 * WORD);
// Block offsets in a page fit the 32-bit reciprocal division (page.rs).
const _: () = assert!(PAGE_BYTES <= 1 << 16 && SEGMENT_BYTES % PAGE_BYTES == 0);
// `Page::is_block_start`: a block start's remainder (at most PAGE_BYTES)
// stays below the smallest reciprocal, and no other offset's wraps round.
const _: () = assert!((u32::MAX as usize) / SMALL_MAX > PAGE_BYTES + SMALL_MAX);
const _: () = assert!(MIN_HEAP_CHUNK % GRAIN == 0);
// A purged chunk keeps its first and last words on pages of their own, even
// with 64 KiB pages; and PURGE_MIN_BYTES starts a bin.
const _: () = assert!(PURGE_MIN_BYTES >= 3 * 65536 && PURGE_MIN_BYTES.is_power_of_two());
const _: () = assert!(NUM_BINS % 32 == 0 && NUM_BINS == (27 - 4 + 1) * 4);
const _: () = assert!(THREAD_SLOTS.is_power_of_two() && MAX_ARENAS.is_power_of_two());

// Heap chunk sizes must stay below the arena bits of the header.
const _: () = assert!(MMAP_THRESHOLD_MAX * 2 < (1usize << (WORD * 8 - 4)));
