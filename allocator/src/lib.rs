//! lwmalloc: LWMalloc's ideas (one-word headers, deferred coalescing,
//! O(1) small-chunk pools) in an allocator that real programs can load.
//!
//! Layers, each using only the ones below it:
//! - `os`, `lock`, `fmt`: system calls, a futex mutex, a line formatter;
//! - `config`, `header`, `bins`: layout constants and encodings, checked at
//!   compile time;
//! - `heap` (regions, bins, deferred coalescing), `small` (pools),
//!   `large` (mapped blocks), under `arena` locks;
//! - `tls`, `thread`: one initial-exec TLS word per thread, naming the
//!   thread's cache slot;
//! - `api`: the C semantics; `global`: the Rust `GlobalAlloc`.
//!
//! The crate is `no_std` and never allocates from the system itself.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

mod arena;
mod bins;
pub mod config;
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
