# Sourced by the scripts/setup*.sh scripts: installs Debian/Ubuntu packages
# that are missing, and runs `apt-get update` only when it must install.
#
#   apt_install_missing TAG PACKAGE...   (TAG prefixes the messages)
#
# Sets `sudo_cmd` (empty as root, else `sudo`) for the caller's own steps.

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

apt_install_missing() {
  local tag=$1 p
  shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "$tag: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "$tag: all packages present"
  fi
}
