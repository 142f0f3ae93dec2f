//! Bursts of small, short-lived objects: what an event loop in IoT firmware
//! does when a packet or an interrupt batch arrives (parse, build a few
//! small structs, hand them on, drop them). A few objects survive each
//! burst and live a while (session state, caches), which is what ages a heap.

use crate::common::{key, CBuf, Checksum, Params, Report, Rng};

const NAME: &str = "small-burst";

/// Small sizes, skewed towards the smallest like real struct sizes.
fn small_size(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0..=5 => rng.range(8, 48) as usize,
        6..=8 => rng.range(49, 128) as usize,
        _ => rng.range(129, 512) as usize,
    }
}

pub fn run(p: &Params) -> Report {
    let bursts = p.scaled(300_000, 10);
    let mut rng = Rng::new(key(p.seed, &[0x5b]));
    let mut sum = Checksum::default();
    let mut survivors: Vec<Option<(CBuf, u64)>> = (0..2048).map(|_| None).collect();
    let (mut mallocs, mut frees, mut survived) = (0u64, 0u64, 0u64);
    let mut burst: Vec<(CBuf, u64)> = Vec::with_capacity(256);

    for b in 0..bursts {
        let n = rng.range(4, 160) as usize;
        for i in 0..n {
            let k = key(p.seed, &[b, i as u64]);
            let mut buf = CBuf::alloc(small_size(&mut rng));
            buf.fill(k);
            burst.push((buf, k));
            mallocs += 1;
        }
        // Free in the order the burst's consumer happens to finish: LIFO,
        // FIFO or random, as different code paths do.
        match rng.below(3) {
            0 => burst.reverse(),
            1 => {}
            _ => {
                for i in (1..burst.len()).rev() {
                    let j = rng.below(i + 1);
                    burst.swap(i, j);
                }
            }
        }
        for (buf, k) in burst.drain(..) {
            sum.add(buf.verify(k, NAME));
            if rng.chance(48) {
                // Survives: replaces (and frees) an older survivor.
                let slot = rng.below(survivors.len());
                if let Some((old, ok)) = survivors[slot].take() {
                    sum.add(old.verify(ok, NAME));
                    frees += 1;
                }
                survivors[slot] = Some((buf, k));
                survived += 1;
            } else {
                frees += 1;
            }
        }
    }
    for (buf, k) in survivors.iter_mut().filter_map(Option::take) {
        sum.add(buf.verify(k, NAME));
        frees += 1;
    }
    let mut r = Report::new(1, false);
    r.op("bursts", bursts)
        .op("mallocs", mallocs)
        .op("frees", frees)
        .op("survivors", survived);
    r.checksum = sum.0;
    r
}
