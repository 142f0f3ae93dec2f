//! lwmalloc: LWMalloc's ideas (one-word headers and deferred coalescing
//! for heap chunks, O(1) small-block pools) in an allocator that real
//! programs can load; small blocks now have no header at all.
//!
//! Layers, bottom first; each uses only the ones listed before it
//! (tests/layers.rs fails on any import that points the other way):
//! - `config`, `fmt`, `os`, `tls`, `lock`: layout constants, a line
//!   formatter, system calls, the one TLS word, a futex mutex;
//! - `header`, `bins`: encodings of heap-chunk headers and size bins;
//! - `counters`: the statistics counters, a leaf every layer counts into;
//! - `page`: a small page, its free lists and its lock-free remote list;
//! - `large`: blocks with a mapping of their own;
//! - `segment`: aligned segments of small pages, the map of them, free and
//!   abandoned pages;
//! - `arena`, `heap`: locked heaps of chunks with one-word headers and
//!   deferred coalescing (LWMalloc's), for blocks above 1 KiB;
//! - `small`: a thread's small pages per size class; `shared`: the small
//!   heap of threads without one;
//! - `thread`: per-thread slots found through the TLS word;
//! - `init`: one-time set-up and the fork handlers;
//! - `api`: the C semantics; `stats`: snapshots and the report line;
//!   `global`: the Rust `GlobalAlloc`.
//!
//! The crate is `no_std` and never allocates from the system itself.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
// `x % d != 0` and `(n + d - 1) / d` stay as written: on the fast paths and
// in the ARMv6 build the byte count is pinned (docs/footprint.md), and the
// library methods these lints suggest add a divisor-zero branch where the
// divisor is not a constant. (The lints arrived with Rust 1.9x; the
// project's checks are the tests, not clippy.)
#![allow(clippy::manual_is_multiple_of, clippy::manual_div_ceil)]

mod arena;
mod bins;
pub mod config;
mod counters;
mod fmt;
mod global;
mod header;
mod heap;
mod init;
mod large;
mod lock;
mod os;
mod page;
mod segment;
mod shared;
mod small;
pub mod stats;
mod thread;
mod tls;

pub mod api;

pub use api::{
    calloc, check_heap, free, malloc, memalign, posix_memalign, pvalloc, realloc, reallocarray,
    usable_size, valloc,
};
pub use fmt::Line;
pub use global::LwMalloc;
pub use init::ensure as initialise;
/// System calls the preload library needs too: made directly, so they
/// neither touch errno nor add imports.
pub use os::{close, copy_fd, getpid, open_append, write_fd, write_stderr};
pub use stats::{snapshot, summary_line, Totals};
