#!/usr/bin/env bash
# Installs, from Debian/Ubuntu packages, what the kit needs beyond Rust
# itself. Safe to run any number of times: it installs only what is
# missing, and runs `apt-get update` only when it must install.
#
#   scripts/setup.sh          everything the test suite needs
#   scripts/setup.sh --eval   only what `lwm eval` on this machine needs
#   scripts/setup.sh --bench  only what scripts/bench-fastpath.sh needs
set -euo pipefail

mode=${1:-}
case "$mode" in
  "" | --eval | --bench) ;;
  *)
    echo "setup: unknown option '$mode' (none, --eval or --bench)" >&2
    exit 2
    ;;
esac

eval_packages=(
  gcc libc6-dev                   # linker for Rust, cc for the bundled SQLite
  libssl-dev pkg-config           # the ssh2 crate (libssh2 with OpenSSL) in the orchestrator
  libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4   # allocators lwm eval compares against
)
test_packages=(
  binutils        # strip, nm, readelf for the footprint and symbol checks
  python3 perl    # real-program tests under LD_PRELOAD
  sqlite3         # lwm eval of a user command: the sqlite3 CLI (tests/eval_user_commands.rs)
  coreutils       # sort in the real-program tests, sha256sum in the agent tests
  openssh-server openssh-client   # the orchestrator's SSH tests run a real sshd on 127.0.0.1
  chromium                        # the HTML report is checked in headless Chromium
  libpython3.11-testsuite         # CPython's regression tests under the preload (test-cpython.sh)
  dpkg-dev        # apt-get source unpacks glibc's source for its malloc tests
)
bench_packages=(
  gcc libc6-dev     # the benchmark's C drivers
  valgrind          # callgrind counts the instructions
  libmimalloc2.0    # the allocator the fast path is measured against
)

case "$mode" in
  --eval) packages=("${eval_packages[@]}") ;;
  --bench) packages=("${bench_packages[@]}") ;;
  *) packages=("${eval_packages[@]}" "${test_packages[@]}") ;;
esac

# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"

# CPython's test suite must be the exact version of the interpreter: tests
# of one Debian revision can fail on another's stdlib. The suite depends on
# python3.11 only with ">=", and installing it alone would upgrade
# python3.11 but leave its -dev, -venv... packages behind, so every
# installed package built from the python3.11 source is installed at the
# suite's version in one apt call.
version_of() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }
match_cpython_testsuite() {
  local suite=libpython3.11-testsuite python suite_version version siblings
  python=$(version_of python3.11)
  suite_version=$(version_of "$suite")
  [ -n "$python" ] || return 0 # fresh machine: apt installs both at one version below
  [ "$python" = "$suite_version" ] && return 0
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq
  version=$(apt-cache policy "$suite" | awk '$1 == "Candidate:" { print $2 }')
  mapfile -t siblings < <(dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${source:Package}\n' |
    awk -F'|' -v suite="$suite" '$1 ~ /^ii/ && $3 == "python3.11" && $2 != suite { print $2 }')
  echo "setup: python3.11 $python, $suite ${suite_version:-missing}: installing both at $version"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${siblings[@]/%/=$version}" "$suite=$version"
  if [ "$(version_of python3.11)" != "$(version_of "$suite")" ]; then
    echo "setup: python3.11 $(version_of python3.11) but $suite $(version_of "$suite")" >&2
    exit 1
  fi
}
if [ -z "$mode" ]; then
  match_cpython_testsuite
  # shellcheck source=scripts/lib/deb-src.sh
  . "$(dirname "$0")/lib/deb-src.sh"
  enable_deb_src setup
fi
apt_install_missing setup "${packages[@]}"
