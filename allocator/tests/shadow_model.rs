//! Property tests of the core against a shadow model: a map of the live
//! ranges it handed out. After every operation: no two live blocks overlap,
//! every block is aligned as promised, every block still holds the bytes
//! written into it, and the heap's own invariants hold (`check_heap`).

use std::collections::BTreeMap;

use lwmalloc::config::ALIGN;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Malloc(usize),
    Calloc(usize, usize),
    Memalign(u32, usize),
    Realloc(usize, usize),
    Free(usize),
}

/// Sizes spread over every path: tiny, small classes, large heap chunks,
/// around the mmap threshold, and mapped (whose frees raise the threshold,
/// so later ones come from the heap, grow its regions and trim them).
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..=64,
        4 => 65usize..=600,
        2 => 600usize..=20_000,
        1 => 100_000usize..=300_000,
        1 => 300_000usize..=2_500_000,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => size().prop_map(Op::Malloc),
        1 => (0usize..50, 0usize..50).prop_map(|(a, b)| Op::Calloc(a, b)),
        1 => (0u32..17, size()).prop_map(|(a, n)| Op::Memalign(a, n)),
        3 => (any::<usize>(), size()).prop_map(|(i, n)| Op::Realloc(i, n)),
        5 => any::<usize>().prop_map(Op::Free),
    ]
}

struct Live {
    len: usize,
    fill: u8,
}

#[derive(Default)]
struct Shadow {
    /// Start address -> (usable length, fill byte).
    live: BTreeMap<usize, Live>,
    fill: u8,
}

impl Shadow {
    fn add(&mut self, p: *mut u8, requested: usize, align: usize) -> Result<(), TestCaseError> {
        prop_assert!(!p.is_null(), "allocation of {} bytes failed", requested);
        let addr = p as usize;
        prop_assert_eq!(
            addr % align,
            0,
            "block {:#x} not aligned to {}",
            addr,
            align
        );
        // SAFETY: p is a live block of this allocator.
        let len = unsafe { lwmalloc::usable_size(p) };
        prop_assert!(len >= requested, "usable {} < requested {}", len, requested);
        if let Some((&s, l)) = self.live.range(..addr + len.max(1)).next_back() {
            prop_assert!(
                s + l.len.max(1) <= addr,
                "block {:#x}+{} overlaps {:#x}+{}",
                addr,
                len,
                s,
                l.len
            );
        }
        self.fill = self.fill.wrapping_add(1);
        // SAFETY: the whole usable size is ours to write.
        unsafe { std::ptr::write_bytes(p, self.fill, len) };
        self.live.insert(
            addr,
            Live {
                len,
                fill: self.fill,
            },
        );
        Ok(())
    }

    fn nth(&self, i: usize) -> Option<usize> {
        if self.live.is_empty() {
            None
        } else {
            self.live.keys().nth(i % self.live.len()).copied()
        }
    }

    fn verify(&self, addr: usize, upto: usize) -> Result<(), TestCaseError> {
        let l = &self.live[&addr];
        // SAFETY: the block is live with l.len usable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, upto.min(l.len)) };
        prop_assert!(
            bytes.iter().all(|&b| b == l.fill),
            "block {:#x} lost its contents",
            addr
        );
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut shadow = Shadow::default();
    for op in ops {
        match op {
            Op::Malloc(n) => shadow.add(unsafe { lwmalloc::malloc(n) }, n, ALIGN)?,
            Op::Calloc(a, b) => {
                let p = unsafe { lwmalloc::calloc(a, b) };
                // SAFETY: calloc returned a block of a * b bytes.
                let zero = unsafe { std::slice::from_raw_parts(p, a * b) }
                    .iter()
                    .all(|&x| x == 0);
                prop_assert!(zero, "calloc({}, {}) not zeroed", a, b);
                shadow.add(p, a * b, ALIGN)?;
            }
            Op::Memalign(shift, n) => {
                let align = 1usize << shift;
                shadow.add(unsafe { lwmalloc::memalign(align, n) }, n, align.max(ALIGN))?;
            }
            Op::Realloc(i, n) => {
                let Some(addr) = shadow.nth(i) else { continue };
                shadow.verify(addr, usize::MAX)?;
                let old = shadow.live.remove(&addr).unwrap();
                let q = unsafe { lwmalloc::realloc(addr as *mut u8, n) };
                if n == 0 {
                    prop_assert!(q.is_null(), "realloc(p, 0) must free and return null");
                    continue;
                }
                prop_assert!(!q.is_null());
                // SAFETY: q is live with at least n bytes.
                let kept = unsafe { std::slice::from_raw_parts(q, old.len.min(n)) };
                prop_assert!(kept.iter().all(|&b| b == old.fill), "realloc lost contents");
                shadow.add(q, n, ALIGN)?;
            }
            Op::Free(i) => {
                let Some(addr) = shadow.nth(i) else { continue };
                shadow.verify(addr, usize::MAX)?;
                shadow.live.remove(&addr);
                unsafe { lwmalloc::free(addr as *mut u8) };
            }
        }
    }
    for (&addr, _) in shadow.live.iter() {
        shadow.verify(addr, usize::MAX)?;
    }
    prop_assert_eq!(lwmalloc::check_heap().err(), None);
    for (&addr, _) in shadow.live.iter() {
        unsafe { lwmalloc::free(addr as *mut u8) };
    }
    prop_assert_eq!(lwmalloc::check_heap().err(), None);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_match_the_shadow_model(ops in prop::collection::vec(op(), 1..400)) {
        run(ops)?;
    }
}

#[test]
fn header_word_is_below_every_block() {
    // Small and large blocks alike carry exactly one word of overhead.
    for n in [1usize, 8, 24, 100, 248, 1000, 5000] {
        let p = unsafe { lwmalloc::malloc(n) };
        let usable = unsafe { lwmalloc::usable_size(p) };
        assert!(usable >= n && usable - n < 16 + 48, "n={n} usable={usable}");
        assert_eq!(p as usize % ALIGN, 0);
        unsafe { lwmalloc::free(p) };
    }
    assert_eq!(lwmalloc::check_heap().err(), None);
}
