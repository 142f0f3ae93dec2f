//! Steady soak: a device that runs for hours holding about the same amount
//! of memory, while its contents churn. Each worker thread keeps its share
//! of a fixed live-byte target, allocating and freeing blocks of a realistic
//! embedded mix (mostly small messages and strings, some medium buffers,
//! a few large frames above the usual 128 KiB mmap threshold) with random
//! lifetimes, growing and shrinking some with realloc, and handing some to
//! the next worker to free. It runs for a wall-clock duration, not a number
//! of operations, paced (a batch of 64 operations, then 1 ms of rest, per
//! worker), and samples its RSS and its live bytes every period: an
//! allocator that leaks or fragments without bound shows as RSS rising at
//! constant live bytes.
//!
//! Because it stops on the clock, its operation counts and checksum differ
//! from run to run; its blocks are still checked on every free and realloc.

use crate::common::{
    key, pattern_word, run_threads, self_rss_kib, verification_failed, CBuf, Checksum, Params,
    Report, Rng, Stopwatch,
};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const NAME: &str = "steady-soak";
/// Blocks up to this size carry a full pattern; larger ones one word per
/// page (as a frame buffer is used: written once, read in places).
const FULL_MAX: usize = 64 << 10;
/// The timeline never holds more samples than this (the period stretches):
/// the report is one JSON line the agent keeps whole.
pub const MAX_SAMPLES: u64 = 1024;
/// Bytes waiting for another worker to free them, at most, as a share of
/// the live target: a receiver that is not scheduled for a while must not
/// turn the live bytes into blocks in flight.
const MAILBOX_SHARE: u64 = 16;
/// The run stops when its RSS passes this many times the live target: an
/// allocator that never reuses memory would otherwise take the machine's
/// (or the board's) RAM within seconds.
const GUARD_TIMES: u64 = 32;
/// Each worker rests this long after every batch of 64 operations.
const PACE: Duration = Duration::from_millis(1);
/// How often the RSS guard looks, whatever the sampling period.
const GUARD_EVERY: Duration = Duration::from_millis(20);

/// A live block: its buffer and the key of its pattern.
struct Held {
    buf: CBuf,
    key: u64,
}

impl Held {
    fn new(len: usize, key: u64) -> Held {
        let mut h = Held {
            buf: CBuf::alloc(len),
            key,
        };
        h.write();
        h
    }

    fn write(&mut self) {
        if self.buf.len() <= FULL_MAX {
            self.buf.fill(self.key);
        } else {
            self.buf.touch_pages(self.key);
        }
    }

    fn verify(&self) -> u64 {
        if self.buf.len() <= FULL_MAX {
            self.buf.verify(self.key, NAME)
        } else {
            self.buf.verify_pages(self.key, NAME)
        }
    }

    /// realloc to `len`: the bytes kept must be the ones written before.
    fn resize(&mut self, len: usize) -> u64 {
        let old = self.buf.len();
        self.buf.resize(len);
        let kept = old.min(len);
        let s = self.buf.as_slice();
        let mut digest = 0u64;
        let mut check = |i: usize| {
            let got = u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
            if got != pattern_word(self.key, if old <= FULL_MAX { i / 8 } else { i }) {
                verification_failed(
                    NAME,
                    &format!("word at offset {i} after realloc from {old} to {len} bytes"),
                );
            }
            digest = digest.wrapping_add(got);
        };
        // Whole words of the old pattern that realloc had to keep.
        let step = if old <= FULL_MAX { 8 } else { 4096 };
        let mut i = 0;
        while i + 8 <= kept {
            check(i);
            i += step;
        }
        self.write();
        digest
    }
}

/// A size from the mix: 70 % small (16-256 B), 25 % medium (256 B-16 KiB),
/// 5 % large (64-512 KiB).
fn size(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=69 => rng.range(16, 256) as usize,
        70..=94 => rng.range(257, 16 << 10) as usize,
        _ => rng.range(64 << 10, 512 << 10) as usize,
    }
}

#[derive(Default)]
struct Mailbox {
    blocks: Vec<Held>,
    bytes: u64,
}

struct Shared {
    live: AtomicI64,
    stop: AtomicBool,
    /// Blocks handed to worker `i`, which frees them.
    mailboxes: Vec<Mutex<Mailbox>>,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    mallocs: u64,
    frees: u64,
    reallocs: u64,
    handed_off: u64,
    remote_frees: u64,
    checksum: u64,
}

fn worker(p: &Params, t: usize, threads: usize, target: i64, sh: &Shared) -> Counts {
    let mut rng = Rng::new(key(p.seed, &[0x57, t as u64]));
    let mut held: Vec<Held> = Vec::new();
    let mut c = Counts::default();
    let mut sum = Checksum::default();
    let mut serial = 0u64;
    let next = (t + 1) % threads;
    // Each worker keeps its share, so no worker starves the others.
    let share = target / threads as i64;
    let mut mine = 0i64;
    let drain = |c: &mut Counts, sum: &mut Checksum| {
        let got = std::mem::take(&mut *sh.mailboxes[t].lock().unwrap()).blocks;
        for h in got {
            sum.add(h.verify());
            sh.live.fetch_sub(h.buf.len() as i64, Ordering::Relaxed);
            c.remote_frees += 1;
            c.frees += 1;
        }
    };
    while !sh.stop.load(Ordering::Relaxed) {
        for _ in 0..64 {
            // Blocks in flight to another worker still count against the
            // target: a worker that falls behind must not let it swell.
            if mine < share && sh.live.load(Ordering::Relaxed) < target || held.is_empty() {
                let len = size(&mut rng);
                serial += 1;
                held.push(Held::new(len, key(p.seed, &[t as u64, serial])));
                mine += len as i64;
                sh.live.fetch_add(len as i64, Ordering::Relaxed);
                c.mallocs += 1;
            } else {
                // A random victim: lifetimes are random, from one step to hours.
                let v = held.swap_remove(rng.below(held.len()));
                let len = v.buf.len() as i64;
                mine -= len;
                let mut free_here = None;
                if threads > 1 && rng.chance(8) {
                    let mut mailbox = sh.mailboxes[next].lock().unwrap();
                    if mailbox.bytes + len as u64 <= target as u64 / MAILBOX_SHARE {
                        mailbox.bytes += len as u64;
                        mailbox.blocks.push(v);
                        c.handed_off += 1;
                    } else {
                        free_here = Some(v);
                    }
                } else {
                    free_here = Some(v);
                }
                if let Some(v) = free_here {
                    sum.add(v.verify());
                    sh.live.fetch_sub(len, Ordering::Relaxed);
                    c.frees += 1;
                }
            }
            if !held.is_empty() && rng.chance(16) {
                // Strings and vectors grow and shrink in place.
                let i = rng.below(held.len());
                let old = held[i].buf.len();
                let grow = rng.chance(2) && sh.live.load(Ordering::Relaxed) < target;
                let len = if grow {
                    (old * 2).min(512 << 10)
                } else {
                    (old / 2).max(16)
                };
                sum.add(held[i].resize(len));
                mine += len as i64 - old as i64;
                sh.live
                    .fetch_add(len as i64 - old as i64, Ordering::Relaxed);
                c.reallocs += 1;
            }
        }
        drain(&mut c, &mut sum);
        // Paced, as firmware is: what a soak needs is hours of churn, not
        // every core at full load (which would also skew whatever else
        // the board or the test machine runs at the same time).
        std::thread::sleep(PACE);
    }
    for h in held {
        sum.add(h.verify());
        sh.live.fetch_sub(h.buf.len() as i64, Ordering::Relaxed);
        c.frees += 1;
    }
    c.checksum = sum.0;
    c
}

pub fn run(p: &Params) -> Report {
    let duration = p
        .duration
        .expect("main checks that steady-soak has a duration");
    let target = p.live_bytes as i64;
    // At most MAX_SAMPLES samples, whatever the duration.
    let period = p
        .period
        .max(duration / MAX_SAMPLES as u32)
        .max(Duration::from_millis(1));
    let threads = p.threads.max(1);
    let sh = Shared {
        live: AtomicI64::new(0),
        stop: AtomicBool::new(false),
        mailboxes: (0..threads).map(|_| Mutex::default()).collect(),
    };
    let clock = Stopwatch::start();
    let start = Instant::now();
    let mut timeline: Vec<Value> = Vec::new();
    let start_rss_kib = self_rss_kib();
    let guard_kib = (target as u64 / 1024)
        .saturating_mul(GUARD_TIMES)
        .max(64 << 10);
    let mut guard_tripped: Option<(u64, f64)> = None;
    let counts = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let end = start + duration;
            let mut k = 1u32;
            // Samples on a fixed grid from the start, so a slow sample does
            // not shift every later one; between samples, the RSS guard.
            let mut next = start + period;
            let mut readings: Vec<u64> = Vec::new();
            loop {
                let now = Instant::now();
                if now >= end && next > end {
                    break;
                }
                std::thread::sleep(GUARD_EVERY.min(next.min(end).saturating_duration_since(now)));
                let rss = self_rss_kib();
                if let Some(r) = rss.filter(|&r| r > guard_kib) {
                    guard_tripped = Some((r, clock.secs()));
                    break;
                }
                readings.extend(rss);
                if Instant::now() >= next && next <= end {
                    // RSS swings by megabytes within a second as large
                    // blocks come and go: the median of the period's
                    // readings is the level, their maximum the peak.
                    readings.sort_unstable();
                    let median = readings.get(readings.len() / 2).copied();
                    timeline.push(json!({
                        "t_ms": clock.ms(),
                        "live_bytes": sh.live.load(Ordering::Relaxed).max(0),
                        "rss_kib": median,
                        "rss_max_kib": readings.last(),
                        "readings": readings.len(),
                    }));
                    readings.clear();
                    // A sampler that woke late (a loaded machine) skips the
                    // points it missed rather than bunching samples.
                    let now = Instant::now();
                    while next <= now {
                        k += 1;
                        next = start + period * k;
                    }
                }
            }
            sh.stop.store(true, Ordering::Relaxed);
        });
        let counts = run_threads(threads, |t| worker(p, t, threads, target, &sh));
        sampler.join().expect("sampler thread panicked");
        counts
    });
    // Blocks handed off after their receiver's last look are freed here.
    let mut late = Checksum::default();
    let mut late_frees = 0u64;
    for m in &sh.mailboxes {
        for h in std::mem::take(&mut *m.lock().unwrap()).blocks {
            late.add(h.verify());
            sh.live.fetch_sub(h.buf.len() as i64, Ordering::Relaxed);
            late_frees += 1;
        }
    }
    let left = sh.live.load(Ordering::Relaxed);
    if left != 0 {
        verification_failed(
            NAME,
            &format!("{left} live bytes unaccounted for at the end"),
        );
    }
    let total = counts.iter().fold(Counts::default(), |a, c| Counts {
        mallocs: a.mallocs + c.mallocs,
        frees: a.frees + c.frees,
        reallocs: a.reallocs + c.reallocs,
        handed_off: a.handed_off + c.handed_off,
        remote_frees: a.remote_frees + c.remote_frees,
        checksum: 0,
    });
    let mut sum = Checksum::default();
    for c in &counts {
        sum.add(c.checksum);
    }
    sum.add(late.0);
    let frees = total.frees + late_frees;
    if frees != total.mallocs {
        verification_failed(
            NAME,
            &format!("{} mallocs but {frees} frees", total.mallocs),
        );
    }
    let mut r = Report::new(threads, true);
    r.op("mallocs", total.mallocs)
        .op("frees", frees)
        .op("reallocs", total.reallocs)
        .op("cross_thread_frees", total.remote_frees + late_frees)
        .op("samples", timeline.len() as u64);
    r.checksum = sum.0;
    r.extra
        .insert("duration_s".into(), json!(duration.as_secs_f64()));
    r.extra
        .insert("period_ms".into(), json!(period.as_millis() as u64));
    r.extra
        .insert("live_target_bytes".into(), json!(p.live_bytes));
    r.extra.insert("start_rss_kib".into(), json!(start_rss_kib));
    r.extra
        .insert("live_timeline".into(), Value::Array(timeline));
    if let Some((rss, at)) = guard_tripped {
        r.extra.insert(
            "rss_guard".into(),
            json!({ "limit_kib": guard_kib, "rss_kib": rss, "at_s": at }),
        );
        r.failure = Some(format!(
            "RSS {} MiB passed its guard of {GUARD_TIMES} times the live target ({} MiB) after {at:.1} s of {:.0} s: memory is not reused",
            rss >> 10,
            guard_kib >> 10,
            duration.as_secs_f64()
        ));
    }
    r
}
