//! Segments: `SEGMENT_BYTES`-aligned mappings that hold small pages. The
//! first page of a segment is its metadata (one `Page` per page, then the
//! segment's own fields); the others hold blocks. A bit per possible
//! segment (`SEGMENT_MAP`) says which addresses are small blocks, so `free`
//! tells a small block from a heap chunk without reading memory around it.
//!
//! Pages not owned by a heap belong to this layer, under `LOCK`: free pages
//! (kept resident up to a sixteenth of the pages in use, on one list taken
//! from first; given back with MADV_DONTNEED beyond that, on their
//! segment's list), and pages abandoned by exited threads, per class, which
//! the next thread needing that class adopts. A segment whose pages are
//! all free is unmapped, except the last one, kept for the next burst.

use core::sync::atomic::{AtomicUsize, Ordering::*};

use crate::config::*;
use crate::lock::Mutex;
use crate::page::{Page, ABANDONED, NO_OWNER};
use crate::{counters, os};

const MAP_WORDS: usize = (1usize << (ADDRESS_BITS - SEGMENT_SHIFT)) / usize::BITS as usize;

/// Bit `address >> SEGMENT_SHIFT` is set while a segment is mapped there.
static SEGMENT_MAP: [AtomicUsize; MAP_WORDS] = [const { AtomicUsize::new(0) }; MAP_WORDS];

/// Asks for the segment map (8 MiB of .bss on 64-bit targets, touched a
/// word at a time) never to be backed by transparent huge pages: on a
/// THP=always kernel, the first bit set would make 2 MiB resident.
pub fn map_without_huge_pages() {
    let start = SEGMENT_MAP.as_ptr() as usize & !4095;
    let end = SEGMENT_MAP.as_ptr() as usize + core::mem::size_of_val(&SEGMENT_MAP);
    os::no_huge_pages(start, end - start);
}

/// The segment layer's lock: free pages, abandoned pages, segment list.
pub static LOCK: Mutex = Mutex::new();

/// Metadata at the start of each segment.
#[repr(C)]
pub struct Segment {
    /// One entry per page; entry 0 describes this metadata page and is
    /// never in use.
    pub pages: [Page; PAGES_PER_SEGMENT],
    /// Free pages of this segment that are not resident (given back, or
    /// never touched), linked through `Page::next`.
    free_pages: *mut Page,
    /// Free pages of this segment: those on `free_pages` and those of it
    /// on `State::dirty_pages`.
    free_count: usize,
    /// Links in `State::segments`.
    next: *mut Segment,
    prev: *mut Segment,
}

/// Everything under `LOCK`.
struct State {
    /// Every mapped segment.
    segments: *mut Segment,
    /// Free pages still resident, of every segment, the last freed first,
    /// linked through `Page::next`: taken before any other free page, so
    /// a program whose use of pages rises again does not fault them in
    /// while some are resident, and its peak RSS is not raised by them.
    dirty_pages: *mut Page,
    /// Pages on `dirty_pages`.
    dirty: usize,
    /// Pages taken by heaps (in use or abandoned), in all segments.
    in_use: usize,
    /// Pages of exited threads with live blocks, per class (via `Page::next`).
    abandoned: [*mut Page; CLASS_SLOTS],
}

struct Guarded(core::cell::UnsafeCell<State>);
// SAFETY: the state is only reached through `state()`, under `LOCK`.
unsafe impl Sync for Guarded {}

static STATE: Guarded = Guarded(core::cell::UnsafeCell::new(State {
    segments: core::ptr::null_mut(),
    dirty_pages: core::ptr::null_mut(),
    dirty: 0,
    in_use: 0,
    abandoned: [core::ptr::null_mut(); CLASS_SLOTS],
}));

/// # Safety
/// The caller holds `LOCK` and no other reference from `state()`.
#[allow(clippy::mut_from_ref)]
unsafe fn state() -> &'static mut State {
    // SAFETY: the lock gives exclusive access (caller's contract).
    unsafe { &mut *STATE.0.get() }
}

/// Whether `address` lies in a segment (so it may be a small block).
///
/// On 64-bit targets the bits above `ADDRESS_BITS` are masked off rather
/// than tested: one instruction instead of three on `free`'s fast path. No
/// pointer a program got from us has them set; a forged one that has them
/// may alias a segment, and `free` then reads the page metadata at that
/// non-canonical address and faults, where a test would have aborted with
/// a message. (On aarch64 the top byte is ignored by loads, so a tagged
/// pointer into a segment is simply that block.)
#[inline(always)]
pub fn contains(address: usize) -> bool {
    let bit = address >> SEGMENT_SHIFT;
    let word = bit / usize::BITS as usize % MAP_WORDS;
    // SAFETY: word < MAP_WORDS.
    let bits = unsafe { SEGMENT_MAP.get_unchecked(word) }.load(Relaxed);
    bits >> (bit % usize::BITS as usize) & 1 != 0
}

/// The page metadata of `address`. It may be dereferenced when
/// `contains(address)`: a mapped segment starts with its page table, whose
/// entries are never moved or freed while it is mapped. Its owner may
/// take `&mut`; other threads touch only its atomic fields.
#[inline(always)]
pub fn page_of(address: usize) -> *mut Page {
    let segment = address & !(SEGMENT_BYTES - 1);
    let index = (address >> PAGE_SHIFT) & (PAGES_PER_SEGMENT - 1);
    (segment + index * core::mem::size_of::<Page>()) as *mut Page
}

fn set_mapped(segment: usize, on: bool) {
    let bit = segment >> SEGMENT_SHIFT;
    let mask = 1usize << (bit % usize::BITS as usize);
    let word = &SEGMENT_MAP[bit / usize::BITS as usize % MAP_WORDS];
    if on {
        word.fetch_or(mask, Release);
    } else {
        word.fetch_and(!mask, Release);
    }
}

/// A page for blocks of class `class`, owned by `owner` from now on: an
/// abandoned one of that class with free blocks, a free one, or one of a
/// new segment. Null if the system has no memory left.
pub fn take_page(class: usize, owner: usize) -> *mut Page {
    LOCK.lock();
    // SAFETY: we hold the lock.
    let page = unsafe { take_page_locked(class, owner) };
    LOCK.unlock();
    page
}

/// # Safety
/// The caller holds `LOCK`.
unsafe fn take_page_locked(class: usize, owner: usize) -> *mut Page {
    // SAFETY: the caller holds the lock; pages and segments reached from
    // the state are mapped and belong to this layer.
    unsafe {
        let st = state();
        // Abandoned pages first: their blocks are resident. Ones that
        // turn out entirely free go back to their segments on the way.
        let class = class % CLASS_SLOTS;
        while !st.abandoned[class].is_null() {
            let page = &mut *st.abandoned[class];
            st.abandoned[class] = page.next;
            page.collect();
            if page.used == 0 {
                free_page_locked(st, page);
                continue;
            }
            page.next = core::ptr::null_mut();
            page.owner.store(owner, Release);
            return page;
        }
        let page = if st.dirty_pages.is_null() {
            let mut segment = st.segments;
            while !segment.is_null() && (*segment).free_pages.is_null() {
                segment = (*segment).next;
            }
            if segment.is_null() {
                segment = map_segment(st);
                if segment.is_null() {
                    return core::ptr::null_mut();
                }
            }
            let page = &mut *(*segment).free_pages;
            (*segment).free_pages = page.next;
            page
        } else {
            let page = &mut *st.dirty_pages;
            st.dirty_pages = page.next;
            st.dirty -= 1;
            page
        };
        segment_of(page).free_count -= 1;
        st.in_use += 1;
        page.init(class, owner);
        page
    }
}

/// Takes back a page whose every block is free (`used == 0`).
///
/// # Safety
/// The caller owned the page and has taken it off its lists.
pub unsafe fn free_page(page: &mut Page) {
    LOCK.lock();
    // SAFETY: we hold the lock; the page is the caller's to give.
    unsafe { free_page_locked(state(), page) };
    LOCK.unlock();
}

/// # Safety
/// The caller holds `LOCK`; `page` is in use, has no block out
/// (`used == 0`) and is on no list.
unsafe fn free_page_locked(st: &mut State, page: &mut Page) {
    page.owner.store(NO_OWNER, Relaxed);
    page.block_size = 0;
    st.in_use -= 1;
    if page.touched > page.start {
        page.next = st.dirty_pages;
        st.dirty_pages = page;
        st.dirty += 1;
    } else {
        park_released(page);
    }
    // Resident free pages are kept up to a sixteenth of the pages in use
    // (at least DIRTY_PAGES_MAX): what "free" gives back follows the
    // program's size, also as it shrinks.
    while st.dirty > DIRTY_PAGES_MAX.max(st.in_use / 16) {
        // SAFETY: the dirty list holds st.dirty free pages of mapped segments.
        let resident = unsafe { &mut *st.dirty_pages };
        st.dirty_pages = resident.next;
        st.dirty -= 1;
        release(resident);
        park_released(resident);
    }
    let seg = segment_of(page);
    seg.free_count += 1;
    if seg.free_count == PAGES_PER_SEGMENT - 1 && !(seg.next.is_null() && seg.prev.is_null()) {
        // SAFETY: every page of the segment is free: nothing points into it.
        unsafe { unmap_segment(st, seg) };
    }
}

/// Puts the free, non-resident `page` on its segment's list.
fn park_released(page: &mut Page) {
    let seg = segment_of(page);
    page.next = seg.free_pages;
    seg.free_pages = page;
}

/// The segment `page` lies in.
fn segment_of(page: &Page) -> &'static mut Segment {
    // SAFETY: a page belongs to the segment it lies in, which is mapped
    // while the page is reachable; the caller holds `LOCK`.
    unsafe { &mut *((page.start & !(SEGMENT_BYTES - 1)) as *mut Segment) }
}

/// Gives the resident part of a free page back to the OS.
fn release(page: &mut Page) {
    let os_page = os::page_size();
    let end = round_up(page.touched, os_page).min(page.start + PAGE_BYTES);
    let start = round_up(page.start, os_page);
    if end > start {
        // SAFETY: the page is free; its memory holds nothing.
        unsafe { os::release(start as *mut u8, end - start) };
        counters::returned(end - start);
    }
    page.touched = page.start;
}

/// Parks a page with live blocks whose owner is exiting.
///
/// # Safety
/// The caller owned the page and has taken it off its lists.
pub unsafe fn abandon_page(page: &mut Page, class: usize) {
    LOCK.lock();
    page.owner.store(ABANDONED, Release);
    // SAFETY: we hold the lock.
    unsafe {
        let st = state();
        page.next = st.abandoned[class];
        st.abandoned[class] = page;
    }
    LOCK.unlock();
}

/// Maps a segment, aligned to its size, and links it first.
///
/// # Safety
/// The caller holds `LOCK`.
unsafe fn map_segment(st: &mut State) -> *mut Segment {
    let raw = os::map(2 * SEGMENT_BYTES) as usize;
    if raw == 0 {
        return core::ptr::null_mut();
    }
    // One page of the mapping stays below the segment, never touched, so
    // that the mapping does not start on a 2 MiB boundary: a thread stack
    // of 2 MiB placed right below it would then be aligned, and a kernel
    // with transparent huge pages "always" (before 6.7) backs it with one
    // huge page when the thread first touches it (seen on qemu-pi4:
    // 2 MiB more RSS in every threaded run).
    let guard = os::page_size();
    let base = round_up(raw + guard, SEGMENT_BYTES);
    // SAFETY: both trimmed ranges are parts of the fresh mapping, unused.
    unsafe {
        if base - guard > raw {
            os::unmap(raw as *mut u8, base - guard - raw);
        }
        let tail = raw + 2 * SEGMENT_BYTES - (base + SEGMENT_BYTES);
        if tail > 0 {
            os::unmap((base + SEGMENT_BYTES) as *mut u8, tail);
        }
    }
    // The guard too: marked, it cannot merge with a stack mapped below.
    os::no_huge_pages(base - guard, SEGMENT_BYTES + guard);
    crate::large::forget_unmapped(base, SEGMENT_BYTES);
    counters::mapped(SEGMENT_BYTES);
    let segment = base as *mut Segment;
    // SAFETY: the fresh mapping is ours and larger than a Segment.
    unsafe {
        let seg = &mut *segment;
        for (i, page) in seg.pages.iter_mut().enumerate() {
            core::ptr::write(page, Page::unused(base + i * PAGE_BYTES));
        }
        seg.free_pages = core::ptr::null_mut();
        for i in (1..PAGES_PER_SEGMENT).rev() {
            seg.pages[i].next = seg.free_pages;
            seg.free_pages = &mut seg.pages[i];
        }
        seg.free_count = PAGES_PER_SEGMENT - 1;
        seg.prev = core::ptr::null_mut();
        seg.next = st.segments;
        if !st.segments.is_null() {
            (*st.segments).prev = segment;
        }
        st.segments = segment;
    }
    set_mapped(base, true);
    segment
}

/// # Safety
/// The caller holds `LOCK`; every page of `seg` is free.
unsafe fn unmap_segment(st: &mut State, seg: &mut Segment) {
    // Its resident pages leave the dirty list.
    let mut link = &raw mut st.dirty_pages;
    // SAFETY: the dirty list holds free pages of mapped segments.
    unsafe {
        while !(*link).is_null() {
            let page = &mut **link;
            if core::ptr::eq(segment_of(page), seg) {
                *link = page.next;
                st.dirty -= 1;
            } else {
                link = &raw mut page.next;
            }
        }
    }
    // SAFETY: linked segments are mapped.
    unsafe {
        if seg.prev.is_null() {
            st.segments = seg.next;
        } else {
            (*seg.prev).next = seg.next;
        }
        if !seg.next.is_null() {
            (*seg.next).prev = seg.prev;
        }
    }
    let base = seg as *mut Segment as usize;
    set_mapped(base, false);
    let guard = os::page_size();
    // SAFETY: no page of the segment is in use; the page below is its guard.
    unsafe { os::unmap((base - guard) as *mut u8, SEGMENT_BYTES + guard) };
    counters::unmapped(SEGMENT_BYTES);
    counters::returned(SEGMENT_BYTES);
}

/// Fork: the child's only thread may take the lock again.
pub fn reset_lock() {
    LOCK.reset();
}

/// Bytes mapped for segments, bytes of their pages in use, and bytes of
/// small blocks handed out (blocks freed by another thread count until
/// their page's owner takes them back). Read racily: exact when no other
/// thread allocates.
pub fn footprint() -> (usize, usize, usize) {
    LOCK.lock();
    let mut mapped = 0;
    let mut in_use = 0;
    let mut live = 0;
    // SAFETY: we hold the lock; listed segments are mapped.
    unsafe {
        let mut seg = state().segments;
        while !seg.is_null() {
            mapped += SEGMENT_BYTES;
            in_use += (PAGES_PER_SEGMENT - 1 - (*seg).free_count) * PAGE_BYTES;
            for i in 1..PAGES_PER_SEGMENT {
                // Owners change these as we read: volatile, whole fields.
                let page = &raw const (*seg).pages[i];
                let used = core::ptr::read_volatile(&raw const (*page).used) as usize;
                let size = core::ptr::read_volatile(&raw const (*page).block_size) as usize;
                live += used * size;
            }
            seg = (*seg).next;
        }
    }
    LOCK.unlock();
    (mapped, in_use, live)
}

/// Checks the segments' free-page lists, and the pages that the calling
/// thread owns or that are abandoned (the others' owners may be changing
/// them as we read: they are checked by their own threads).
pub fn check() -> Result<(), &'static str> {
    let me = crate::tls::get();
    LOCK.lock();
    let mut result = Ok(());
    // SAFETY: we hold the lock; listed segments are mapped.
    unsafe {
        let mut seg = state().segments;
        'segments: while !seg.is_null() {
            let s = &*seg;
            if !contains(seg as usize) {
                result = Err("segment missing from the segment map");
                break;
            }
            let mut free = 0;
            for list in [s.free_pages, state().dirty_pages] {
                let mut p = list;
                while !p.is_null() {
                    if (*p).owner.load(Relaxed) != NO_OWNER {
                        result = Err("free-page list holds a page in use");
                        break 'segments;
                    }
                    if core::ptr::eq(segment_of(&*p), s) {
                        free += 1;
                    }
                    p = (*p).next;
                }
            }
            if free != s.free_count {
                result = Err("segment free-page count disagrees with its list");
                break;
            }
            for page in &s.pages[1..] {
                let owner = page.owner.load(Relaxed) & !crate::page::FULL_MARK;
                if owner == me || page.owner.load(Relaxed) == ABANDONED {
                    if let Err(e) = page.check() {
                        result = Err(e);
                        break 'segments;
                    }
                }
            }
            seg = s.next;
        }
    }
    LOCK.unlock();
    result
}

const _: () = assert!(core::mem::size_of::<Segment>() <= PAGE_BYTES);
// `page_of` computes the entry's address from the table at offset 0.
const _: () = assert!(core::mem::offset_of!(Segment, pages) == 0);
const _: () = assert!(MAP_WORDS * usize::BITS as usize == 1 << (ADDRESS_BITS - SEGMENT_SHIFT));
