#!/usr/bin/env bash
# A Docker engine for the kit, without systemd.
#
#   scripts/docker-engine.sh start    use the engine that answers, or start one
#   scripts/docker-engine.sh start --report   the same, printing `running HOST`
#                                     or `started HOST` (lwm stops what it started)
#   scripts/docker-engine.sh stop     stop the engine this script started
#   scripts/docker-engine.sh status   say which engine answers, if any
#   scripts/docker-engine.sh host     print the DOCKER_HOST to use (fails if none answers)
#
# `start` and `host` print one line on stdout: the DOCKER_HOST value that
# reaches the engine (pass it to docker as `-H` or in DOCKER_HOST).
#
# An engine that already answers `docker info` (the system's, or the one
# DOCKER_HOST names) is used as it is and never stopped by this script.
# Otherwise `start` runs dockerd with its own socket, pidfile, exec-root
# and data-root under ${XDG_CACHE_HOME:-~/.cache}/lwm/docker, so images
# persist from one run to the next on this machine, and records that it
# started it; `stop` stops only that engine, and only when none of its
# containers still runs (another lwm may be using it; --force stops it
# anyway). Needs root (dockerd) and scripts/setup-docker.sh.
set -euo pipefail

state=${XDG_CACHE_HOME:-$HOME/.cache}/lwm/docker
sock=$state/engine/docker.sock
pidfile=$state/engine/dockerd.pid
log=$state/engine/dockerd.log
own_host=unix://$sock

die() { echo "docker-engine: $*" >&2; exit 1; }

answers() { timeout 20 docker ${1:+-H "$1"} info >/dev/null 2>&1; }

# The pid of the dockerd this script started, if it still runs.
own_pid() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    grep -q dockerd "/proc/$pid/comm" 2>/dev/null && echo "$pid"
}

# DOCKER_HOST of an engine that answers: ours first (so a run that
# started it keeps using it), then whatever the environment points at.
answering_host() {
  if own_pid >/dev/null && answers "$own_host"; then
    echo "$own_host"
  elif answers ""; then
    echo "${DOCKER_HOST:-unix:///var/run/docker.sock}"
  else
    return 1
  fi
}

start() {
  local how=
  [ "${1:-}" = --report ] && how="started "
  command -v docker >/dev/null || die "no docker client (run scripts/setup-docker.sh)"
  local host
  if host=$(answering_host); then
    echo "${how:+running }$host"
    return 0
  fi
  export PATH=$PATH:/usr/sbin:/sbin
  command -v dockerd >/dev/null || die "no engine answers and dockerd is not installed (run scripts/setup-docker.sh)"
  [ "$(id -u)" -eq 0 ] || die "no engine answers and starting dockerd needs root"
  mkdir -p "$state/engine" "$state/data" "$state/exec"
  # A pidfile left by an engine that died must not stop dockerd starting.
  own_pid >/dev/null || rm -f "$pidfile" "$sock"
  # Its own session: a Ctrl-C in the terminal that started it does not
  # reach it; `stop` ends it.
  setsid dockerd \
    --host "$own_host" \
    --pidfile "$pidfile" \
    --data-root "$state/data" \
    --exec-root "$state/exec" \
    --group "$(id -g)" \
    >>"$log" 2>&1 </dev/null &
  local started=$SECONDS
  until answers "$own_host"; do
    if ! kill -0 $! 2>/dev/null; then
      die "dockerd exited at start: $(grep -v '^\s*$' "$log" | tail -n 1) (log: $log)"
    fi
    ((SECONDS - started < 60)) || die "dockerd did not answer within 60 s (log: $log)"
    sleep 0.3
  done
  echo "docker-engine: started dockerd (pid $(cat "$pidfile"), data in $state/data)" >&2
  echo "$how$own_host"
}

stop() {
  local pid force=${1:-}
  pid=$(own_pid) || { echo "docker-engine: no engine started by this script runs; nothing to stop" >&2; return 0; }
  if [ "$force" != --force ]; then
    local running
    running=$(docker -H "$own_host" ps -q 2>/dev/null | wc -l)
    if [ "$running" -gt 0 ]; then
      echo "docker-engine: dockerd (pid $pid) still runs $running container(s); left running (stop --force to stop it anyway)" >&2
      return 0
    fi
  fi
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    ((waited < 150)) || { kill -KILL "$pid" 2>/dev/null || true; break; }
    sleep 0.2
    waited=$((waited + 1))
  done
  rm -f "$pidfile"
  echo "docker-engine: stopped dockerd (pid $pid)" >&2
}

status() {
  local host
  if host=$(answering_host); then
    if [ "$host" = "$own_host" ]; then
      echo "docker-engine: dockerd started by this script answers on $host (pid $(own_pid))"
    else
      echo "docker-engine: an engine not started by this script answers on $host"
    fi
  else
    echo "docker-engine: no engine answers"
    return 3
  fi
}

case ${1:-} in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  status) status ;;
  host) answering_host || die "no engine answers (scripts/docker-engine.sh start)" ;;
  *) echo "usage: scripts/docker-engine.sh start [--report]|stop [--force]|status|host" >&2; exit 2 ;;
esac
