#!/usr/bin/env bash
# Boots an emulated board by hand (lwm does this itself for `lwm eval`):
# builds the image if missing, starts QEMU in the background with the
# guest's sshd on 127.0.0.1:PORT, waits for SSH and prints how to log in.
#
#   images/boot.sh NAME PORT STATE_DIR    e.g. images/boot.sh qemu-pi4 10022 /tmp/pi4
#
# STATE_DIR receives console.log, qemu.stderr, qemu.pid and known_hosts.
# Stop with: kill "$(cat STATE_DIR/qemu.pid)"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: images/boot.sh NAME PORT STATE_DIR}
port=${2:?usage: images/boot.sh NAME PORT STATE_DIR}
state=${3:?usage: images/boot.sh NAME PORT STATE_DIR}
mkdir -p "$state"
state=$(cd "$state" && pwd)
image=$("$here/build.sh" "$name")
key=$(dirname "$image")/kit_ed25519
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$image/ssh_host_ed25519_key.pub")" >"$state/known_hosts"

args=()
while IFS= read -r line; do
  case $line in '' | '#'*) continue ;; esac
  line=${line//@IMAGE@/$image}
  line=${line//@PORT@/$port}
  line=${line//@CONSOLE@/$state/console.log}
  args+=("$line")
done <"$here/$name/boot.args"

start=$(date +%s.%N)
"${args[@]}" </dev/null >/dev/null 2>"$state/qemu.stderr" &
echo $! >"$state/qemu.pid"
ssh_cmd=(ssh -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes
  -o UserKnownHostsFile="$state/known_hosts" -i "$key" -p "$port" root@127.0.0.1)
for _ in $(seq 1 300); do
  kill -0 "$(cat "$state/qemu.pid")" 2>/dev/null ||
    { echo "boot: QEMU exited: $(tail -n 3 "$state/qemu.stderr")" >&2; exit 1; }
  if "${ssh_cmd[@]}" true 2>/dev/null; then
    printf 'boot: %s answers SSH after %.1f s\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)"
    echo "boot: ${ssh_cmd[*]}"
    exit 0
  fi
  sleep 1
done
echo "boot: $name did not answer SSH; console: $(tail -n 3 "$state/console.log")" >&2
exit 1
