//! Per-thread caches. Each thread that allocates claims one slot of a
//! fixed table and finds it again through its own TLS word (`tls`), so a
//! slot has exactly one owner for the owner's whole life.
//!
//! A thread's TLS word goes through three states: `UNCLAIMED` (a new
//! thread, born zero), a slot's address, then `EXITED` once its exit
//! handler (a pthread key destructor) has given the cached blocks back and
//! freed the slot. Calls made after that, by later destructors and by
//! glibc's own thread teardown, work on the arenas directly: an exiting
//! thread never claims a slot it could not give back. A thread that finds
//! every slot taken also works without a cache, and tries again later.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};

use crate::arena::{self, ARENAS};
use crate::config::*;
use crate::header::{heap_arena, ALLOC, CACHED};
use crate::heap::{hdr, hdr_update};
use crate::small::{give_back, Batch};
use crate::stats::Counters;
use crate::tls;

/// TLS word of a thread that has not claimed a slot (yet).
const UNCLAIMED: usize = 0;
/// TLS word of a thread whose exit handler has run: no cache any more.
const EXITED: usize = 1;

#[repr(C, align(64))]
pub struct ThreadCache {
    /// Set while a live thread owns the slot (its TLS word points here);
    /// only that thread touches the fields below, except `counters`.
    taken: AtomicBool,
    /// Arena this thread refills from and allocates large chunks in.
    arena: UnsafeCell<usize>,
    /// Free small blocks per class; counts are exact, lists end with 0.
    bins: UnsafeCell<[Batch; NUM_CLASSES]>,
    /// Freed heap chunks per exact size (chunk addresses, linked through
    /// their first user word), in the `CACHED` state; and their total bytes.
    medium: UnsafeCell<[Batch; MEDIUM_BUCKETS]>,
    medium_bytes: UnsafeCell<usize>,
    /// Call and byte counters, written only by the owner, read by anyone.
    pub counters: Counters,
}

// SAFETY: the non-atomic parts are touched only by the owning thread.
unsafe impl Sync for ThreadCache {}

static SLOTS: [ThreadCache; THREAD_SLOTS] = [const {
    ThreadCache {
        taken: AtomicBool::new(false),
        arena: UnsafeCell::new(0),
        bins: UnsafeCell::new([const { Batch { head: 0, count: 0 } }; NUM_CLASSES]),
        medium: UnsafeCell::new([const { Batch { head: 0, count: 0 } }; MEDIUM_BUCKETS]),
        medium_bytes: UnsafeCell::new(0),
        counters: Counters::new(),
    }
}; THREAD_SLOTS];

/// Slots not taken: lets a thread that found none skip the search until
/// one is given back.
static FREE_SLOTS: AtomicUsize = AtomicUsize::new(THREAD_SLOTS);
/// Where the next search for a free slot starts.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// The calling thread's cache, if it has one (fast path: one TLS load).
#[inline(always)]
pub fn current() -> Option<&'static ThreadCache> {
    let word = tls::get();
    if word > EXITED {
        // SAFETY: a TLS word above EXITED is the address of a slot this
        // thread owns (set by `claim`, cleared before the slot is freed).
        Some(unsafe { &*(word as *const ThreadCache) })
    } else {
        None
    }
}

/// The calling thread's cache, claiming a slot on first use; None for an
/// exiting thread or when every slot is taken.
#[inline]
pub fn cache() -> Option<&'static ThreadCache> {
    current().or_else(claim)
}

#[cold]
fn claim() -> Option<&'static ThreadCache> {
    if tls::get() != UNCLAIMED || FREE_SLOTS.load(Relaxed) == 0 {
        return None;
    }
    // Without the exit handler a slot could never be given back.
    if !crate::init::ready() {
        return None;
    }
    // Set-up may have allocated (pthread_atfork does), and so claimed.
    if let Some(cache) = current() {
        return Some(cache);
    }
    let start = NEXT_SLOT.fetch_add(1, Relaxed);
    let slot = (0..THREAD_SLOTS)
        .map(|i| &SLOTS[(start + i) % THREAD_SLOTS])
        .find(|s| {
            !s.taken.load(Relaxed)
                && s.taken
                    .compare_exchange(false, true, Acquire, Relaxed)
                    .is_ok()
        })?;
    FREE_SLOTS.fetch_sub(1, Relaxed);
    // SAFETY: the slot is now ours alone; a freed slot's bins are empty.
    unsafe {
        *slot.arena.get() = arena::assign_arena();
        *slot.medium_bytes.get() = 0;
    }
    tls::set(slot as *const ThreadCache as usize);
    // After the TLS word: pthread_setspecific may allocate (keys past the
    // first 32), and that call must find the slot already ours.
    crate::init::watch_thread_exit(slot as *const ThreadCache as *mut libc::c_void);
    Some(slot)
}

/// Frees a slot whose owner is gone or done with it.
fn release(slot: &ThreadCache) {
    slot.counters.retire();
    slot.taken.store(false, Release);
    FREE_SLOTS.fetch_add(1, Relaxed);
}

impl ThreadCache {
    /// # Safety
    /// Only the owning thread may call this, and not re-entrantly.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub unsafe fn bins(&self) -> &mut [Batch; NUM_CLASSES] {
        // SAFETY: owner-only access (caller's contract).
        unsafe { &mut *self.bins.get() }
    }

    #[inline(always)]
    pub fn arena_index(&self) -> usize {
        // SAFETY: written only by the owning thread, which is the caller.
        unsafe { *self.arena.get() }
    }

    pub fn set_arena(&self, index: usize) {
        // SAFETY: as above.
        unsafe { *self.arena.get() = index }
    }

    /// Takes a cached heap chunk of exactly `size` bytes, now allocated; 0
    /// if none. `size` is a medium chunk size.
    ///
    /// # Safety
    /// Only the owning thread may call this.
    #[inline]
    pub unsafe fn take_medium(&self, size: usize) -> usize {
        // SAFETY: owner-only (caller's contract).
        unsafe {
            let bucket = &mut (*self.medium.get())[medium_bucket(size)];
            let chunk = bucket.head;
            if chunk != 0 {
                bucket.head = *((chunk + WORD) as *const usize);
                bucket.count -= 1;
                *self.medium_bytes.get() -= size;
                hdr_update(chunk, !0, ALLOC | CACHED);
            }
            chunk
        }
    }

    /// Keeps the allocated heap chunk `chunk` of `size` bytes as freed, if
    /// its bucket and the byte budget have room.
    ///
    /// # Safety
    /// Only the owning thread may call this; the chunk is live and ours.
    #[inline]
    pub unsafe fn keep_medium(&self, chunk: usize, size: usize) -> bool {
        // Smaller heap chunks exist too (memalign, realloc in place).
        if size <= SMALL_MAX_CHUNK || size > MEDIUM_MAX_CHUNK {
            return false;
        }
        // SAFETY: owner-only (caller's contract).
        unsafe {
            let bytes = &mut *self.medium_bytes.get();
            let bucket = &mut (*self.medium.get())[medium_bucket(size)];
            if bucket.count >= MEDIUM_PER_BUCKET || *bytes + size > MEDIUM_CACHE_BYTES {
                return false;
            }
            hdr_update(chunk, !0, ALLOC | CACHED);
            *((chunk + WORD) as *mut usize) = bucket.head;
            bucket.head = chunk;
            bucket.count += 1;
            *bytes += size;
        }
        true
    }

    /// Gives every cached block and chunk back to its page or arena.
    ///
    /// # Safety
    /// Only the owning thread may call this.
    pub unsafe fn flush(&self) {
        // SAFETY: owner-only (caller's contract); cached blocks are free.
        unsafe {
            for bin in self.bins().iter_mut() {
                let batch = core::mem::replace(bin, Batch { head: 0, count: 0 });
                give_back(batch, "free");
            }
            for bucket in (*self.medium.get()).iter() {
                let mut chunk = bucket.head;
                while chunk != 0 {
                    let next = *((chunk + WORD) as *const usize);
                    let arena = &ARENAS[heap_arena(hdr(chunk))];
                    arena.lock.lock();
                    hdr_update(chunk, !0, ALLOC | CACHED);
                    arena.heap_free(chunk);
                    arena.lock.unlock();
                    chunk = next;
                }
            }
            *self.medium.get() = [const { Batch { head: 0, count: 0 } }; MEDIUM_BUCKETS];
            *self.medium_bytes.get() = 0;
        }
    }
}

/// pthread key destructor: the thread is exiting.
pub extern "C" fn on_thread_exit(slot: *mut libc::c_void) {
    if tls::get() != slot as usize {
        return;
    }
    // SAFETY: the TLS word says this thread owns the slot.
    let cache = unsafe { &*(slot as *const ThreadCache) };
    // SAFETY: we are the owner, and nothing of ours is mid-update.
    unsafe { cache.flush() };
    tls::set(EXITED);
    release(cache);
}

/// In a fork child only the forking thread lives on: free the others'
/// slots. Their cached blocks stay unused (a bounded leak) rather than be
/// walked, since those threads may have stopped in mid-update.
pub fn forget_other_threads() {
    let mine = tls::get();
    for slot in &SLOTS {
        if slot.taken.load(Relaxed) && slot as *const ThreadCache as usize != mine {
            // SAFETY: the owner does not exist in this process; nobody
            // else can reach the slot until it is claimed again.
            unsafe {
                *slot.bins.get() = [const { Batch { head: 0, count: 0 } }; NUM_CLASSES];
                *slot.medium.get() = [const { Batch { head: 0, count: 0 } }; MEDIUM_BUCKETS];
            }
            release(slot);
        }
    }
}

/// Sums the counters of every slot into `total` (freed slots hold zeros).
pub fn sum_counters(total: &mut crate::stats::Totals) {
    for slot in &SLOTS {
        slot.counters.add_to(total);
    }
}
