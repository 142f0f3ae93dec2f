//! Larson-style server simulation (Larson & Krishnan, "Memory allocation for
//! long-running server applications", ISMM 1998; as used by mimalloc-bench):
//! each thread owns an array of live blocks and repeatedly frees a random
//! block and allocates a new one of random size. After each round the
//! arrays move to the next thread, so blocks are freed by threads other
//! than the one that allocated them.
//!
//! There are T arrays; the contents depend only on (array, round, op), so
//! the checksum does not depend on scheduling, but it does depend on --threads.

use crate::common::{key, run_threads, CBuf, Checksum, Params, Report, Rng};
use std::sync::{Barrier, Mutex};

const NAME: &str = "larson";
const SLOTS: usize = 1000;
const ROUNDS: u64 = 40;

type Slots = Vec<(CBuf, u64)>;

pub fn run(p: &Params) -> Report {
    let threads = p.threads.max(1);
    let total = p.scaled(30_000_000, (ROUNDS * threads as u64) * 10);
    let per_round = total / ROUNDS / threads as u64;
    let arrays: Vec<Mutex<Slots>> = (0..threads)
        .map(|a| {
            let mut rng = Rng::new(key(p.seed, &[0x1a, a as u64]));
            Mutex::new(
                (0..SLOTS)
                    .map(|s| {
                        let k = key(p.seed, &[a as u64, u64::MAX, s as u64]);
                        let mut b = CBuf::alloc(rng.range(10, 500) as usize);
                        b.fill(k);
                        (b, k)
                    })
                    .collect(),
            )
        })
        .collect();
    let barrier = Barrier::new(threads);
    let sums = run_threads(threads, |t| {
        let mut sum = 0u64;
        for round in 0..ROUNDS {
            let a = (t + round as usize) % threads;
            let mut slots = arrays[a].lock().unwrap();
            let mut rng = Rng::new(key(p.seed, &[0x1b, a as u64, round]));
            let mut c = Checksum::default();
            for op in 0..per_round {
                let s = rng.below(SLOTS);
                let k = key(p.seed, &[a as u64, round, op]);
                let mut b = CBuf::alloc(rng.range(10, 500) as usize);
                b.fill(k);
                let (old, ok) = std::mem::replace(&mut slots[s], (b, k));
                c.add(old.verify(ok, NAME));
                // `old` is freed here, usually by a thread that did not allocate it.
            }
            sum = sum.wrapping_add(c.0);
            drop(slots);
            barrier.wait();
        }
        sum
    });
    let mut sum = sums.iter().fold(0u64, |a, s| a.wrapping_add(*s));
    for m in arrays {
        for (b, k) in m.into_inner().unwrap() {
            sum = sum.wrapping_add(b.verify(k, NAME));
        }
    }
    let ops = per_round * ROUNDS * threads as u64;
    let mut r = Report::new(threads, true);
    r.op("rounds", ROUNDS)
        .op("mallocs", ops + (SLOTS * threads) as u64)
        .op("frees", ops + (SLOTS * threads) as u64);
    r.checksum = sum;
    r
}
