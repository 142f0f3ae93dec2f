//! Does a freed peak go back to the system? Each thread builds its share of
//! a peak of `--live` bytes (200 MiB by default) in small and medium blocks
//! (16 B to 1 KiB and 1 KiB to 64 KiB, half the bytes each, every whole
//! word written, so every page is resident), all threads hold it together, then each frees its own blocks
//! and exits. RSS is read before, at the peak and after the threads are
//! joined: what a long-running program keeps after a burst (a firmware
//! update unpacked, a batch of frames decoded) is what "after" shows.
//!
//! The blocks are chained through their first word, so the workload keeps
//! no table of its own that would count at the peak or linger after it.
//! Named only (not in `all`): it needs 200 MiB on every board.

use crate::common::{key, pattern_word, verification_failed, Checksum, Params, Report, Rng};
use serde_json::json;
use std::sync::{Arc, Barrier};

const NAME: &str = "peak-return";

/// Sizes of the small and the medium blocks, drawn log-uniformly so that
/// every size class of an allocator sees some of them.
const SMALL: (u64, u64) = (16, 1024);
const MEDIUM: (u64, u64) = (1025, 64 << 10);

/// The words a block starts with: the next block of the chain and the
/// block's size; the pattern fills the rest.
const LINK_WORDS: usize = 2;

fn log_uniform(rng: &mut Rng, (lo, hi): (u64, u64)) -> usize {
    let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
    ((a + (b - a) * rng.unit()).exp() as u64).clamp(lo, hi) as usize
}

/// One thread's chain: its first block and what it holds.
struct Chain {
    head: usize,
    blocks: u64,
    bytes: u64,
}

/// Builds a chain of `share` bytes for thread `t`, every whole word written.
fn build(seed: u64, t: u64, share: u64) -> Chain {
    let mut rng = Rng::new(key(seed, &[0x9e, t]));
    let (mut head, mut blocks, mut bytes) = (0usize, 0u64, 0u64);
    let (mut small_bytes, mut medium_bytes) = (0u64, 0u64);
    while bytes < share {
        // Whichever half is behind gets the next block.
        let size = if small_bytes <= medium_bytes {
            log_uniform(&mut rng, SMALL)
        } else {
            log_uniform(&mut rng, MEDIUM)
        };
        // SAFETY: malloc accepts any size; a null result stops the run below.
        let p = unsafe { libc::malloc(size) } as *mut u64;
        if p.is_null() {
            eprintln!("lwm-workload: {NAME}: malloc({size}) returned NULL at {bytes} bytes");
            std::process::exit(4);
        }
        let words = size / 8;
        let k = key(seed, &[t, blocks]);
        // SAFETY: p is a fresh block of `size` >= 16 bytes, aligned for u64
        // (malloc's alignment); only its first `words` whole words are written.
        unsafe {
            p.write(head as u64);
            p.add(1).write(size as u64);
            for i in LINK_WORDS..words {
                p.add(i).write(pattern_word(k, i));
            }
        }
        head = p as usize;
        blocks += 1;
        bytes += size as u64;
        if size <= SMALL.1 as usize {
            small_bytes += size as u64;
        } else {
            medium_bytes += size as u64;
        }
    }
    Chain {
        head,
        blocks,
        bytes,
    }
}

/// Frees a chain, checking every word of every block; returns a digest.
fn free_chain(seed: u64, t: u64, chain: Chain) -> u64 {
    let mut sum = Checksum::default();
    let (mut p, mut index) = (chain.head as *mut u64, chain.blocks);
    while !p.is_null() {
        index -= 1;
        let k = key(seed, &[t, index]);
        // SAFETY: p is a live block of this chain, written by `build` with
        // its link and size words first; it is freed once, after reading.
        unsafe {
            let next = p.read() as usize as *mut u64;
            let size = p.add(1).read() as usize;
            for i in LINK_WORDS..size / 8 {
                if p.add(i).read() != pattern_word(k, i) {
                    verification_failed(NAME, &format!("word {i} of block {index} ({size} B)"));
                }
            }
            sum.add(size as u64);
            libc::free(p as *mut libc::c_void);
            p = next;
        }
    }
    if index != 0 {
        verification_failed(NAME, &format!("chain ended {index} blocks early"));
    }
    sum.0
}

/// Resident and anonymous (resident less file-backed) KiB of this process.
fn resident_kib() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let mut pages = text
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse::<u64>().unwrap_or(0));
    let (resident, shared) = (pages.next().unwrap_or(0), pages.next().unwrap_or(0));
    // SAFETY: sysconf has no preconditions.
    let page_kib = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) / 1024) as u64;
    (
        resident * page_kib,
        resident.saturating_sub(shared) * page_kib,
    )
}

/// Each of `threads` threads builds a chain of `share` bytes; all wait at
/// the peak while `at_peak` runs, then free their chains. Returns blocks,
/// bytes and a digest of what was freed.
fn burst(seed: u64, threads: usize, share: u64, at_peak: impl FnOnce()) -> (u64, u64, u64) {
    // Every thread holds its chain until the peak has been read.
    let (built, read) = (
        Arc::new(Barrier::new(threads + 1)),
        Arc::new(Barrier::new(threads + 1)),
    );
    let workers: Vec<_> = (0..threads as u64)
        .map(|t| {
            let (built, read) = (built.clone(), read.clone());
            std::thread::spawn(move || {
                let chain = build(seed, t, share);
                let (blocks, bytes) = (chain.blocks, chain.bytes);
                built.wait();
                read.wait();
                (blocks, bytes, free_chain(seed, t, chain))
            })
        })
        .collect();
    built.wait();
    at_peak();
    read.wait();
    let mut sum = Checksum::default();
    let (mut blocks, mut bytes) = (0u64, 0u64);
    for w in workers {
        let (b, n, digest) = w.join().unwrap_or_else(|_| {
            verification_failed(NAME, "a thread panicked");
        });
        blocks += b;
        bytes += n;
        sum.add(digest);
    }
    (blocks, bytes, sum.0)
}

pub fn run(p: &Params) -> Report {
    let threads = p.threads.max(1);
    // A first, small burst (1 MiB, other seed) runs the same
    // code first: the program's own pages, libc's and the threads' cached
    // stacks are resident before "before" is read, as in a program that
    // has been running a while; what "after" adds is then the allocator's.
    let warm = (1 << 20) / threads as u64;
    burst(!p.seed, threads, warm, || {});
    let before = resident_kib();
    let mut peak = (0, 0);
    let (blocks, bytes, digest) = burst(p.seed, threads, p.live_bytes / threads as u64, || {
        peak = resident_kib()
    });
    let after = resident_kib();

    let mut r = Report::new(threads, true);
    r.op("malloc", blocks).op("free", blocks);
    r.checksum = digest;
    let kept = |(total, _): (u64, u64)| total as f64 / before.0.max(1) as f64 - 1.0;
    for (name, v) in [
        ("peak_bytes", json!(bytes)),
        ("rss_before_kib", json!(before.0)),
        ("rss_peak_kib", json!(peak.0)),
        ("rss_after_kib", json!(after.0)),
        ("anon_before_kib", json!(before.1)),
        ("anon_peak_kib", json!(peak.1)),
        ("anon_after_kib", json!(after.1)),
        // Share of the starting RSS still held after the frees (0.08: 8 %
        // above where the program started).
        ("rss_after_above_before", json!(kept(after))),
    ] {
        r.extra.insert(name.into(), v);
    }
    r
}
