#!/usr/bin/env bash
# The Docker part of the test suite (needs root, like dockerd):
#  1. installs what it needs (scripts/setup-docker.sh; scripts/setup-cross.sh
#     for the aarch64 build lwm pushes to the board container);
#  2. uses the Docker engine that answers, or starts one
#     (scripts/docker-engine.sh) and stops it again at the end;
#  3. builds the images when missing (docker/build.sh: the arm64 board and
#     the ARMv6 cross image; minutes from nothing, seconds when cached);
#  4. runs orchestrator/tests/docker_board.rs: `lwm eval` on the
#     docker-arm64 board (both allocators ran, memory marked not
#     representative, no container left), a failing campaign and a killed
#     lwm leaving no container, orphans of a dead lwm removed, and the
#     ARMv6 cross image building the board packages that pass the gate.
# Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."

step_started=0
step() { step_started=$SECONDS; echo; echo "=== test-docker: $*"; }
done_step() { echo "=== test-docker: done in $((SECONDS - step_started)) s"; }
total_started=$SECONDS

step "setup (Debian packages, binfmt)"
scripts/setup-docker.sh
scripts/setup-cross.sh
done_step

step "Docker engine"
engine=$(scripts/docker-engine.sh start --report)
DOCKER_HOST=${engine#* }
export DOCKER_HOST
if [ "${engine%% *}" = started ]; then
  # Stop the engine this script started, however the script ends.
  trap 'scripts/docker-engine.sh stop' EXIT
fi
echo "test-docker: engine ${engine%% *} on $DOCKER_HOST"
done_step

for image in board-arm64 cross-arm-unknown-linux-gnueabihf; do
  step "image $image"
  dir=$(docker/build.sh "$image")
  echo "test-docker: $(cat "$dir/image") (built in $(cat "$dir/build.seconds") s)"
  done_step
done

step "orchestrator/tests/docker_board.rs"
# (gate_dir checks a build made elsewhere and needs its own settings.)
cargo test --profile test-release --locked --workspace --test docker_board -- --ignored --test-threads 1 \
  --skip the_build_in_lwm_gate_dir
done_step

leftover=$(docker ps --all --quiet --filter label=lwm.owner-pid | wc -l)
[ "$leftover" -eq 0 ] || { echo "test-docker: $leftover lwm container(s) left behind" >&2; exit 1; }
echo
echo "=== test-docker: all done in $((SECONDS - total_started)) s"
