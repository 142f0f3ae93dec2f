//! malloc-large (mimalloc-bench): large blocks, 256 KiB to 16 MiB, a few
//! live at a time, every page touched. This is where an allocator's mmap
//! threshold, its caching of freed large blocks, and its returning of
//! memory to the OS decide both time (page faults) and peak RSS.

use crate::common::{key, CBuf, Params, Report, Rng};

const NAME: &str = "malloc-large";
const LIVE: usize = 6;

pub fn run(p: &Params) -> Report {
    let iterations = p.scaled(2_500, 4);
    let mut rng = Rng::new(key(p.seed, &[0x1e]));
    let mut live: Vec<Option<(CBuf, u64)>> = (0..LIVE).map(|_| None).collect();
    let (mut sum, mut bytes, mut callocs) = (0u64, 0u64, 0u64);
    for i in 0..iterations {
        let s = rng.below(LIVE);
        if let Some((b, k)) = live[s].take() {
            sum = sum.wrapping_add(b.verify_pages(k, NAME));
        }
        let len = rng.range(256 * 1024, 16 * 1024 * 1024) as usize;
        let k = key(p.seed, &[i]);
        let mut b = if rng.chance(4) {
            // calloc: the memory must read as zero (a recycled block must be cleared).
            callocs += 1;
            let z = CBuf::zeroed(len);
            let sl = z.as_slice();
            let mut j = 0;
            while j < len {
                if sl[j] != 0 {
                    crate::common::verification_failed(
                        NAME,
                        &format!("calloc'd block not zero at {j}"),
                    );
                }
                j += 4093;
            }
            z
        } else {
            CBuf::alloc(len)
        };
        b.touch_pages(k);
        bytes += len as u64;
        live[s] = Some((b, k));
    }
    for (b, k) in live.into_iter().flatten() {
        sum = sum.wrapping_add(b.verify_pages(k, NAME));
    }
    let mut r = Report::new(1, false);
    r.op("mallocs", iterations)
        .op("callocs", callocs)
        .op("bytes_allocated", bytes);
    r.checksum = sum;
    r
}
