//! LWMalloc's small-chunk pools: one class per ALIGN step up to 256 bytes,
//! each class a list of 4 KiB pages cut into equal blocks. A page comes from
//! the arena's heap and goes back to it when its last block returns (one
//! empty page per class is kept to absorb churn), so memory moves between
//! size classes instead of piling up in the class that used it first.
//!
//! Blocks travel between pages and thread caches in batches, under the
//! arena lock; a block's header locates its page, so frees need no search.

use crate::arena::{Arena, ARENAS};
use crate::config::*;
use crate::header::*;
use crate::os::fatal;

const PAGE_MAGIC: usize = 0x5a3c_96e1;

/// Header of a small page, at the user pointer of its heap chunk.
#[repr(C)]
pub struct SmallPage {
    /// `PAGE_MAGIC ^ address` while the page lives; checked before any
    /// block is returned to it, so a forged block header cannot write here.
    magic: usize,
    /// Owning arena's index; fixed for the page's life.
    arena: usize,
    class: usize,
    /// Free blocks (user pointers, linked through their first word); 0 ends.
    free: usize,
    /// Chunk address of the next never-used block.
    bump: usize,
    /// Blocks cannot start at or past this address.
    end: usize,
    /// Blocks handed out (live, or held in a thread cache).
    used: usize,
    /// Links on the class's partial list, valid while `listed`.
    next: usize,
    pprev: usize,
    listed: bool,
}

/// Per-arena, per-class page lists.
pub struct ClassPages {
    /// Pages with at least one block to give (free or never used).
    partial: usize,
    /// One fully free page kept back from the heap, or 0.
    empty: usize,
}

impl ClassPages {
    pub const fn new() -> Self {
        ClassPages {
            partial: 0,
            empty: 0,
        }
    }
}

const BLOCKS_OFFSET: usize = round_up(core::mem::size_of::<SmallPage>() + WORD, ALIGN) - WORD;

/// A singly-linked batch of free blocks moving between cache and pages:
/// `count` blocks linked through their first word, the last link 0.
pub struct Batch {
    pub head: usize,
    pub count: u32,
}

impl Batch {
    /// A batch of the single free block `block`. Its first word still holds
    /// the program's data, so the terminating link must be written: a batch
    /// taken from it would walk into whatever the program stored there.
    ///
    /// # Safety
    /// `block` is a free small block that nothing else references.
    pub unsafe fn one(block: usize) -> Batch {
        // SAFETY: the block's first word is ours now (caller's contract).
        unsafe { *link(block) = 0 };
        Batch {
            head: block,
            count: 1,
        }
    }
}

#[inline(always)]
unsafe fn link(block: usize) -> *mut usize {
    block as *mut usize
}

unsafe fn page_link(page: &mut SmallPage, list: &mut usize) {
    page.next = *list;
    page.pprev = list as *mut usize as usize;
    if page.next != 0 {
        // SAFETY: pages on a partial list are live pages of this arena.
        unsafe { (*(page.next as *mut SmallPage)).pprev = &mut page.next as *mut usize as usize };
    }
    *list = page as *mut SmallPage as usize;
    page.listed = true;
}

unsafe fn page_unlink(page: &mut SmallPage) {
    // SAFETY: a listed page's links are valid.
    unsafe {
        *(page.pprev as *mut usize) = page.next;
        if page.next != 0 {
            (*(page.next as *mut SmallPage)).pprev = page.pprev;
        }
    }
    page.listed = false;
}

/// The page of a free block with header `h`; aborts if the header does not
/// lead to a live page.
///
/// # Safety
/// `block` passed the header check of a small block.
pub unsafe fn page_of(block: usize, h: usize, function: &str) -> &'static mut SmallPage {
    let addr = block - WORD - small_page_distance(h);
    // SAFETY: a genuine header points into the same heap chunk; the magic
    // check below rejects forged ones before anything is written.
    let page = unsafe { &mut *(addr as *mut SmallPage) };
    if page.magic != PAGE_MAGIC ^ addr || page.class != small_class(h) {
        fatal(function, "invalid pointer");
    }
    page
}

#[inline]
pub fn page_arena(page: &SmallPage) -> &'static Arena {
    &ARENAS[page.arena]
}

impl Arena {
    /// Moves up to `want` blocks of `class` into `out`.
    ///
    /// # Safety
    /// The caller holds the lock.
    pub unsafe fn take_blocks(&self, class: usize, want: u32, out: &mut Batch) {
        // SAFETY: the caller holds the lock; pages are this arena's.
        unsafe {
            while out.count < want {
                let mut addr = self.heap().pages[class].partial;
                if addr == 0 {
                    addr = self.new_page(class);
                    if addr == 0 {
                        return;
                    }
                }
                let page = &mut *(addr as *mut SmallPage);
                if self.heap().pages[class].empty == addr {
                    self.heap().pages[class].empty = 0;
                }
                while out.count < want {
                    let block = if page.free != 0 {
                        let b = page.free;
                        page.free = *link(b);
                        b
                    } else if page.bump < page.end {
                        let c = page.bump;
                        page.bump += class_chunk(class);
                        *(c as *mut usize) = small_header(class, c - addr);
                        c + WORD
                    } else {
                        break;
                    };
                    *link(block) = out.head;
                    out.head = block;
                    out.count += 1;
                    page.used += 1;
                }
                if page.free == 0 && page.bump >= page.end {
                    page_unlink(page);
                }
            }
        }
    }

    unsafe fn new_page(&self, class: usize) -> usize {
        // SAFETY: the caller holds the lock.
        let chunk = unsafe { self.heap_alloc(SMALL_PAGE_BYTES) };
        if chunk == 0 {
            return 0;
        }
        let addr = chunk + WORD;
        // SAFETY: the fresh chunk is ours and larger than a SmallPage.
        unsafe {
            let page = &mut *(addr as *mut SmallPage);
            *page = SmallPage {
                magic: PAGE_MAGIC ^ addr,
                arena: self.index(),
                class,
                free: 0,
                bump: addr + BLOCKS_OFFSET,
                end: chunk + SMALL_PAGE_BYTES - class_chunk(class) + 1,
                used: 0,
                next: 0,
                pprev: 0,
                listed: false,
            };
            page_link(page, &mut self.heap().pages[class].partial);
        }
        addr
    }

    /// Gives one free block (header already marked free) back to its page,
    /// which belongs to this arena; returns an emptied page to the heap.
    ///
    /// # Safety
    /// The caller holds the lock; `page` is `block`'s page and this arena's.
    pub unsafe fn give_block(&self, page: &mut SmallPage, block: usize) {
        // SAFETY: the caller holds the lock and the block is free.
        unsafe {
            *link(block) = page.free;
            page.free = block;
            page.used -= 1;
            let pages = &mut self.heap().pages[page.class];
            if !page.listed {
                page_link(page, &mut pages.partial);
            }
            if page.used == 0 {
                let addr = page as *mut SmallPage as usize;
                if pages.empty == 0 {
                    pages.empty = addr;
                } else if pages.empty != addr {
                    page_unlink(page);
                    page.magic = 0;
                    self.heap_free(addr - WORD);
                }
            }
        }
    }
}

/// Returns a batch of free blocks to their pages, locking each owning arena
/// once per run of blocks that share it.
///
/// # Safety
/// Every block in the batch is a free small block (header `ALLOC` clear)
/// that nothing else references. No arena lock is held by the caller.
pub unsafe fn give_back(mut batch: Batch, function: &str) {
    let mut locked: Option<&'static Arena> = None;
    // SAFETY: each block is a valid free small block (caller's contract).
    unsafe {
        while batch.head != 0 {
            let block = batch.head;
            batch.head = *link(block);
            let page = page_of(block, *header(block as *mut u8), function);
            let arena = page_arena(page);
            match locked {
                Some(a) if core::ptr::eq(a, arena) => {}
                _ => {
                    if let Some(a) = locked {
                        a.lock.unlock();
                    }
                    arena.lock.lock();
                    locked = Some(arena);
                }
            }
            arena.give_block(page, block);
        }
    }
    if let Some(a) = locked {
        a.lock.unlock();
    }
}

/// Walks the small pages of `arena` and checks their bookkeeping.
///
/// # Safety
/// The caller holds the lock.
pub unsafe fn check_pages(arena: &Arena) -> Result<(), &'static str> {
    for class in 0..NUM_CLASSES {
        // SAFETY: the caller holds the lock.
        let mut addr = unsafe { arena.heap().pages[class].partial };
        while addr != 0 {
            // SAFETY: listed pages are live.
            let page = unsafe { &*(addr as *const SmallPage) };
            if page.magic != PAGE_MAGIC ^ addr || page.class != class || !page.listed {
                return Err("partial list holds a page of another class or a dead page");
            }
            let capacity = (page.bump - (addr + BLOCKS_OFFSET)) / class_chunk(class);
            let mut free = 0;
            let mut b = page.free;
            while b != 0 {
                // SAFETY: b is on the page's free list.
                let h = unsafe { *((b - WORD) as *const usize) };
                if h & ALLOC != 0 || small_class(h) != class || b <= addr || b >= page.bump {
                    return Err("page free list holds a live or foreign block");
                }
                free += 1;
                // SAFETY: as above.
                b = unsafe { *link(b) };
            }
            if free + page.used != capacity {
                return Err("page used count disagrees with its free list");
            }
            addr = page.next;
        }
    }
    Ok(())
}

const _: () = assert!(BLOCKS_OFFSET + SMALL_MAX_CHUNK <= SMALL_PAGE_BYTES - WORD);
const _: () = assert!((BLOCKS_OFFSET + WORD) % ALIGN == 0);
