#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian/Ubuntu with Rust:
# installs what it needs, builds everything in release mode (the tests
# load target/release/liblwmalloc.so), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo build --release --workspace --locked
cargo test --release --workspace --locked
