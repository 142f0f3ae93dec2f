#!/usr/bin/env bash
# The emulated-board part of the README test command (called by
# scripts/test.sh after the cross tests): installs QEMU and the image tools
# (scripts/setup-qemu.sh), builds the images of qemu-pi4 and qemu-pizero
# when they are not cached yet (both at once: each is mostly single-threaded
# mmdebstrap under qemu-user), then boots them for real:
#  1. orchestrator/tests/vm_boot.rs: both VMs answer SSH with the image's
#     host key under the strict policy; a VM that never answers or a QEMU
#     that refuses its command line fails in time and is stopped;
#  2. orchestrator/tests/vm_eval.rs: `lwm eval --board qemu-pizero --board
#     qemu-pi4` end to end (one report, lwmalloc against glibc on both),
#     Ctrl-C then --resume (with users' own programs on qemu-pi4: python3
#     and sqlite3 from a --suite file, the stdout check and
#     check_output = false), and a board failing after boot; QEMU is gone
#     after each;
#  3. orchestrator/tests/vm_qualify.rs: `lwm qualify --board qemu-pi4`
#     with the C-level conformance and threads-and-fork checks built for
#     aarch64 and run in the guest; the bundle verifies, QEMU is gone;
#  4. orchestrator/tests/vm_faults.rs: a guest that hangs while booting
#     (the boot watchdog kills and boots it again, then fails the board
#     with the console's last lines), a first boot frozen then a good one,
#     and a guest rebooted mid-campaign, then --resume.
# Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."

step_started=0
step() { step_started=$SECONDS; echo; echo "=== test-emulated: $*"; }
done_step() { echo "=== test-emulated: done in $((SECONDS - step_started)) s"; }
total_started=$SECONDS

scripts/setup-qemu.sh

step "images of qemu-pi4 and qemu-pizero (cached: nothing to do)"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=()
for image in qemu-pi4 qemu-pizero; do
  images/build.sh "$image" >"$logs/$image.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  image=$([ "$i" = 0 ] && echo qemu-pi4 || echo qemu-pizero)
  if ! wait "${pids[$i]}"; then
    echo "test-emulated: building image $image failed; its last lines:" >&2
    tail -n 20 "$logs/$image.log" >&2
    failed=1
  fi
done
[ "$failed" = 0 ]
tail -n 1 "$logs"/*.log
done_step

step "VMs boot and answer SSH (vm_boot)"
cargo test --profile test-release --locked --workspace --test vm_boot -- --ignored --test-threads=1
done_step

step "lwm eval on the emulated boards (vm_eval)"
cargo test --profile test-release --locked --workspace --test vm_eval -- --ignored --test-threads=1 --nocapture
done_step

step "lwm qualify on qemu-pi4: the C-level checks cross-built and run in the guest (vm_qualify)"
cargo test --profile test-release --locked --workspace --test vm_qualify -- --ignored --test-threads=1 --nocapture
done_step

step "faults of the emulated boards: boot watchdog, a guest rebooted mid-campaign (vm_faults)"
cargo test --profile test-release --locked --workspace --test vm_faults -- --ignored --test-threads=1 --nocapture
done_step

echo
echo "=== test-emulated: all done in $((SECONDS - total_started)) s"
