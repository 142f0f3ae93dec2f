//! Thread identity and per-thread caches, without `#[thread_local]` (not
//! on stable in no_std) and without `__tls_get_addr`: the thread pointer
//! register names the thread, and hashes it into a fixed table of cache
//! slots. A slot belongs to whichever live thread has that thread pointer;
//! live threads have distinct ones, so a slot is never shared.
//!
//! Threads register a pthread key destructor that gives their cached blocks
//! back when they exit; a thread that finds no free slot (more than
//! `THREAD_SLOTS` threads) works on the arenas directly.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering::*};

use crate::arena::{self, ARENAS};
use crate::config::*;
use crate::header::{heap_arena, ALLOC, CACHED};
use crate::heap::{hdr, hdr_update};
use crate::small::{give_back, Batch};
use crate::stats::Counters;

/// `owner` of a slot no thread has used yet; probing stops here.
const NEVER_USED: usize = 0;
/// `owner` of a slot given up by an exited thread; probing goes on.
const RELEASED: usize = 1;
/// How far from its home slot a thread looks.
const PROBES: usize = 16;

#[repr(C, align(64))]
pub struct ThreadCache {
    /// Thread pointer of the owning thread, or NEVER_USED / RELEASED.
    /// Only the owner touches `bins` and `arena`.
    pub owner: AtomicUsize,
    /// Arena this thread refills from and allocates large chunks in.
    pub arena: UnsafeCell<usize>,
    /// Free small blocks per class; counts are exact, lists end with 0.
    pub bins: UnsafeCell<[Batch; NUM_CLASSES]>,
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
        owner: AtomicUsize::new(NEVER_USED),
        arena: UnsafeCell::new(0),
        bins: UnsafeCell::new([const { Batch { head: 0, count: 0 } }; NUM_CLASSES]),
        medium: UnsafeCell::new([const { Batch { head: 0, count: 0 } }; MEDIUM_BUCKETS]),
        medium_bytes: UnsafeCell::new(0),
        counters: Counters::new(),
    }
}; THREAD_SLOTS];

/// The calling thread's thread pointer: unique among live threads.
#[inline(always)]
pub fn thread_pointer() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let tp: usize;
        // SAFETY: fs:0 holds the thread control block's self pointer on
        // x86_64 Linux (glibc and musl); reading it has no side effect.
        unsafe {
            core::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp,
                options(nostack, readonly, preserves_flags, pure))
        };
        tp
    }
    #[cfg(target_arch = "aarch64")]
    {
        let tp: usize;
        // SAFETY: tpidr_el0 is the user-readable thread pointer register.
        unsafe {
            core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp,
                options(nostack, nomem, preserves_flags, pure))
        };
        tp
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        // ARMv6 has no thread register in every configuration (only v6K);
        // glibc's pthread_self finds it the right way for the running CPU.
        // SAFETY: pthread_self has no preconditions and does not allocate.
        unsafe { libc::pthread_self() as usize }
    }
}

#[inline(always)]
fn home_slot(tp: usize) -> usize {
    const GOLDEN: usize = if usize::BITS == 64 {
        0x9E37_79B9_7F4A_7C15u64 as usize
    } else {
        0x9E37_79B9
    };
    ((tp >> 6).wrapping_mul(GOLDEN) >> (usize::BITS - THREAD_SLOTS.trailing_zeros())) as usize
}

/// The calling thread's cache when it sits in its home slot (fast path).
#[inline(always)]
pub fn current() -> Option<&'static ThreadCache> {
    let tp = thread_pointer();
    let slot = &SLOTS[home_slot(tp)];
    if slot.owner.load(Relaxed) == tp {
        Some(slot)
    } else {
        None
    }
}

/// The calling thread's cache, claiming a slot on first use; None when all
/// nearby slots are taken.
#[inline]
pub fn cache() -> Option<&'static ThreadCache> {
    current().or_else(current_or_claim)
}

#[cold]
fn current_or_claim() -> Option<&'static ThreadCache> {
    crate::init::ensure();
    let tp = thread_pointer();
    let home = home_slot(tp);
    let mut vacant = None;
    for i in 0..PROBES {
        let slot = &SLOTS[(home + i) % THREAD_SLOTS];
        match slot.owner.load(Acquire) {
            owner if owner == tp => return Some(slot),
            NEVER_USED => {
                vacant.get_or_insert(slot);
                break;
            }
            RELEASED => {
                vacant.get_or_insert(slot);
            }
            _ => {}
        }
    }
    let slot = vacant?;
    let old = slot.owner.load(Relaxed);
    if old > RELEASED
        || slot
            .owner
            .compare_exchange(old, tp, Acquire, Relaxed)
            .is_err()
    {
        return None;
    }
    // SAFETY: the slot is now ours alone.
    unsafe {
        *slot.arena.get() = arena::assign_arena();
        for bin in (*slot.bins.get())
            .iter_mut()
            .chain((*slot.medium.get()).iter_mut())
        {
            *bin = Batch { head: 0, count: 0 };
        }
        *slot.medium_bytes.get() = 0;
    }
    // Registered after the claim: pthread_setspecific may itself allocate,
    // and that call must find the slot already ours.
    crate::init::watch_thread_exit(slot as *const ThreadCache as *mut libc::c_void);
    Some(slot)
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

/// pthread key destructor: a thread is exiting.
pub extern "C" fn on_thread_exit(slot: *mut libc::c_void) {
    // SAFETY: the key only ever holds pointers into SLOTS.
    let cache = unsafe { &*(slot as *const ThreadCache) };
    if cache.owner.load(Relaxed) != thread_pointer() {
        return;
    }
    // SAFETY: we are the owner.
    unsafe { cache.flush() };
    cache.counters.retire();
    cache.owner.store(RELEASED, Release);
}

/// In a fork child only the forking thread lives on: free the others'
/// slots. Their cached blocks stay unused (a bounded leak) rather than be
/// walked, since those threads may have stopped in mid-update.
pub fn forget_other_threads() {
    let me = thread_pointer();
    for slot in &SLOTS {
        let owner = slot.owner.load(Relaxed);
        if owner > RELEASED && owner != me {
            slot.counters.retire();
            slot.owner.store(RELEASED, Relaxed);
        }
    }
}

/// Sums the counters of every slot into `total`.
pub fn sum_counters(total: &mut crate::stats::Totals) {
    for slot in &SLOTS {
        if slot.owner.load(Relaxed) != NEVER_USED {
            slot.counters.add_to(total);
        }
    }
}
