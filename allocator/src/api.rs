//! The allocation interface with glibc's semantics. The two hot paths,
//! `malloc` and `free` of small blocks with a thread cache at hand, are a
//! handful of instructions and call a separate cold function otherwise.

use core::ptr::null_mut;
use core::sync::atomic::Ordering::Relaxed;

use crate::arena::{lock_any, ARENAS, ARENA_COUNT};
use crate::config::*;
use crate::counters::{self, Call};
use crate::header::*;
use crate::heap::hdr;
use crate::page::{Page, LISTED_CURRENT};
use crate::small;
use crate::thread::{self, ThreadCache};
use crate::{init, large, os, segment, shared, tls};

/// `malloc`: `n` usable bytes aligned to ALIGN, or null with errno ENOMEM.
///
/// # Safety
/// Always safe to call; the result must be released with this allocator.
#[inline]
pub unsafe fn malloc(n: usize) -> *mut u8 {
    let id = tls::get();
    if n <= SMALL_MAX_REQUEST && thread::has_slot(id) {
        // SAFETY: the TLS word names our slot; the index < DIRECT_SLOTS.
        unsafe {
            let cache = thread::slot(id);
            let page = *cache.small().direct.get_unchecked(direct_index(n));
            if (*page).free != 0 {
                // Not EMPTY_PAGE (it has no free block): one of our pages.
                cache.counters.call(Call::Malloc);
                return (*(page as *mut Page)).pop();
            }
        }
    }
    // SAFETY: no preconditions.
    unsafe { malloc_slow(n, Call::Malloc) }
}

/// # Safety
/// No preconditions (unsafe as the allocation functions are).
#[cold]
#[inline(never)]
unsafe fn malloc_slow(n: usize, call: Call) -> *mut u8 {
    let cache = cache();
    // SAFETY: no preconditions.
    let p = unsafe { alloc_raw(cache, n) };
    if p.is_null() {
        os::set_errno(libc::ENOMEM);
    } else {
        // SAFETY: p was just allocated.
        count(call, unsafe { counted(p) }, 0);
    }
    p
}

/// Bytes of the fresh block `p` that the byte counters count: small blocks
/// are counted by their pages instead (`segment::footprint`), so that the
/// fast paths need not.
///
/// # Safety
/// As `fresh_usable`.
unsafe fn counted(p: *mut u8) -> usize {
    if segment::contains(p as usize) {
        0
    } else {
        // SAFETY: forwarded contract.
        unsafe { fresh_usable(p) }
    }
}

/// The calling thread's cache, looked up once per slow-path call.
type Cache = Option<&'static ThreadCache>;

/// The calling thread's cache, claimed on first use, after the one-time
/// set-up (which creates what a claim needs).
#[inline]
fn cache() -> Cache {
    init::ensure();
    thread::cache()
}

/// Usable size of a block this allocator has just produced: its metadata
/// needs no checking.
///
/// # Safety
/// `p` was returned by an allocation function of this module.
#[inline]
unsafe fn fresh_usable(p: *mut u8) -> usize {
    if segment::contains(p as usize) {
        // SAFETY: p lies in a segment.
        return unsafe { (*segment::page_of(p as usize)).block_size } as usize;
    }
    // SAFETY: p is a live chunk, so its header is genuine.
    let h = unsafe { *header(p) };
    if h & MMAP != 0 {
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
    if segment::contains(block) {
        let page = segment::page_of(block);
        let id = tls::get();
        // SAFETY: a page owned by our id is ours alone; its carved blocks
        // are readable; a block whose key matches may be a double free and
        // goes to the checks of the slow path.
        unsafe {
            if (*page).owner.load(Relaxed) == id
                && (*page).is_block_start(block)
                && *((block + WORD) as *const usize) != (*page).key()
            {
                let page = &mut *page;
                let cache = thread::slot(id);
                cache.counters.call(Call::Free);
                page.push(block);
                if page.used == 0 && page.state != LISTED_CURRENT {
                    cache.small().after_free(page);
                }
                return;
            }
            return free_small_slow(page, block);
        }
    }
    // SAFETY: forwarded contract.
    unsafe { free_slow(p) }
}

/// # Safety
/// `block` lies in a segment and `page` is its page.
#[cold]
#[inline(never)]
unsafe fn free_small_slow(page: *mut Page, block: usize) {
    let cache = thread::current();
    // SAFETY: the block lies in a segment page (caller's check).
    let freed = unsafe { free_small(cache, page, block, "free") };
    count(Call::Free, 0, freed);
}

/// # Safety
/// `p` is null or a block of this allocator (misuse aborts).
#[cold]
#[inline(never)]
unsafe fn free_slow(p: *mut u8) {
    if p.is_null() {
        return;
    }
    let cache = cache();
    // SAFETY: forwarded contract.
    let freed = unsafe { free_raw(cache, p, "free") };
    count(Call::Free, 0, freed);
}

/// Frees a small block from the slow paths: on the caller's own page, or
/// pushed to its owner; aborts on misuse.
///
/// Returns the bytes the byte counters count (see `small::free_block`).
///
/// # Safety
/// `block` lies in a segment page, `page` its page.
#[inline(always)] // a wrapper: a call less on every cross-thread free
unsafe fn free_small(cache: Cache, page: *mut Page, block: usize, function: &str) -> usize {
    let heap = cache.map(|c| {
        // SAFETY: we own our cache.
        unsafe { c.small() }
    });
    // SAFETY: forwarded contract.
    unsafe { small::free_block(page, block, tls::get(), heap, function) }
}

/// What a pointer handed to free or realloc turned out to be. Two words,
/// so `classify` returns it in registers: the page of a small block and
/// the chunk of a heap block follow from the pointer.
enum Block {
    /// A block of a page in use; its size never changes while it lives.
    Small {
        size: usize,
    },
    /// A heap chunk (header included) of `size` bytes at `p - WORD`.
    Heap {
        size: usize,
    },
    Mapped {
        header: usize,
    },
}

/// Checks the header of `p` and says what it is; aborts on anything this
/// allocator never returned, or on a block already freed.
///
/// # Safety
/// `p` is non-null and the word below it is readable.
unsafe fn classify(p: *mut u8, function: &str) -> Block {
    let block = p as usize;
    if segment::contains(block) {
        let page = segment::page_of(block);
        // SAFETY: the block lies in a segment.
        let size = unsafe { (*page).block_size } as usize;
        // SAFETY: as above.
        if size == 0 || !unsafe { (*page).is_block(block) } {
            os::fatal(function, "invalid pointer");
        }
        return Block::Small { size };
    }
    if block % ALIGN != 0 {
        os::fatal(function, "invalid pointer");
    }
    if large::maybe_mapped(block) && large::recently_unmapped(block) {
        os::fatal(function, "double free");
    }
    // SAFETY: caller's contract.
    let h = unsafe { *header(p) };
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
    if heap_arena(next) != heap_arena(h) || next & PREV_FREE != 0 {
        os::fatal(function, "invalid pointer");
    }
    Block::Heap { size }
}

/// Releases `p` without counting the call; returns its usable size.
///
/// # Safety
/// `p` is a live block of this allocator (misuse aborts).
unsafe fn free_raw(cache: Cache, p: *mut u8, function: &str) -> usize {
    // SAFETY: forwarded contract.
    match unsafe { classify(p, function) } {
        // SAFETY: p is a block of the page.
        Block::Small { .. } => unsafe {
            free_small(cache, segment::page_of(p as usize), p as usize, function)
        },
        Block::Heap { size } => {
            let chunk = p as usize - WORD;
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
    let grow = size < large::mmap_threshold();
    let arena = lock_any(preferred_arena(cache));
    // SAFETY: we hold the arena lock.
    let chunk = unsafe { arena.heap_alloc(size, grow) };
    arena.lock.unlock();
    if let Some(c) = cache {
        c.set_arena(arena.index());
    }
    if chunk != 0 {
        (chunk + WORD) as *mut u8
    } else if grow {
        null_mut()
    } else {
        large::map_chunk(n, ALIGN)
    }
}

fn preferred_arena(cache: Option<&ThreadCache>) -> usize {
    match cache {
        Some(c) => c.arena_index(),
        None => crate::tls::address() >> 12,
    }
}

fn small_alloc(cache: Cache, class: usize) -> *mut u8 {
    match cache {
        // SAFETY: we own our cache; its id is our TLS word.
        Some(c) => unsafe { c.small().take(class, tls::get()) },
        None => shared::alloc(class),
    }
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
        Block::Small { size } => size,
        Block::Heap { size } => size - WORD,
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
    // SAFETY: p is live with at least n bytes; a block outside the
    // segments has a header.
    unsafe {
        if !p.is_null() && (segment::contains(p as usize) || *header(p) & MMAP == 0) {
            core::ptr::write_bytes(p, 0, n);
        }
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
    if n == 0 {
        let cache = cache();
        // SAFETY: forwarded contract.
        let freed = unsafe { free_raw(cache, p, "realloc") };
        count(Call::Realloc, 0, freed);
        return null_mut();
    }
    // SAFETY: forwarded contract.
    let (q, freed, allocated) = unsafe { resize(p, n) };
    if q.is_null() {
        os::set_errno(libc::ENOMEM);
    } else {
        // A block resized in place never needed the cache (nor a claim).
        count(Call::Realloc, allocated, freed);
    }
    q
}

/// Resizes in place when possible, else moves. Returns the block and the
/// bytes the byte counters count as freed and as allocated (see
/// `counted`); null leaves `p` as it was. A block kept where it is is not
/// looked up again: most calls of a buffer grown a few bytes at a time
/// end here, and `counted` cost them 22 instructions.
///
/// # Safety
/// `p` is a live block of this allocator (misuse aborts).
unsafe fn resize(p: *mut u8, n: usize) -> (*mut u8, usize, usize) {
    // The size of a moved block: small blocks that grow get a quarter more
    // than asked, so that a buffer grown a few bytes at a time moves once
    // per quarter of growth, not once per class step.
    let mut want = n;
    // SAFETY: caller's contract.
    let old = match unsafe { classify(p, "realloc") } {
        Block::Small { size } => {
            // Keep the block unless it would waste more than half of it.
            if n <= size && n >= size / 2 {
                return (p, 0, 0);
            }
            if n > size && n <= SMALL_MAX {
                want = (n + n / 4).min(SMALL_MAX);
            }
            size
        }
        Block::Heap { size } => {
            let chunk = p as usize - WORD;
            if n > MAX_REQUEST {
                return (null_mut(), 0, 0);
            }
            let need = round_up(n + WORD, GRAIN).max(MIN_HEAP_CHUNK);
            // Shrinking by less than half: keep the chunk as it is.
            if need <= size && need >= size / 2 {
                return (p, size - WORD, size - WORD);
            }
            // SAFETY: the chunk is live; its header names its arena.
            let arena = unsafe { &ARENAS[heap_arena(hdr(chunk))] };
            arena.lock.lock();
            // Growing in place takes a quarter more when the neighbour has
            // it: buffers grown by small appends then take the lock once per
            // quarter of growth instead of once per append.
            // SAFETY: we hold the lock and own the chunk.
            let fits = need <= size
                || unsafe {
                    arena.heap_grow_in_place(chunk, round_up(need + need / 4, GRAIN))
                        || arena.heap_grow_in_place(chunk, need)
                };
            if need <= size {
                // SAFETY: as above.
                unsafe { arena.heap_shrink(chunk, need) };
            }
            arena.lock.unlock();
            if fits {
                // SAFETY: the chunk is still ours, its header its size.
                return (p, size - WORD, heap_size(unsafe { hdr(chunk) }) - WORD);
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
                    return (q, have, unsafe { counted(q) });
                }
            }
            have
        }
    };
    let cache = cache();
    // SAFETY: no preconditions.
    let q = unsafe { alloc_raw(cache, want) };
    if q.is_null() {
        return (null_mut(), 0, 0);
    }
    // SAFETY: both blocks are live, distinct, and hold at least the bytes copied.
    unsafe {
        core::ptr::copy_nonoverlapping(p, q, old.min(n));
        (q, free_raw(cache, p, "realloc"), counted(q))
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
    let cache = cache();
    // SAFETY: no preconditions.
    let p = unsafe { aligned_raw(cache, align, n) };
    if p.is_null() {
        os::set_errno(libc::ENOMEM);
    } else {
        // SAFETY: p was just allocated.
        count(Call::Aligned, unsafe { counted(p) }, 0);
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
///
/// # Safety
/// `align` is a power of two.
unsafe fn aligned_raw(cache: Cache, align: usize, n: usize) -> *mut u8 {
    if align <= ALIGN {
        // SAFETY: no preconditions.
        return unsafe { alloc_raw(cache, n) };
    }
    // Small blocks of a size that is a multiple of `align` are aligned:
    // pages start on a PAGE_BYTES boundary.
    if align <= SMALL_MAX && n <= SMALL_MAX - align {
        return small_alloc(cache, class_of(round_up(n.max(1), align)));
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
        let chunk = arena.heap_alloc(span, true);
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

/// Checks every arena's heap and every small page; returns the free heap
/// bytes or the first broken invariant. For tests and debugging, while no
/// other thread allocates.
pub fn check_heap() -> Result<usize, &'static str> {
    let mut free = 0;
    for arena in &ARENAS {
        arena.lock.lock();
        // SAFETY: we hold the lock.
        let result = unsafe { arena.heap_check() };
        arena.lock.unlock();
        free += result?;
    }
    segment::check()?;
    Ok(free)
}

/// Counts a call on the calling thread's cache if it has one, else shared.
/// The cache is looked up here, not passed: a thread that has one finds
/// it with one TLS load, and call sites stay small.
#[inline]
fn count(call: Call, allocated: usize, freed: usize) {
    match thread::current() {
        Some(c) => {
            c.counters.call(call);
            c.counters.allocated(allocated);
            c.counters.freed(freed);
        }
        None => counters::shared_call(call, allocated, freed),
    }
}
