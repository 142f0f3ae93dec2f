#!/bin/sh
# mmdebstrap customize hook: downloads (does not install) the kernel that
# LWM_KERNEL_META depends on into LWM_DEB_DIR, using the guest's apt
# configuration from this host's apt, so the versions match the rootfs.
set -eu
export APT_CONFIG="$MMDEBSTRAP_APT_CONFIG"
pkg=$(apt-cache depends "$LWM_KERNEL_META" | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || { echo "fetch-kernel: $LWM_KERNEL_META names no kernel" >&2; exit 1; }
cd "$LWM_DEB_DIR"
apt-get download -q "$pkg"
