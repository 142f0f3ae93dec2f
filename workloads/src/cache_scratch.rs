//! cache-scratch (Berger et al., Hoard, ASPLOS 2000; as used by
//! mimalloc-bench): passive false sharing. The main thread allocates one
//! small object per thread and hands them out; each thread frees its
//! object, then repeatedly allocates a small object, writes it many times
//! and frees it. An allocator that serves different threads from the same
//! cache line makes the writes bounce that line between cores.
//!
//! Iterations are split round-robin and the values written derive from the
//! iteration number, so the checksum does not depend on --threads.

use crate::common::{run_threads, CBuf, Params, Report};
use std::sync::Mutex;

const NAME: &str = "cache-scratch";
const OBJ: usize = 8;
const WRITES: u64 = 500;

pub fn run(p: &Params) -> Report {
    let threads = p.threads.max(1);
    let iterations = p.scaled(4_000_000, threads as u64 * 4);
    // Allocated together by one thread, so likely adjacent, as in the original.
    let initial: Vec<Mutex<Option<CBuf>>> = (0..threads)
        .map(|_| Mutex::new(Some(CBuf::alloc(OBJ))))
        .collect();
    let base = crate::common::mix64(p.seed); // the seed changes every value written
    let sums = run_threads(threads, |t| {
        drop(initial[t].lock().unwrap().take()); // a remote free of the handed-out object
        let mut sum = 0u64;
        let mut i = t as u64;
        while i < iterations {
            let mut b = CBuf::alloc(OBJ);
            let ptr = b.as_mut_slice().as_mut_ptr() as *mut u64;
            // SAFETY: ptr points to OBJ = 8 bytes this thread owns, and
            // malloc's result is aligned for u64. Volatile so that every
            // store really reaches the (possibly shared) cache line.
            unsafe {
                std::ptr::write_volatile(ptr, i ^ base);
                for w in 0..WRITES {
                    std::ptr::write_volatile(
                        ptr,
                        std::ptr::read_volatile(ptr)
                            .wrapping_mul(31)
                            .wrapping_add(w),
                    );
                }
            }
            let expect = (0..WRITES).fold(i ^ base, |v, w| v.wrapping_mul(31).wrapping_add(w));
            // SAFETY: as above.
            let got = unsafe { std::ptr::read_volatile(ptr) };
            if got != expect {
                crate::common::verification_failed(NAME, &format!("object of iteration {i}"));
            }
            sum = sum.wrapping_add(got);
            i += threads as u64;
        }
        sum
    });
    let mut r = Report::new(threads, false);
    r.op("iterations", iterations)
        .op("writes", iterations * WRITES);
    r.checksum = sums.iter().fold(0u64, |a, s| a.wrapping_add(*s));
    r
}
