#!/usr/bin/env bash
# A local cluster on loopback: Azurite (membership, grain state and reminders of the Orleans silos, and the
# blob store unless --blob folder), a coordinator silo and N worker silos, each `salient serve`. Pids, logs
# and connection details go to DIR.
#   deploy/cluster.sh start|stop|status [--workers N] [--dir DIR] [--port N] [--blob azurite|folder]
#                     [--models "a;b;any"] [--salient PATH/salient.dll] [--api-key KEY]
#   deploy/cluster.sh restart NAME [--dir DIR]   # one process (coordinator, worker1...), as it was started
# --models gives each worker's --models, ';'-separated (worker i takes item i, the last repeats).
# Ports from --port P: P the coordinator's HTTP API, P+1 its silo port, P+2..P+4 Azurite (blob, queue,
# table), P+5 the coordinator's gateway; worker i (at most 9): HTTP P+10+i, silo P+20+i, gateway P+30+i.
# Extra settings pass through the environment: SALIENT_LEASE_SECONDS, SALIENT_RETRY_BACKOFF_SECONDS,
# SALIENT_DRAIN_SECONDS, SALIENT_WORKER_TOKEN.
# DIR/env holds SALIENT_COORDINATOR, SALIENT_API_KEY, SALIENT_STORAGE and SALIENT_BLOB for `source`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { echo "usage: $0 start|stop|status [--workers N] [--dir DIR] [--port N] [--blob azurite|folder] [--models LIST] [--salient DLL] [--api-key KEY]" >&2
  echo "       $0 restart NAME [--dir DIR]   (NAME: coordinator, worker1, ...)" >&2; exit 1; }
[ $# -ge 1 ] || usage
command=$1; shift
target=""
if [ "$command" = restart ]; then [ $# -ge 1 ] || usage; target=$1; shift; fi
workers=2 dir=${TMPDIR:-/tmp}/salient-cluster port=8080 blob=folder models=any api_key="" salient=""
while [ $# -gt 0 ]; do
  case $1 in
    --workers) [ $# -ge 2 ] || usage; workers=$2; shift 2 ;;
    --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || usage; port=$2; shift 2 ;;
    --blob) [ $# -ge 2 ] || usage; blob=$2; shift 2 ;;
    --models) [ $# -ge 2 ] || usage; models=$2; shift 2 ;;
    --salient) [ $# -ge 2 ] || usage; salient=$2; shift 2 ;;
    --api-key) [ $# -ge 2 ] || usage; api_key=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ "$workers" =~ ^[0-9]+$ ]] && [ "$workers" -le 9 ] || { echo "cluster: --workers must be a number from 0 to 9" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
salient=${salient:-$here/../src/Salient.Cli/bin/Release/net10.0/salient.dll}

azurite_port=$((port + 2))
# Azurite's development account, with this cluster's ports (UseDevelopmentStorage=true would mean 10000-10002).
account_key=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
storage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$account_key;BlobEndpoint=http://127.0.0.1:$azurite_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$((azurite_port + 1))/devstoreaccount1;TableEndpoint=http://127.0.0.1:$((azurite_port + 2))/devstoreaccount1"

start_process() { # name, then the serve arguments; `restart NAME` reuses them from DIR/NAME.args
  local name=$1; shift
  printf '%s\0' "$salient" "$@" >"$dir/$name.args"
  nohup dotnet "$salient" serve "$@" >>"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
}

wait_ready() { # url, name
  for _ in $(seq 1 120); do
    curl -sf -o /dev/null --max-time 2 "$1/readyz" && return 0
    kill -0 "$(cat "$dir/$2.pid")" 2>/dev/null || { echo "cluster: $2 exited; $dir/$2.log says:" >&2; tail -20 "$dir/$2.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "cluster: $2 not ready after 60 s; see $dir/$2.log" >&2; exit 1
}

stop_process() {
  local pidfile=$dir/$1.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
}

case $command in
  start)
    [ -f "$salient" ] || { echo "cluster: $salient is missing: dotnet build src/Salient.Cli -c Release" >&2; exit 1; }
    bash "$here/azurite.sh" start --dir "$dir/azurite" --port "$azurite_port" >&2
    if [ "$blob" = azurite ]; then
      store="$storage;Container=salient"
    else
      mkdir -p "$dir/blobs"
      store=$dir/blobs
    fi
    export SALIENT_API_KEYS=$api_key
    url=http://127.0.0.1:$port
    start_process coordinator --role coordinator --storage "$storage" --blob "$store" --listen "$url" \
      --silo-port $((port + 1)) --gateway-port $((port + 5))
    wait_ready "$url" coordinator
    IFS=';' read -r -a pins <<<"$models"
    for i in $(seq 1 "$workers"); do
      pin=${pins[$((i - 1))]:-${pins[-1]}}
      worker_url=http://127.0.0.1:$((port + 10 + i))
      start_process "worker$i" --role worker --storage "$storage" --blob "$store" --listen "$worker_url" --models "$pin" \
        --name "worker$i" --model-cache "$dir/models" --silo-port $((port + 20 + i)) --gateway-port $((port + 30 + i))
      echo "$worker_url" >"$dir/worker$i.url"
    done
    for i in $(seq 1 "$workers"); do wait_ready "$(cat "$dir/worker$i.url")" "worker$i"; done
    printf 'SALIENT_COORDINATOR=%q\nSALIENT_API_KEY=%q\nSALIENT_STORAGE=%q\nSALIENT_BLOB=%q\n' "$url" "$api_key" "$storage" "$store" >"$dir/env"
    echo "cluster: coordinator $url, $workers workers; source $dir/env" >&2
    cat "$dir/env"
    ;;
  stop)
    for pidfile in "$dir"/worker*.pid; do [ -f "$pidfile" ] && stop_process "$(basename "$pidfile" .pid)"; done
    stop_process coordinator
    [ -d "$dir/azurite" ] && bash "$here/azurite.sh" stop --dir "$dir/azurite" --port "$azurite_port" >&2 || true
    echo "cluster: stopped" >&2
    ;;
  restart)
    # Stops one process (SIGTERM: a worker drains, a coordinator ends its streams) and starts it again
    # with the arguments it was started with; its log continues in DIR/NAME.log.
    [ -f "$dir/$target.args" ] || { echo "cluster: no process '$target' in $dir (coordinator, worker1, ...)" >&2; exit 1; }
    mapfile -d '' args <"$dir/$target.args"
    salient=${args[0]}; args=("${args[@]:1}")
    export SALIENT_API_KEYS
    SALIENT_API_KEYS=$(. "$dir/env" && echo "$SALIENT_API_KEY")
    stop_process "$target"
    start_process "$target" "${args[@]}"
    for i in "${!args[@]}"; do [ "${args[$i]}" = --listen ] && listen=${args[$((i + 1))]}; done
    wait_ready "$listen" "$target"
    echo "cluster: $target restarted (pid $(cat "$dir/$target.pid"))" >&2
    ;;
  status)
    for pidfile in "$dir"/*.pid; do
      [ -f "$pidfile" ] || continue
      name=$(basename "$pidfile" .pid)
      if kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "$name: running (pid $(cat "$pidfile"))"; else echo "$name: not running"; fi
    done
    [ -f "$dir/env" ] && cat "$dir/env"
    ;;
  *) usage ;;
esac
