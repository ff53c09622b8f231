#!/usr/bin/env bash
# Starts, stops or reports a local Azurite on 127.0.0.1 (development storage account devstoreaccount1
# with its well-known key): the blob service on --port, the queue service on port + 1 and the table
# service (Orleans membership and reminders) on port + 2, as UseDevelopmentStorage=true expects at 10000.
#
#   deploy/azurite.sh start|stop|status [--dir DIR] [--port N]
#
#   --dir DIR   blob and table data, azurite.pid and azurite.log (default: out/azurite)
#   --port N    blob service port (default: 10000)
#
# `start` installs the npm package azurite into .tools/azurite when it is missing, then waits until the
# service answers. `start` on a running instance and `stop` on a stopped one succeed, so both are
# safe to repeat. `status` exits 0 when the instance answers, 3 when it is not running.
set -euo pipefail

# 3.35 is the last release that runs on Node 20 (3.36 and later need Node 22).
azurite_version=3.35.0
repo=$(cd "$(dirname "$0")/.." && pwd)
tools="$repo/.tools/azurite"

usage() { echo "usage: deploy/azurite.sh start|stop|status [--dir DIR] [--port N]" >&2; exit 1; }

[ $# -ge 1 ] || usage
command=$1
shift
dir="$repo/out/azurite"
port=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || usage; port=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ "$port" =~ ^[0-9]+$ ]] || { echo "azurite: --port must be a number, got '$port'" >&2; exit 1; }
pidfile="$dir/azurite.pid"
logfile="$dir/azurite.log"

running_pid() {
  local pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/devstoreaccount1?comp=list"; }

install() {
  [ -x "$tools/node_modules/.bin/azurite" ] && return 0
  command -v npm >/dev/null || { echo "azurite: npm is needed to install azurite" >&2; exit 1; }
  mkdir -p "$tools"
  # Concurrent starts (parallel test runs) must not install into the same folder at once.
  (
    flock 9
    if [ ! -x "$tools/node_modules/.bin/azurite" ]; then
      echo "azurite: installing azurite@$azurite_version into $tools" >&2
      npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >&2
    fi
  ) 9>"$tools/.install.lock"
}

start() {
  if pid=$(running_pid); then
    echo "azurite: already running (pid $pid, port $port)"
    return 0
  fi
  install
  mkdir -p "$dir"
  # Its own session, so the caller's process group ending does not take Azurite with it.
  setsid nohup "$tools/node_modules/.bin/azurite" --blobHost 127.0.0.1 --blobPort "$port" \
    --queueHost 127.0.0.1 --queuePort $((port + 1)) --tableHost 127.0.0.1 --tablePort $((port + 2)) \
    --location "$dir" --skipApiVersionCheck --loose --disableTelemetry >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers; then
      echo "azurite: listening on http://127.0.0.1:$port/devstoreaccount1 (pid $(cat "$pidfile"))"
      return 0
    fi
    if ! running_pid >/dev/null; then
      rm -f "$pidfile"
      echo "azurite: exited during start-up; $logfile says:" >&2
      tail -n 20 "$logfile" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "azurite: no answer on port $port after 60 s; see $logfile" >&2
  stop
  exit 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pidfile"
    echo "azurite: not running"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$pidfile"
  echo "azurite: stopped (pid $pid)"
}

status() {
  local pid
  if pid=$(running_pid) && answers; then
    echo "azurite: running (pid $pid, port $port)"
    return 0
  fi
  echo "azurite: not running"
  exit 3
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
