//! Counters for `LWM_STATS` and `lwm_get_stats`, a leaf that every layer
//! may count into (stats.rs reads them all). Per-thread counters are
//! plain loads and stores by their owner (no atomic read-modify-write on
//! the fast path); readers sum them racily, which is exact whenever no
//! other thread is allocating. On 32-bit targets counters wrap at 2^32.

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Which call a counter counts.
#[derive(Clone, Copy)]
pub enum Call {
    Malloc = 0,
    Free = 1,
    Realloc = 2,
    Calloc = 3,
    Aligned = 4,
}

pub struct Counters {
    calls: [AtomicUsize; 5],
    /// Usable bytes of heap and mapped chunks handed out and taken back;
    /// live = allocated - freed (wrapping: one thread may free what another
    /// allocated). Small blocks are not counted here but by their pages.
    allocated: AtomicUsize,
    freed: AtomicUsize,
}

impl Counters {
    pub const fn new() -> Self {
        Counters {
            calls: [const { AtomicUsize::new(0) }; 5],
            allocated: AtomicUsize::new(0),
            freed: AtomicUsize::new(0),
        }
    }

    /// Owner-only update: a plain load and store.
    #[inline(always)]
    pub fn call(&self, call: Call) {
        add_owned(&self.calls[call as usize], 1);
    }

    #[inline(always)]
    pub fn allocated(&self, bytes: usize) {
        add_owned(&self.allocated, bytes);
    }

    #[inline(always)]
    pub fn freed(&self, bytes: usize) {
        add_owned(&self.freed, bytes);
    }

    /// Moves these counts into the process-wide ones (thread exit).
    pub fn retire(&self) {
        for (mine, shared) in self.calls.iter().zip(SHARED.calls.iter()) {
            shared.fetch_add(mine.swap(0, Relaxed), Relaxed);
        }
        SHARED
            .allocated
            .fetch_add(self.allocated.swap(0, Relaxed), Relaxed);
        SHARED.freed.fetch_add(self.freed.swap(0, Relaxed), Relaxed);
    }

    pub fn add_to(&self, t: &mut Totals) {
        for (total, c) in t.calls.iter_mut().zip(self.calls.iter()) {
            *total = total.wrapping_add(c.load(Relaxed) as u64);
        }
        t.allocated = t.allocated.wrapping_add(self.allocated.load(Relaxed));
        t.freed = t.freed.wrapping_add(self.freed.load(Relaxed));
    }
}

#[inline(always)]
fn add_owned(counter: &AtomicUsize, n: usize) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Counts of exited threads and of calls made without a thread cache.
static SHARED: Counters = Counters::new();

/// Counts a call made without a thread cache (any thread, so atomically).
pub fn shared_call(call: Call, allocated: usize, freed: usize) {
    SHARED.calls[call as usize].fetch_add(1, Relaxed);
    SHARED.allocated.fetch_add(allocated, Relaxed);
    SHARED.freed.fetch_add(freed, Relaxed);
}

/// Small blocks taken back from remote lists (`Page::collect`): they
/// leave their page's used count, and were counted as freed already.
pub fn collected(bytes: usize) {
    SHARED.allocated.fetch_add(bytes, Relaxed);
}

static MAPPED: AtomicUsize = AtomicUsize::new(0);
static PEAK_MAPPED: AtomicUsize = AtomicUsize::new(0);
static RETURNED: AtomicUsize = AtomicUsize::new(0);

pub fn mapped(bytes: usize) {
    let now = MAPPED.fetch_add(bytes, Relaxed) + bytes;
    PEAK_MAPPED.fetch_max(now, Relaxed);
}

pub fn unmapped(bytes: usize) {
    MAPPED.fetch_sub(bytes, Relaxed);
}

pub fn returned(bytes: usize) {
    RETURNED.fetch_add(bytes, Relaxed);
}

/// A snapshot of every counter.
#[derive(Default, Clone, Copy, Debug)]
pub struct Totals {
    pub calls: [u64; 5],
    pub allocated: usize,
    pub freed: usize,
    pub mapped: u64,
    pub peak_mapped: u64,
    pub returned: u64,
    /// Bytes of heap regions and segments, and of the parts of them that
    /// hold nothing (free heap chunks, segment pages not in use).
    pub heap: u64,
    pub free_heap: u64,
}

impl Totals {
    pub fn calls(&self, call: Call) -> u64 {
        self.calls[call as usize]
    }

    pub fn live(&self) -> u64 {
        self.allocated.wrapping_sub(self.freed) as u64
    }

    /// Share of heap-region bytes sitting in free chunks, in tenths of a percent.
    pub fn fragmentation_permille(&self) -> u32 {
        // Scaled to 22 bits so that 32-bit division does (see fmt.rs).
        let (mut free, mut heap) = (self.free_heap.min(self.heap), self.heap);
        while heap >= 1 << 22 {
            free >>= 1;
            heap >>= 1;
        }
        if heap == 0 {
            0
        } else {
            crate::config::div(free as usize * 1000, heap as usize) as u32
        }
    }
}

/// Adds the process-wide counters (exited threads, calls without a thread
/// cache, mappings) into `t`.
pub fn add_shared_to(t: &mut Totals) {
    SHARED.add_to(t);
    t.mapped = MAPPED.load(Relaxed) as u64;
    t.peak_mapped = PEAK_MAPPED.load(Relaxed) as u64;
    t.returned = RETURNED.load(Relaxed) as u64;
}
