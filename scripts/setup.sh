#!/usr/bin/env bash
# Installs, from Debian/Ubuntu packages, what the kit needs beyond Rust
# itself. Safe to run any number of times: it installs only what is
# missing, and runs `apt-get update` only when it must install.
#
#   scripts/setup.sh          everything the test suite needs
#   scripts/setup.sh --eval   only what `lwm eval` on this machine needs
set -euo pipefail

eval_packages=(
  gcc libc6-dev                   # linker for Rust, cc for the bundled SQLite
  libssl-dev pkg-config           # the ssh2 crate (libssh2 with OpenSSL) in the orchestrator
  libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4   # allocators lwm eval compares against
)
test_packages=(
  binutils        # strip, nm, readelf for the footprint and symbol checks
  python3 perl    # real-program tests under LD_PRELOAD
  coreutils       # sort in the real-program tests, sha256sum in the agent tests
  openssh-server openssh-client   # the orchestrator's SSH tests run a real sshd on 127.0.0.1
  chromium                        # the HTML report is checked in headless Chromium
  dpkg-dev        # apt-get source unpacks glibc's source for its malloc tests
)

packages=("${eval_packages[@]}")
[ "${1:-}" = "--eval" ] || packages+=("${test_packages[@]}")

# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
if [ "${1:-}" != "--eval" ]; then
  # shellcheck source=scripts/lib/deb-src.sh
  . "$(dirname "$0")/lib/deb-src.sh"
  enable_deb_src setup
fi
apt_install_missing setup "${packages[@]}"
