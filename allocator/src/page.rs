//! A small page: `PAGE_BYTES` of one segment, cut into blocks of one size
//! class, with no header in the blocks. Everything about a block comes from
//! its page's metadata, found by address (`segment::page_of`).
//!
//! A page in use has exactly one owner, a thread heap (`small::SmallHeap`)
//! named by `owner`. Only the owner touches `free`, `used`, `bump`, `state`
//! and the list links; any thread may push onto `thread_free` (one atomic
//! compare-and-swap), and the owner takes that whole list in one swap.
//! Pages not in use, or abandoned by an exited thread, are the segment
//! layer's, under its lock.

use core::sync::atomic::{AtomicUsize, Ordering::*};

use crate::config::*;

/// `owner` of a page no heap owns: free in its segment, or never used.
pub const NO_OWNER: usize = 2;
/// `owner` of a page whose thread exited with blocks still live in it.
pub const ABANDONED: usize = 3;

/// Set in `owner` while the page is on its owner's full list, so that the
/// owner's fast `free` (which compares `owner` with its id) falls through
/// to the slow path, which moves the page back to `partial`. Heap ids are
/// even.
pub const FULL_MARK: usize = 1;

/// Where a page sits among its owner's lists.
pub const LISTED_NONE: u8 = 0;
pub const LISTED_PARTIAL: u8 = 1;
pub const LISTED_FULL: u8 = 2;
/// In `partial`, at its head: the page `malloc` takes from.
pub const LISTED_CURRENT: u8 = 3;

/// Blocks carved from never-used memory at a time: about one OS page, so
/// memory is touched only as the program needs it.
const CARVE_BYTES: usize = 4096;

#[repr(C)]
pub struct Page {
    /// Free blocks for the owner, linked through their first word; 0 ends.
    /// Each one's second word holds `key()`. Owner only.
    pub free: usize,
    /// Blocks handed out and not yet back on `free` (live ones, and those
    /// waiting on `thread_free`). 0 means every carved block is on `free`.
    pub used: u32,
    /// Block size in bytes (a class size); 0 while the page is not in use.
    pub block_size: u32,
    /// About `2^32 / block_size` (see `init`): `offset * reciprocal >> 32`
    /// is `offset / block_size` for every offset within a page.
    pub reciprocal: u32,
    /// Which of the owner's lists holds the page (`LISTED_*`). Owner only.
    pub state: u8,
    /// The size class of `block_size`; fixed while in use.
    pub class: u8,
    /// The page's first byte (blocks start here); fixed.
    pub start: usize,
    /// End of the carved blocks: memory from here on was never handed out.
    pub bump: usize,
    /// Highest `bump` since the page's memory was last given back: the
    /// part that may be resident.
    pub touched: usize,
    /// Blocks freed by threads other than the owner (linked like `free`).
    pub thread_free: AtomicUsize,
    /// The owning heap's id (the owner's TLS word, see thread.rs; plus
    /// `FULL_MARK`), `NO_OWNER` or `ABANDONED`. Changed only by the owner,
    /// or under the segment lock while no heap owns the page.
    pub owner: AtomicUsize,
    /// Links in the owner's class list, the abandoned list or the segment's
    /// free-page list; null at the ends.
    pub next: *mut Page,
    pub prev: *mut Page,
}

// SAFETY: the plain fields are touched only by the page's owner, or under
// the segment lock while no heap owns it; the rest is atomic.
unsafe impl Sync for Page {}

impl Page {
    pub const fn unused(start: usize) -> Page {
        Page {
            free: 0,
            used: 0,
            block_size: 0,
            reciprocal: 0,
            state: LISTED_NONE,
            class: 0,
            start,
            bump: start,
            touched: start,
            thread_free: AtomicUsize::new(0),
            owner: AtomicUsize::new(NO_OWNER),
            next: core::ptr::null_mut(),
            prev: core::ptr::null_mut(),
        }
    }

    /// The value a free block of this page keeps in its second word: lets
    /// `free` suspect a double free with one comparison. The page's own
    /// metadata address: no block of any page ever has it (metadata lives
    /// in page 0 of the segment, which holds no blocks), so a live block
    /// holds it only if its program wrote it there, and then `free` merely
    /// takes the slow path, which looks the block up in the free list.
    #[inline(always)]
    pub fn key(&self) -> usize {
        self as *const Page as usize
    }

    /// Whether `block` (inside this page) is the start of a block that has
    /// been handed out at least once.
    #[inline(always)]
    pub fn is_block(&self, block: usize) -> bool {
        self.is_block_start(block) && block < self.bump
    }

    /// Whether `block` (inside this page) is at a block boundary: what the
    /// fast `free` checks, so that an interior pointer goes to the checks
    /// of the slow path. False on a page not in use.
    ///
    /// One 32-bit multiplication, no division, no load of the size: with
    /// `r = reciprocal` and `size * r = 2^32 + e` (`0 <= e <= size`), the
    /// low 32 bits of `offset * r` are `i * e` for `offset = i * size`,
    /// at most PAGE_BYTES, and at least `r` for any other offset (see the
    /// assertions in config.rs); `r` is above 4 million for every class.
    #[inline(always)]
    pub fn is_block_start(&self, block: usize) -> bool {
        // Pages start on a PAGE_BYTES boundary: the offset needs no load.
        let offset = (block & (PAGE_BYTES - 1)) as u32;
        offset.wrapping_mul(self.reciprocal) < self.reciprocal
    }

    /// Sets or clears `FULL_MARK`. Owner only.
    pub fn set_full_mark(&mut self, full: bool) {
        let id = self.owner.load(Relaxed) & !FULL_MARK;
        self.owner.store(id | full as usize, Relaxed);
    }

    /// Makes the page ready for blocks of class `class`, owned by `owner`.
    pub fn init(&mut self, class: usize, owner: usize) {
        let size = class_size(class);
        self.class = class as u8;
        self.free = 0;
        self.used = 0;
        self.block_size = size as u32;
        // floor((2^32 - 1) / size) + 1: floor(2^32 / size) + 1 for every
        // size but powers of two, where it is 2^32 / size, exact as well;
        // a 32-bit division (a 64-bit one needs a big helper on ARM).
        self.reciprocal = div(u32::MAX as usize, size) as u32 + 1;
        self.state = LISTED_NONE;
        self.bump = self.start;
        self.thread_free.store(0, Relaxed);
        self.next = core::ptr::null_mut();
        self.prev = core::ptr::null_mut();
        self.owner.store(owner, Release);
    }

    /// Takes a block off `free`, which has one: the allocation fast path.
    ///
    /// # Safety
    /// The caller owns the page and `free` is not empty.
    #[inline(always)]
    pub unsafe fn pop(&mut self) -> *mut u8 {
        let block = self.free;
        // SAFETY: a free block's first two words are the link and the key.
        unsafe {
            self.free = *(block as *const usize);
            *((block + WORD) as *mut usize) = 0;
        }
        self.used += 1;
        block as *mut u8
    }

    /// Puts the live block `block` back on `free`, marked with the key:
    /// the owner's free.
    ///
    /// # Safety
    /// The caller owns the page; `block` is a live block of it.
    #[inline(always)]
    pub unsafe fn push(&mut self, block: usize) {
        // SAFETY: the block is the caller's to free; its first two words
        // become the link and the key.
        unsafe {
            *(block as *mut usize) = self.free;
            *((block + WORD) as *mut usize) = self.key();
        }
        self.free = block;
        self.used -= 1;
    }

    /// Carves never-used blocks onto `free`; false if the page has none.
    ///
    /// # Safety
    /// The caller owns the page; `free` is empty.
    pub unsafe fn carve(&mut self) -> bool {
        let size = self.block_size as usize;
        let end = self.start + PAGE_BYTES;
        if size == 0 || self.bump + size > end {
            return false;
        }
        let count = div(CARVE_BYTES.min(end - self.bump), size).max(1);
        let key = self.key();
        let mut block = self.bump + (count - 1) * size;
        let mut next = 0;
        // SAFETY: the blocks lie in this page past `bump`, never handed out.
        unsafe {
            loop {
                *(block as *mut usize) = next;
                *((block + WORD) as *mut usize) = key;
                next = block;
                if block == self.bump {
                    break;
                }
                block -= size;
            }
        }
        self.free = next;
        self.bump += count * size;
        self.touched = self.touched.max(self.bump);
        true
    }

    /// Moves the blocks other threads freed onto `free`; returns how many.
    ///
    /// # Safety
    /// The caller owns the page.
    pub unsafe fn collect(&mut self) -> u32 {
        if self.thread_free.load(Relaxed) == 0 {
            return 0;
        }
        let mut head = self.thread_free.swap(0, Acquire);
        let mut count = 0;
        // SAFETY: every block on the list is a free block of this page,
        // pushed by `push_remote`, and no one else holds the list now.
        unsafe {
            while head != 0 {
                let next = *(head as *const usize);
                *(head as *mut usize) = self.free;
                self.free = head;
                head = next;
                count += 1;
            }
        }
        self.used -= count;
        // Pushed blocks were counted as freed by their freeing threads.
        crate::counters::collected(count as usize * self.block_size as usize);
        count
    }

    /// Frees `block` from a thread that does not own the page.
    ///
    /// # Safety
    /// `block` is a live block of this page; it is free from now on.
    #[inline]
    pub unsafe fn push_remote(&self, block: usize) {
        let key = self.key();
        let mut head = self.thread_free.load(Relaxed);
        loop {
            // SAFETY: the block is ours to write until it is on the list.
            unsafe {
                *(block as *mut usize) = head;
                *((block + WORD) as *mut usize) = key;
            }
            match self
                .thread_free
                .compare_exchange_weak(head, block, Release, Relaxed)
            {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Whether `block` is on the owner's free list (a double free), after
    /// its key matched. Walks the list: only for suspected blocks.
    ///
    /// # Safety
    /// The caller owns the page.
    pub unsafe fn on_free_list(&self, block: usize) -> bool {
        let mut b = self.free;
        while b != 0 {
            if b == block {
                return true;
            }
            // SAFETY: the free list holds free blocks of this page.
            b = unsafe { *(b as *const usize) };
        }
        false
    }

    /// Checks the owner's view of the page: free blocks are carved block
    /// starts of this page, and free + used = carved. For `check_heap`.
    ///
    /// # Safety
    /// The page is in use, and the caller owns it or holds the segment
    /// lock for an abandoned one (so that no one takes the remote list).
    pub unsafe fn check(&self) -> Result<(), &'static str> {
        let size = self.block_size as usize;
        if size == 0 || size % ALIGN != 0 || size > SMALL_MAX {
            return Err("small page with a bad block size");
        }
        if self.bump < self.start || self.bump > self.start + PAGE_BYTES || self.touched < self.bump
        {
            return Err("small page carve pointer out of range");
        }
        let carved = div(self.bump - self.start, size);
        // One look at the remote list: other threads may push while we
        // walk, but only in front of this head.
        let remote = self.thread_free.load(Acquire);
        // Blocks on each list; both together cannot exceed the carved ones.
        let mut counts = [0usize; 2];
        for (list, count) in [self.free, remote].into_iter().zip(&mut counts) {
            let mut b = list;
            while b != 0 {
                if !self.is_block(b) {
                    return Err("small page free list holds a foreign block");
                }
                *count += 1;
                if *count > carved {
                    return Err("small page free list is cyclic");
                }
                // SAFETY: b is a carved block of this page.
                b = unsafe { *(b as *const usize) };
            }
        }
        let [free, pending] = counts;
        if free + pending > carved {
            return Err("small page free list is cyclic");
        }
        // Remote-freed blocks still count as used until collected.
        if free + self.used as usize != carved {
            return Err("small page used count disagrees with its free list");
        }
        Ok(())
    }
}

const _: () = assert!(PAGE_BYTES / ALIGN <= u32::MAX as usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_starts_are_exactly_the_multiples_of_the_block_size() {
        for class in 0..NUM_CLASSES {
            let mut page = Page::unused(0);
            page.init(class, 8);
            let size = class_size(class);
            for offset in 0..PAGE_BYTES {
                assert_eq!(
                    page.is_block_start(offset),
                    offset % size == 0,
                    "class {class} ({size} B), offset {offset}"
                );
            }
        }
    }

    #[test]
    fn a_page_not_in_use_has_no_block_start() {
        let page = Page::unused(0);
        assert!((0..PAGE_BYTES).all(|offset| !page.is_block_start(offset)));
    }
}
