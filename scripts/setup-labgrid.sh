#!/usr/bin/env bash
# Installs labgrid (the lab engine `lwm` can take boards from: a `[labgrid]`
# profile or `--board labgrid:PLACE`) from PyPI at the pinned version into a
# virtual environment of its own, made with Debian's python3 and
# python3-venv:
#
#   ${XDG_CACHE_HOME:-~/.cache}/lwm/labgrid/venv/
#
# `lwm` finds labgrid's Python there (or where LWM_LABGRID_PYTHON says),
# and the labgrid tools (labgrid-client, -coordinator, -exporter) are in
# its bin/. Safe to run any number of times: it installs only when the
# venv is missing or holds another labgrid version, and prints the venv's
# bin directory on its last line.
set -euo pipefail

# The labgrid release the kit is tested with (orchestrator/tests/labgrid_board.rs).
LABGRID_VERSION=26.0.1

# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup-labgrid python3 python3-venv

cache=${XDG_CACHE_HOME:-$HOME/.cache}/lwm/labgrid
venv=$cache/venv
py=$venv/bin/python3

installed() {
  "$py" -c 'import importlib.metadata as m; print(m.version("labgrid"))' 2>/dev/null || true
}

if [ "$(installed)" != "$LABGRID_VERSION" ]; then
  echo "setup-labgrid: installing labgrid $LABGRID_VERSION from PyPI into $venv"
  rm -rf "$venv"
  mkdir -p "$cache"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "labgrid==$LABGRID_VERSION"
  if [ "$(installed)" != "$LABGRID_VERSION" ]; then
    echo "setup-labgrid: labgrid $LABGRID_VERSION did not install into $venv" >&2
    exit 1
  fi
else
  echo "setup-labgrid: labgrid $LABGRID_VERSION present in $venv"
fi
echo "$venv/bin"
