//! Pieces every workload shares: the seeded generator, the checksum, C heap
//! buffers that go straight through libc malloc, and the report line.

use serde_json::{Map, Value};
use std::time::{Duration, Instant};

/// What the command line asked for; every workload derives all its choices
/// from the first three numbers, so two runs with the same values do the
/// same work. The timed workloads (registry::TIMED) run for `duration`
/// instead, and do as much work as fits in it.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub seed: u64,
    pub scale: f64,
    pub threads: usize,
    /// Wall-clock length of a timed workload (`--duration`); None for the others.
    pub duration: Option<Duration>,
    /// How often a timed workload samples its memory (`--period`).
    pub period: Duration,
    /// Bytes a timed workload holds live (`--live`).
    pub live_bytes: u64,
}

/// Longest `--duration` or `--period` accepted: a week (a typo beyond that).
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// `90`, `90s`, `1.5m`, `2h`, `250ms`: a positive duration of at most
/// [`MAX_DURATION`] (a bare number is seconds).
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (num, unit) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = v.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (v, 1.0)
    };
    let secs = num.parse::<f64>().ok()? * unit;
    (secs.is_finite() && secs >= 0.001 && secs <= MAX_DURATION.as_secs_f64())
        .then(|| Duration::from_secs_f64(secs))
}

impl Params {
    /// `base` operations at scale 1.0, never fewer than `min`.
    pub fn scaled(&self, base: u64, min: u64) -> u64 {
        ((base as f64 * self.scale).round() as u64).max(min)
    }
}

/// SplitMix64: used to seed, and to derive independent per-item seeds from
/// (seed, index) without any shared state between threads.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derive a key from a seed and a path of indices (thread, round, item, ...).
pub fn key(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix64(seed), |k, &p| mix64(k ^ p))
}

/// xoshiro256** seeded through SplitMix64: fast, good enough, and the same
/// on every platform (no dependence on the rand crate's versioned streams).
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            mix64(z)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [lo, hi] (inclusive); the slight modulo bias is irrelevant here.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, one_in: u64) -> bool {
        matches!(self.next_u64() % one_in, 0)
    }
}

/// Order-sensitive running checksum (FNV-style mixing of 64-bit words).
#[derive(Clone, Copy, Debug)]
pub struct Checksum(pub u64);

impl Default for Checksum {
    fn default() -> Self {
        Checksum(0xCBF2_9CE4_8422_2325)
    }
}

impl Checksum {
    pub fn add(&mut self, v: u64) {
        self.0 = mix64(self.0 ^ v);
    }
    pub fn add_bytes(&mut self, bytes: &[u8]) {
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3);
        }
        self.add(h ^ bytes.len() as u64);
    }
}

/// The pattern word at index `i` of a block keyed `key`.
#[inline]
pub fn pattern_word(key: u64, i: usize) -> u64 {
    let x = key.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    x ^ (x >> 29)
}

/// Report a failed self-check and stop: an allocator that hands out
/// overlapping or corrupted memory must never yield a "successful" run.
pub fn verification_failed(workload: &str, what: &str) -> ! {
    eprintln!("lwm-workload: {workload}: verification failed: {what}");
    std::process::exit(3);
}

/// A byte buffer on the C heap (libc malloc/realloc/free), so whichever
/// allocator is preloaded serves it, exactly as it would serve C firmware.
pub struct CBuf {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: CBuf owns its allocation exclusively; moving it to another thread
// (which then frees it: the cross-thread frees the stressors need) is sound.
unsafe impl Send for CBuf {}

impl CBuf {
    pub fn alloc(len: usize) -> CBuf {
        // SAFETY: malloc accepts any size; a null result is handled below.
        let ptr = unsafe { libc::malloc(len.max(1)) } as *mut u8;
        if ptr.is_null() {
            eprintln!("lwm-workload: malloc({len}) returned NULL");
            std::process::exit(4);
        }
        CBuf { ptr, len }
    }

    /// calloc'd buffer, checked to be zero where it is read.
    pub fn zeroed(len: usize) -> CBuf {
        // SAFETY: calloc accepts any count; a null result is handled below.
        let ptr = unsafe { libc::calloc(1, len.max(1)) } as *mut u8;
        if ptr.is_null() {
            eprintln!("lwm-workload: calloc({len}) returned NULL");
            std::process::exit(4);
        }
        CBuf { ptr, len }
    }

    /// realloc to `len` bytes; the first min(old, new) bytes are preserved.
    pub fn resize(&mut self, len: usize) {
        // SAFETY: self.ptr came from malloc/calloc/realloc and is still owned.
        let p = unsafe { libc::realloc(self.ptr as *mut libc::c_void, len.max(1)) } as *mut u8;
        if p.is_null() {
            eprintln!("lwm-workload: realloc({len}) returned NULL");
            std::process::exit(4);
        }
        self.ptr = p;
        self.len = len;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr is valid for len bytes (malloc'd with at least len) and
        // uniquely borrowed through &mut self. Uninitialised bytes are only
        // ever written through this slice before being read.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: as above; callers read only bytes they wrote (fill first).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Write the full pattern for `key` over the whole buffer.
    pub fn fill(&mut self, key: u64) {
        fill_pattern(self.as_mut_slice(), key);
    }

    /// Check the full pattern; returns a digest of the words read back.
    pub fn verify(&self, key: u64, workload: &str) -> u64 {
        verify_pattern(self.as_slice(), key, workload)
    }

    /// Write one word per 4 KiB page (and the last bytes): touches every
    /// page like a real user of a large block, without a full memset.
    pub fn touch_pages(&mut self, key: u64) {
        let s = self.as_mut_slice();
        let mut i = 0;
        while i + 8 <= s.len() {
            s[i..i + 8].copy_from_slice(&pattern_word(key, i).to_le_bytes());
            i += 4096;
        }
        if let Some(j) = tail_word(s.len()) {
            s[j..].copy_from_slice(&pattern_word(key, j).to_le_bytes());
        }
    }

    pub fn verify_pages(&self, key: u64, workload: &str) -> u64 {
        let s = self.as_slice();
        let mut digest = 0u64;
        let mut check = |i: usize| {
            let got = u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
            if got != pattern_word(key, i) {
                verification_failed(
                    workload,
                    &format!("page word at offset {i} of a {}-byte block", s.len()),
                );
            }
            digest = digest.wrapping_add(got);
        };
        let mut i = 0;
        while i + 8 <= s.len() {
            check(i);
            i += 4096;
        }
        if let Some(j) = tail_word(s.len()) {
            check(j);
        }
        digest
    }
}

impl Drop for CBuf {
    fn drop(&mut self) {
        // SAFETY: ptr came from malloc/calloc/realloc and is freed exactly once.
        unsafe { libc::free(self.ptr as *mut libc::c_void) }
    }
}

/// Offset of the last word `touch_pages` writes, unless it would overlap
/// the page word before it.
fn tail_word(len: usize) -> Option<usize> {
    let j = len.checked_sub(8)?;
    (j % 4096 == 0 || j % 4096 >= 8).then_some(j)
}

pub fn fill_pattern(s: &mut [u8], key: u64) {
    let mut chunks = s.chunks_exact_mut(8);
    for (i, c) in (&mut chunks).enumerate() {
        c.copy_from_slice(&pattern_word(key, i).to_le_bytes());
    }
    let rem = chunks.into_remainder();
    let tail = pattern_word(key, usize::MAX).to_le_bytes();
    let n = rem.len();
    rem.copy_from_slice(&tail[..n]);
}

/// Verify a buffer written by `fill_pattern`; returns a digest of its words.
pub fn verify_pattern(s: &[u8], key: u64, workload: &str) -> u64 {
    let mut digest = 0u64;
    let mut chunks = s.chunks_exact(8);
    for (i, c) in (&mut chunks).enumerate() {
        let got = u64::from_le_bytes(c.try_into().unwrap());
        if got != pattern_word(key, i) {
            verification_failed(workload, &format!("word {i} of a {}-byte block", s.len()));
        }
        digest = digest.wrapping_add(got);
    }
    let rem = chunks.remainder();
    let tail = pattern_word(key, usize::MAX).to_le_bytes();
    if rem != &tail[..rem.len()] {
        verification_failed(workload, &format!("tail of a {}-byte block", s.len()));
    }
    digest.wrapping_add(s.len() as u64)
}

/// A C heap block and the key its pattern was written with.
pub type Block = (CBuf, u64);

/// What a workload hands back: its operation counts, its checksum, and any
/// workload-specific extras (e.g. the fragmentation soak's live-bytes series).
#[derive(Default)]
pub struct Report {
    pub ops: Vec<(&'static str, u64)>,
    pub checksum: u64,
    /// Threads the workload actually used (1 for single-threaded ones).
    pub threads: usize,
    /// True when the checksum and counts depend on --threads.
    pub depends_on_threads: bool,
    pub extra: Map<String, Value>,
    /// Set when the workload stopped short for a reason other than bad
    /// data (a timed workload's RSS guard): the report is still printed,
    /// then this line on stderr, and the exit status is 5.
    pub failure: Option<String>,
}

impl Report {
    pub fn new(threads: usize, depends_on_threads: bool) -> Self {
        Report {
            threads,
            depends_on_threads,
            ..Default::default()
        }
    }
    pub fn op(&mut self, name: &'static str, n: u64) -> &mut Self {
        self.ops.push((name, n));
        self
    }
}

/// Peak and current RSS of this process from /proc/self/status, in KiB
/// (None where /proc is missing). Used by workloads that report memory over time.
pub fn self_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }
    pub fn ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Run `f(t)` on `n` threads and collect the results in thread order, so
/// combining them is deterministic whatever the scheduling.
pub fn run_threads<T: Send, F: Fn(usize) -> T + Sync>(n: usize, f: F) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|t| {
                let f = &f;
                s.spawn(move || f(t))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .collect()
    })
}
