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

# Each phase's wall time, printed as it ends and again as a table at the
# end (also when a phase fails), so a slow CI run says where it went.
timings=()
phase() {
  local started=$SECONDS status=0
  "$@" || status=$?
  timings+=("$(printf '%6d s  %s' $((SECONDS - started)) "$*")")
  echo "=== test.sh: $* took $((SECONDS - started)) s (exit $status)"
  return "$status"
}
report_timings() {
  echo "=== test.sh: phases"
  printf '%s\n' "${timings[@]}"
  echo "=== test.sh: total $SECONDS s"
}
trap report_timings EXIT

phase scripts/setup.sh
phase scripts/setup-labgrid.sh
phase scripts/setup-cross.sh
phase cargo build --release --workspace --locked
phase cargo test --profile test-release --workspace --locked --no-run
phase cargo test --profile test-release --workspace --locked
phase scripts/test-glibc-malloc.sh
phase scripts/test-cpython.sh
phase scripts/test-cross.sh
phase scripts/test-emulated.sh
phase scripts/test-docker.sh
