#!/bin/sh
# Makes the container's only SSH host key on the host, at image build,
# into the build context (copied into the image, then deleted with the
# context) and keeps its public half beside the image (OUT), where lwm
# reads it into a known_hosts file: the connection is checked strictly,
# without a prompt and without trusting whatever answers.
#
#   prepare.sh CONTEXT OUT
set -eu
context=$1 out=$2
ssh-keygen -q -t ed25519 -N '' -C lwm-board-arm64 -f "$context/ssh_host_ed25519_key"
cp "$context/ssh_host_ed25519_key.pub" "$out/ssh_host_ed25519_key.pub"
