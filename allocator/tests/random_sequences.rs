//! A seeded random-sequence run across threads, checked by the heap's own
//! validator: the long-run counterpart of the property tests, with what
//! they cannot do in one thread. Threads allocate every kind of block
//! (small, heap, mapped, aligned, zeroed), resize them, hand some to the
//! next thread (which frees or resizes them: cross-thread frees), and exit
//! in generations that leave their blocks to the next one (abandoned pages
//! adopted). Every block holds a pattern checked before it is resized or
//! freed; at each checkpoint all threads stop and each runs `check_heap`
//! (which checks its own pages, the abandoned ones and every arena).
//!
//! `LWM_SEQUENCE_OPS` (operations per thread per generation, default 20000)
//! and `LWM_SEQUENCE_SEEDS` (a comma-separated list, default "1,2") make it
//! a soak: `scripts/soak-allocator.sh` runs it for minutes.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

const THREADS: usize = 4;
const GENERATIONS: usize = 3;
const CHECKPOINTS: usize = 4;

/// A live block: address, usable length checked, pattern seed.
struct Block {
    addr: usize,
    len: usize,
    tag: u64,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn size(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=59 => rng.below(257) as usize,
        60..=84 => 257 + rng.below(768) as usize,
        85..=96 => 1025 + rng.below(64 << 10) as usize,
        _ => (64 << 10) + rng.below(1 << 20) as usize,
    }
}

fn byte(tag: u64, i: usize) -> u8 {
    (tag.wrapping_mul(31).wrapping_add(i as u64 * 7) >> 3) as u8
}

fn fill(b: &Block) {
    // SAFETY: the block is live with at least b.len writable bytes.
    let s = unsafe { std::slice::from_raw_parts_mut(b.addr as *mut u8, b.len) };
    for (i, x) in s.iter_mut().enumerate() {
        *x = byte(b.tag, i);
    }
}

fn verify(b: &Block, upto: usize, what: &str) {
    // SAFETY: the block is live with at least b.len readable bytes.
    let s = unsafe { std::slice::from_raw_parts(b.addr as *const u8, b.len.min(upto)) };
    if let Some(i) = s.iter().enumerate().position(|(i, &x)| x != byte(b.tag, i)) {
        panic!("{what}: byte {i} of a {}-byte block changed", b.len);
    }
}

fn new_block(rng: &mut Rng) -> Option<Block> {
    let n = size(rng);
    let tag = rng.next();
    // SAFETY: the allocation functions have no preconditions.
    let p = unsafe {
        match rng.below(10) {
            0 => lwmalloc::calloc(1, n),
            1 => {
                let align = 1usize << (4 + rng.below(9));
                lwmalloc::memalign(align, n)
            }
            _ => lwmalloc::malloc(n),
        }
    };
    assert!(!p.is_null(), "allocation of {n} bytes failed");
    let b = Block {
        addr: p as usize,
        len: n,
        tag,
    };
    fill(&b);
    Some(b)
}

fn release(b: Block) {
    verify(&b, usize::MAX, "before free");
    // SAFETY: the block is live and no longer used.
    unsafe { lwmalloc::free(b.addr as *mut u8) };
}

fn resize(b: Block, rng: &mut Rng) -> Block {
    verify(&b, usize::MAX, "before realloc");
    // Not 0: realloc(p, 0) frees, as glibc's does.
    let n = size(rng).max(1);
    // SAFETY: the block is live.
    let p = unsafe { lwmalloc::realloc(b.addr as *mut u8, n) };
    assert!(!p.is_null(), "realloc to {n} bytes failed");
    let moved = Block {
        addr: p as usize,
        len: n,
        tag: b.tag,
    };
    verify(&moved, b.len, "after realloc");
    fill(&moved);
    moved
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// One thread of one generation: `ops` operations, stopping at every
/// checkpoint until all threads have run the validator.
fn worker(
    seed: u64,
    ops: usize,
    mut live: Vec<Block>,
    to_next: Sender<Block>,
    from_prev: Receiver<Block>,
    checkpoint: Arc<Barrier>,
) -> Vec<Block> {
    let mut rng = Rng(seed | 1);
    for op in 0..ops {
        while let Ok(b) = from_prev.try_recv() {
            live.push(b);
        }
        let roll = rng.below(100);
        if live.is_empty() || roll < 45 {
            live.extend(new_block(&mut rng));
        } else {
            let i = rng.below(live.len() as u64) as usize;
            let b = live.swap_remove(i);
            match roll {
                45..=74 => release(b),
                75..=89 => live.push(resize(b, &mut rng)),
                // Another thread frees or resizes it.
                _ => to_next.send(b).expect("next thread gone"),
            }
        }
        if (op + 1) % (ops / CHECKPOINTS).max(1) == 0 {
            // Everyone stops allocating, then each checks its own pages.
            checkpoint.wait();
            if let Err(e) = lwmalloc::check_heap() {
                panic!("heap invariant broken after {} operations: {e}", op + 1);
            }
            checkpoint.wait();
        }
    }
    // Blocks still in flight to this thread stay with the generation.
    while let Ok(b) = from_prev.try_recv() {
        live.push(b);
    }
    live
}

fn run(seed: u64, ops: usize) {
    // Blocks that outlive their generation's threads (their pages are
    // abandoned, then adopted by the next generation).
    let carried: Arc<Mutex<Vec<Block>>> = Arc::new(Mutex::new(Vec::new()));
    for generation in 0..GENERATIONS {
        let checkpoint = Arc::new(Barrier::new(THREADS));
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..THREADS).map(|_| channel()).unzip();
        let mut inherited: Vec<Vec<Block>> = (0..THREADS).map(|_| Vec::new()).collect();
        for (i, b) in carried.lock().unwrap().drain(..).enumerate() {
            inherited[i % THREADS].push(b);
        }
        let handles: Vec<_> = receivers
            .into_iter()
            .zip(inherited)
            .enumerate()
            .map(|(t, (rx, live))| {
                let tx = senders[(t + 1) % THREADS].clone();
                let checkpoint = checkpoint.clone();
                let seed = seed
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add((generation * THREADS + t) as u64);
                thread::spawn(move || worker(seed, ops, live, tx, rx, checkpoint))
            })
            .collect();
        drop(senders);
        for h in handles {
            let left = h.join().expect("a worker failed");
            carried.lock().unwrap().extend(left);
        }
        assert_eq!(lwmalloc::check_heap().err(), None);
    }
    for b in carried.lock().unwrap().drain(..) {
        release(b);
    }
    assert_eq!(lwmalloc::check_heap().err(), None);
}

#[test]
fn seeded_sequences_across_threads_keep_every_block_and_invariant() {
    let ops: usize = env_or("LWM_SEQUENCE_OPS", "20000")
        .parse()
        .expect("LWM_SEQUENCE_OPS is a number");
    for seed in env_or("LWM_SEQUENCE_SEEDS", "1,2").split(',') {
        let seed: u64 = seed
            .trim()
            .parse()
            .expect("LWM_SEQUENCE_SEEDS lists numbers");
        eprintln!("random sequences: seed {seed}, {ops} operations per thread");
        run(seed, ops);
    }
}
