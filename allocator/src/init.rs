//! One-time set-up, done lazily by the first slow-path call. It allocates
//! nothing (the first call may come from ld.so, dlsym or a signal handler),
//! and every structure it sets up has a valid zero state, so a call that
//! races with it, or re-enters it, just proceeds with the defaults.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering::*};

use crate::arena;
use crate::config::MAX_ARENAS;
use crate::{os, thread};

const UNINIT: u8 = 0;
const BUSY: u8 = 1;
const READY: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static EXIT_KEY: AtomicU32 = AtomicU32::new(0);
static EXIT_KEY_READY: AtomicBool = AtomicBool::new(false);

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
    os::page_size();
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: key is a valid out-pointer; the destructor is extern "C".
    if unsafe { libc::pthread_key_create(&mut key, Some(thread::on_thread_exit)) } == 0 {
        EXIT_KEY.store(key as u32, Relaxed);
        EXIT_KEY_READY.store(true, Release);
    }
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

/// Asks for `thread::on_thread_exit(slot)` when the calling thread exits.
pub fn watch_thread_exit(slot: *mut libc::c_void) {
    if EXIT_KEY_READY.load(Acquire) {
        // SAFETY: the key was created; slot outlives every thread.
        unsafe { libc::pthread_setspecific(EXIT_KEY.load(Relaxed) as libc::pthread_key_t, slot) };
    }
}

extern "C" fn before_fork() {
    arena::lock_all();
}

extern "C" fn after_fork_parent() {
    arena::unlock_all();
}

extern "C" fn after_fork_child() {
    arena::reset_all_locks();
    thread::forget_other_threads();
}
