#!/usr/bin/env bash
# The cross part of the README test command (called by scripts/test.sh
# after the host tests; needs scripts/setup-cross.sh to have run):
#  1. `lwm build` for every target (ARMv6 hard- and soft-float, aarch64,
#     armv7, host), the instruction-set gate on every artifact and the 20 KB
#     footprint budget: orchestrator/tests/build_targets.rs;
#  2. the allocator's test suite under qemu-user on aarch64 (Cortex-A72)
#     and ARMv6 (-cpu arm1176, the soft-float twin; armv7 on request, see
#     LWM_CROSS_SUITE_TARGETS below): the lwmalloc
#     crate's tests (property, threads, global allocator) built for the
#     target, and the C-level suite of liblwmalloc.so (conformance, misuse,
#     stress, exit report, static link) run against the pushed library;
#  3. glibc's own malloc tests (scripts/test-glibc-malloc.sh) built with the
#     target's gcc and run, with and without the library, under qemu-user
#     (aarch64 and ARMv6).
# Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step_started=0
step() { step_started=$SECONDS; echo; echo "=== test-cross: $*"; }
done_step() { echo "=== test-cross: done in $((SECONDS - step_started)) s"; }
total_started=$SECONDS

step "build every target, gate every artifact, check the footprint"
cargo test --profile test-release --locked --workspace --test build_targets -- --ignored --nocapture --test-threads=1
done_step

# armv7 is built, gated and size-checked above but its suites do not run
# by default: 145 s for the 32-bit ARM code paths ARMv6 already runs.
# LWM_CROSS_SUITE_TARGETS="aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
# arm-unknown-linux-gnueabi" scripts/test-cross.sh runs all three.
for target in ${LWM_CROSS_SUITE_TARGETS:-aarch64-unknown-linux-gnu arm-unknown-linux-gnueabi}; do
  artifacts=$root/target/lwm-artifacts/$target
  (
    # The toolchain environment `lwm build` used, plus LWM_TARGET_RUNNER
    # (qemu-user with the CPU model and the target's libc).
    # shellcheck disable=SC1091
    source "$artifacts/build-env.sh"
    upper=$(echo "$target" | tr 'a-z-' 'A-Z_')
    export "CARGO_TARGET_${upper}_RUNNER=$LWM_TARGET_RUNNER"
    built=${CARGO_TARGET_DIR:-$root/target}/$target/release
    step "$target: lwmalloc crate tests under $LWM_TARGET_RUNNER"
    (
      # With rustup's std for the target: no build-std, no RUSTC_BOOTSTRAP;
      # else a target directory apart from the artifacts' build-std one.
      if [ "$LWM_TEST_STD" = rustup ]; then
        unset CARGO_TARGET_DIR RUSTC_BOOTSTRAP
      else
        export CARGO_TARGET_DIR=$LWM_TEST_TARGET_DIR
      fi
      # shellcheck disable=SC2086
      cargo test --release --locked --target "$target" $LWM_TEST_CARGO_ARGS -p lwmalloc --tests
    )
    done_step

    step "$target: C-level suite of liblwmalloc.so under $LWM_TARGET_RUNNER"
    # The harness runs on the host; the C programs are built with the
    # target's gcc and run, with the pushed library preloaded, by qemu-user.
    # Host-side build variables must not reach the host test build.
    unset CARGO_TARGET_DIR RUSTC_BOOTSTRAP
    export LWM_TEST_CC=$LWM_TARGET_CC LWM_TEST_RUNNER=$LWM_TARGET_RUNNER LWM_TEST_BINUTILS=$LWM_TARGET_BINUTILS
    LWM_LIB=$artifacts/liblwmalloc.so cargo test --profile test-release --locked --workspace --test c_level
    # Static linking needs liblwmalloc.a, which sits beside the built library.
    LWM_LIB=$built/liblwmalloc.so cargo test --profile test-release --locked --workspace --test static_link
    done_step

    # Not on armv7: about 6 minutes more (3 once no test hangs) for the
    # same 32-bit ARM code paths ARMv6 already runs.
    if [ "$target" != armv7-unknown-linux-gnueabihf ]; then
      step "$target: glibc's malloc tests under $LWM_TARGET_RUNNER"
      LWM_LIB=$artifacts/liblwmalloc.so scripts/test-glibc-malloc.sh
      done_step
    fi
  )
done
echo
echo "=== test-cross: all done in $((SECONDS - total_started)) s"
