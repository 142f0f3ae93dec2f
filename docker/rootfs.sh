#!/usr/bin/env bash
# Makes a base image without any registry: a Debian root filesystem by
# mmdebstrap (minbase, plus PACKAGES), streamed as a tarball into
# `docker import`. Called by build.sh for a recipe with rootfs.conf; part
# of those images' hash.
#
#   rootfs.sh ARCH SUITE PACKAGES TAG      (PACKAGES comma-separated, may be empty)
set -euo pipefail
arch=$1 suite=$2 packages=$3 tag=$4
# Documentation and locales are left out: no board or build reads them.
# apt's lists are dropped: a Dockerfile that installs runs `apt-get update`.
mmdebstrap --quiet --variant=minbase --arch="$arch" \
  ${packages:+--include="$packages"} \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  "$suite" - |
  docker import --platform "linux/$arch" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$tag" >/dev/null
