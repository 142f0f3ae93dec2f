//! Cross-thread use of the core: blocks allocated on one thread are
//! checked and freed on another, threads exit holding blocks, and the heap
//! invariants hold at the end.

use std::sync::mpsc;
use std::thread;

struct Block(usize, usize, u8);

fn fill(p: *mut u8, n: usize, tag: u8) {
    // SAFETY: p holds n writable bytes.
    unsafe { std::ptr::write_bytes(p, tag, n) };
}

fn holds(b: &Block) -> bool {
    // SAFETY: the block is live with b.1 bytes.
    unsafe { std::slice::from_raw_parts(b.0 as *const u8, b.1) }
        .iter()
        .all(|&x| x == b.2)
}

#[test]
fn blocks_freed_on_other_threads_and_after_their_thread_exits() {
    let (tx, rx) = mpsc::channel::<Block>();
    let producers: Vec<_> = (0..4u8)
        .map(|t| {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut seed = 0x9E37_79B9u32 ^ t as u32;
                let mut kept = Vec::new();
                for i in 0..20_000u32 {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    let n = match seed % 100 {
                        0..=84 => (seed >> 8) as usize % 256,
                        85..=98 => 256 + (seed >> 8) as usize % 8000,
                        _ => 100_000 + (seed >> 8) as usize % 200_000,
                    };
                    let p = unsafe { lwmalloc::malloc(n) };
                    assert!(!p.is_null());
                    let tag = (i as u8) ^ t;
                    fill(p, n, tag);
                    let b = Block(p as usize, n, tag);
                    match seed % 3 {
                        0 => tx.send(b).unwrap(),
                        1 => kept.push(b),
                        _ => {
                            assert!(holds(&b));
                            unsafe { lwmalloc::free(p) };
                        }
                    }
                    if kept.len() > 64 {
                        let b = kept.swap_remove((seed as usize >> 4) % kept.len());
                        assert!(holds(&b));
                        unsafe { lwmalloc::free(b.0 as *mut u8) };
                    }
                }
                // Exit while still holding blocks: hand them over.
                for b in kept {
                    tx.send(b).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumer = thread::spawn(move || {
        let mut n = 0;
        for b in rx {
            assert!(holds(&b), "block lost its contents across threads");
            unsafe { lwmalloc::free(b.0 as *mut u8) };
            n += 1;
        }
        n
    });
    for p in producers {
        p.join().unwrap();
    }
    assert!(consumer.join().unwrap() > 20_000);
    assert_eq!(lwmalloc::check_heap().err(), None);
    let t = lwmalloc::snapshot();
    assert!(t.calls[0] >= 80_000, "malloc calls counted: {}", t.calls[0]);
}
