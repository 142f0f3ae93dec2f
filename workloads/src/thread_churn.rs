//! Thread churn: generations of short-lived threads that inherit the live
//! blocks of the generation before them. The live set is a table of
//! `CHUNKS` chunks of `SLOTS` slots; every generation deals the chunks out
//! in a fresh shuffled order to T newly spawned threads
//! (`std::thread::spawn`, one per thread per generation, all joined before
//! the next generation starts). Each thread, on the chunks it was dealt:
//!
//! - takes over the blocks the previous generation left there and frees
//!   about half of them at once: frees of blocks allocated by threads that
//!   have already exited (usually several different ones, as the shuffle
//!   mixes chunks between threads);
//! - churns: a random slot's block (inherited or its own) is freed and,
//!   three times in four, replaced by a new block of 16 B-1 KiB (one in 32
//!   of 4-16 KiB);
//! - exits, leaving its chunks' live blocks to the next generation.
//!
//! So the allocator sees threads set up, abandoned with blocks still live,
//! and those blocks freed remotely later, hundreds of times per run: the
//! thread creation and exit paths, and remote frees into dead threads' memory.
//!
//! Everything a chunk does in a generation is keyed by (generation, chunk)
//! alone and chunk checksums are combined with a commutative sum, so the
//! checksum and counts depend neither on scheduling nor on --threads (the
//! total work is fixed; T threads share it). --scale sets the number of
//! generations; the work per generation is fixed.

use crate::common::{key, verification_failed, Block, CBuf, Checksum, Params, Report, Rng};

const NAME: &str = "thread-churn";
/// Generations at scale 1.0.
const GENERATIONS: u64 = 500;
const CHUNKS: usize = 64;
const SLOTS: usize = 64;
/// Churn operations per chunk per generation.
const OPS: u64 = 400;

type Chunk = Vec<Option<Block>>;

#[derive(Default)]
struct Tally {
    sum: u64,
    mallocs: u64,
    frees: u64,
    takeover_frees: u64,
}

fn block_size(rng: &mut Rng) -> usize {
    if rng.chance(32) {
        rng.range(4096, 16384) as usize
    } else {
        rng.range(16, 1024) as usize
    }
}

/// One generation's work on one chunk; depends only on (seed, gen, c).
fn work_chunk(seed: u64, gen: u64, c: usize, chunk: &mut Chunk, t: &mut Tally) {
    let mut rng = Rng::new(key(seed, &[0x7c, gen, c as u64]));
    let mut sum = Checksum::default();
    // Take over: free about half of what the previous generation left.
    for slot in chunk.iter_mut() {
        if slot.is_some() && rng.chance(2) {
            let (b, k) = slot.take().unwrap();
            sum.add(b.verify(k, NAME));
            t.frees += 1;
            t.takeover_frees += 1;
        }
    }
    // Churn.
    for op in 0..OPS {
        let s = rng.below(SLOTS);
        if let Some((b, k)) = chunk[s].take() {
            sum.add(b.verify(k, NAME));
            t.frees += 1;
        }
        if rng.chance(4) {
            continue; // leave the slot empty: the live set breathes
        }
        let k = key(seed, &[gen, c as u64, op]);
        let mut b = CBuf::alloc(block_size(&mut rng));
        b.fill(k);
        chunk[s] = Some((b, k));
        t.mallocs += 1;
    }
    t.sum = t.sum.wrapping_add(sum.0);
}

pub fn run(p: &Params) -> Report {
    let threads = p.threads.max(1);
    let generations = p.scaled(GENERATIONS, 4);
    let mut table: Vec<Chunk> = (0..CHUNKS)
        .map(|_| (0..SLOTS).map(|_| None).collect())
        .collect();
    let mut total = Tally::default();
    let mut spawned = 0u64;
    for gen in 0..generations {
        // Deal the chunks out in a shuffled order, in T near-equal runs.
        let mut order: Vec<usize> = (0..CHUNKS).collect();
        let mut rng = Rng::new(key(p.seed, &[0x7d, gen]));
        for i in (1..CHUNKS).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut slots: Vec<Option<Chunk>> = table.into_iter().map(Some).collect();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<(usize, Chunk)> = order
                    [t * CHUNKS / threads..(t + 1) * CHUNKS / threads]
                    .iter()
                    .map(|&c| (c, slots[c].take().unwrap()))
                    .collect();
                let seed = p.seed;
                std::thread::spawn(move || {
                    let mut tally = Tally::default();
                    let mut mine = mine;
                    for (c, chunk) in mine.iter_mut() {
                        work_chunk(seed, gen, *c, chunk, &mut tally);
                    }
                    (mine, tally)
                })
            })
            .collect();
        spawned += threads as u64;
        for h in handles {
            let (mine, tally) = h.join().expect("worker thread panicked");
            for (c, chunk) in mine {
                slots[c] = Some(chunk);
            }
            total.sum = total.sum.wrapping_add(tally.sum);
            total.mallocs += tally.mallocs;
            total.frees += tally.frees;
            total.takeover_frees += tally.takeover_frees;
        }
        table = slots.into_iter().map(|c| c.unwrap()).collect();
    }
    // The last generation's survivors, freed by the main thread.
    let mut left = Checksum::default();
    for (b, k) in table.into_iter().flatten().flatten() {
        left.add(b.verify(k, NAME));
        total.frees += 1;
    }
    if total.mallocs != total.frees {
        verification_failed(
            NAME,
            &format!("made {} blocks, freed {}", total.mallocs, total.frees),
        );
    }
    let mut r = Report::new(threads, false);
    r.op("generations", generations)
        .op("mallocs", total.mallocs)
        .op("frees", total.frees)
        .op("takeover_frees", total.takeover_frees);
    r.extra
        .insert("threads_spawned".into(), serde_json::json!(spawned));
    r.checksum = total.sum.wrapping_add(left.0);
    r
}
