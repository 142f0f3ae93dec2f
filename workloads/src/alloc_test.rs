//! alloc-test style Pareto sizes (node-dot-cpp alloc-test, as used by
//! mimalloc-bench): each thread keeps a large table of slots and replaces
//! random slots with blocks whose sizes follow a Pareto (power-law)
//! distribution: most are tiny, a heavy tail reaches tens of KiB.
//!
//! Thread t's work is keyed by t, so the checksum depends on --threads.

use crate::common::{key, run_threads, CBuf, Params, Report, Rng};

const NAME: &str = "alloc-test";
const SLOTS: usize = 1 << 14;

/// Pareto with x_min = 8 bytes and shape 1.1, cut at 64 KiB.
fn pareto_size(rng: &mut Rng) -> usize {
    let u = 1.0 - rng.unit(); // (0, 1]
    let x = 8.0 / u.powf(1.0 / 1.1);
    (x as usize).clamp(8, 64 * 1024)
}

pub fn run(p: &Params) -> Report {
    let threads = p.threads.max(1);
    let per_thread = p.scaled(24_000_000, threads as u64 * 100) / threads as u64;
    let results = run_threads(threads, |t| {
        let mut rng = Rng::new(key(p.seed, &[0xa7, t as u64]));
        let mut table: Vec<Option<(CBuf, u64)>> = (0..SLOTS).map(|_| None).collect();
        let (mut sum, mut bytes) = (0u64, 0u64);
        for op in 0..per_thread {
            let s = rng.below(SLOTS);
            if let Some((b, k)) = table[s].take() {
                sum = sum.wrapping_add(b.verify_pages(k, NAME));
            }
            let len = pareto_size(&mut rng);
            let k = key(p.seed, &[t as u64, op]);
            let mut b = CBuf::alloc(len);
            b.touch_pages(k);
            bytes += len as u64;
            table[s] = Some((b, k));
        }
        for (b, k) in table.into_iter().flatten() {
            sum = sum.wrapping_add(b.verify_pages(k, NAME));
        }
        (sum, bytes)
    });
    let mut r = Report::new(threads, true);
    r.op("mallocs", per_thread * threads as u64)
        .op("bytes_allocated", results.iter().map(|x| x.1).sum());
    r.checksum = results.iter().fold(0u64, |a, x| a.wrapping_add(x.0));
    r
}
