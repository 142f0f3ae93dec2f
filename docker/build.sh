#!/usr/bin/env bash
# Builds (when missing) one of the kit's Docker images and prints its
# cache directory, whose file `image` holds the tag to run. No image
# registry is involved: base images are made with mmdebstrap and
# `docker import`, everything else is `docker build` FROM them.
#
#   docker/build.sh NAME          e.g. base-amd64, cross-aarch64-unknown-linux-gnu, board-arm64
#   docker/build.sh --key NAME    only print the directory it would use
#   docker/build.sh --all         build every image (prints nothing but progress)
#
# An image is tagged lwm/NAME:HASH, where HASH is a SHA-256 over
# everything in docker/NAME/, the files its `inputs` name, and either
# rootfs.sh (a base image) or the HASH of the image it is built FROM
# (docker/NAME/base). A changed recipe
# therefore builds a new image; an unchanged one is never rebuilt. The tag
# lwm/NAME:latest follows the newest build (Cross.toml names it).
#
# What a folder docker/NAME/ holds:
#   rootfs.conf   a base image: ARCH, SUITE, PACKAGES for rootfs.sh
#                 (mmdebstrap | docker import)
#   Dockerfile    any other image: built FROM ${BASE_IMAGE}, the image
#                 named in NAME/base, with docker/NAME/ as its context
#   inputs        (optional) more that shapes the image: paths relative to
#                 the workspace, copied into the context under the same
#                 path, and `kit-key`: the kit's public key
#   prepare.sh    (optional) run as `prepare.sh CONTEXT OUT` before the
#                 build (the board makes its host key there)
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/lwm/docker/images/NAME-HASH/ with
# `image` (the tag) and `complete`, `user_key` (path of the kit's private
# key) for an image that authorises it, and whatever prepare.sh keeps
# there (the board's ssh_host_ed25519_key.pub). The images themselves live in
# the engine (scripts/docker-engine.sh keeps its data beside this cache).
set -euo pipefail
docker_dir=$(cd "$(dirname "$0")" && pwd)
workspace=$(dirname "$docker_dir")
self=$docker_dir/build.sh

log() { echo "lwm-docker: $*" >&2; }
die() { log "$*"; exit 2; }

key_only=false
case ${1:-} in
  --key) key_only=true; shift ;;
  --all)
    for d in "$docker_dir"/*/; do
      name=$(basename "$d")
      [ -f "$d/Dockerfile" ] || [ -f "$d/rootfs.conf" ] || continue
      "$self" "$name" >/dev/null
    done
    exit 0
    ;;
esac
name=${1:?usage: docker/build.sh [--key] NAME | --all}
recipe=$docker_dir/$name
[ -f "$recipe/Dockerfile" ] || [ -f "$recipe/rootfs.conf" ] ||
  die "no image recipe $recipe/Dockerfile or $recipe/rootfs.conf (images: $(cd "$docker_dir" && ls -d */ | tr -d / | tr '\n' ' '))"

cache=${XDG_CACHE_HOME:-$HOME/.cache}/lwm
kit_key=$cache/images/kit_ed25519

# The kit's user key, shared with the VM images (images/build.sh makes it
# the same way): made once, authorised in every board image.
ensure_kit_key() {
  [ -f "$kit_key" ] && return 0
  mkdir -p "$(dirname "$kit_key")"
  ssh-keygen -q -t ed25519 -N '' -C lwm-kit -f "$kit_key.tmp.$$"
  mv "$kit_key.tmp.$$.pub" "$kit_key.pub"
  mv "$kit_key.tmp.$$" "$kit_key"
}

# The `inputs` lines of the recipe, comments and blanks dropped.
inputs() {
  [ -f "$recipe/inputs" ] || return 0
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$recipe/inputs"
}

base_name=
if [ -f "$recipe/Dockerfile" ]; then
  base_name=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$recipe/base" 2>/dev/null | head -n 1) ||
    true
  [ -n "$base_name" ] || die "$recipe/base must name the image this one is built FROM"
fi

hash=$(
  {
    # How a base image is made; the rest of this script only decides
    # when to build and is left out, so editing it rebuilds nothing.
    [ ! -f "$recipe/rootfs.conf" ] || sha256sum "$docker_dir/rootfs.sh" | cut -c1-64
    (cd "$recipe" && find . -type f | LC_ALL=C sort | xargs sha256sum)
    while read -r input; do
      if [ "$input" = kit-key ]; then
        ensure_kit_key
        cat "$kit_key.pub"
      else
        [ -e "$workspace/$input" ] || die "$recipe/inputs: no $workspace/$input"
        (cd "$workspace" && find "$input" -type f | LC_ALL=C sort | xargs sha256sum)
      fi
    done < <(inputs)
    # The base's hash, so a changed base rebuilds everything built on it.
    [ -z "$base_name" ] || basename "$("$self" --key "$base_name")"
  } | sha256sum | cut -c1-16
)
out=$cache/docker/images/$name-$hash
tag=lwm/$name:$hash
if $key_only; then
  echo "$out"
  exit 0
fi

DOCKER_HOST=$("$workspace/scripts/docker-engine.sh" start)
export DOCKER_HOST

present() { [ -f "$out/complete" ] && docker image inspect "$tag" >/dev/null 2>&1; }
if present; then
  echo "$out"
  exit 0
fi

# One build per image at a time; a second caller waits and then finds it.
mkdir -p "$cache/docker/images"
exec 9>"$cache/docker/images/.$name.lock"
flock 9
if present; then
  echo "$out"
  exit 0
fi

started=$SECONDS
work=$(mktemp -d "$cache/docker/images/.build-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/out
mkdir -p "$stage"

if [ -f "$recipe/rootfs.conf" ]; then
  ARCH= SUITE= PACKAGES=
  # shellcheck disable=SC1091
  . "$recipe/rootfs.conf"
  [ -n "$ARCH" ] && [ -n "$SUITE" ] || die "$recipe/rootfs.conf must set ARCH and SUITE"
  command -v mmdebstrap >/dev/null || die "mmdebstrap not found (run scripts/setup-docker.sh)"
  log "building $tag: mmdebstrap $SUITE $ARCH${PACKAGES:+ with $PACKAGES} | docker import"
  "$docker_dir/rootfs.sh" "$ARCH" "$SUITE" "$PACKAGES" "$tag"
else
  base_dir=$("$self" "$base_name")
  base_image=$(cat "$base_dir/image")
  context=$work/context
  cp -a "$recipe" "$context"
  while read -r input; do
    if [ "$input" = kit-key ]; then
      # The private half stays on the host; lwm reads its path here.
      cp "$kit_key.pub" "$context/kit_ed25519.pub"
      echo "$kit_key" >"$stage/user_key"
      continue
    fi
    mkdir -p "$context/$(dirname "$input")"
    cp -a "$workspace/$input" "$context/$input"
  done < <(inputs)
  [ -x "$recipe/prepare.sh" ] && "$recipe/prepare.sh" "$context" "$stage"
  log "building $tag FROM $base_image"
  # The legacy builder: buildx is not part of Debian's docker.io.
  DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$base_image" \
    --label "lwm.recipe=$name" --label "lwm.hash=$hash" \
    -t "$tag" "$context" >&2
fi
docker tag "$tag" "lwm/$name:latest"
echo "$tag" >"$stage/image"
echo "$hash" >"$stage/recipe.sha256"
echo "$((SECONDS - started))" >"$stage/build.seconds"
touch "$stage/complete"
rm -rf "$out"
mv -T "$stage" "$out"
log "built $tag in $((SECONDS - started)) s"
echo "$out"
