# Shared steps of the emulated-board image recipes. Sourced by build.sh;
# a recipe (images/NAME/recipe.sh) sets the variables below and defines
# `finish_image OUT WORK KVER` for what differs between boards.
#
#   ARCH          Debian architecture of the guest (arm64, armel)
#   SUITE         Debian suite (bookworm)
#   KERNEL_META   Debian kernel metapackage whose dependency is the kernel
#   MODULES       kernel modules the guest needs before sshd can answer
#   PACKAGES      extra Debian packages in the root filesystem
#
# How to run an image is images/NAME/boot.args (QEMU command line).
#
# Invariants of a finished image directory (written last: `complete`):
#   vmlinuz, initrd.img   kernel and the whole root filesystem as initramfs
#   ssh_host_ed25519_key.pub   the guest's only host key, made on this host
#   board.dtb             (raspi0 only) the patched device tree
#   recipe.sha256         the key the directory is named by
set -euo pipefail

# Everything in the root filesystem that a board never reads.
lwm_dpkg_excludes=(
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
)

log() { echo "lwm-image: $*" >&2; }

# The root filesystem by mmdebstrap, plus the kernel package (downloaded,
# never installed: its initramfs hook would run for many minutes under
# qemu-user) into WORK/debs.
make_rootfs() {
  local work=$1
  mkdir -p "$work/debs"
  LWM_KERNEL_META=$KERNEL_META LWM_DEB_DIR=$work/debs \
    mmdebstrap --quiet --variant=essential --arch="$ARCH" \
      --include="openssh-server,busybox-static,${PACKAGES}" \
      "${lwm_dpkg_excludes[@]}" \
      --customize-hook="$LWM_IMAGES_DIR/guest/fetch-kernel.sh" \
      "$SUITE" "$work/rootfs"
}

# Unpacks the kernel package into WORK/kernel and prints its version.
unpack_kernel() {
  local work=$1 deb kver
  deb=$(ls "$work"/debs/linux-image-*.deb)
  dpkg-deb -x "$deb" "$work/kernel"
  kver=$(ls "$work/kernel/lib/modules")
  depmod -b "$work/kernel" "$kver"
  echo "$kver"
}

# Copies MODULES (and what they depend on) into the root filesystem and
# writes /etc/lwm/modules, the insmod order the guest's init follows.
install_modules() {
  local work=$1 kver=$2 m line path
  local list=$work/rootfs/etc/lwm/modules
  mkdir -p "$work/rootfs/etc/lwm"
  : >"$list"
  for m in $MODULES; do
    modprobe -d "$work/kernel" -S "$kver" --show-depends "$m" >"$work/deps" ||
      { log "kernel $kver has no module $m"; return 1; }
    while read -r line; do
      case $line in
        builtin*) continue ;;
        insmod*) path=${line#insmod "$work/kernel"} ; path=${path%% *} ;;
        *) continue ;;
      esac
      grep -qx "$path" "$list" && continue
      mkdir -p "$work/rootfs$(dirname "$path")"
      cp "$work/kernel$path" "$work/rootfs$path"
      echo "$path" >>"$list"
    done <"$work/deps"
  done
  # busybox insmod takes plain .ko files only.
  while read -r path; do
    case $path in
      *.ko.xz) xz -d "$work/rootfs$path" ;;
      *.ko.zst) zstd -q -d --rm "$work/rootfs$path" ;;
    esac
  done <"$list"
  sed -i -e 's/\.ko\.xz$/.ko/' -e 's/\.ko\.zst$/.ko/' "$list"
}

# The guest's only host key is made here, so its fingerprint is known
# before the first connection; the kit's user key may log in as root.
install_ssh() {
  local work=$1 out=$2 user_pub=$3
  local root=$work/rootfs
  rm -f "$root"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C "lwm-$IMAGE_NAME" -f "$root/etc/ssh/ssh_host_ed25519_key"
  cp "$root/etc/ssh/ssh_host_ed25519_key.pub" "$out/ssh_host_ed25519_key.pub"
  cat >"$root/etc/ssh/sshd_config.d/lwm.conf" <<CONF
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
UseDNS no
CONF
  install -d -m 700 "$root/root/.ssh"
  install -m 600 "$user_pub" "$root/root/.ssh/authorized_keys"
}

# busybox init as PID 1: it mounts, loads the modules, brings the network
# up with QEMU's user-mode addresses, keeps sshd running and reaps orphans.
install_init() {
  local work=$1 root=$1/rootfs
  install -m 755 "$LWM_IMAGES_DIR/guest/rc" "$root/etc/lwm/rc"
  install -m 644 "$LWM_IMAGES_DIR/guest/inittab" "$root/etc/inittab"
  ln -sf /bin/busybox "$root/init"
  echo "$IMAGE_NAME" >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$IMAGE_NAME" >"$root/etc/hosts"
}

# The whole root filesystem as a gzip'd newc initramfs.
pack_initramfs() {
  local work=$1 out=$2
  (cd "$work/rootfs" && find . -xdev -print0 | cpio --quiet -o -0 -H newc) | gzip -6 >"$out/initrd.img"
}
