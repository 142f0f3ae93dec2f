//! A three-state futex mutex (Drepper, "Futexes are tricky"): one atomic
//! instruction to take and one to drop when uncontended, and waiters sleep
//! in the kernel instead of spinning, which matters on single-core boards
//! where a spinning waiter only delays the holder.

use core::sync::atomic::{AtomicU32, Ordering::*};

use crate::os::{futex_wait, futex_wake};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

pub struct Mutex {
    /// UNLOCKED, LOCKED (no waiter), or CONTENDED (maybe waiters asleep).
    state: AtomicU32,
}

impl Mutex {
    pub const fn new() -> Self {
        Mutex {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    #[inline]
    pub fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_ok()
    }

    #[inline]
    pub fn lock(&self) {
        if !self.try_lock() {
            self.lock_contended();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        for _ in 0..64 {
            core::hint::spin_loop();
            if self.state.load(Relaxed) == UNLOCKED && self.try_lock() {
                return;
            }
        }
        while self.state.swap(CONTENDED, Acquire) != UNLOCKED {
            futex_wait(&self.state, CONTENDED);
        }
    }

    #[inline]
    pub fn unlock(&self) {
        if self.state.swap(UNLOCKED, Release) == CONTENDED {
            futex_wake(&self.state);
        }
    }

    /// After fork the child's only thread owns nothing: forget the holder.
    /// A free lock is only read: a write would copy its page in every fork
    /// child, and on emulated boards each such fault costs as much as the
    /// rest of a short-lived child's work.
    pub fn reset(&self) {
        if self.state.load(Relaxed) != UNLOCKED {
            self.state.store(UNLOCKED, Relaxed);
        }
    }
}
