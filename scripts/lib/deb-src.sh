# shellcheck shell=bash
# Sourced by scripts/setup.sh: scripts/test-glibc-malloc.sh fetches the
# installed glibc's source with `apt-get source`, which needs source
# entries. When the machine has none, adds a deb-src copy of its binary
# entries and runs `apt-get update`; does nothing when any exists (also
# one added by hand), so running it again adds nothing.
#
#   enable_deb_src TAG   (TAG prefixes the messages; needs apt.sh's sudo_cmd)

# sudo_cmd is set by apt.sh, sourced first.
# shellcheck disable=SC2154
enable_deb_src() {
  local tag=$1 f
  local sources=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  for f in "${sources[@]}"; do
    [ -f "$f" ] || continue
    if grep -qE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' "$f"; then
      echo "$tag: deb-src entries present ($f)"
      return
    fi
  done
  # deb822 (Debian 12, Ubuntu 24.04): the distribution's own file, every
  # stanza turned into a source one. One-line format (older machines):
  # each `deb` line as a `deb-src` line.
  local deb822="" list=/etc/apt/sources.list
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/ubuntu.sources; do
    [ -f "$f" ] && deb822=$f && break
  done
  if [ -n "$deb822" ]; then
    echo "$tag: adding deb-src entries from $deb822"
    sed -E 's/^Types:.*/Types: deb-src/' "$deb822" |
      "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/lwm-deb-src.sources >/dev/null
  elif [ -f "$list" ] && grep -qE '^[[:space:]]*deb[[:space:]]' "$list"; then
    echo "$tag: adding deb-src entries from $list"
    sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$list" |
      "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/lwm-deb-src.list >/dev/null
  else
    echo "$tag: no apt source entries found to copy; glibc's malloc tests will not find glibc's source" >&2
    return
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq
}
