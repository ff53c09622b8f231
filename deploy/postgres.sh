#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for local runs and tests.
#
#   deploy/postgres.sh start|stop|restart|status [--dir DIR] [--port N] [--db NAME]
#
# start   creates the cluster in DIR when it is not there (trust auth, loopback only, durability
#         off: the data is disposable), starts it, creates the database and prints its connection
#         string on the last line of stdout. Starting a running cluster only prints the string.
# stop    stops the cluster and removes DIR.
# restart stops and starts the running cluster, keeping its data (fault tests use it).
# status  prints the connection string and exits 0 when the cluster runs, exits 3 when it does not.
#
# PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` user,
# which owns DIR. Installs Debian's `postgresql` with apt when no server binaries are found.
set -euo pipefail

usage() { echo "usage: $0 start|stop|restart|status [--dir DIR] [--port N] [--db NAME]" >&2; exit 1; }

[ $# -ge 1 ] || usage
command=$1
shift
port=54329
db=salient
dir=""
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || usage; port=$2; shift 2 ;;
    --db) [ $# -ge 2 ] || usage; db=$2; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$dir" ] || dir="${TMPDIR:-/tmp}/salient-postgres-$port"
dir=$(realpath -m "$dir")
data="$dir/data"
# Marks a directory this script made, so that `stop` never removes anything else.
marker="$dir/.salient-postgres"
connection="Host=127.0.0.1;Port=$port;Username=postgres;Database=$db"

find_bin() {
  local candidate
  for candidate in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/pg_ctl" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

install_server() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "postgres.sh: need root or sudo to install postgresql" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "postgres.sh: installing postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

bin=$(find_bin) || { install_server; bin=$(find_bin); } || { echo "postgres.sh: no PostgreSQL server binaries after install" >&2; exit 1; }

# Runs a server command as the owner of the data: `postgres` when we are root, ourselves otherwise.
# The working directory is DIR so that the postgres user can always read it.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

running() { [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

ctl() { as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 "$@" >/dev/null; }

# As root the server runs as `postgres`, which must be able to enter every folder on the way to DIR.
check_reachable() {
  [ "$(id -u)" -eq 0 ] || return 0
  runuser -u postgres -- test -x "$dir" 2>/dev/null && return 0
  local blocked="" parent=$dir
  while [ "$parent" != / ]; do
    parent=$(dirname "$parent")
    runuser -u postgres -- test -x "$parent" 2>/dev/null || blocked=$parent
  done
  echo "postgres.sh: PostgreSQL runs as the 'postgres' user, which cannot enter ${blocked:-$dir} on the way to $dir." >&2
  echo "postgres.sh: give a --dir it can reach (e.g. under /tmp), or let it through: chmod o+x ${blocked:-$dir}" >&2
  rmdir "$dir" 2>/dev/null || true
  exit 1
}

start() {
  if ! [ -f "$data/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    check_reachable
    touch "$marker"
    [ "$(id -u)" -ne 0 ] || chown -R postgres: "$dir"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  if ! running; then
    ctl start || { cat "$dir/postgres.log" >&2; exit 1; }
  fi
  if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  fi
  echo "$connection"
}

case $command in
  start) start ;;
  stop)
    if running; then ctl stop -m fast; fi
    if [ -f "$marker" ]; then rm -rf "$dir"; fi
    ;;
  restart)
    running || { echo "postgres.sh: no cluster running in $dir" >&2; exit 1; }
    ctl restart -m fast
    echo "$connection"
    ;;
  status)
    if running; then echo "$connection"; else echo "postgres.sh: not running ($dir)" >&2; exit 3; fi
    ;;
  *) usage ;;
esac
