//! `LwMalloc`, the Rust global allocator over the same heap.

use core::alloc::{GlobalAlloc, Layout};

use crate::api;
use crate::config::ALIGN;

/// Use with `#[global_allocator] static A: lwmalloc::LwMalloc = lwmalloc::LwMalloc;`
pub struct LwMalloc;

// SAFETY: every method forwards to the C-semantics functions, which return
// blocks of at least the requested size and alignment, or null.
unsafe impl GlobalAlloc for LwMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= ALIGN {
            // SAFETY: no preconditions.
            unsafe { api::malloc(layout.size()) }
        } else {
            // SAFETY: no preconditions.
            unsafe { api::memalign(layout.align(), layout.size()) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: ptr came from this allocator (GlobalAlloc contract).
        unsafe { api::free(ptr) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= ALIGN {
            // SAFETY: no preconditions.
            unsafe { api::calloc(1, layout.size()) }
        } else {
            // SAFETY: no preconditions; p holds layout.size() bytes.
            unsafe {
                let p = api::memalign(layout.align(), layout.size());
                if !p.is_null() {
                    core::ptr::write_bytes(p, 0, layout.size());
                }
                p
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= ALIGN {
            // SAFETY: ptr is live (GlobalAlloc contract); new_size > 0.
            return unsafe { api::realloc(ptr, new_size) };
        }
        // SAFETY: as above; the new block is distinct and large enough.
        unsafe {
            let q = api::memalign(layout.align(), new_size);
            if !q.is_null() {
                core::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size));
                api::free(ptr);
            }
            q
        }
    }
}
