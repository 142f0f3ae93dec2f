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
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::*};

use crate::arena;
use crate::config::*;
use crate::counters::Counters;
use crate::small::SmallHeap;
use crate::tls;

/// TLS word of a thread that has not claimed a slot (yet).
const UNCLAIMED: usize = 0;
/// TLS word of a thread whose exit handler has run: no cache any more.
const EXITED: usize = 1;

/// Slots are aligned to this (a cache line). A thread's TLS word is its
/// slot's address: the id that marks the small pages it owns, and the slot
/// itself, with no arithmetic on the fast paths. A slot is given back only
/// after its thread has handed every page over (abandoned or freed), so no
/// page keeps the id of a slot's former owner; slots of threads lost to
/// fork, whose pages do keep it, are never given back (see
/// `forget_other_threads`).
const SLOT_ALIGN: usize = 64;

/// Whether TLS word `word` names a slot (else UNCLAIMED or EXITED).
#[inline(always)]
pub fn has_slot(word: usize) -> bool {
    word >= SLOT_ALIGN
}

/// The slot named by TLS word `word`.
///
/// # Safety
/// `has_slot(word)`, and `word` is the calling thread's TLS word.
#[inline(always)]
pub unsafe fn slot(word: usize) -> &'static ThreadCache {
    // SAFETY: a TLS word with a slot is the slot's address (see `claim`);
    // the slot is static.
    unsafe { &*(word as *const ThreadCache) }
}

#[repr(C, align(64))]
pub struct ThreadCache {
    /// The thread's small pages; first, so the fast path reaches
    /// `direct` at the slot's address.
    small: UnsafeCell<SmallHeap>,
    /// Set while a live thread owns the slot (its TLS word points here);
    /// only that thread touches the fields below, except `counters`.
    taken: AtomicBool,
    /// Arena this thread refills from and allocates large chunks in.
    arena: UnsafeCell<usize>,
    /// Call and byte counters, written only by the owner, read by anyone.
    pub counters: Counters,
}

// SAFETY: the non-atomic parts are touched only by the owning thread.
unsafe impl Sync for ThreadCache {}

static SLOTS: [ThreadCache; THREAD_SLOTS] = [const {
    ThreadCache {
        small: UnsafeCell::new(SmallHeap::new()),
        taken: AtomicBool::new(false),
        arena: UnsafeCell::new(0),
        counters: Counters::new(),
    }
}; THREAD_SLOTS];

/// Slots not taken: lets a thread that found none skip the search until
/// one is given back.
static FREE_SLOTS: AtomicUsize = AtomicUsize::new(THREAD_SLOTS);

/// One past the highest slot ever claimed (raised right after the claim,
/// see `claim`): slots above it were never touched. Loops over the slots
/// (a fork child's, the counters' sum) stop here: reading all 256 faulted
/// in every page of the table, about 90 page faults in each fork child.
static SLOTS_USED: AtomicUsize = AtomicUsize::new(0);

/// The slots that may have been claimed.
fn used_slots() -> impl Iterator<Item = &'static ThreadCache> {
    SLOTS.iter().take(SLOTS_USED.load(Relaxed))
}

/// The pthread key whose destructor is `on_thread_exit`, once created.
static EXIT_KEY: AtomicU32 = AtomicU32::new(0);
static EXIT_KEY_READY: AtomicBool = AtomicBool::new(false);

/// Creates the key that runs `on_thread_exit` when a thread with a slot
/// exits; called once by set-up. Without it no slot is ever claimed.
pub fn create_exit_key() {
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: key is a valid out-pointer; the destructor is extern "C".
    if unsafe { libc::pthread_key_create(&mut key, Some(on_thread_exit)) } == 0 {
        EXIT_KEY.store(key as u32, Relaxed);
        EXIT_KEY_READY.store(true, Release);
    }
}

/// The calling thread's cache, if it has one (fast path: one TLS load).
#[inline(always)]
pub fn current() -> Option<&'static ThreadCache> {
    let word = tls::get();
    if has_slot(word) {
        // SAFETY: the TLS word names a slot this thread owns (set by
        // `claim`, cleared before the slot is freed).
        Some(unsafe { slot(word) })
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
    // Without the exit handler a slot could never be given back (set-up,
    // init.rs, creates it before any call reaches here, or failed to).
    if !EXIT_KEY_READY.load(Acquire) {
        return None;
    }
    // Set-up may have allocated (pthread_atfork does), and so claimed.
    if let Some(cache) = current() {
        return Some(cache);
    }
    // The lowest free slot: a program whose threads come and go keeps
    // reusing the few slots it has touched (a slot is over 1 KiB), where
    // taking them in turn touched all 256 (140 KiB of mstress's peak RSS).
    let (index, slot) = SLOTS.iter().enumerate().find(|(_, s)| {
        !s.taken.load(Relaxed)
            && s.taken
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
    })?;
    // Before anything is allocated from the slot or counted in it: a fork
    // child or a sum of counters that misses it finds nothing to miss.
    SLOTS_USED.fetch_max(index + 1, Relaxed);
    FREE_SLOTS.fetch_sub(1, Relaxed);
    // SAFETY: the slot is now ours alone; a freed slot's bins are empty.
    unsafe {
        (*slot.small.get()).activate();
        *slot.arena.get() = arena::assign_arena();
    }
    // Even (64-aligned): page.rs keeps a mark in bit 0 of its owner word.
    let id = slot as *const ThreadCache as usize;
    tls::set(id);
    // After the TLS word: pthread_setspecific may allocate (keys past the
    // first 32), and that call must find the slot already ours.
    // SAFETY: the key was created (checked above); the id outlives every
    // thread: it names a static slot.
    unsafe {
        libc::pthread_setspecific(
            EXIT_KEY.load(Relaxed) as libc::pthread_key_t,
            id as *mut libc::c_void,
        )
    };
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
    pub unsafe fn small(&self) -> &mut SmallHeap {
        // SAFETY: owner-only access (caller's contract).
        unsafe { &mut *self.small.get() }
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

    /// Gives every cached block and chunk back to its page or arena.
    ///
    /// # Safety
    /// Only the owning thread may call this.
    pub unsafe fn flush(&self) {
        // SAFETY: owner-only (caller's contract); cached blocks are free.
        unsafe {
            self.small().abandon_all();
        }
    }
}

/// pthread key destructor: the thread is exiting.
pub extern "C" fn on_thread_exit(slot: *mut libc::c_void) {
    let word = tls::get();
    if word != slot as usize || !has_slot(word) {
        return;
    }
    // SAFETY: the TLS word says this thread owns the slot.
    let cache = unsafe { self::slot(word) };
    // SAFETY: we are the owner, and nothing of ours is mid-update.
    unsafe { cache.flush() };
    tls::set(EXITED);
    release(cache);
}

/// In a fork child only the forking thread lives on: the others' slots are
/// retired, never claimed again in this process. Their pages and cached
/// chunks stay unused (a bounded leak) rather than be walked, since those
/// threads may have stopped in mid-update; and a slot claimed again would
/// give its new owner the id those pages still carry.
pub fn forget_other_threads() {
    let mine = tls::get();
    for slot in used_slots() {
        if slot.taken.load(Relaxed) && slot as *const ThreadCache as usize != mine {
            // SAFETY: the owner does not exist in this process; the slot
            // stays taken, so nobody reaches it again.
            unsafe {
                (*slot.small.get()).forget();
            }
            slot.counters.retire();
        }
    }
}

/// Sums the counters of every slot into `total` (freed slots hold zeros).
pub fn sum_counters(total: &mut crate::counters::Totals) {
    for slot in used_slots() {
        slot.counters.add_to(total);
    }
}
