#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian/Ubuntu with Rust:
# installs what it needs, builds everything in release mode (the tests
# load target/release/liblwmalloc.so), runs every test, then builds every
# board target, gates it and runs the allocator's tests under qemu-user.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/setup-cross.sh
cargo build --release --workspace --locked
cargo test --release --workspace --locked
scripts/test-cross.sh
