#!/usr/bin/env bash
# Installs what cross-building and emulated testing need beyond
# scripts/setup.sh: Debian's cross gcc + libc dev packages for aarch64,
# armhf (ARMv7 and, with stand-in start files, ARMv6 hard-float) and armel
# (the ARMv6 soft-float twin), qemu-user (+ static binaries and binfmt
# registration), and from rustup the std of the targets that have one plus
# rust-src for -Zbuild-std on the ARMv6 targets. Safe to run any number of
# times: it installs only what is missing and runs `apt-get update` only
# when it must install.
set -euo pipefail

packages=(
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross      # aarch64 (Pi 4, Jetson Orin Nano)
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross    # armv7 and ARMv6 hard-float (Pi Zero W)
  gcc-arm-linux-gnueabi libc6-dev-armel-cross      # ARMv6 soft-float twin (armel)
  binutils-aarch64-linux-gnu binutils-arm-linux-gnueabihf binutils-arm-linux-gnueabi
  qemu-user qemu-user-static binfmt-support        # running the tests under emulation
)

# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup-cross "${packages[@]}"

# binfmt lets users run foreign binaries directly; the tests never rely on
# it (they name qemu explicitly), and a container may forbid registering it.
if command -v update-binfmts >/dev/null && [ -d /proc/sys/fs/binfmt_misc ]; then
  "${sudo_cmd[@]}" update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  "${sudo_cmd[@]}" update-binfmts --enable qemu-arm >/dev/null 2>&1 || true
fi

# Rust: the toolchain that builds the workspace, with std for the targets
# rustup ships and the library sources for the ARMv6 ones (-Zbuild-std).
rust_targets=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
installed_targets=$(rustup target list --installed)
for t in "${rust_targets[@]}"; do
  grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
done
rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
echo "setup-cross: rust targets ${rust_targets[*]} and rust-src present"
