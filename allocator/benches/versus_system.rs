//! lwmalloc against the system malloc (glibc) in one process, side by
//! side: each case runs both allocators alternately (A B A B ...) several
//! times and reports median nanoseconds per operation and the ratio.
//! `cargo bench -p lwmalloc` (add `-- --quick` for a short run, `-- WORD`
//! for the cases whose name contains WORD, `--once` for profiling).

use std::time::Instant;

type Malloc = unsafe fn(usize) -> *mut u8;
type Free = unsafe fn(*mut u8);
type Realloc = unsafe fn(*mut u8, usize) -> *mut u8;

#[derive(Clone, Copy)]
struct Allocator {
    name: &'static str,
    malloc: Malloc,
    free: Free,
    realloc: Realloc,
}

unsafe fn sys_malloc(n: usize) -> *mut u8 {
    unsafe { libc::malloc(n) as *mut u8 }
}
unsafe fn sys_free(p: *mut u8) {
    unsafe { libc::free(p as *mut libc::c_void) }
}
unsafe fn sys_realloc(p: *mut u8, n: usize) -> *mut u8 {
    unsafe { libc::realloc(p as *mut libc::c_void, n) as *mut u8 }
}

const SYSTEM: Allocator = Allocator {
    name: "system",
    malloc: sys_malloc,
    free: sys_free,
    realloc: sys_realloc,
};
const LWMALLOC: Allocator = Allocator {
    name: "lwmalloc",
    malloc: lwmalloc::malloc,
    free: lwmalloc::free,
    realloc: lwmalloc::realloc,
};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Replaces random slots of `live` blocks with new ones of `size(rng)`;
/// touches each block's first byte. Returns operations (malloc + free pairs).
fn churn(a: Allocator, ops: usize, live: usize, size: fn(&mut Rng) -> usize, seed: u64) -> usize {
    let mut rng = Rng(seed);
    let mut slots = vec![std::ptr::null_mut::<u8>(); live];
    unsafe {
        for s in slots.iter_mut() {
            *s = (a.malloc)(size(&mut rng));
            **s = 1;
        }
        for _ in 0..ops {
            let i = rng.next() as usize % live;
            (a.free)(slots[i]);
            let p = (a.malloc)(size(&mut rng));
            *p = 1;
            slots[i] = p;
        }
        for s in slots {
            (a.free)(s);
        }
    }
    ops
}

fn small(rng: &mut Rng) -> usize {
    16 + (rng.next() % 49) as usize
}

fn mixed(rng: &mut Rng) -> usize {
    // Log-uniform from 8 B to 16 KiB: most blocks small, some large.
    let shift = 3 + rng.next() % 12;
    (1usize << shift) + (rng.next() as usize & ((1 << shift) - 1))
}

/// Grows 64 buffers by 1.5x steps from 16 B to 256 KiB, then frees them.
fn realloc_growth(
    a: Allocator,
    rounds: usize,
    _live: usize,
    _s: fn(&mut Rng) -> usize,
    _seed: u64,
) -> usize {
    let mut ops = 0;
    unsafe {
        for _ in 0..rounds {
            let mut bufs = [std::ptr::null_mut::<u8>(); 64];
            let mut size = 16usize;
            while size < 256 * 1024 {
                for b in bufs.iter_mut() {
                    *b = (a.realloc)(*b, size);
                    *b.add(size - 1) = 1;
                    ops += 1;
                }
                size += size / 2;
            }
            for b in bufs {
                (a.free)(b);
            }
        }
    }
    ops
}

type Case = fn(Allocator, usize, usize, fn(&mut Rng) -> usize, u64) -> usize;
/// Name, body, operations, live blocks, size distribution.
type BenchCase = (&'static str, Case, usize, usize, fn(&mut Rng) -> usize);

/// Runs `case` on `threads` threads at once; returns ns per operation.
fn timed(
    a: Allocator,
    case: Case,
    threads: usize,
    work: usize,
    live: usize,
    size: fn(&mut Rng) -> usize,
) -> f64 {
    let start = Instant::now();
    let ops: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || case(a, work, live, size, 0x5eed + t as u64)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    start.elapsed().as_nanos() as f64 / (ops / threads) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let quick = args.iter().any(|a| a == "--quick");
    let once = args.iter().any(|a| a == "--once");
    let filter = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_default();
    let reps = if quick || once { 1 } else { 7 };
    let scale = if quick { 1 } else { 4 };
    let cases: [BenchCase; 3] = [
        (
            "small-object churn (16-64 B, 1000 live)",
            churn,
            500_000 * scale,
            1000,
            small,
        ),
        (
            "mixed sizes (8 B-16 KiB, 4096 live)",
            churn,
            200_000 * scale,
            4096,
            mixed,
        ),
        (
            "realloc growth (16 B -> 256 KiB, x1.5)",
            realloc_growth,
            10 * scale,
            0,
            small,
        ),
    ];
    println!(
        "{:<44} {:>7} {:>12} {:>12} {:>8}",
        "case", "threads", "system ns", "lwmalloc ns", "ratio"
    );
    let mut ratios = Vec::new();
    for (name, case, work, live, size) in cases {
        if !name.contains(filter.as_str()) {
            continue;
        }
        let work = if once { work / 10 } else { work };
        for threads in [1, 2] {
            let (mut sys, mut lwm) = (Vec::new(), Vec::new());
            // Warm both up once, then alternate so drift hits both alike.
            timed(SYSTEM, case, threads, work / 4, live, size);
            timed(LWMALLOC, case, threads, work / 4, live, size);
            for _ in 0..reps {
                sys.push(timed(SYSTEM, case, threads, work, live, size));
                lwm.push(timed(LWMALLOC, case, threads, work, live, size));
            }
            let (s, l) = (median(sys), median(lwm));
            ratios.push(l / s);
            println!(
                "{:<44} {:>7} {:>12.1} {:>12.1} {:>7.2}x",
                name,
                threads,
                s,
                l,
                l / s
            );
        }
    }
    let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
    println!(
        "geometric mean of time ratios (lwmalloc / {}): {:.2}x (below 1 = lwmalloc faster)",
        SYSTEM.name, geo
    );
    let _ = LWMALLOC.name;
}
