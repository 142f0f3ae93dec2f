#!/usr/bin/env bash
# Builds (when missing) the image of an emulated board and prints its
# directory. The directory is named by a hash of everything that shapes
# the image: this script, lib.sh, guest/*, the board's recipe directory
# (except boot.args, which says how to run the image, not what is in it)
# and the kit's public key, so editing a recipe builds a new image and
# an unchanged recipe is never rebuilt.
#
#   images/build.sh NAME            e.g. qemu-pi4, qemu-pizero
#   images/build.sh --key NAME      only print the directory it would use
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/lwm/images/NAME-<hash>/ and the kit's
# user key ${...}/lwm/images/kit_ed25519 (made once, injected into every
# image as root's authorized key).
set -euo pipefail
LWM_IMAGES_DIR=$(cd "$(dirname "$0")" && pwd)
export LWM_IMAGES_DIR

key_only=false
[ "${1:-}" = "--key" ] && { key_only=true; shift; }
IMAGE_NAME=${1:?usage: images/build.sh [--key] NAME}
recipe_dir=$LWM_IMAGES_DIR/$IMAGE_NAME
[ -f "$recipe_dir/recipe.sh" ] || { echo "lwm-image: no recipe $recipe_dir/recipe.sh" >&2; exit 2; }

cache=${XDG_CACHE_HOME:-$HOME/.cache}/lwm/images
mkdir -p "$cache"
user_key=$cache/kit_ed25519
if [ ! -f "$user_key" ]; then
  ssh-keygen -q -t ed25519 -N '' -C lwm-kit -f "$user_key.tmp.$$"
  mv "$user_key.tmp.$$.pub" "$user_key.pub"
  mv "$user_key.tmp.$$" "$user_key"
fi

hash=$(
  cd "$LWM_IMAGES_DIR"
  { find build.sh lib.sh guest "$IMAGE_NAME" -type f ! -name boot.args | LC_ALL=C sort | xargs sha256sum; cat "$user_key.pub"; } |
    sha256sum | cut -c1-16
)
out=$cache/$IMAGE_NAME-$hash
if $key_only || [ -f "$out/complete" ]; then
  echo "$out"
  exit 0
fi

export PATH=$PATH:/usr/sbin:/sbin
for tool in mmdebstrap fdtput depmod modprobe cpio gzip ssh-keygen dpkg-deb; do
  command -v "$tool" >/dev/null ||
    { echo "lwm-image: \`$tool\` not found (run scripts/setup-qemu.sh)" >&2; exit 2; }
done

# shellcheck source=images/lib.sh
. "$LWM_IMAGES_DIR/lib.sh"
# shellcheck disable=SC1090
. "$recipe_dir/recipe.sh"

work=$(mktemp -d "$cache/.build-$IMAGE_NAME.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/out
mkdir -p "$stage"
start=$(date +%s)
log "building $IMAGE_NAME ($ARCH, $SUITE) into $out"
make_rootfs "$work"
kver=$(unpack_kernel "$work")
log "kernel $kver"
install_modules "$work" "$kver"
install_ssh "$work" "$stage" "$user_key.pub"
install_init "$work"
finish_image "$stage" "$work" "$kver"
pack_initramfs "$work" "$stage"
echo "$hash" >"$stage/recipe.sha256"
echo "$kver" >"$stage/kernel.version"
echo "$(($(date +%s) - start))" >"$stage/build.seconds"
touch "$stage/complete"
# Another build of the same key may have finished first: keep that one.
mv -T "$stage" "$out" 2>/dev/null || [ -f "$out/complete" ]
log "built $IMAGE_NAME in $(($(date +%s) - start)) s"
echo "$out"
