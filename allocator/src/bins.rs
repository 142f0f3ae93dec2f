//! Size bins of free heap chunks: four per power of two, so a chunk found in
//! a bin above the request's always fits (good fit in O(1) via the bitmap).

use crate::config::NUM_BINS;

/// Bin of a free chunk of `size` bytes (`size >= 16`).
#[inline]
pub const fn index(size: usize) -> usize {
    let e = usize::BITS - 1 - size.leading_zeros();
    if e > 27 {
        return NUM_BINS - 1;
    }
    ((e as usize - 4) << 2) | ((size >> (e - 2)) & 3)
}

/// First non-empty bin at or after `from`, if any.
#[inline]
pub fn first_set(map: &[u32], from: usize) -> Option<usize> {
    let mut word = from / 32;
    if word >= map.len() {
        return None;
    }
    let mut bits = map[word] & (u32::MAX << (from % 32));
    loop {
        if bits != 0 {
            return Some(word * 32 + bits.trailing_zeros() as usize);
        }
        word += 1;
        if word == map.len() {
            return None;
        }
        bits = map[word];
    }
}

const _: () = assert!(index(16) == 0 && index(32) == 4 && index(48) == 6);
const _: () = assert!(index(64) == 8 && index(80) == 9 && index(96) == 10 && index(112) == 11);
const _: () = assert!(index((1 << 28) - 16) == NUM_BINS - 1 && index(1 << 28) == NUM_BINS - 1);
const _: () = assert!(index((1 << 27) + (1 << 26)) == NUM_BINS - 2);
