#!/usr/bin/env bash
# Stops the servers that up.sh started in DIR. Tolerates servers that are already dead
# or were never started; leaves DIR (data and logs) in place.
#
# usage: down.sh DIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/servers/lib.sh
source "$here/lib.sh"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
[[ -d $1 ]] || exit 0
dir=$(cd "$1" && pwd)

stop_postgres() {
  local data=$dir/pg/data pid
  [[ -f $data/postmaster.pid ]] || return 0
  pid=$(head -n 1 "$data/postmaster.pid")
  sluice_pid_matches "$pid" "$data" || return 0
  local pg_bin
  pg_bin=$(sluice_pg_bindir)
  local stop=("$pg_bin/pg_ctl" -D "$data" stop -m fast -w -t 30)
  if ((EUID == 0)); then
    stop=(runuser -u postgres -- "${stop[@]}")
  fi
  if ! (cd "$dir/pg" && "${stop[@]}") >"$dir/pg/pg_ctl_stop.log" 2>&1; then
    sluice_log "postgres did not stop cleanly; killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

stop_mariadb() {
  local pidfile pid
  for pidfile in "$dir/mysql/mariadbd.pid" "$dir/mysql/mariadbd.launch.pid"; do
    [[ -f $pidfile ]] || continue
    pid=$(head -n 1 "$pidfile")
    if sluice_pid_matches "$pid" "$dir/mysql"; then
      sluice_stop_pid "$pid" 30
    fi
  done
}

stop_broker() {
  local pid
  [[ -f $dir/kafka/broker.pid ]] || return 0
  pid=$(head -n 1 "$dir/kafka/broker.pid")
  if sluice_pid_matches "$pid" "$dir/kafka"; then
    sluice_stop_pid "$pid" 10
  fi
}

stop_postgres &
pg_job=$!
stop_mariadb &
my_job=$!
stop_broker &
kafka_job=$!
status=0
wait "$pg_job" || status=1
wait "$my_job" || status=1
wait "$kafka_job" || status=1
rm -f "$dir/servers.env"
sluice_log "stopped servers in $dir"
exit "$status"
