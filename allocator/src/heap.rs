//! The large-chunk heap of an arena: mmap-backed regions cut into chunks,
//! free chunks in size bins, merging deferred to the next large allocation
//! (LWMalloc's deferred coalescing), and free pages handed back to the OS.
//!
//! Chunk layout: `[header][user bytes ...]`. A free chunk keeps, after the
//! header, `next` and `pprev` links (pprev points at whatever word points at
//! the chunk, so unlinking needs no list head), an estimate of how many of
//! its bytes are resident, and a footer (its size) in its last word; the
//! chunk after a free chunk has `PREV_FREE` set. Neighbouring free chunks
//! are allowed while they sit on the deferred list.
//!
//! Region layout: `[Region][first chunk ... ][fence header][region address]`.
//! The fence is an allocated chunk of size 0 that stops merging.
//!
//! Every function here requires the arena lock.

use crate::arena::{Arena, Heap};
use crate::bins;
use crate::config::*;
use crate::header::*;
use crate::{counters, large, os};

/// Region header. Its first three words have the layout of a free chunk's
/// links, so regions go on the same intrusive lists.
#[repr(C)]
#[allow(dead_code)] // the link words are reached through `push`/`unlink`
struct Region {
    _unused: usize,
    next: usize,
    pprev: usize,
    len: usize,
    first: usize,
}

const FIRST_CHUNK_OFFSET: usize = round_up(core::mem::size_of::<Region>() + WORD, GRAIN) - WORD;
const FENCE_FROM_END: usize = GRAIN + WORD;

/// Resident-byte estimate of a free chunk lives in its fourth word.
const RESIDENT_WORD: usize = 3;

/// # Safety
/// None to call; the pointer is valid only where `addr` is.
#[inline(always)]
unsafe fn word(addr: usize, i: usize) -> *mut usize {
    (addr + i * WORD) as *mut usize
}
/// # Safety
/// `c` is a chunk (or fence) address inside a live region.
#[inline(always)]
pub unsafe fn hdr(c: usize) -> usize {
    // SAFETY: callers pass chunk addresses inside a live region.
    unsafe { *(c as *const usize) }
}
/// # Safety
/// As `hdr`, and the caller may write the chunk's header.
#[inline(always)]
pub unsafe fn set_hdr(c: usize, h: usize) {
    // SAFETY: as for hdr.
    unsafe { *(c as *mut usize) = h }
}
/// Atomically `h = (h & keep) ^ flip` on the header of chunk `c`: for
/// words a thread cache may flip at the same time (see header.rs).
///
/// # Safety
/// As `set_hdr`.
#[inline(always)]
pub unsafe fn hdr_update(c: usize, keep: usize, flip: usize) {
    // SAFETY: c is a chunk header, aligned and live; all concurrent
    // writers of it use atomic read-modify-write.
    let word = unsafe { core::sync::atomic::AtomicUsize::from_ptr(c as *mut usize) };
    let mut old = word.load(core::sync::atomic::Ordering::Relaxed);
    while let Err(now) = word.compare_exchange_weak(
        old,
        (old & keep) ^ flip,
        core::sync::atomic::Ordering::Relaxed,
        core::sync::atomic::Ordering::Relaxed,
    ) {
        old = now;
    }
}

/// # Safety
/// `c` is a free chunk of `size` bytes the caller may write.
#[inline(always)]
unsafe fn set_footer(c: usize, size: usize) {
    // SAFETY: the last word of a free chunk belongs to it.
    unsafe { *((c + size - WORD) as *mut usize) = size }
}

/// Pushes chunk `c` on the list whose head word is at `head`.
///
/// # Safety
/// `c` is a free chunk off every list; `head` is a list head or a
/// listed chunk's next word.
#[inline(always)]
unsafe fn push(head: *mut usize, c: usize) {
    // SAFETY: `c` is a free chunk with room for its links; `head` is a list
    // head or a free chunk's next word.
    unsafe {
        let first = *head;
        *word(c, 1) = first;
        *word(c, 2) = head as usize;
        if first != 0 {
            *word(first, 2) = c + WORD;
        }
        *head = c;
    }
}

/// # Safety
/// `c` is on a list.
#[inline(always)]
unsafe fn unlink(c: usize) {
    // SAFETY: `c` is on a list, so its links are valid.
    unsafe {
        let next = *word(c, 1);
        let pprev = *word(c, 2) as *mut usize;
        *pprev = next;
        if next != 0 {
            *word(next, 2) = pprev as usize;
        }
    }
}

impl Heap {
    /// The list head of bin `i` and its bitmap word. Unchecked: every `i`
    /// comes from `bins::index`, which stays below NUM_BINS (pinned in
    /// bins.rs), and a bounds check would compile in a panic path.
    #[inline(always)]
    fn bin(&mut self, i: usize) -> (&mut usize, &mut u32) {
        debug_assert!(i < NUM_BINS);
        // SAFETY: i < NUM_BINS, so i / 32 < BIN_MAP_WORDS.
        unsafe {
            (
                self.bins.get_unchecked_mut(i),
                self.bin_map.get_unchecked_mut(i / 32),
            )
        }
    }

    /// # Safety
    /// The caller holds the arena lock; `c` is a free chunk off every list.
    #[inline]
    unsafe fn bin_insert(&mut self, c: usize, size: usize) {
        let i = bins::index(size);
        let (head, map) = self.bin(i);
        // SAFETY: c is a free chunk owned by this heap.
        unsafe { push(head, c) };
        *map |= 1 << (i % 32);
    }
}

impl Arena {
    /// Makes `c` (header, footer and resident estimate already written) a
    /// member of a bin.
    ///
    /// # Safety
    /// As `bin_insert`.
    unsafe fn insert_free(&self, heap: &mut Heap, c: usize, size: usize) {
        // SAFETY: caller holds the lock; c is free.
        unsafe { heap.bin_insert(c, size) };
        self.count_free(size);
    }

    /// Takes free chunk `c` off whichever list holds it.
    ///
    /// # Safety
    /// The caller holds the arena lock; `c` is free and listed.
    unsafe fn remove_free(&self, heap: &mut Heap, c: usize) {
        // SAFETY: c is free, so it is on a bin or the deferred list.
        let size = unsafe {
            unlink(c);
            heap_size(hdr(c))
        };
        let i = bins::index(size);
        let (head, map) = heap.bin(i);
        if *head == 0 {
            *map &= !(1 << (i % 32));
        }
        self.count_free(size.wrapping_neg());
    }

    /// A free chunk of at least `size` bytes, unlinked, or 0.
    ///
    /// # Safety
    /// The caller holds the arena lock.
    unsafe fn find_fit(&self, heap: &mut Heap, size: usize) -> usize {
        let i = bins::index(size);
        let mut c = *heap.bin(i).0;
        let mut looked = 0;
        // SAFETY: lists hold only free chunks of this heap.
        unsafe {
            while c != 0 && looked < 16 {
                if heap_size(hdr(c)) >= size {
                    self.remove_free(heap, c);
                    return c;
                }
                c = *word(c, 1);
                looked += 1;
            }
            let Some(j) = bins::first_set(&heap.bin_map, i + 1) else {
                return 0;
            };
            c = heap.bins[j];
            if j == NUM_BINS - 1 {
                // The last bin is unbounded: first fit.
                while c != 0 && heap_size(hdr(c)) < size {
                    c = *word(c, 1);
                }
                if c == 0 {
                    return 0;
                }
            }
            self.remove_free(heap, c);
        }
        c
    }

    /// Allocates a heap chunk of exactly `size` bytes (a multiple of GRAIN,
    /// at least MIN_HEAP_CHUNK) and returns its address, or 0.
    ///
    /// # Safety
    /// The caller holds the lock.
    pub unsafe fn heap_alloc(&self, size: usize) -> usize {
        // SAFETY: the caller holds the lock.
        unsafe {
            let heap = self.heap();
            let mut c = self.find_fit(heap, size);
            if c == 0 && heap.deferred != 0 {
                // Merging is deferred until the bins cannot serve a request.
                self.coalesce(heap);
                c = self.find_fit(heap, size);
            }
            let resident;
            if c == 0 {
                c = self.grow(heap, size);
                if c == 0 {
                    return 0;
                }
                resident = 0;
            } else {
                resident = *word(c, RESIDENT_WORD);
            }
            self.carve(heap, c, size, resident);
            c
        }
    }

    /// Marks the unlinked free chunk `c` allocated with `size` bytes and
    /// returns any remainder to a bin. `resident` is the estimate `c` had.
    ///
    /// # Safety
    /// The caller holds the arena lock; `c` is free, unlinked, at least
    /// `size` bytes.
    unsafe fn carve(&self, heap: &mut Heap, c: usize, size: usize, resident: usize) {
        // SAFETY: c is a free unlinked chunk of this heap, at least size long.
        unsafe {
            let h = hdr(c);
            let total = heap_size(h);
            let rest = total - size;
            if rest >= MIN_HEAP_CHUNK {
                set_hdr(c, heap_header(size, self.index(), ALLOC | (h & PREV_FREE)));
                let r = c + size;
                set_hdr(r, heap_header(rest, self.index(), 0));
                *word(r, RESIDENT_WORD) = rest.min(resident);
                set_footer(r, rest);
                self.insert_free(heap, r, rest);
            } else {
                set_hdr(c, heap_header(total, self.index(), ALLOC | (h & PREV_FREE)));
                hdr_update(c + total, !PREV_FREE, 0);
            }
        }
    }

    /// Frees the allocated heap chunk `c`. O(1): if a neighbour is free the
    /// merge waits on the deferred list.
    ///
    /// # Safety
    /// The caller holds the lock; `c` is an allocated chunk of this arena.
    pub unsafe fn heap_free(&self, c: usize) {
        // SAFETY: the caller holds the lock and owns c.
        unsafe {
            let heap = self.heap();
            let h = hdr(c);
            let size = heap_size(h);
            let n = c + size;
            let hn = hdr(n);
            set_hdr(c, heap_header(size, self.index(), h & PREV_FREE));
            *word(c, RESIDENT_WORD) = size;
            set_footer(c, size);
            hdr_update(n, !PREV_FREE, PREV_FREE);
            if h & PREV_FREE != 0 || hn & BUSY == 0 || size >= large::trim_threshold() {
                push(&mut heap.deferred, c);
                self.count_free(size);
                heap.deferred_bytes += size;
                if heap.deferred_bytes > DEFER_LIMIT_BYTES {
                    self.coalesce(heap);
                }
            } else {
                self.insert_free(heap, c, size);
            }
        }
    }

    /// Merges every deferred chunk with its free neighbours, returns empty
    /// regions and large resident free ranges to the OS, and bins the rest.
    ///
    /// # Safety
    /// The caller holds the arena lock.
    unsafe fn coalesce(&self, heap: &mut Heap) {
        // SAFETY: the caller holds the lock; all chunks visited are this heap's.
        unsafe {
            while heap.deferred != 0 {
                let mut c = heap.deferred;
                self.remove_free(heap, c);
                let mut size = heap_size(hdr(c));
                let mut parts = Parts::new(c, size, *word(c, RESIDENT_WORD));
                while hdr(c) & PREV_FREE != 0 {
                    let prev_size = *((c - WORD) as *const usize);
                    c -= prev_size;
                    self.remove_free(heap, c);
                    parts.add(c, prev_size, *word(c, RESIDENT_WORD));
                    size += prev_size;
                }
                loop {
                    let hn = hdr(c + size);
                    if hn & BUSY != 0 {
                        break;
                    }
                    self.remove_free(heap, c + size);
                    parts.add(c + size, heap_size(hn), *word(c + size, RESIDENT_WORD));
                    size += heap_size(hn);
                }
                set_hdr(c, heap_header(size, self.index(), 0));
                set_footer(c, size);
                let fence = c + size;
                let ends_region = heap_size(hdr(fence)) == 0;
                if ends_region && heap.region_count > 1 {
                    // An empty region goes back, unless the arena's empty
                    // regions stay within the trim threshold: after the
                    // threshold has risen (a program cycling big buffers),
                    // unmapping would only mean mapping again for the next
                    // buffer.
                    let region = *word(fence, 1);
                    if (*(region as *const Region)).first == c {
                        let len = (*(region as *const Region)).len;
                        if empty_region_bytes(heap, region) + len > large::trim_threshold() {
                            self.unmap_region(heap, region);
                            continue;
                        }
                    }
                }
                // Like glibc's top trimming: only the free end of a region
                // goes back. Free chunks inside a region are the ones about
                // to be reused; releasing them costs a page fault per page.
                let mut resident = parts.resident;
                if ends_region && resident >= large::trim_threshold() {
                    parts.release(c, size);
                    resident = 0;
                }
                *word(c, RESIDENT_WORD) = resident.min(size);
                self.insert_free(heap, c, size);
            }
            heap.deferred_bytes = 0;
        }
    }

    /// Maps a new region able to hold a `size`-byte chunk; returns its one
    /// free chunk, unlinked, or 0.
    ///
    /// # Safety
    /// The caller holds the arena lock.
    unsafe fn grow(&self, heap: &mut Heap, size: usize) -> usize {
        let doubling = (heap.region_count / 2).min(5);
        let want = (REGION_MIN_BYTES << doubling).max(size + FIRST_CHUNK_OFFSET + FENCE_FROM_END);
        let len = round_up(want, os::page_size());
        let base = os::map(len) as usize;
        if base == 0 {
            return 0;
        }
        large::forget_unmapped(base, len);
        counters::mapped(len);
        self.heap_bytes
            .fetch_add(len, core::sync::atomic::Ordering::Relaxed);
        let first = base + FIRST_CHUNK_OFFSET;
        let fence = base + len - FENCE_FROM_END;
        // SAFETY: the fresh mapping is ours; all offsets lie inside it.
        unsafe {
            let region = base as *mut Region;
            (*region).len = len;
            (*region).first = first;
            push(&mut heap.regions, base);
            heap.region_count += 1;
            set_hdr(fence, heap_header(0, self.index(), ALLOC | PREV_FREE));
            *word(fence, 1) = base;
            let chunk = fence - first;
            set_hdr(first, heap_header(chunk, self.index(), 0));
            *word(first, RESIDENT_WORD) = 0;
            set_footer(first, chunk);
        }
        first
    }

    /// # Safety
    /// The caller holds the arena lock; the region holds one free chunk,
    /// off every list.
    unsafe fn unmap_region(&self, heap: &mut Heap, region: usize) {
        // SAFETY: the region holds one free chunk, already off every list.
        unsafe {
            let len = (*(region as *const Region)).len;
            unlink(region);
            heap.region_count -= 1;
            os::unmap(region as *mut u8, len);
            counters::unmapped(len);
            counters::returned(len);
            self.heap_bytes
                .fetch_sub(len, core::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Tries to make allocated chunk `c` at least `size` bytes long without
    /// moving it, by taking the free chunk after it. Returns success.
    ///
    /// # Safety
    /// The caller holds the lock; `c` is an allocated chunk of this arena.
    pub unsafe fn heap_grow_in_place(&self, c: usize, size: usize) -> bool {
        // SAFETY: the caller holds the lock and owns c.
        unsafe {
            let heap = self.heap();
            let h = hdr(c);
            let have = heap_size(h);
            let n = c + have;
            let hn = hdr(n);
            if hn & BUSY != 0 || have + heap_size(hn) < size {
                return false;
            }
            self.remove_free(heap, n);
            let total = have + heap_size(hn);
            let resident = *word(n, RESIDENT_WORD);
            // Present c as one free chunk of `total` bytes, then carve it.
            set_hdr(c, heap_header(total, self.index(), h & PREV_FREE));
            self.carve(heap, c, size, resident);
            true
        }
    }

    /// Cuts allocated chunk `c` down to `size` bytes when the tail is worth
    /// a chunk of its own.
    ///
    /// # Safety
    /// The caller holds the lock; `c` is an allocated chunk of this arena.
    pub unsafe fn heap_shrink(&self, c: usize, size: usize) {
        // SAFETY: the caller holds the lock and owns c.
        unsafe {
            let h = hdr(c);
            let have = heap_size(h);
            if have - size < MIN_HEAP_CHUNK {
                return;
            }
            set_hdr(c, heap_header(size, self.index(), h & (ALLOC | PREV_FREE)));
            set_hdr(c + size, heap_header(have - size, self.index(), ALLOC));
            self.heap_free(c + size);
        }
    }

    /// Walks every region and list of this arena and checks each invariant
    /// documented above; returns the first violation.
    ///
    /// # Safety
    /// The caller holds the lock.
    pub unsafe fn heap_check(&self) -> Result<usize, &'static str> {
        // SAFETY: the caller holds the lock; only this heap's memory is read.
        unsafe {
            let heap = self.heap();
            let mut free_in_regions = 0;
            let mut free_chunks = 0;
            let mut region = heap.regions;
            let mut regions = 0;
            while region != 0 {
                regions += 1;
                let r = &*(region as *const Region);
                let fence = region + r.len - FENCE_FROM_END;
                let mut c = r.first;
                let mut prev_free = false;
                while c != fence {
                    let h = hdr(c);
                    let size = heap_size(h);
                    if size < MIN_HEAP_CHUNK || size % GRAIN != 0 || c + size > fence {
                        return Err("chunk size out of range");
                    }
                    if heap_arena(h) != self.index() || h & MMAP != 0 && h & ALLOC != 0 {
                        return Err("chunk header names another arena or kind");
                    }
                    if (h & PREV_FREE != 0) != prev_free {
                        return Err("PREV_FREE disagrees with the chunk below");
                    }
                    if (c + WORD) % ALIGN != 0 {
                        return Err("chunk misaligned");
                    }
                    prev_free = h & BUSY == 0;
                    if prev_free {
                        free_in_regions += size;
                        free_chunks += 1;
                        if *((c + size - WORD) as *const usize) != size {
                            return Err("free chunk footer differs from its size");
                        }
                    }
                    c += size;
                }
                if (hdr(fence) & PREV_FREE != 0) != prev_free || heap_size(hdr(fence)) != 0 {
                    return Err("region fence corrupt");
                }
                region = *word(region, 1);
            }
            if regions != heap.region_count {
                return Err("region count");
            }
            let mut listed = 0;
            let mut listed_chunks = 0;
            for (i, &head) in heap.bins.iter().enumerate() {
                if (head != 0) != (heap.bin_map[i / 32] & (1 << (i % 32)) != 0) {
                    return Err("bin bitmap disagrees with bins");
                }
                let mut c = head;
                let mut pprev = &heap.bins[i] as *const usize as usize;
                while c != 0 {
                    let size = heap_size(hdr(c));
                    if hdr(c) & BUSY != 0 || bins::index(size) != i || *word(c, 2) != pprev {
                        return Err("bin holds a wrong chunk or broken links");
                    }
                    listed += size;
                    listed_chunks += 1;
                    pprev = c + WORD;
                    c = *word(c, 1);
                }
            }
            let mut c = heap.deferred;
            while c != 0 {
                if hdr(c) & BUSY != 0 {
                    return Err("deferred list holds an allocated chunk");
                }
                listed += heap_size(hdr(c));
                listed_chunks += 1;
                c = *word(c, 1);
            }
            if listed != free_in_regions || listed_chunks != free_chunks {
                return Err("free chunks in regions differ from the lists");
            }
            Ok(free_in_regions)
        }
    }
}

/// Whether the region at `region` holds one free chunk and nothing else.
///
/// # Safety
/// `region` is a live region of an arena whose lock the caller holds.
unsafe fn region_is_empty(region: usize) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let r = &*(region as *const Region);
        let h = hdr(r.first);
        h & BUSY == 0 && r.first + heap_size(h) == region + r.len - FENCE_FROM_END
    }
}

/// Bytes of the empty regions of `heap` other than `except`.
///
/// # Safety
/// The caller holds the heap's arena lock.
unsafe fn empty_region_bytes(heap: &Heap, except: usize) -> usize {
    let mut total = 0;
    let mut region = heap.regions;
    while region != 0 {
        // SAFETY: regions on the list are live; the lock is held.
        unsafe {
            if region != except && region_is_empty(region) {
                total += (*(region as *const Region)).len;
            }
            region = *word(region, 1);
        }
    }
    total
}

/// The free chunks merged into one, remembered so that only those that
/// were resident are handed back: walking the pages of a big neighbour
/// released earlier would cost more than the merge saved.
struct Parts {
    ranges: [(usize, usize); 4],
    count: usize,
    /// Some resident part did not fit in `ranges`: release everything.
    overflow: bool,
    resident: usize,
}

impl Parts {
    fn new(c: usize, size: usize, resident: usize) -> Self {
        let mut parts = Parts {
            ranges: [(0, 0); 4],
            count: 0,
            overflow: false,
            resident: 0,
        };
        parts.add(c, size, resident);
        parts
    }

    fn add(&mut self, c: usize, size: usize, resident: usize) {
        if resident == 0 {
            return;
        }
        self.resident += resident;
        if self.count < self.ranges.len() {
            self.ranges[self.count] = (c, c + size);
            self.count += 1;
        } else {
            self.overflow = true;
        }
    }

    /// Releases the resident parts of the merged free chunk `c`, keeping
    /// its header words and footer.
    ///
    /// # Safety
    /// `c` is a free chunk of `size` bytes whose contents nobody needs.
    unsafe fn release(&self, c: usize, size: usize) {
        let (lo, hi) = (c + (RESIDENT_WORD + 1) * WORD, c + size - WORD);
        if self.overflow {
            release_range(lo, hi);
            return;
        }
        for &(start, end) in self.ranges.iter().take(self.count) {
            release_range(start.max(lo), end.min(hi));
        }
    }
}

/// Gives the whole pages inside `[lo, hi)` back to the OS.
fn release_range(lo: usize, hi: usize) {
    let page = os::page_size();
    let start = round_up(lo, page);
    let end = hi & !(page - 1);
    if end > start {
        // SAFETY: callers pass ranges inside free chunks, off their header words.
        unsafe { os::release(start as *mut u8, end - start) };
        counters::returned(end - start);
    }
}

const _: () = assert!(MIN_HEAP_CHUNK >= (RESIDENT_WORD + 2) * WORD);
const _: () = assert!((FIRST_CHUNK_OFFSET + WORD) % GRAIN == 0);
