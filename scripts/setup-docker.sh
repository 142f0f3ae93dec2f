#!/usr/bin/env bash
# Installs what the Docker part of the kit needs beyond scripts/setup.sh:
# a Docker engine that scripts/docker-engine.sh starts by hand (no systemd
# needed), mmdebstrap to make the base images without any image registry,
# qemu-user-static + binfmt so the arm64 board container runs here, and
# ssh-keygen for the board's keys. Safe to run any number of times: it
# installs only what is missing and runs `apt-get update` only when it
# must install.
#
# It also makes sure the arm64 binfmt entry has the F ("fix binary") flag:
# the kernel then opens the static qemu when the entry is registered, so
# arm64 programs run inside containers, whose root filesystems have no
# /usr/libexec/qemu-binfmt of their own.
set -euo pipefail

packages=(
  docker.io containerd runc iptables   # the engine (dockerd starts its own containerd)
  mmdebstrap arch-test                 # base images: mmdebstrap | docker import
  qemu-user-static binfmt-support      # arm64 containers (and mmdebstrap's arm64 scripts)
  openssh-client                       # ssh-keygen: the board image's host key, the kit's key
)

# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup-docker "${packages[@]}"

binfmt=/proc/sys/fs/binfmt_misc
[ -d "$binfmt" ] || { echo "setup-docker: no $binfmt: this kernel cannot run arm64 containers" >&2; exit 2; }
[ -e "$binfmt/register" ] ||
  "${sudo_cmd[@]}" mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null ||
  { echo "setup-docker: cannot mount binfmt_misc at $binfmt" >&2; exit 2; }
"${sudo_cmd[@]}" update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

# Debian's qemu-user-static registers qemu-aarch64 with flags "PF"; a
# qemu-user (dynamic) registration, or one made by hand, may lack F. Then
# register the static interpreter again, with F.
entry=$binfmt/qemu-aarch64
flags=$(sed -n 's/^flags: //p' "$entry" 2>/dev/null || true)
if [ ! -e "$entry" ] || ! grep -q '^enabled' "$entry" || [[ $flags != *F* ]]; then
  interpreter=/usr/libexec/qemu-binfmt/aarch64-binfmt-P   # Debian's static qemu, argv[0]-preserving
  [ -x "$interpreter" ] || { echo "setup-docker: $interpreter missing (qemu-user-static)" >&2; exit 2; }
  [ -e "$entry" ] && echo -1 | "${sudo_cmd[@]}" tee "$entry" >/dev/null
  magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
  mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
  printf ':qemu-aarch64:M::%s:%s:%s:PF\n' "$magic" "$mask" "$interpreter" |
    "${sudo_cmd[@]}" tee "$binfmt/register" >/dev/null
  echo "setup-docker: registered qemu-aarch64 with the F flag"
fi
grep -q '^flags: .*F' "$entry" ||
  { echo "setup-docker: qemu-aarch64 binfmt entry has no F flag; arm64 containers cannot run" >&2; exit 2; }
echo "setup-docker: docker, mmdebstrap and arm64 binfmt (flags $(sed -n 's/^flags: //p' "$entry")) ready"
