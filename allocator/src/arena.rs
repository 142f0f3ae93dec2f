//! Arenas: independent heaps, each behind its own lock. Threads spread over
//! them (round robin, moving on when their arena is busy), so no lock is
//! shared by every thread. Small blocks reach an arena only in batches,
//! through the thread caches.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::config::{BIN_MAP_WORDS, MAX_ARENAS, NUM_BINS};
use crate::lock::Mutex;

/// Aligned to a power of two at least its size, so `index()` is a shift
/// (a division by 448 is a call to a 440-byte helper on ARMv6).
#[cfg_attr(target_pointer_width = "64", repr(C, align(1024)))]
#[cfg_attr(not(target_pointer_width = "64"), repr(C, align(512)))]
pub struct Arena {
    pub lock: Mutex,
    /// Bytes of heap regions this arena holds (statistics, read racily).
    pub heap_bytes: AtomicUsize,
    /// Bytes of those regions in free chunks (statistics, read racily).
    pub free_bytes: AtomicUsize,
    inner: UnsafeCell<Heap>,
}

/// The state behind an arena's lock.
pub struct Heap {
    /// Free chunks by size class (`bins::index`), as intrusive doubly-linked
    /// lists of chunk addresses; 0 ends a list.
    pub bins: [usize; NUM_BINS],
    /// Bit i set exactly when `bins[i]` is non-empty.
    pub bin_map: [u32; BIN_MAP_WORDS],
    /// Free chunks not merged yet (deferred coalescing); never in a bin.
    pub deferred: usize,
    /// Bytes on `deferred`; a bound on how much merging is pending.
    pub deferred_bytes: usize,
    /// Heap regions, newest first.
    pub regions: usize,
    pub region_count: usize,
    /// The most this heap has held, committed, plus the request that took
    /// it there: growing past it is when free chunks are purged
    /// (`purge_bins`), since only then could they raise the peak RSS.
    pub peak_bytes: usize,
}

// SAFETY: `inner` is only reached through `heap()`, whose contract requires
// the arena lock; everything else is atomic.
unsafe impl Sync for Arena {}

impl Arena {
    const fn new() -> Self {
        Arena {
            lock: Mutex::new(),
            heap_bytes: AtomicUsize::new(0),
            free_bytes: AtomicUsize::new(0),
            inner: UnsafeCell::new(Heap {
                bins: [0; NUM_BINS],
                bin_map: [0; BIN_MAP_WORDS],
                deferred: 0,
                deferred_bytes: 0,
                regions: 0,
                region_count: 0,
                peak_bytes: 0,
            }),
        }
    }

    /// Position in `ARENAS`; stored in every heap chunk header it owns.
    /// Derived from the address so that `ARENAS` is all zeros (.bss).
    #[inline(always)]
    pub fn index(&self) -> usize {
        (self as *const Arena as usize - ARENAS.as_ptr() as usize) / core::mem::size_of::<Arena>()
    }

    /// # Safety
    /// The caller holds `self.lock` for as long as it uses the result, and
    /// holds no other reference obtained from `heap()`.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub unsafe fn heap(&self) -> &mut Heap {
        // SAFETY: the lock gives exclusive access (caller's contract).
        unsafe { &mut *self.inner.get() }
    }

    /// Adds to the free-chunk statistic (negative via wrapping).
    #[inline(always)]
    pub fn count_free(&self, delta: usize) {
        self.free_bytes
            .store(self.free_bytes.load(Relaxed).wrapping_add(delta), Relaxed);
    }
}

const _: () = assert!(core::mem::size_of::<Arena>().is_power_of_two());

pub static ARENAS: [Arena; MAX_ARENAS] = [const { Arena::new() }; MAX_ARENAS];

/// How many arenas are in use: one per CPU, up to `MAX_ARENAS`; set once at
/// initialisation (1 before that, which is always valid).
pub static ARENA_COUNT: AtomicUsize = AtomicUsize::new(1);

/// Next arena handed to a new thread.
static NEXT_ARENA: AtomicUsize = AtomicUsize::new(0);

pub fn assign_arena() -> usize {
    let count = ARENA_COUNT.load(Relaxed).max(1);
    let mut next = NEXT_ARENA.fetch_add(1, Relaxed) & (MAX_ARENAS - 1);
    // A remainder without a division (count <= MAX_ARENAS).
    while next >= count {
        next -= count;
    }
    next
}

/// Locks the preferred arena, or any idle one if it is busy; returns it.
pub fn lock_any(preferred: usize) -> &'static Arena {
    // Indices masked to the table (a power of two), which they never
    // exceed: no bounds check, no panic path.
    let count = ARENA_COUNT.load(Relaxed).max(1);
    let preferred = if preferred < count { preferred } else { 0 };
    let mut i = preferred;
    for _ in 0..count {
        let arena = &ARENAS[i & (MAX_ARENAS - 1)];
        if arena.lock.try_lock() {
            return arena;
        }
        i = if i + 1 == count { 0 } else { i + 1 };
    }
    let arena = &ARENAS[preferred & (MAX_ARENAS - 1)];
    arena.lock.lock();
    arena
}

/// Fork: hold every arena so the child sees none mid-update.
/// The arenas a program can use: set once at start-up (by the CPU count),
/// never changed, so the fork handlers lock, unlock and reset the same
/// ones. (Locking all 32 while resetting only these left the rest locked in
/// a fork child, and the child's own next fork waited on them for ever.)
fn arenas_in_use() -> impl Iterator<Item = &'static Arena> {
    ARENAS.iter().take(ARENA_COUNT.load(Relaxed).max(1))
}

pub fn lock_all() {
    for arena in arenas_in_use() {
        arena.lock.lock();
    }
}

pub fn unlock_all() {
    for arena in arenas_in_use() {
        arena.lock.unlock();
    }
}

/// Only the arenas in use: writing every lock of the table would fault in
/// its pages in each fork child.
pub fn reset_all_locks() {
    for arena in arenas_in_use() {
        arena.lock.reset();
    }
}
