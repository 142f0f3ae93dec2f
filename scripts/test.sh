#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian/Ubuntu with Rust:
# installs what it needs, builds everything in release mode (the tests
# load target/release/liblwmalloc.so), runs every test, glibc's own malloc
# tests against the library (test-glibc-malloc.sh) and CPython's regression
# tests under the preload (test-cpython.sh), then builds every
# board target, gates it and runs the allocator's tests under qemu-user,
# then boots the emulated boards (QEMU system VMs, an arm64 Docker
# container) and runs `lwm eval` on them through SSH. labgrid (pinned,
# from PyPI, into its own venv: setup-labgrid.sh) is for
# orchestrator/tests/labgrid_board.rs, a real labgrid lab on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/setup-labgrid.sh
scripts/setup-cross.sh
cargo build --release --workspace --locked
cargo test --release --workspace --locked
scripts/test-glibc-malloc.sh
scripts/test-cpython.sh
scripts/test-cross.sh
scripts/test-emulated.sh
scripts/test-docker.sh
