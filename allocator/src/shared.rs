//! The small heap of threads without a slot of their own (exiting threads,
//! or more threads than slots), behind a lock. Its id is its address,
//! which no thread's TLS word equals, so every free into its pages is a
//! remote one, whoever makes it.

use core::cell::UnsafeCell;

use crate::lock::Mutex;
use crate::small::SmallHeap;

pub static LOCK: Mutex = Mutex::new();

#[repr(C, align(64))]
struct Shared(UnsafeCell<SmallHeap>);

// SAFETY: the heap is reached only under LOCK.
unsafe impl Sync for Shared {}

static HEAP: Shared = Shared(UnsafeCell::new(SmallHeap::new()));

/// A block of small class `class`, or null.
pub fn alloc(class: usize) -> *mut u8 {
    LOCK.lock();
    // SAFETY: we hold the lock; the id is the heap's address (64-aligned,
    // even, and no slot's).
    let p = unsafe {
        let heap = &mut *HEAP.0.get();
        heap.activate();
        heap.take(class, &HEAP as *const Shared as usize)
    };
    LOCK.unlock();
    p
}
