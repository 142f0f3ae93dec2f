//! The C-level test suite of liblwmalloc.so, one test binary (one link of
//! the LTO release profile instead of one per file), split by concern into
//! modules. See ../README.md.

// Shared with the other test targets of this crate, hence outside this dir.
#[path = "../common/mod.rs"]
mod common;

mod bench_fastpath;
mod c_api;
mod exit_report;
mod footprint;
mod memory_return;
mod misuse;
mod real_programs;
mod regressions;
mod stress;
