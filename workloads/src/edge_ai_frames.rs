//! Edge-AI frame and tensor buffers: a camera pipeline allocates a frame,
//! converts it to an input tensor, runs "layers" that each allocate an
//! activation buffer (100 KB to 4 MB) and free the previous one, and keeps
//! the last few frames for motion detection. Large, short-lived,
//! size-varying blocks: the mmap threshold and trimming policy matter here.
//!
//! Thread t processes frames t, t+T, t+2T, ...; frame contents derive from
//! the frame number, so checksum and counts do not depend on --threads.

use crate::common::{key, run_threads, CBuf, Checksum, Params, Report, Rng};
use std::collections::VecDeque;

const NAME: &str = "edge-ai-frames";
const KB: u64 = 1024;

pub fn run(p: &Params) -> Report {
    let frames = p.scaled(1_000, 4);
    let threads = p.threads.max(1);
    let results = run_threads(threads, |t| {
        let mut sum = 0u64;
        let (mut allocs, mut bytes) = (0u64, 0u64);
        let mut history: VecDeque<(CBuf, u64)> = VecDeque::new();
        let mut f = t as u64;
        while f < frames {
            let mut rng = Rng::new(key(p.seed, &[0xa1, f]));
            // Camera frame: one of a few resolutions (YUV420 / RGB).
            let frame_len = [
                320 * 240 * 3 / 2,
                640 * 480 * 3 / 2,
                640 * 480 * 3,
                1280 * 720 * 3 / 2,
            ][rng.below(4)];
            let fk = key(p.seed, &[0xf0, f]);
            let mut frame = CBuf::alloc(frame_len);
            frame.fill(fk);
            allocs += 1;
            bytes += frame_len as u64;
            // Input tensor, then a chain of activations 100 KB .. 4 MB;
            // each layer reads the previous buffer and writes the next.
            let mut prev = CBuf::alloc(rng.range(100 * KB, 4096 * KB) as usize);
            let mut pk = key(fk, &[0]);
            prev.fill(pk);
            allocs += 1;
            bytes += prev.len() as u64;
            let layers = rng.range(3, 8);
            let mut c = Checksum::default();
            for l in 1..=layers {
                let len = rng.range(100 * KB, 4096 * KB) as usize;
                let mut next = CBuf::alloc(len);
                let nk = key(fk, &[l]);
                next.fill(nk);
                c.add(prev.verify(pk, NAME));
                allocs += 1;
                bytes += len as u64;
                prev = next; // frees the previous activation
                pk = nk;
            }
            c.add(prev.verify(pk, NAME));
            drop(prev);
            // Keep the last 3 frames for motion detection; verify the evicted one.
            history.push_back((frame, fk));
            if history.len() > 3 {
                // Added, not mixed: which frame is evicted when depends on
                // the thread split, and the sum must not.
                let (old, ok) = history.pop_front().unwrap();
                sum = sum.wrapping_add(old.verify(ok, NAME));
            }
            sum = sum.wrapping_add(c.0);
            f += threads as u64;
        }
        for (old, ok) in history {
            sum = sum.wrapping_add(old.verify(ok, NAME));
        }
        (sum, allocs, bytes)
    });
    let mut r = Report::new(threads, false);
    let sum = results.iter().fold(0u64, |a, x| a.wrapping_add(x.0));
    r.op("frames", frames)
        .op("mallocs", results.iter().map(|x| x.1).sum())
        .op("bytes_allocated", results.iter().map(|x| x.2).sum());
    r.checksum = sum;
    r
}
