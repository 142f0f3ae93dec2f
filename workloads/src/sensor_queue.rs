//! A sensor-message queue: producer threads (sensor drivers) build
//! variable-length messages on the heap and push them into a bounded queue;
//! one consumer (the uplink task) validates, aggregates and frees them.
//! Every message is freed by a different thread than the one that made it.
//!
//! Message contents derive from the global sequence number and producers
//! take sequence numbers round-robin, so the checksum and counts are the
//! same for every --threads value.

use crate::common::{key, run_threads, CBuf, Checksum, Params, Report, Rng};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Condvar, Mutex};

const NAME: &str = "sensor-queue";
const HEADER: usize = 24; // sensor id, sequence number, reading count

struct Queue {
    items: Mutex<(VecDeque<CBuf>, usize)>, // (messages, producers still running)
    not_empty: Condvar,
    not_full: Condvar,
    cap: usize,
}

fn build_message(seed: u64, seq: u64) -> CBuf {
    let mut rng = Rng::new(key(seed, &[0x5e, seq]));
    let sensor = rng.range(0, 63);
    let readings = rng.range(1, 60) as usize;
    let mut m = CBuf::alloc(HEADER + readings * 4);
    let s = m.as_mut_slice();
    s[0..8].copy_from_slice(&sensor.to_le_bytes());
    s[8..16].copy_from_slice(&seq.to_le_bytes());
    s[16..24].copy_from_slice(&(readings as u64).to_le_bytes());
    for i in 0..readings {
        let v = (rng.range(0, 4000) as i32 - 2000).to_le_bytes();
        s[HEADER + i * 4..HEADER + i * 4 + 4].copy_from_slice(&v);
    }
    m
}

pub fn run(p: &Params) -> Report {
    let total = p.scaled(1_500_000, 50);
    let producers = p.threads.saturating_sub(1).max(1);
    let q = Queue {
        items: Mutex::new((VecDeque::new(), producers)),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
        cap: 512,
    };
    let consumer = |q: &Queue| {
        // Per-sensor aggregates, in a BTreeMap so any iteration is ordered.
        let mut stats: BTreeMap<u64, (u64, i64, i64)> = BTreeMap::new();
        let mut sum = 0u64; // commutative: arrival order must not matter
        let mut received = 0u64;
        loop {
            let msg = {
                let mut g = q.items.lock().unwrap();
                loop {
                    if let Some(m) = g.0.pop_front() {
                        q.not_full.notify_one();
                        break Some(m);
                    }
                    if g.1 == 0 {
                        break None;
                    }
                    g = q.not_empty.wait(g).unwrap();
                }
            };
            let Some(m) = msg else { break };
            let s = m.as_slice();
            let sensor = u64::from_le_bytes(s[0..8].try_into().unwrap());
            let seq = u64::from_le_bytes(s[8..16].try_into().unwrap());
            let n = u64::from_le_bytes(s[16..24].try_into().unwrap()) as usize;
            let expect = build_message(p.seed, seq);
            if expect.as_slice() != s || s.len() != HEADER + n * 4 {
                crate::common::verification_failed(NAME, &format!("message {seq}"));
            }
            let e = stats.entry(sensor).or_insert((0, i64::MAX, i64::MIN));
            for i in 0..n {
                let v =
                    i32::from_le_bytes(s[HEADER + i * 4..HEADER + i * 4 + 4].try_into().unwrap())
                        as i64;
                e.0 += 1;
                e.1 = e.1.min(v);
                e.2 = e.2.max(v);
            }
            let mut c = Checksum::default();
            c.add_bytes(s);
            sum = sum.wrapping_add(c.0);
            received += 1;
        }
        let mut c = Checksum(sum);
        for (k, (n, lo, hi)) in &stats {
            c.add(
                *k ^ n.rotate_left(8) ^ (*lo as u64).rotate_left(24) ^ (*hi as u64).rotate_left(40),
            );
        }
        (received, c.0)
    };
    let results = run_threads(producers + 1, |t| {
        if t == producers {
            return consumer(&q);
        }
        let mut sent = 0;
        let mut seq = t as u64;
        while seq < total {
            let m = build_message(p.seed, seq);
            let mut g = q.items.lock().unwrap();
            while g.0.len() >= q.cap {
                g = q.not_full.wait(g).unwrap();
            }
            g.0.push_back(m);
            q.not_empty.notify_one();
            drop(g);
            sent += 1;
            seq += producers as u64;
        }
        let mut g = q.items.lock().unwrap();
        g.1 -= 1;
        q.not_empty.notify_all();
        (sent, 0)
    });
    let sent: u64 = results[..producers].iter().map(|r| r.0).sum();
    let (received, checksum) = results[producers];
    if sent != received {
        crate::common::verification_failed(NAME, &format!("sent {sent} but received {received}"));
    }
    let mut r = Report::new(producers + 1, false);
    r.op("messages", received)
        .op("mallocs", received * 2)
        .op("frees", received * 2);
    r.checksum = checksum;
    r
}
