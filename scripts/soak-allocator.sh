#!/usr/bin/env bash
# The allocator's soak: the seeded random-sequence run of
# allocator/tests/random_sequences.rs (threads that allocate every kind of
# block, resize them, free each other's, and exit in generations, with the
# heap validator at every checkpoint) made long. Not part of the test
# command, which runs the same test briefly.
#
# Usage: scripts/soak-allocator.sh [MINUTES]   (default 10)
#
# Environment:
#   LWM_SEQUENCE_OPS  operations per thread per generation (default 100000)
#   SEEDS_PER_ROUND   seeds per test run (default 4)
# Each round takes the next seeds, so a longer soak covers new sequences;
# a failing round prints its seeds, and
#   LWM_SEQUENCE_SEEDS=<seeds> cargo test --release -p lwmalloc --test random_sequences
# replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
ops=${LWM_SEQUENCE_OPS:-100000}
per_round=${SEEDS_PER_ROUND:-4}
cargo test --release --locked -p lwmalloc --test random_sequences --no-run
deadline=$(( $(date +%s) + minutes * 60 ))
next=1000
rounds=0
while [ "$(date +%s)" -lt "$deadline" ]; do
    seeds=$(seq -s, "$next" $(( next + per_round - 1 )))
    next=$(( next + per_round ))
    if ! LWM_SEQUENCE_OPS=$ops LWM_SEQUENCE_SEEDS=$seeds \
        cargo test --release --locked -q -p lwmalloc --test random_sequences; then
        echo "soak-allocator: FAILED with seeds $seeds ($ops operations per thread)" >&2
        exit 1
    fi
    rounds=$(( rounds + 1 ))
done
echo "soak-allocator: $rounds rounds, seeds 1000-$(( next - 1 )), $ops operations per thread: no failure"
