//! The large-chunk heap of an arena: mmap-backed regions cut into chunks,
//! free chunks in size bins, merging deferred to the next large allocation
//! (LWMalloc's deferred coalescing), and free pages handed back to the OS.
//!
//! Chunk layout: `[header][user bytes ...]`. A free chunk keeps, after the
//! header, `next` and `pprev` links (pprev points at whatever word points at
//! the chunk, so unlinking needs no list head) and a footer (its size) in
//! its last word; the chunk after a free chunk has `PREV_FREE` set. A big
//! free chunk whose pages were given back while it waited in a bin has
//! `PURGED` set (see `purge_bins`). Neighbouring free chunks
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
///
/// A region is a reservation of `reserved` bytes of which the first `len`
/// are committed (readable and writable) and the rest inaccessible: the
/// heap grows by moving its fence up (as glibc's heaps grow by `brk` or
/// mprotect), so a buffer freed at the top merges with whatever is freed
/// below it and the next bigger buffer reuses both, and it shrinks by
/// moving the fence down, which gives the pages back and uncommits them.
#[repr(C)]
#[allow(dead_code)] // the link words are reached through `push`/`unlink`
struct Region {
    _unused: usize,
    next: usize,
    pprev: usize,
    /// Committed bytes from the region start, a page multiple; the fence
    /// ends them. `len <= reserved`.
    len: usize,
    /// Reserved bytes from the region start, a page multiple.
    reserved: usize,
    first: usize,
}

const FIRST_CHUNK_OFFSET: usize = round_up(core::mem::size_of::<Region>() + WORD, GRAIN) - WORD;
const FENCE_FROM_END: usize = GRAIN + WORD;

/// Gives back the pages inside every binned free chunk of at least
/// `PURGE_MIN_BYTES` not `PURGED` yet, keeping headers, links and footers.
/// Called when no free chunk fits, before the heap grows (or the request
/// maps): the chunks left behind would otherwise stay resident beside the
/// new pages, which is what made a heap cycling big buffers (malloc-large)
/// peak above glibc's. Purging at free instead cost 5x the time: most big
/// chunks are taken again before the heap has to grow.
///
/// # Safety
/// The caller holds the arena lock.
#[inline(never)]
unsafe fn purge_bins(heap: &mut Heap) {
    let page = os::page_size();
    for i in bins::index(PURGE_MIN_BYTES)..NUM_BINS {
        let mut c = heap.bins[i];
        // SAFETY: bins hold free chunks of this heap, at least two pages
        // long, whose words between the links and the footer nobody reads.
        unsafe {
            while c != 0 {
                let h = hdr(c);
                if h & PURGED == 0 {
                    let start = round_up(c + 4 * WORD, page);
                    let end = (c + heap_size(h) - WORD) & !(page - 1);
                    os::release(start as *mut u8, end - start);
                    counters::returned(end - start);
                    set_hdr(c, h | PURGED);
                }
                c = *word(c, 1);
            }
        }
    }
}

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
    /// Makes `c` (header and footer already written) a member of a bin.
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
        // SAFETY: c is free, so it is on a bin or the deferred list, and
        // its pprev points at the word that pointed at it.
        let (size, pprev) = unsafe {
            let pprev = *word(c, 2);
            unlink(c);
            (heap_size(hdr(c)), pprev)
        };
        // Only the first chunk of a bin has its pprev in `bins`, and the
        // bin is empty when that word is 0 now: no size-to-bin arithmetic
        // (bins::index was 6 % of frag-soak's instructions).
        let offset = pprev.wrapping_sub(heap.bins.as_ptr() as usize);
        // SAFETY: in range, pprev is one of the bin heads.
        if offset < NUM_BINS * WORD && unsafe { *(pprev as *const usize) } == 0 {
            let i = offset / WORD;
            *heap.bin(i).1 &= !(1 << (i % 32));
        }
        self.count_free(size.wrapping_neg());
    }

    /// A free chunk of at least `size` bytes, unlinked, or 0.
    ///
    /// # Safety
    /// The caller holds the arena lock.
    unsafe fn find_fit(&self, heap: &mut Heap, size: usize) -> usize {
        let i = bins::index(size);
        // SAFETY: lists hold only free chunks of this heap.
        unsafe {
            let mut c = best_fit(*heap.bin(i).0, size);
            if c == 0 {
                // Every chunk of a higher bin fits, but the last bin is
                // unbounded: best_fit checks.
                let Some(j) = bins::first_set(&heap.bin_map, i + 1) else {
                    return 0;
                };
                c = best_fit(heap.bins[j], size);
                if c == 0 {
                    return 0;
                }
            }
            self.remove_free(heap, c);
            c
        }
    }

    /// Allocates a heap chunk of exactly `size` bytes (a multiple of GRAIN,
    /// at least MIN_HEAP_CHUNK) and returns its address, or 0. With `grow`
    /// false only free chunks serve: a request above the mmap threshold
    /// takes one if there is one (as glibc's does), and a mapping of its
    /// own otherwise.
    ///
    /// # Safety
    /// The caller holds the lock.
    pub unsafe fn heap_alloc(&self, size: usize, grow: bool) -> usize {
        // SAFETY: the caller holds the lock.
        unsafe {
            let heap = self.heap();
            let mut c = self.find_fit(heap, size);
            if c == 0 && heap.deferred != 0 {
                // Merging is deferred until the bins cannot serve a request.
                self.coalesce(heap);
                c = self.find_fit(heap, size);
            }
            if c == 0 {
                let after = self.heap_bytes.load(core::sync::atomic::Ordering::Relaxed) + size;
                if after > heap.peak_bytes {
                    heap.peak_bytes = after;
                    purge_bins(heap);
                }
            }
            if c == 0 && grow {
                c = self.extend(heap, heap.regions, size);
                if c == 0 {
                    c = self.new_region(heap, size);
                }
            }
            if c != 0 {
                self.carve(heap, c, size);
            }
            c
        }
    }

    /// Marks the unlinked free chunk `c` allocated with `size` bytes and
    /// returns any remainder to a bin.
    ///
    /// # Safety
    /// The caller holds the arena lock; `c` is free, unlinked, at least
    /// `size` bytes.
    unsafe fn carve(&self, heap: &mut Heap, c: usize, size: usize) {
        // SAFETY: c is a free unlinked chunk of this heap, at least size long.
        unsafe {
            let h = hdr(c);
            let total = heap_size(h);
            let rest = total - size;
            if rest >= MIN_HEAP_CHUNK {
                set_hdr(c, heap_header(size, self.index(), ALLOC | (h & PREV_FREE)));
                let r = c + size;
                self.mark_free(r, rest, h & PURGED);
                self.insert_free(heap, r, rest);
            } else {
                set_hdr(c, heap_header(total, self.index(), ALLOC | (h & PREV_FREE)));
                set_hdr(c + total, hdr(c + total) & !PREV_FREE);
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
            self.mark_free(c, size, h & PREV_FREE);
            set_hdr(n, hn | PREV_FREE);
            // Freed at the top of a region (below the fence, or below the
            // free chunk there): merged at once, so the top can be trimmed.
            let at_top =
                heap_size(hn) == 0 || hn & ALLOC == 0 && heap_size(hdr(n + heap_size(hn))) == 0;
            if h & PREV_FREE != 0 || hn & ALLOC == 0 || size >= large::trim_threshold() {
                push(&mut heap.deferred, c);
                self.count_free(size);
                heap.deferred_bytes += size;
                if at_top || heap.deferred_bytes > DEFER_LIMIT_BYTES {
                    self.coalesce(heap);
                }
            } else {
                self.insert_free(heap, c, size);
            }
        }
    }

    /// Merges every deferred chunk with its free neighbours, gives back
    /// empty regions and the free top of a region beyond the trim
    /// threshold, and bins the rest.
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
                while hdr(c) & PREV_FREE != 0 {
                    let prev_size = *((c - WORD) as *const usize);
                    c -= prev_size;
                    self.remove_free(heap, c);
                    size += prev_size;
                }
                loop {
                    let hn = hdr(c + size);
                    if hn & ALLOC != 0 {
                        break;
                    }
                    self.remove_free(heap, c + size);
                    size += heap_size(hn);
                }
                self.mark_free(c, size, 0);
                let fence = c + size;
                if heap_size(hdr(fence)) == 0 {
                    let region = *word(fence, 1);
                    if heap.region_count > 1 && (*(region as *const Region)).first == c {
                        self.unmap_region(heap, region);
                        continue;
                    }
                    if size > large::trim_threshold() {
                        size = self.trim(region, c, size);
                    }
                }
                self.insert_free(heap, c, size);
            }
            heap.deferred_bytes = 0;
        }
    }

    /// Moves the fence of `region` down to `TOP_KEEP_BYTES` above the free
    /// chunk `c` of `size` bytes that ends it, giving the pages above back;
    /// returns the chunk's new size.
    ///
    /// # Safety
    /// The caller holds the arena lock; `c` is free, unlinked, and ends
    /// `region`.
    unsafe fn trim(&self, region: usize, c: usize, size: usize) -> usize {
        let r = region as *mut Region;
        let keep = round_up(
            c - region + TOP_KEEP_BYTES + FENCE_FROM_END,
            os::page_size(),
        );
        // SAFETY: the region is live; the range given back lies above the
        // kept part, in the free chunk and the old fence.
        unsafe {
            let len = (*r).len;
            if keep >= len {
                return size;
            }
            os::decommit(region + keep, len - keep);
            self.uncommitted(len - keep);
            (*r).len = keep;
            let fence = region + keep - FENCE_FROM_END;
            self.place_fence(region, fence);
            let size = fence - c;
            self.mark_free(c, size, 0);
            size
        }
    }

    /// Commits more of the reservation of `region` (0: none) so that its
    /// top free chunk holds at least `size` bytes; returns that chunk,
    /// unlinked, or 0 when the reservation is too small or the kernel
    /// refuses.
    ///
    /// # Safety
    /// The caller holds the arena lock; `region` is 0 or one of this heap's.
    unsafe fn extend(&self, heap: &mut Heap, region: usize, size: usize) -> usize {
        if region == 0 {
            return 0;
        }
        let r = region as *mut Region;
        // SAFETY: the region is live; everything written lies inside its
        // reservation, committed first.
        unsafe {
            let len = (*r).len;
            let fence = region + len - FENCE_FROM_END;
            let (top, flags) = if hdr(fence) & PREV_FREE != 0 {
                let top = fence - *((fence - WORD) as *const usize);
                (top, hdr(top) & PREV_FREE)
            } else {
                (fence, 0)
            };
            let Some(new_len) = grown_len(top - region, size, (*r).reserved, os::page_size())
            else {
                return 0;
            };
            if !os::commit(region + len, new_len - len) {
                return 0;
            }
            self.committed(new_len - len);
            if top != fence {
                self.remove_free(heap, top);
            }
            (*r).len = new_len;
            let fence = region + new_len - FENCE_FROM_END;
            self.place_fence(region, fence);
            self.mark_free(top, fence - top, flags);
            top
        }
    }

    /// Reserves a new region able to hold a `size`-byte chunk; returns its
    /// one free chunk, unlinked, or 0.
    ///
    /// # Safety
    /// The caller holds the arena lock.
    unsafe fn new_region(&self, heap: &mut Heap, size: usize) -> usize {
        let page = os::page_size();
        let len = round_up(
            size + FIRST_CHUNK_OFFSET + FENCE_FROM_END + GROW_PAD_BYTES,
            page,
        );
        let doublings = heap.region_count.min(REGION_RESERVE_MAX_SHIFT);
        let mut reserved = len.max(REGION_RESERVE_BYTES << doublings);
        // A guard page below the region, inaccessible, so a thread stack
        // mapped below cannot merge with it; and the reservation's length
        // is then no multiple of 2 MiB, which kernels that align only such
        // mappings leave unaligned, so a 2 MiB stack placed right below it
        // is no huge page either (segment.rs says why that matters).
        let mut raw = os::reserve(reserved + page) as usize;
        if raw == 0 {
            // No room for a reservation (an address-space limit): exactly
            // what is needed, committed, still grown in place if the
            // kernel happens to have room above it.
            reserved = len;
            raw = os::reserve(len + page) as usize;
        }
        let base = raw + page;
        // SAFETY: [base, base + len) lies in the fresh reservation.
        if raw == 0 || !unsafe { os::commit(base, len) } {
            if raw != 0 {
                // SAFETY: the reservation is ours and unused.
                unsafe { os::unmap(raw as *mut u8, reserved + page) };
            }
            return 0;
        }
        // Regions may get transparent huge pages, unlike segments: a huge
        // page needs 2 MiB committed and aligned, which a small heap never
        // has, and big buffers fault in 512 times less often (qemu-pi4,
        // THP "always": malloc-large 0.76x glibc's time instead of 1.38x,
        // the same peak RSS).
        large::forget_unmapped(base, reserved);
        self.committed(len);
        let first = base + FIRST_CHUNK_OFFSET;
        let fence = base + len - FENCE_FROM_END;
        // SAFETY: the committed part is ours; all offsets lie inside it.
        unsafe {
            let region = base as *mut Region;
            (*region).len = len;
            (*region).reserved = reserved;
            (*region).first = first;
            push(&mut heap.regions, base);
            heap.region_count += 1;
            self.place_fence(base, fence);
            let chunk = fence - first;
            self.mark_free(first, chunk, 0);
        }
        first
    }

    /// Writes the header and footer of a free chunk of this arena: `c`,
    /// `size` bytes, `flags` (PREV_FREE or 0).
    ///
    /// # Safety
    /// `c` starts `size` bytes the caller may write, inside a region.
    #[inline(always)]
    unsafe fn mark_free(&self, c: usize, size: usize, flags: usize) {
        // SAFETY: guaranteed by the caller; the footer is the last word.
        unsafe {
            set_hdr(c, heap_header(size, self.index(), flags));
            *((c + size - WORD) as *mut usize) = size;
        }
    }

    /// Writes the fence of `region` at `fence`: an allocated chunk of size
    /// 0 whose second word names the region, above a free chunk.
    ///
    /// # Safety
    /// `fence` is `FENCE_FROM_END` below the committed end of `region`.
    unsafe fn place_fence(&self, region: usize, fence: usize) {
        // SAFETY: guaranteed by the caller.
        unsafe {
            set_hdr(fence, heap_header(0, self.index(), ALLOC | PREV_FREE));
            *word(fence, 1) = region;
        }
    }

    fn committed(&self, bytes: usize) {
        counters::mapped(bytes);
        self.heap_bytes
            .fetch_add(bytes, core::sync::atomic::Ordering::Relaxed);
    }

    fn uncommitted(&self, bytes: usize) {
        counters::unmapped(bytes);
        counters::returned(bytes);
        self.heap_bytes
            .fetch_sub(bytes, core::sync::atomic::Ordering::Relaxed);
    }

    /// # Safety
    /// The caller holds the arena lock; the region holds one free chunk,
    /// off every list.
    unsafe fn unmap_region(&self, heap: &mut Heap, region: usize) {
        // SAFETY: the region holds one free chunk, already off every list.
        unsafe {
            let r = &*(region as *const Region);
            let (len, reserved) = (r.len, r.reserved);
            unlink(region);
            heap.region_count -= 1;
            let guard = os::page_size();
            os::unmap((region - guard) as *mut u8, reserved + guard);
            self.uncommitted(len);
        }
    }

    /// Tries to make allocated chunk `c` at least `size` bytes long without
    /// moving it, by taking the free chunk after it, and by growing the
    /// region when `c` is its last chunk. Returns success.
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
            let free_next = if hn & ALLOC == 0 { heap_size(hn) } else { 0 };
            let after = n + free_next;
            if have + free_next >= size {
                self.remove_free(heap, n);
            } else if heap_size(hdr(after)) != 0
                // `after` is the fence: c is (or with n is) the region's top.
                || self.extend(heap, *word(after, 1), size - have) == 0
            {
                return false;
            }
            // glibc would have moved a buffer grown this big to a mapping,
            // whose free raises the thresholds: raised now instead.
            large::freed_big(size);
            // Present c as one free chunk of both, then carve it.
            set_hdr(
                c,
                heap_header(have + heap_size(hdr(n)), self.index(), h & PREV_FREE),
            );
            self.carve(heap, c, size);
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
                if r.len > r.reserved || (r.len | r.reserved) & (os::page_size() - 1) != 0 {
                    return Err("region committed beyond its reservation");
                }
                let fence = region + r.len - FENCE_FROM_END;
                let mut c = r.first;
                let mut prev_free = false;
                while c != fence {
                    let h = hdr(c);
                    let size = heap_size(h);
                    if size < MIN_HEAP_CHUNK || size % GRAIN != 0 || size > fence - c {
                        return Err("chunk size out of range");
                    }
                    if heap_arena(h) != self.index() || h & MMAP != 0 && h & ALLOC != 0 {
                        return Err("chunk header names another arena or kind");
                    }
                    if h & ALLOC != 0 && h & PURGED != 0 {
                        return Err("allocated chunk marked purged");
                    }
                    if (h & PREV_FREE != 0) != prev_free {
                        return Err("PREV_FREE disagrees with the chunk below");
                    }
                    if (c + WORD) % ALIGN != 0 {
                        return Err("chunk misaligned");
                    }
                    prev_free = h & ALLOC == 0;
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
                    if hdr(c) & ALLOC != 0 || bins::index(size) != i || *word(c, 2) != pprev {
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
                if hdr(c) & ALLOC != 0 {
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

/// The committed length a region needs for a free chunk of `size` bytes at
/// offset `top` (plus the fence), with `GROW_PAD_BYTES` more where the
/// reservation has them; None if its `reserved` bytes cannot hold it.
///
/// Offsets, never addresses: under qemu-user a 32-bit guest owns the
/// address space up to 0xffff0000, a region can end there, and `top + size`
/// then wraps round, which once passed a too-short chunk as big enough
/// (and `carve` wrote its remainder's header past 4 GiB).
fn grown_len(top: usize, size: usize, reserved: usize, page: usize) -> Option<usize> {
    let need = top.checked_add(size)?.checked_add(FENCE_FROM_END)?;
    let padded = need.checked_add(GROW_PAD_BYTES + page - 1)? & !(page - 1);
    let len = padded.min(reserved);
    (need <= len).then_some(len)
}

/// The smallest chunk of at least `size` bytes among the first 16 of the
/// list starting at `c`, or 0: a best fit, as glibc's sorted large bins
/// give, leaves the big free chunks whole for the big requests to come.
///
/// # Safety
/// `c` starts a list of free chunks of a heap whose lock the caller holds.
unsafe fn best_fit(mut c: usize, size: usize) -> usize {
    let (mut best, mut best_size) = (0, usize::MAX);
    let mut looked = 0;
    // SAFETY: listed chunks are free, with valid headers and links.
    unsafe {
        while c != 0 && looked < 16 {
            let s = heap_size(hdr(c));
            if s >= size && s < best_size {
                (best, best_size) = (c, s);
                if s == size {
                    break;
                }
            }
            c = *word(c, 1);
            looked += 1;
        }
    }
    best
}

const _: () = assert!(MIN_HEAP_CHUNK >= 4 * WORD);
const _: () = assert!((FIRST_CHUNK_OFFSET + WORD) % GRAIN == 0);
// A region's free chunk can span it all: its size must fit the header.
const _: () = assert!(REGION_RESERVE_BYTES << REGION_RESERVE_MAX_SHIFT < SIZE_MASK);

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 4096;
    const RESERVED: usize = 1 << 20;

    /// A region ending 1 MiB below the top of the address space, as one
    /// ending at qemu-user's 0xffff0000 is on 32-bit.
    fn high_region() -> usize {
        usize::MAX - 2 * RESERVED + 1
    }

    #[test]
    fn growth_past_the_reservation_is_refused_even_where_addresses_wrap() {
        let region = high_region();
        let top = RESERVED - (64 << 10);
        let size = 2 * RESERVED;
        // The comparison this replaced, on addresses, wrapped and accepted.
        assert!(
            (region + top).wrapping_add(size + FENCE_FROM_END) < region + RESERVED,
            "the case must be one where address arithmetic wraps"
        );
        assert_eq!(grown_len(top, size, RESERVED, PAGE), None);
        assert_eq!(grown_len(top, usize::MAX - top, RESERVED, PAGE), None);
    }

    #[test]
    fn growth_inside_the_reservation_commits_whole_pages_with_padding() {
        let top = 4 * PAGE + 8;
        let len = grown_len(top, 3 * PAGE, RESERVED, PAGE).unwrap();
        assert_eq!(len % PAGE, 0);
        assert!(len >= top + 3 * PAGE + FENCE_FROM_END + GROW_PAD_BYTES);
        assert!(len <= RESERVED);
        // Near the end of the reservation the padding is dropped, not the
        // growth.
        let near_end = RESERVED - 2 * PAGE;
        assert_eq!(grown_len(near_end, PAGE, RESERVED, PAGE), Some(RESERVED));
        assert_eq!(
            grown_len(near_end, 2 * PAGE, RESERVED, PAGE),
            None,
            "no room for the fence"
        );
    }
}
