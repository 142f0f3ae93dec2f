//! mstress-style churn (mimalloc-bench's mstress, after Leijen et al.):
//! rounds of short-lived threads that allocate power-of-two sized blocks
//! (mostly small, sometimes up to 1 MiB), free most of them at random, and
//! pass some survivors to the next round's threads, which free them. Thread
//! creation and destruction every round exercises per-thread caches
//! being set up, abandoned and reclaimed.
//!
//! Work is keyed by (round, thread), so the checksum depends on --threads.

use crate::common::{key, run_threads, Block, CBuf, Params, Report, Rng};
use std::sync::Mutex;

const NAME: &str = "mstress";
const ROUNDS: u64 = 50;
const TABLE: usize = 512;

fn pow2_size(rng: &mut Rng) -> usize {
    // 8 B .. 1 MiB, exponentially fewer large ones.
    let mut shift = 3;
    while shift < 20 && rng.chance(2) {
        shift += 1;
    }
    if shift > 12 && !rng.chance(4) {
        shift = 12;
    }
    1 << shift
}

pub fn run(p: &Params) -> Report {
    let threads = p.threads.max(1);
    let per_thread = p.scaled(48_000_000, ROUNDS * threads as u64 * 20) / ROUNDS / threads as u64;
    // Survivors handed from round r to round r+1, one list per thread,
    // double-buffered by round parity so that a fast thread of round r
    // never overwrites what a slow one has not yet inherited from r-1.
    let handoff: [Vec<Mutex<Vec<Block>>>; 2] =
        [0, 1].map(|_| (0..threads).map(|_| Mutex::new(Vec::new())).collect());
    let mut sum = 0u64;
    let (mut mallocs, mut spawned) = (0u64, 0u64);
    for round in 0..ROUNDS {
        let results = run_threads(threads, |t| {
            let mut rng = Rng::new(key(p.seed, &[0x35, round, t as u64]));
            let mut local = 0u64;
            // Free what the previous round's thread (t+1)%T left behind.
            let inherited = std::mem::take(
                &mut *handoff[(round as usize + 1) % 2][(t + 1) % threads]
                    .lock()
                    .unwrap(),
            );
            for (b, k) in inherited {
                local = local.wrapping_add(b.verify_pages(k, NAME));
            }
            let mut table: Vec<Option<(CBuf, u64)>> = (0..TABLE).map(|_| None).collect();
            let mut n = 0u64;
            for op in 0..per_thread {
                let s = rng.below(TABLE);
                if let Some((b, k)) = table[s].take() {
                    local = local.wrapping_add(b.verify_pages(k, NAME));
                }
                if rng.chance(3) {
                    continue; // leave the slot empty: the live set breathes
                }
                let k = key(p.seed, &[round, t as u64, op]);
                let mut b = CBuf::alloc(pow2_size(&mut rng));
                b.touch_pages(k);
                table[s] = Some((b, k));
                n += 1;
            }
            // Survivors: every 4th live block goes to the next round.
            let mut keep = Vec::new();
            for (i, e) in table.into_iter().enumerate() {
                if let Some((b, k)) = e {
                    if i % 4 == 0 {
                        keep.push((b, k));
                    } else {
                        local = local.wrapping_add(b.verify_pages(k, NAME));
                    }
                }
            }
            *handoff[round as usize % 2][t].lock().unwrap() = keep;
            (local, n)
        });
        spawned += threads as u64;
        for (s, n) in results {
            sum = sum.wrapping_add(s);
            mallocs += n;
        }
    }
    for h in handoff.into_iter().flatten() {
        for (b, k) in h.into_inner().unwrap() {
            sum = sum.wrapping_add(b.verify_pages(k, NAME));
        }
    }
    let mut r = Report::new(threads, true);
    r.op("rounds", ROUNDS)
        .op("threads_spawned", spawned)
        .op("mallocs", mallocs);
    r.checksum = sum;
    r
}
