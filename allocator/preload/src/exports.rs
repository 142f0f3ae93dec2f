//! The exported C symbols, with glibc's names and semantics.

use core::ffi::c_void;

use lwmalloc_core as core_api;

/// # Safety
/// C contract of malloc.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    // SAFETY: no preconditions.
    unsafe { core_api::malloc(size) as *mut c_void }
}

/// # Safety
/// `ptr` is null or a live block from this allocator.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { core_api::free(ptr as *mut u8) }
}

/// # Safety
/// C contract of calloc.
#[no_mangle]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    // SAFETY: no preconditions.
    unsafe { core_api::calloc(count, size) as *mut c_void }
}

/// # Safety
/// `ptr` is null or a live block from this allocator.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe { core_api::realloc(ptr as *mut u8, size) as *mut c_void }
}

/// # Safety
/// `ptr` is null or a live block from this allocator.
#[no_mangle]
pub unsafe extern "C" fn reallocarray(ptr: *mut c_void, count: usize, size: usize) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe { core_api::reallocarray(ptr as *mut u8, count, size) as *mut c_void }
}

/// # Safety
/// C contract of memalign.
#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    // SAFETY: no preconditions.
    unsafe { core_api::memalign(align, size) as *mut c_void }
}

/// # Safety
/// C contract of aligned_alloc (glibc 2.36 treats it as memalign).
#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    // SAFETY: no preconditions.
    unsafe { core_api::memalign(align, size) as *mut c_void }
}

/// # Safety
/// `out` is valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { core_api::posix_memalign(out as *mut *mut u8, align, size) }
}

/// # Safety
/// C contract of valloc.
#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    // SAFETY: no preconditions.
    unsafe { core_api::valloc(size) as *mut c_void }
}

/// # Safety
/// C contract of pvalloc.
#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    // SAFETY: no preconditions.
    unsafe { core_api::pvalloc(size) as *mut c_void }
}

/// # Safety
/// `ptr` is null or a live block from this allocator.
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(ptr: *mut c_void) -> usize {
    // SAFETY: forwarded contract.
    unsafe { core_api::usable_size(ptr as *mut u8) }
}

/// `struct lwm_stats` of include/lwmalloc.h.
#[repr(C)]
pub struct LwmStats {
    version: u64,
    malloc_calls: u64,
    free_calls: u64,
    realloc_calls: u64,
    calloc_calls: u64,
    aligned_calls: u64,
    live_bytes: u64,
    mapped_bytes: u64,
    peak_mapped_bytes: u64,
    returned_bytes: u64,
    heap_bytes: u64,
    free_heap_bytes: u64,
}

/// Fills at most `size` bytes of `*out` with the counters; -1 if `out` is null.
///
/// # Safety
/// `out` is null or valid for writing `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn lwm_get_stats(out: *mut LwmStats, size: usize) -> i32 {
    if out.is_null() {
        return -1;
    }
    use lwmalloc_core::stats::Call;
    let t = lwmalloc_core::snapshot();
    let stats = LwmStats {
        version: 1,
        malloc_calls: t.calls(Call::Malloc),
        free_calls: t.calls(Call::Free),
        realloc_calls: t.calls(Call::Realloc),
        calloc_calls: t.calls(Call::Calloc),
        aligned_calls: t.calls(Call::Aligned),
        live_bytes: t.live(),
        mapped_bytes: t.mapped,
        peak_mapped_bytes: t.peak_mapped,
        returned_bytes: t.returned,
        heap_bytes: t.heap,
        free_heap_bytes: t.free_heap,
    };
    let n = size.min(core::mem::size_of::<LwmStats>());
    // SAFETY: out is valid for `size` bytes (caller) and stats for n bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(&stats as *const LwmStats as *const u8, out as *mut u8, n)
    };
    0
}
