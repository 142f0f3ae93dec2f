#!/usr/bin/env bash
# Installs what the emulated boards need beyond scripts/setup.sh: QEMU
# system emulation (qemu-system-arm also carries qemu-system-aarch64),
# mmdebstrap with qemu-user-static + binfmt to build foreign Debian root
# filesystems, dtc/fdtput for the raspi0 device tree, and the tools that
# pack images (cpio, mkfs.ext4, ssh-keygen). Safe to run any number of
# times: it installs only what is missing and runs `apt-get update` only
# when it must install.
set -euo pipefail

packages=(
  qemu-system-arm                  # qemu-system-arm (raspi0) and qemu-system-aarch64 (virt)
  qemu-user-static binfmt-support  # mmdebstrap runs foreign maintainer scripts through binfmt
  mmdebstrap arch-test             # Debian root filesystems for arm64 and armel
  device-tree-compiler             # fdtput: the patched raspi0 device tree
  cpio xz-utils zstd               # initramfs packing, unpacking kernel modules
  kmod                             # depmod + modprobe --show-depends on the guest kernel's modules
  openssh-client                   # ssh-keygen for the guest host key and the kit's user key
)

# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup-qemu "${packages[@]}"

# mmdebstrap needs binfmt to run arm64/armel maintainer scripts.
if command -v update-binfmts >/dev/null && [ -d /proc/sys/fs/binfmt_misc ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] ||
    "${sudo_cmd[@]}" mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  "${sudo_cmd[@]}" update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  "${sudo_cmd[@]}" update-binfmts --enable qemu-arm >/dev/null 2>&1 || true
fi
