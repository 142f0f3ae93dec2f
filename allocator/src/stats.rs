//! The statistics as a whole: a snapshot of every counter, of the arenas
//! and of the segments, and the `LWM_STATS` line. The top layer: it reads
//! every layer below, and nothing below reads it.

use core::sync::atomic::Ordering::Relaxed;

use crate::counters::{self};
pub use crate::counters::{Call, Totals};

/// Every counter now; racy, exact when no other thread allocates.
pub fn snapshot() -> Totals {
    let mut t = Totals::default();
    counters::add_shared_to(&mut t);
    crate::thread::sum_counters(&mut t);
    let (segments, pages_in_use, small_live) = crate::segment::footprint();
    t.allocated = t.allocated.wrapping_add(small_live);
    t.heap += segments as u64;
    t.free_heap += (segments - pages_in_use) as u64;
    for arena in &crate::arena::ARENAS {
        t.heap += arena.heap_bytes.load(Relaxed) as u64;
        t.free_heap = t
            .free_heap
            .wrapping_add(arena.free_bytes.load(Relaxed) as u64);
    }
    t
}

/// The `LWM_STATS` summary line.
pub fn summary_line(t: &Totals, pid: u64, out: &mut crate::fmt::Line) {
    let frag = t.fragmentation_permille();
    // Names in one string and values in one array: a table of (&str, u64)
    // pairs would cost a relocation per name in the shared library.
    const NAMES: &str = "pid malloc free realloc calloc aligned live mapped peak_mapped \
                         returned heap free_heap fragmentation";
    let whole = crate::config::div(frag as usize, 10);
    let values = [
        pid,
        t.calls(Call::Malloc),
        t.calls(Call::Free),
        t.calls(Call::Realloc),
        t.calls(Call::Calloc),
        t.calls(Call::Aligned),
        t.live(),
        t.mapped,
        t.peak_mapped,
        t.returned,
        t.heap,
        t.free_heap,
        whole as u64,
    ];
    out.str("lwmalloc:");
    let mut rest = NAMES.as_bytes();
    for value in values {
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        // SAFETY: NAMES is ASCII, cut at a space.
        out.field(
            unsafe { core::str::from_utf8_unchecked(&rest[..end]) },
            value,
        );
        rest = rest.get(end + 1..).unwrap_or(&[]);
    }
    out.str(".")
        .num((frag as usize - whole * 10) as u64)
        .str("%\n");
}
