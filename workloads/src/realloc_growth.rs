//! realloc growth of vectors and strings: buffers that grow one element or
//! a few bytes at a time (naive C code calling realloc for every append,
//! and Rust's amortised Vec/String growth), sometimes shrunk back, while
//! other allocations interleave so growth in place is not always possible.

use crate::common::{key, pattern_word, CBuf, Checksum, Params, Report, Rng};

const NAME: &str = "realloc-growth";

pub fn run(p: &Params) -> Report {
    let rounds = p.scaled(10_000, 10);
    let mut rng = Rng::new(key(p.seed, &[0x2e]));
    let mut sum = Checksum::default();
    let (mut reallocs, mut grown_bytes) = (0u64, 0u64);
    let mut blockers: Vec<CBuf> = Vec::new();
    for round in 0..rounds {
        // 1. C-style: realloc on every append of a small record.
        let step = rng.range(1, 64) as usize;
        let target = match rng.below(10) {
            0 => rng.range(64 * 1024, 1024 * 1024) as usize,
            1..=3 => rng.range(4 * 1024, 64 * 1024) as usize,
            _ => rng.range(64, 4 * 1024) as usize,
        };
        let k = key(p.seed, &[round]);
        let mut buf = CBuf::alloc(step);
        let mut len = 0usize;
        while len < target {
            let new_len = (len + step).min(target);
            if new_len > buf.len() {
                buf.resize(new_len);
                reallocs += 1;
            }
            let s = buf.as_mut_slice();
            for (i, byte) in s[len..new_len].iter_mut().enumerate() {
                *byte = pattern_word(k, len + i) as u8;
            }
            len = new_len;
            // Interleaved small allocations pin the space after the buffer.
            if rng.chance(16) {
                blockers.push(CBuf::alloc(rng.range(16, 256) as usize));
                if blockers.len() > 256 {
                    blockers.swap_remove(rng.below(256));
                }
            }
        }
        if rng.chance(4) {
            buf.resize(len / 2 + 1); // shrink: keeps the prefix
            reallocs += 1;
            len = len / 2 + 1;
        }
        let s = &buf.as_slice()[..len];
        for (i, &b) in s.iter().enumerate().step_by(61) {
            if b != pattern_word(k, i) as u8 {
                crate::common::verification_failed(
                    NAME,
                    &format!("byte {i} lost in realloc (round {round})"),
                );
            }
        }
        sum.add_bytes(&s[..len.min(256)]);
        sum.add(len as u64);
        grown_bytes += len as u64;

        // 2. Rust-style: Vec<u64> and String grown by push (amortised doubling).
        let n = rng.range(16, 20_000) as usize;
        let mut v: Vec<u64> = Vec::new();
        let mut text = String::new();
        for i in 0..n {
            v.push(pattern_word(k, i));
            if i % 8 == 0 {
                text.push_str(["ok;", "warn;", "error:retry;", "sample=42;"][i % 4]);
            }
        }
        if v.iter().enumerate().any(|(i, &x)| x != pattern_word(k, i)) {
            crate::common::verification_failed(
                NAME,
                &format!("Vec contents lost in growth (round {round})"),
            );
        }
        v.truncate(n / 3);
        v.shrink_to_fit();
        sum.add(v.iter().fold(0u64, |a, &x| a.wrapping_add(x)));
        sum.add_bytes(text.as_bytes());
        grown_bytes += (n * 8 + text.len()) as u64;
    }
    let mut r = Report::new(1, false);
    r.op("rounds", rounds)
        .op("c_reallocs", reallocs)
        .op("bytes_grown", grown_bytes);
    r.checksum = sum.0;
    r
}
