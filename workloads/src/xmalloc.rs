//! xmalloc-test style producer/consumer (Lever & Boreham, "malloc()
//! performance in a multithreaded Linux environment", 2000; as used by
//! mimalloc-bench): producer threads allocate blocks and hand them over in
//! batches; consumer threads free them. Every free is remote.
//!
//! Block contents derive from the global block number and producers take
//! numbers round-robin, so the checksum and counts do not depend on --threads.

use crate::common::{key, run_threads, Block, CBuf, Params, Report, Rng};
use std::sync::{Condvar, Mutex};

const NAME: &str = "xmalloc";
const BATCH: usize = 64;
const SIZES: [usize; 8] = [8, 16, 24, 32, 48, 64, 96, 128];

struct Exchange {
    batches: Mutex<(Vec<Vec<Block>>, usize)>, // (full batches, producers running)
    ready: Condvar,
    room: Condvar,
}

pub fn run(p: &Params) -> Report {
    let total = p.scaled(30_000_000, 200);
    let threads = p.threads.max(2);
    let producers = threads / 2;
    let consumers = threads - producers;
    let ex = Exchange {
        batches: Mutex::new((Vec::new(), producers)),
        ready: Condvar::new(),
        room: Condvar::new(),
    };
    let results = run_threads(threads, |t| {
        if t < producers {
            let mut made = 0u64;
            let mut batch = Vec::with_capacity(BATCH);
            let mut n = t as u64;
            let push = |batch: Vec<(CBuf, u64)>| {
                let mut g = ex.batches.lock().unwrap();
                while g.0.len() > 64 {
                    g = ex.room.wait(g).unwrap();
                }
                g.0.push(batch);
                ex.ready.notify_one();
            };
            while n < total {
                let k = key(p.seed, &[0x3a, n]);
                let mut rng = Rng::new(k);
                let mut b = CBuf::alloc(SIZES[rng.below(SIZES.len())]);
                b.fill(k);
                batch.push((b, k));
                made += 1;
                if batch.len() == BATCH {
                    push(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
                n += producers as u64;
            }
            if !batch.is_empty() {
                push(batch);
            }
            let mut g = ex.batches.lock().unwrap();
            g.1 -= 1;
            ex.ready.notify_all();
            (made, 0u64)
        } else {
            let (mut freed, mut sum) = (0u64, 0u64);
            loop {
                let batch = {
                    let mut g = ex.batches.lock().unwrap();
                    loop {
                        if let Some(b) = g.0.pop() {
                            ex.room.notify_one();
                            break Some(b);
                        }
                        if g.1 == 0 {
                            break None;
                        }
                        g = ex.ready.wait(g).unwrap();
                    }
                };
                let Some(batch) = batch else { break };
                for (b, k) in batch {
                    sum = sum.wrapping_add(b.verify(k, NAME) ^ k);
                    freed += 1;
                }
            }
            (freed, sum)
        }
    });
    let made: u64 = results[..producers].iter().map(|r| r.0).sum();
    let freed: u64 = results[producers..].iter().map(|r| r.0).sum();
    if made != freed {
        crate::common::verification_failed(NAME, &format!("made {made} blocks, freed {freed}"));
    }
    let mut r = Report::new(producers + consumers, false);
    r.op("mallocs", made).op("frees", freed);
    r.checksum = results.iter().fold(0u64, |a, x| a.wrapping_add(x.1));
    r
}
