//! Small blocks (up to `SMALL_MAX` bytes) from a thread's own pages.
//!
//! A `SmallHeap` holds, per size class, the pages its thread owns: those
//! that may have blocks to give (`partial`, whose head is the page `malloc`
//! takes from, `direct[class]`) and those found full (`full`). Allocating
//! and freeing on an owned page are plain loads and stores; a block freed
//! by another thread goes on its page's `thread_free` list, which the owner
//! takes back when its current page runs dry, and full pages are looked
//! through a few at a time before a new page is taken, so memory freed by
//! other threads (producer/consumer programs) is found again.
//!
//! LWMalloc's O(1) small pools survive here as per-class pages with free
//! lists; its per-block header does not: a page's metadata, found by
//! address, gives size class and owner for every block in it.

use core::ptr::null_mut;

use crate::config::*;
use crate::page::{Page, FULL_MARK, LISTED_CURRENT, LISTED_FULL, LISTED_NONE, LISTED_PARTIAL};
use crate::segment;

/// Full pages looked through for blocks freed by other threads before a
/// new page is taken.
const FULL_PAGES_SCANNED: usize = 4;

/// A page with no blocks: `direct` points here when a class has no page,
/// so the fast path needs no null check.
pub static EMPTY_PAGE: Page = Page::unused(0);

#[repr(C)]
pub struct SmallHeap {
    /// Per request size in ALIGN steps (`direct_index`), the page `malloc`
    /// takes blocks from: the head of `partial` of the size's class, or
    /// `EMPTY_PAGE`; every entry of a class (`direct_range`) holds the
    /// same. Indexed by size, not class, so the fast path needs no class
    /// table (mimalloc's `pages_free_direct`). Kept first, for the fast
    /// path. Null before `activate` (so the slot table is all zeros, in
    /// .bss).
    pub direct: [*const Page; DIRECT_SLOTS],
    /// Owned pages that may have free blocks (doubly linked, head first).
    partial: [*mut Page; CLASS_SLOTS],
    /// Owned pages found full (doubly linked, newest or latest looked
    /// through first).
    full: [*mut Page; CLASS_SLOTS],
    /// The last page of each `full` list (null when empty): the one
    /// looked through next.
    full_tail: [*mut Page; CLASS_SLOTS],
}

impl SmallHeap {
    pub const fn new() -> Self {
        SmallHeap {
            direct: [null_mut(); DIRECT_SLOTS],
            partial: [null_mut(); CLASS_SLOTS],
            full: [null_mut(); CLASS_SLOTS],
            full_tail: [null_mut(); CLASS_SLOTS],
        }
    }

    /// Makes the heap usable by the fast path.
    pub fn activate(&mut self) {
        if self.direct[0].is_null() {
            self.direct = [&EMPTY_PAGE; DIRECT_SLOTS];
        }
    }

    fn list(&mut self, state: u8, class: usize) -> &mut *mut Page {
        // `% CLASS_SLOTS` changes no valid class; it spares a bounds check.
        if state == LISTED_FULL {
            &mut self.full[class % CLASS_SLOTS]
        } else {
            &mut self.partial[class % CLASS_SLOTS]
        }
    }

    /// # Safety
    /// `page` is one of this heap's pages, on the list its `state` names.
    #[inline(never)]
    unsafe fn unlink(&mut self, page: &mut Page, class: usize) {
        // SAFETY: listed pages of this heap are owned by it.
        unsafe {
            if page.prev.is_null() {
                *self.list(page.state, class) = page.next;
            } else {
                (*page.prev).next = page.next;
            }
            if !page.next.is_null() {
                (*page.next).prev = page.prev;
            } else if page.state == LISTED_FULL {
                self.full_tail[class % CLASS_SLOTS] = page.prev;
            }
        }
        let was_current = page.state == LISTED_CURRENT;
        if page.state == LISTED_FULL {
            page.set_full_mark(false);
        }
        page.state = LISTED_NONE;
        if was_current {
            self.make_current(class);
        }
        page.next = null_mut();
        page.prev = null_mut();
    }

    /// Links `page` first in list `state` (first in `partial` makes it the
    /// page `malloc` uses).
    ///
    /// # Safety
    /// `page` is one of this heap's pages (or just taken), on no list.
    unsafe fn push_front(&mut self, page: &mut Page, class: usize, state: u8) {
        page.prev = null_mut();
        page.next = *self.list(state, class);
        if !page.next.is_null() {
            // SAFETY: listed pages are owned by this heap.
            unsafe { (*page.next).prev = page };
        } else if state == LISTED_FULL {
            self.full_tail[class % CLASS_SLOTS] = page;
        }
        *self.list(state, class) = page;
        page.state = state;
        page.set_full_mark(state == LISTED_FULL);
        if state == LISTED_PARTIAL {
            if !page.next.is_null() {
                // SAFETY: as above.
                unsafe { (*page.next).state = LISTED_PARTIAL };
            }
            self.make_current(class);
        }
    }

    /// Points the `direct` entries of `class` at the head of `partial`,
    /// marked current.
    fn make_current(&mut self, class: usize) {
        let head = self.partial[class % CLASS_SLOTS];
        let page: *const Page = if head.is_null() {
            &EMPTY_PAGE
        } else {
            // SAFETY: listed pages are owned by this heap.
            unsafe { (*head).state = LISTED_CURRENT };
            head
        };
        let (first, last) = direct_range(class);
        // An iterator, not a slice: no bounds check, no panic path.
        for entry in self.direct.iter_mut().skip(first).take(last + 1 - first) {
            *entry = page;
        }
    }

    /// Links `page` second in `partial`: it has room again, but the current
    /// page stays current.
    ///
    /// # Safety
    /// As `push_front`.
    unsafe fn push_second(&mut self, page: &mut Page, class: usize) {
        let head = self.partial[class % CLASS_SLOTS];
        if head.is_null() {
            // SAFETY: forwarded.
            return unsafe { self.push_front(page, class, LISTED_PARTIAL) };
        }
        // SAFETY: the head is a listed page of this heap.
        unsafe {
            page.prev = head;
            page.next = (*head).next;
            if !page.next.is_null() {
                (*page.next).prev = page;
            }
            (*head).next = page;
        }
        page.state = LISTED_PARTIAL;
    }

    /// A block of `class`: from the current page if it has one, else from
    /// `alloc_slow`. Null if memory is exhausted.
    ///
    /// # Safety
    /// Only the heap's owner may call this; `id` is the heap's id.
    #[inline]
    pub unsafe fn take(&mut self, class: usize, id: usize) -> *mut u8 {
        // The current page of the class is the head of `partial`.
        let page = self.partial[class % CLASS_SLOTS];
        // SAFETY: listed pages are ours.
        unsafe {
            if !page.is_null() && (*page).free != 0 {
                return (*page).pop();
            }
            self.alloc_slow(class, id)
        }
    }

    /// Allocates a block of `class` when `direct[class]` had none free:
    /// takes back remote frees, carves fresh blocks, moves on to another
    /// page or takes a new one. Null if memory is exhausted.
    ///
    /// # Safety
    /// Only the heap's owner may call this; `id` is the heap's id.
    #[inline(never)]
    pub unsafe fn alloc_slow(&mut self, class: usize, id: usize) -> *mut u8 {
        // SAFETY: every page reached is owned by this heap (or just taken).
        unsafe {
            loop {
                let head = self.partial[class % CLASS_SLOTS];
                if head.is_null() {
                    break;
                }
                let page = &mut *head;
                if page.free != 0 || page.collect() != 0 || page.carve() {
                    return page.pop();
                }
                self.unlink(page, class);
                self.push_front(page, class, LISTED_FULL);
            }
            if let Some(page) = self.reclaim_full(class) {
                return page.pop();
            }
            loop {
                let page = segment::take_page(class, id);
                if page.is_null() {
                    return null_mut();
                }
                let page = &mut *page;
                if page.free != 0 || page.carve() {
                    self.push_front(page, class, LISTED_PARTIAL);
                    return page.pop();
                }
                // An adopted page with every block still live: ours now,
                // among the full ones.
                self.push_front(page, class, LISTED_FULL);
            }
        }
    }

    /// Looks through a few full pages of `class` for blocks other threads
    /// freed, oldest first; a page that has some becomes current. A page
    /// with none moves to the front, so the next look starts at the next
    /// oldest. Oldest first because remote frees mostly come in the order
    /// the blocks were handed over (queues, pipelines): the pages filled
    /// longest ago are the ones the consumers have reached.
    ///
    /// # Safety
    /// Only the heap's owner may call this.
    unsafe fn reclaim_full(&mut self, class: usize) -> Option<&'static mut Page> {
        for _ in 0..FULL_PAGES_SCANNED {
            let tail = self.full_tail[class % CLASS_SLOTS];
            if tail.is_null() {
                return None;
            }
            // SAFETY: listed pages are owned by this heap.
            unsafe {
                let page = &mut *tail;
                self.unlink(page, class);
                if page.collect() != 0 {
                    self.push_front(page, class, LISTED_PARTIAL);
                    return Some(page);
                }
                self.push_front(page, class, LISTED_FULL);
            }
        }
        None
    }

    /// After a block went back on `page`'s free list: a full page has room
    /// again; an empty page other than the current one goes back to its
    /// segment.
    ///
    /// # Safety
    /// Only the owner may call this; `page` is one of its pages.
    #[cold]
    #[inline(never)]
    pub unsafe fn after_free(&mut self, page: &mut Page) {
        let class = page.class as usize;
        // SAFETY: the page is ours.
        unsafe {
            if page.state == LISTED_FULL {
                self.unlink(page, class);
                self.push_second(page, class);
            }
            if page.used == 0 && page.state != LISTED_CURRENT {
                self.unlink(page, class);
                segment::free_page(page);
            }
        }
    }

    /// The thread is leaving: pages with nothing live go back to their
    /// segments, the others are abandoned for another thread to adopt.
    ///
    /// # Safety
    /// Only the owner may call this, once, as its last use of the heap.
    pub unsafe fn abandon_all(&mut self) {
        for class in 0..NUM_CLASSES {
            for state in [LISTED_PARTIAL, LISTED_FULL] {
                loop {
                    let head = *self.list(state, class);
                    if head.is_null() {
                        break;
                    }
                    // SAFETY: listed pages are ours until given away here.
                    unsafe {
                        let page = &mut *head;
                        self.unlink(page, class);
                        page.collect();
                        if page.used == 0 {
                            segment::free_page(page);
                        } else {
                            segment::abandon_page(page, class);
                        }
                    }
                }
            }
            self.make_current(class);
        }
    }

    /// Drops every page without touching it (fork child: the owner is gone,
    /// maybe mid-update). The pages stay with the old owner id: a bounded
    /// leak.
    pub fn forget(&mut self) {
        // SAFETY: every field is an array of raw pointers, whose all-zero
        // value is null: exactly `SmallHeap::new()`, written in place (an
        // assignment built the 2.6 KB value on the stack and copied it).
        unsafe { core::ptr::write_bytes(self as *mut SmallHeap, 0, 1) };
    }
}

/// Frees small block `block` of `page` for the page's owner, or any other
/// thread, checking for a double free; aborts on misuse.
///
/// # Safety
/// `block` lies in a segment page; `id` is the caller's heap id (its TLS
/// word) and `heap` its heap if it has one.
/// Returns the bytes the byte counters must count as freed: the block's
/// size when it went on a remote list (its page still counts it as used
/// until the owner takes it back, see `Page::collect`), else 0.
#[inline(never)]
pub unsafe fn free_block(
    page: *mut Page,
    block: usize,
    id: usize,
    heap: Option<&mut SmallHeap>,
    function: &str,
) -> usize {
    // SAFETY: the page lies in a segment (caller's contract); its atomic
    // fields may be read by anyone, and its size and carve pointer do not
    // change while one of its blocks is live.
    let (owned, size) = unsafe {
        if (*page).block_size == 0 || !(*page).is_block(block) {
            crate::os::fatal(function, "invalid pointer");
        }
        (
            (*page).owner.load(core::sync::atomic::Ordering::Relaxed) & !FULL_MARK == id,
            (*page).block_size as usize,
        )
    };
    match heap {
        Some(heap) if owned => {
            // SAFETY: a carved block's second word is readable.
            let suspect = unsafe { *((block + WORD) as *const usize) == (*page).key() };
            // SAFETY: the page is ours.
            let page = unsafe { &mut *page };
            // SAFETY: the page is ours.
            if suspect && unsafe { page.on_free_list(block) } {
                crate::os::fatal(function, "double free");
            }
            // SAFETY: the block is live and ours to free.
            unsafe { page.push(block) };
            // SAFETY: we own the page.
            unsafe { heap.after_free(page) };
        }
        _ => {
            // A double free by a thread that does not own the page is not
            // caught: the owner's list cannot be read from here.
            // SAFETY: the block is live; pushing makes it free; only the
            // page's atomic list is touched.
            unsafe { (*page).push_remote(block) };
            return size;
        }
    }
    0
}
