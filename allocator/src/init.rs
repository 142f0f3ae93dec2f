//! One-time set-up, done lazily by the first slow-path call. It allocates
//! nothing (the first call may come from ld.so, dlsym or a signal handler),
//! and every structure it sets up has a valid zero state, so a call that
//! races with it, or re-enters it, just proceeds with the defaults.

use core::sync::atomic::{AtomicBool, AtomicU8, Ordering::*};

use crate::arena;
use crate::config::MAX_ARENAS;
use crate::{os, segment, shared, thread};

const UNINIT: u8 = 0;
const BUSY: u8 = 1;
const READY: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);

#[inline]
pub fn ensure() {
    if STATE.load(Acquire) != READY {
        init();
    }
}

#[cold]
fn init() {
    if STATE
        .compare_exchange(UNINIT, BUSY, AcqRel, Acquire)
        .is_err()
    {
        return;
    }
    arena::ARENA_COUNT.store(os::cpu_count().min(MAX_ARENAS), Relaxed);
    segment::map_without_huge_pages();
    os::page_size();
    thread::create_exit_key();
    STATE.store(READY, Release);
    // After READY: if registering allocates, that allocation must not wait
    // for us.
    // SAFETY: the handlers are extern "C" functions that live forever.
    unsafe {
        libc::pthread_atfork(
            Some(before_fork),
            Some(after_fork_parent),
            Some(after_fork_child),
        )
    };
}

extern "C" {
    /// glibc's stdio list lock (recursive), which its own fork takes before
    /// the malloc locks; exported since glibc 2.0.
    fn _IO_list_lock();
    fn _IO_list_unlock();
    /// True while the process has never created a thread (glibc 2.32).
    static __libc_single_threaded: libc::c_char;
}

/// Whether `before_fork` took the locks, for the handlers after the fork.
static FORK_LOCKED: AtomicBool = AtomicBool::new(false);

fn single_threaded() -> bool {
    // SAFETY: glibc's flag is a plain byte, written only by the thread
    // that creates the process's first thread.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(__libc_single_threaded)) != 0 }
}

/// Fork, before: hold every arena so the child sees none mid-update.
///
/// Lock order as in glibc's own fork: stdio's list lock first, then the
/// allocator. Otherwise the forking thread, holding the arenas, waits for
/// the list lock held by a thread in `fflush(NULL)`, which waits for a FILE
/// lock held by a thread in `getline`, which waits for an arena.
///
/// A process that never created a thread takes nothing: no other thread
/// can hold an arena, and fork may be called from a signal handler that
/// interrupted this very thread inside malloc (glibc allows that).
extern "C" fn before_fork() {
    if single_threaded() {
        FORK_LOCKED.store(false, Relaxed);
        return;
    }
    // SAFETY: takes glibc's recursive stdio list lock; fork takes it again.
    unsafe { _IO_list_lock() };
    arena::lock_all();
    shared::LOCK.lock();
    segment::LOCK.lock();
    FORK_LOCKED.store(true, Relaxed);
}

extern "C" fn after_fork_parent() {
    if FORK_LOCKED.load(Relaxed) {
        segment::LOCK.unlock();
        shared::LOCK.unlock();
        arena::unlock_all();
        // SAFETY: releases the level taken in before_fork.
        unsafe { _IO_list_unlock() };
    }
}

/// The child's only thread owns everything: forget every holder (glibc has
/// already reset the stdio locks by now).
extern "C" fn after_fork_child() {
    arena::reset_all_locks();
    shared::LOCK.reset();
    segment::reset_lock();
    thread::forget_other_threads();
}
