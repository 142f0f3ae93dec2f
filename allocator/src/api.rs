//! The allocation interface with glibc's semantics. The two hot paths,
//! `malloc` and `free` of small blocks with a thread cache at hand, are a
//! handful of instructions and call a separate cold function otherwise.

use core::ptr::null_mut;

use crate::arena::{lock_any, ARENAS, ARENA_COUNT};
use crate::config::*;
use crate::header::*;
use crate::heap::hdr;
use crate::small::{give_back, Batch};
use crate::stats::{self, Call};
use crate::thread::{self, ThreadCache};
use crate::{large, os};
use core::sync::atomic::Ordering::Relaxed;

/// `malloc`: `n` usable bytes aligned to ALIGN, or null with errno ENOMEM.
///
/// # Safety
/// Always safe to call; the result must be released with this allocator.
#[inline]
pub unsafe fn malloc(n: usize) -> *mut u8 {
    if n <= SMALL_MAX_REQUEST {
        if let Some(cache) = thread::current() {
            let class = class_of(n);
            // SAFETY: we own the cache; class < NUM_CLASSES since n is small.
            let bin = unsafe { cache.bins().get_unchecked_mut(class) };
            let block = bin.head;
            if block != 0 {
                // SAFETY: cached blocks are free small blocks we own.
                unsafe {
                    bin.head = *(block as *const usize);
                    bin.count -= 1;
                    *header(block as *mut u8) |= ALLOC;
                }
                cache.counters.call(Call::Malloc);
                cache.counters.allocated(class_usable(class));
                return block as *mut u8;
            }
        }
    }
    // SAFETY: no preconditions.
    unsafe { malloc_slow(n, Call::Malloc) }
}

#[cold]
#[inline(never)]
unsafe fn malloc_slow(n: usize, call: Call) -> *mut u8 {
    let cache = thread::cache();
    // SAFETY: no preconditions.
    let p = unsafe { alloc_raw(cache, n) };
    if p.is_null() {
        os::set_errno(libc::ENOMEM);
    } else {
        // SAFETY: p was just allocated.
        stats::count(cache, call, unsafe { fresh_usable(p) }, 0);
    }
    p
}

/// The calling thread's cache, looked up once per slow-path call.
type Cache = Option<&'static ThreadCache>;

/// Usable size of a block this allocator has just produced: its header
/// needs no checking.
///
/// # Safety
/// `p` was returned by an allocation function of this module.
#[inline]
unsafe fn fresh_usable(p: *mut u8) -> usize {
    // SAFETY: p is a live block, so its header is genuine.
    let h = unsafe { *header(p) };
    if h & SMALL != 0 {
        class_usable(small_class(h))
    } else if h & MMAP != 0 {
        // SAFETY: as above.
        unsafe { large::usable(p as usize, h) }
    } else {
        heap_size(h) - WORD
    }
}

/// `free`: aborts on a pointer this allocator did not return, or a double free.
///
/// # Safety
/// `p` is null or a live block of this allocator.
#[inline]
pub unsafe fn free(p: *mut u8) {
    let block = p as usize;
    // Null, misaligned, and possibly mapped blocks (see large.rs) go slow.
    if block % ALIGN == 0 && !large::maybe_mapped(block) {
        // SAFETY: an aligned pointer we handed out has its header below it;
        // anything else fails the checks and goes to the slow path.
        let h = unsafe { *header(p) };
        if h & SMALL_LIVE_MASK == SMALL_LIVE {
            let class = small_class(h);
            if let (Some(cache), true) = (thread::current(), class < NUM_CLASSES) {
                // SAFETY: we own the cache; class was checked.
                let bin = unsafe { cache.bins().get_unchecked_mut(class) };
                if bin.count < CACHE_CAPACITY[class] {
                    // SAFETY: the block is live and now ours to cache.
                    unsafe {
                        *header(p) = h & !ALLOC;
                        *(block as *mut usize) = bin.head;
                    }
                    bin.head = block;
                    bin.count += 1;
                    cache.counters.call(Call::Free);
                    cache.counters.freed(class_usable(class));
                    return;
                }
            }
        }
    }
    // SAFETY: forwarded contract.
    unsafe { free_slow(p) }
}

#[cold]
#[inline(never)]
unsafe fn free_slow(p: *mut u8) {
    if p.is_null() {
        return;
    }
    let cache = thread::cache();
    // SAFETY: forwarded contract.
    let freed = unsafe { free_raw(cache, p, "free") };
    stats::count(cache, Call::Free, 0, freed);
}

/// What a pointer handed to free or realloc turned out to be.
enum Block {
    Small { class: usize },
    Heap { chunk: usize, size: usize },
    Mapped { header: usize },
}

/// Checks the header of `p` and says what it is; aborts on anything this
/// allocator never returned, or on a block already freed.
///
/// # Safety
/// `p` is non-null and the word below it is readable.
unsafe fn classify(p: *mut u8, function: &str) -> Block {
    let block = p as usize;
    if block % ALIGN != 0 {
        os::fatal(function, "invalid pointer");
    }
    if large::maybe_mapped(block) && large::recently_unmapped(block) {
        os::fatal(function, "double free");
    }
    // SAFETY: caller's contract.
    let h = unsafe { *header(p) };
    if h & SMALL != 0 {
        if h & (ALLOC | MMAP | TAG_MASK) == TAG {
            os::fatal(function, "double free");
        }
        if h & SMALL_LIVE_MASK != SMALL_LIVE || small_class(h) >= NUM_CLASSES {
            os::fatal(function, "invalid pointer");
        }
        return Block::Small {
            class: small_class(h),
        };
    }
    if h & MMAP != 0 {
        if h & ALLOC == 0 {
            // A heap chunk already freed into a thread cache.
            os::fatal(function, "double free");
        }
        if h & PREV_FREE != 0 {
            os::fatal(function, "invalid pointer");
        }
        return Block::Mapped { header: h };
    }
    let size = heap_size(h);
    if h & ALLOC == 0 {
        os::fatal(function, "double free");
    }
    let chunk = block - WORD;
    if heap_arena(h) >= ARENA_COUNT.load(Relaxed) || size < MIN_HEAP_CHUNK || size % GRAIN != 0 {
        os::fatal(function, "invalid pointer");
    }
    // SAFETY: a genuine heap chunk is followed by another chunk or a fence.
    let next = unsafe { hdr(chunk + size) };
    if heap_arena(next) != heap_arena(h) || next & (SMALL | PREV_FREE) != 0 {
        os::fatal(function, "invalid pointer");
    }
    Block::Heap { chunk, size }
}

/// Releases `p` without counting the call; returns its usable size.
///
/// # Safety
/// `p` is a live block of this allocator (misuse aborts).
unsafe fn free_raw(cache: Cache, p: *mut u8, function: &str) -> usize {
    // SAFETY: forwarded contract.
    match unsafe { classify(p, function) } {
        Block::Small { class } => {
            // SAFETY: p is a live small block; from here on it is free.
            unsafe {
                *header(p) &= !ALLOC;
                cache_block(cache, p as usize, class);
            }
            class_usable(class)
        }
        Block::Heap { chunk, size } => {
            if let Some(cache) = cache {
                // SAFETY: we own the cache; the chunk is live and ours.
                if unsafe { cache.keep_medium(chunk, size) } {
                    return size - WORD;
                }
            }
            // SAFETY: the chunk is live and this arena's.
            let arena = unsafe { &ARENAS[heap_arena(hdr(chunk))] };
            arena.lock.lock();
            // SAFETY: we hold the lock.
            unsafe { arena.heap_free(chunk) };
            arena.lock.unlock();
            size - WORD
        }
        Block::Mapped { header } => {
            // SAFETY: the chunk is live and no longer used.
            let usable = unsafe { large::usable(p as usize, header) };
            // SAFETY: as above.
            unsafe { large::unmap_chunk(p as usize, header, function) };
            usable
        }
    }
}

/// Puts a free small block in the calling thread's cache, first giving half
/// of a full bin back to the pages; without a cache, straight to its page.
unsafe fn cache_block(cache: Cache, block: usize, class: usize) {
    let Some(cache) = cache else {
        // SAFETY: the block is free and ours.
        unsafe { give_back(Batch::one(block), "free") };
        return;
    };
    // SAFETY: we own the cache.
    let bin = unsafe { &mut cache.bins()[class] };
    if bin.count >= CACHE_CAPACITY[class] {
        let mut spill = Batch { head: 0, count: 0 };
        while bin.count > CACHE_CAPACITY[class] / 2 {
            let b = bin.head;
            // SAFETY: the bin holds `count` linked free blocks.
            unsafe {
                bin.head = *(b as *const usize);
                *(b as *mut usize) = spill.head;
            }
            spill.head = b;
            spill.count += 1;
            bin.count -= 1;
        }
        // SAFETY: the spilled blocks are free and no longer cached.
        unsafe { give_back(spill, "free") };
    }
    // SAFETY: the block is free and ours.
    unsafe { *(block as *mut usize) = bin.head };
    bin.head = block;
    bin.count += 1;
}

/// Allocates without counting the call or setting errno.
///
/// # Safety
/// No preconditions.
unsafe fn alloc_raw(cache: Cache, n: usize) -> *mut u8 {
    if n <= SMALL_MAX_REQUEST {
        return small_alloc(cache, class_of(n));
    }
    if n > MAX_REQUEST {
        return null_mut();
    }
    let size = round_up(n + WORD, GRAIN);
    if size <= MEDIUM_MAX_CHUNK {
        if let Some(c) = cache {
            // SAFETY: we own the cache.
            let chunk = unsafe { c.take_medium(size) };
            if chunk != 0 {
                return (chunk + WORD) as *mut u8;
            }
        }
    } else if size >= large::mmap_threshold() {
        return large::map_chunk(n, ALIGN);
    }
    let arena = lock_any(preferred_arena(cache));
    // SAFETY: we hold the arena lock.
    let chunk = unsafe { arena.heap_alloc(size) };
    arena.lock.unlock();
    if let Some(c) = cache {
        c.set_arena(arena.index());
    }
    if chunk == 0 {
        null_mut()
    } else {
        (chunk + WORD) as *mut u8
    }
}

fn preferred_arena(cache: Option<&ThreadCache>) -> usize {
    match cache {
        Some(c) => c.arena_index(),
        None => crate::tls::address() >> 12,
    }
}

fn small_alloc(cache: Cache, class: usize) -> *mut u8 {
    let mut single = Batch { head: 0, count: 0 };
    let bin = match cache {
        // SAFETY: we own the cache.
        Some(c) => unsafe { &mut c.bins()[class] },
        None => &mut single,
    };
    if bin.head == 0 {
        let want = if cache.is_some() {
            CACHE_CAPACITY[class] / 2
        } else {
            1
        };
        let arena = lock_any(preferred_arena(cache));
        // SAFETY: we hold the arena lock.
        unsafe { arena.take_blocks(class, want, bin) };
        arena.lock.unlock();
        if let Some(c) = cache {
            c.set_arena(arena.index());
        }
    }
    let block = bin.head;
    if block == 0 {
        return null_mut();
    }
    // SAFETY: the block came from the bin, so it is free and ours.
    unsafe {
        bin.head = *(block as *const usize);
        bin.count -= 1;
        *header(block as *mut u8) |= ALLOC;
    }
    block as *mut u8
}

/// `malloc_usable_size`: bytes the caller may use at `p` (0 for null).
///
/// # Safety
/// `p` is null or a live block of this allocator.
pub unsafe fn usable_size(p: *mut u8) -> usize {
    if p.is_null() {
        return 0;
    }
    // SAFETY: forwarded contract.
    match unsafe { classify(p, "malloc_usable_size") } {
        Block::Small { class } => class_usable(class),
        Block::Heap { size, .. } => size - WORD,
        // SAFETY: p is live.
        Block::Mapped { header } => unsafe { large::usable(p as usize, header) },
    }
}

/// `calloc`: zeroed memory for `count * size` bytes; ENOMEM on overflow.
///
/// # Safety
/// No preconditions.
pub unsafe fn calloc(count: usize, size: usize) -> *mut u8 {
    let Some(n) = count.checked_mul(size) else {
        os::set_errno(libc::ENOMEM);
        return null_mut();
    };
    // SAFETY: no preconditions.
    let p = unsafe { malloc_slow(n, Call::Calloc) };
    // Fresh mappings are already zero; everything else may be recycled.
    // SAFETY: p is live with at least n bytes.
    if !p.is_null() && unsafe { *header(p) } & MMAP == 0 {
        unsafe { core::ptr::write_bytes(p, 0, n) };
    }
    p
}

/// `realloc` with glibc's rules: null `p` allocates, `n == 0` frees and
/// returns null, failure leaves `p` untouched with errno ENOMEM.
///
/// # Safety
/// `p` is null or a live block of this allocator.
pub unsafe fn realloc(p: *mut u8, n: usize) -> *mut u8 {
    if p.is_null() {
        // SAFETY: no preconditions.
        return unsafe { malloc_slow(n, Call::Realloc) };
    }
    let cache = thread::cache();
    if n == 0 {
        // SAFETY: forwarded contract.
        let freed = unsafe { free_raw(cache, p, "realloc") };
        stats::count(cache, Call::Realloc, 0, freed);
        return null_mut();
    }
    // SAFETY: forwarded contract.
    let (q, old, new) = unsafe { resize(cache, p, n) };
    if q.is_null() {
        os::set_errno(libc::ENOMEM);
    } else {
        stats::count(cache, Call::Realloc, new, old);
    }
    q
}

/// Resizes in place when possible, else moves. Returns the block and its
/// old and new usable sizes; null leaves `p` as it was.
unsafe fn resize(cache: Cache, p: *mut u8, n: usize) -> (*mut u8, usize, usize) {
    // SAFETY: caller's contract.
    let old = match unsafe { classify(p, "realloc") } {
        Block::Small { class } => {
            let have = class_usable(class);
            // Keep the block unless it would waste more than half of it.
            if n <= have && (n > SMALL_MAX_REQUEST / 2 || class_of(n) * 2 + 1 >= class) {
                return (p, have, have);
            }
            have
        }
        Block::Heap { chunk, size } => {
            if n > MAX_REQUEST {
                return (null_mut(), 0, 0);
            }
            let need = round_up(n + WORD, GRAIN).max(MIN_HEAP_CHUNK);
            // SAFETY: the chunk is live; its header names its arena.
            let arena = unsafe { &ARENAS[heap_arena(hdr(chunk))] };
            arena.lock.lock();
            // SAFETY: we hold the lock and own the chunk.
            let fits = need <= size || unsafe { arena.heap_grow_in_place(chunk, need) };
            if fits {
                // SAFETY: as above.
                unsafe { arena.heap_shrink(chunk, need) };
            }
            arena.lock.unlock();
            if fits {
                // SAFETY: the chunk is still live.
                let now = unsafe { heap_size(hdr(chunk)) } - WORD;
                return (p, size - WORD, now);
            }
            size - WORD
        }
        Block::Mapped { header } => {
            // Checked before mremap, which on a 32-bit system can grant
            // 2 GiB (> PTRDIFF_MAX) where glibc must fail.
            if n > MAX_REQUEST {
                return (null_mut(), 0, 0);
            }
            // SAFETY: p is live.
            let have = unsafe { large::usable(p as usize, header) };
            if n <= have && n >= have / 2 {
                return (p, have, have);
            }
            if n >= large::mmap_threshold() {
                // SAFETY: p is a live mapped chunk.
                let q = unsafe { large::remap_chunk(p as usize, header, n) };
                if !q.is_null() {
                    // SAFETY: q is live.
                    let now = unsafe { fresh_usable(q) };
                    return (q, have, now);
                }
            }
            have
        }
    };
    // SAFETY: no preconditions.
    let q = unsafe { alloc_raw(cache, n) };
    if q.is_null() {
        return (null_mut(), 0, 0);
    }
    // SAFETY: both blocks are live, distinct, and hold at least the bytes copied.
    unsafe {
        core::ptr::copy_nonoverlapping(p, q, old.min(n));
        free_raw(cache, p, "realloc");
        (q, old, fresh_usable(q))
    }
}

/// `reallocarray`: `realloc(p, count * size)` with an overflow check.
///
/// # Safety
/// As `realloc`.
pub unsafe fn reallocarray(p: *mut u8, count: usize, size: usize) -> *mut u8 {
    match count.checked_mul(size) {
        // SAFETY: forwarded contract.
        Some(n) => unsafe { realloc(p, n) },
        None => {
            os::set_errno(libc::ENOMEM);
            null_mut()
        }
    }
}

/// `memalign` as glibc: alignments that are not powers of two are rounded
/// up; above `SIZE_MAX / 2 + 1` they fail with EINVAL.
///
/// # Safety
/// No preconditions.
pub unsafe fn memalign(align: usize, n: usize) -> *mut u8 {
    if align > usize::MAX / 2 + 1 {
        os::set_errno(libc::EINVAL);
        return null_mut();
    }
    let align = align.next_power_of_two();
    let cache = thread::cache();
    // SAFETY: no preconditions.
    let p = unsafe { aligned_raw(cache, align, n) };
    if p.is_null() {
        os::set_errno(libc::ENOMEM);
    } else {
        // SAFETY: p was just allocated.
        stats::count(cache, Call::Aligned, unsafe { fresh_usable(p) }, 0);
    }
    p
}

/// `posix_memalign`: EINVAL unless `align` is a power of two multiple of
/// the pointer size; `*out` is written only on success. On ENOMEM, errno is
/// ENOMEM as well (glibc's behaviour); EINVAL leaves errno alone.
///
/// # Safety
/// `out` is valid for a pointer write.
pub unsafe fn posix_memalign(out: *mut *mut u8, align: usize, n: usize) -> i32 {
    if !align.is_power_of_two() || align % core::mem::size_of::<usize>() != 0 {
        return libc::EINVAL;
    }
    // SAFETY: no preconditions.
    let p = unsafe { memalign(align, n) };
    if p.is_null() {
        // errno stays ENOMEM too, as under glibc (its tst-malloc-thread-fail
        // checks errno after a failed posix_memalign).
        return libc::ENOMEM;
    }
    // SAFETY: caller's contract.
    unsafe { *out = p };
    0
}

/// `valloc`: page-aligned.
///
/// # Safety
/// No preconditions.
pub unsafe fn valloc(n: usize) -> *mut u8 {
    // SAFETY: no preconditions.
    unsafe { memalign(os::page_size(), n) }
}

/// `pvalloc`: page-aligned, size rounded up to whole pages (at least one).
///
/// # Safety
/// No preconditions.
pub unsafe fn pvalloc(n: usize) -> *mut u8 {
    let page = os::page_size();
    let Some(rounded) = n.max(1).checked_add(page - 1) else {
        os::set_errno(libc::ENOMEM);
        return null_mut();
    };
    // SAFETY: no preconditions.
    unsafe { memalign(page, rounded & !(page - 1)) }
}

/// Aligned allocation without counting; `align` is a power of two.
unsafe fn aligned_raw(cache: Cache, align: usize, n: usize) -> *mut u8 {
    if align <= ALIGN {
        // SAFETY: no preconditions.
        return unsafe { alloc_raw(cache, n) };
    }
    if n > MAX_REQUEST || align > MAX_REQUEST - n {
        return null_mut();
    }
    let need = round_up(n + WORD, GRAIN).max(MIN_HEAP_CHUNK);
    let span = need + align + MIN_HEAP_CHUNK;
    if span >= large::mmap_threshold() {
        return large::map_chunk(n, align);
    }

    let arena = lock_any(preferred_arena(cache));
    // SAFETY: we hold the arena lock; every chunk touched is the one just
    // allocated, cut into a free lead, the aligned chunk and a free tail.
    let user = unsafe {
        let chunk = arena.heap_alloc(span);
        if chunk == 0 {
            arena.lock.unlock();
            return null_mut();
        }
        let mut user = round_up(chunk + WORD, align);
        if user - WORD - chunk != 0 && user - WORD - chunk < MIN_HEAP_CHUNK {
            user += align;
        }
        let lead = user - WORD - chunk;
        let aligned = user - WORD;
        if lead != 0 {
            let h = hdr(chunk);
            let total = heap_size(h);
            crate::heap::set_hdr(aligned, heap_header(total - lead, arena.index(), ALLOC));
            crate::heap::set_hdr(
                chunk,
                heap_header(lead, arena.index(), ALLOC | (h & PREV_FREE)),
            );
            arena.heap_free(chunk);
        }
        arena.heap_shrink(aligned, need);
        user
    };
    arena.lock.unlock();
    user as *mut u8
}

/// Checks every arena's heap and small pages; returns the free heap bytes
/// or the first broken invariant. For tests and debugging.
pub fn check_heap() -> Result<usize, &'static str> {
    let mut free = 0;
    for arena in &ARENAS {
        arena.lock.lock();
        // SAFETY: we hold the lock.
        let result = unsafe { arena.heap_check() }
            .and_then(|f| unsafe { crate::small::check_pages(arena) }.map(|_| f));
        arena.lock.unlock();
        free += result?;
    }
    Ok(free)
}
