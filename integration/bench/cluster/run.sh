#!/usr/bin/env bash
# Cluster mode (`sluice serve --cluster`) on one PostgreSQL and the test broker:
#  (a) failover: kill -9 of the worker that owns a PostgreSQL -> file connector under a steady
#      insert load, to the first new row the worker that took over appends to the target;
#      RUNS runs (default 10), p50 and p99, with the session timeout SESSION_MS (default 6000);
#  (b) throughput: 8 PostgreSQL -> file connectors snapshotting ROWS rows each (default 50000),
#      run by 1 worker and then by 3 workers (the same total load): rows/s.
# Records: failover as reference "session.timeout" (its seconds) against the p50/p99 (ratio > 1:
# faster than the timeout); throughput with 1 worker as the reference of 3 (ratio > 1: 3 faster).
# PARTS=failover or PARTS=throughput runs one half. Not part of `make test`; `make bench` runs it
# with the others.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
bench_init cluster

RUNS=${RUNS:-10}
SESSION_MS=${SESSION_MS:-6000}
ROWS=${ROWS:-50000}
PARTS=${PARTS:-failover,throughput}
export PGOPTIONS=--client-min-messages=warning
PARTITIONS=12

broker=$BENCH_BUILD/integration/broker/sluice_mock_broker
[[ -x $broker ]] || cmake --build "$BENCH_BUILD" --target sluice_mock_broker -j2 >/dev/null
bench_on_exit "'$BENCH_REPO/integration/servers/down.sh' '$BENCH_WORK/srv'"
"$BENCH_REPO/integration/servers/up.sh" "$BENCH_WORK/srv" "$broker" >&2
env_of() { grep "^$1=" "$BENCH_WORK/srv/servers.env" | cut -d= -f2-; }
PG_HOST=$(env_of SLUICE_TEST_PG_HOST) PG_PORT=$(env_of SLUICE_TEST_PG_PORT) PG_USER=$(env_of SLUICE_TEST_PG_USER)
KAFKA=$(env_of SLUICE_TEST_KAFKA_BOOTSTRAP) CONTROL=$(env_of SLUICE_TEST_KAFKA_CONTROL)
psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$@"; }

# The test broker has no CreateTopics: topics are made through its control socket.
create_topic() {
  python3 - "$CONTROL" "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(f"create {sys.argv[2]} {sys.argv[3]}\n".encode())
reply = s.makefile().readline().strip()
sys.exit(0 if reply == "ok" else f"creating topic {sys.argv[2]}: {reply or 'no reply'}")
PY
}
create_group() {
  create_topic "$1-configs" 1; create_topic "$1-offsets" 5; create_topic "$1-status" 3
  create_topic "$1-assignments" $PARTITIONS
}

declare -A WORKER_PID
start_worker() {  # group -> $STARTED_PORT (not in $(…): the pid must reach the exit trap)
  local group=$1 port dir
  port=$(bench_free_port); dir=$BENCH_WORK/w$port; mkdir -p "$dir"
  (cd "$dir" && exec "$BENCH_SLUICE" serve --listen "127.0.0.1:$port" --cluster \
     --cluster.bootstrap.servers "$KAFKA" --cluster.group.id "$group" \
     --cluster.assignments.partitions $PARTITIONS --cluster.session.timeout.ms "$SESSION_MS" \
     >"$dir/out.log" 2>&1) &
  WORKER_PID[$port]=$!
  bench_on_exit "kill -9 ${WORKER_PID[$port]}"
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "worker on $port did not start: $(tail -5 "$dir/out.log")" >&2; exit 1; }
  STARTED_PORT=$port
}
running_on() { curl -fs "http://127.0.0.1:$1/cluster" 2>/dev/null | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["running"]))' 2>/dev/null || true; }
connector_body() {  # name table out
  cat <<JSON
{"name": "$1", "config": {"connector.class": "postgres", "database.hostname": "$PG_HOST",
 "database.port": "$PG_PORT", "database.user": "$PG_USER", "database.dbname": "$DB",
 "table.include.list": "public.$2", "slot.name": "s_$1", "publication.name": "p_$1",
 "sink.type": "file", "sink.url": "$3", "sink.file.fsync": "false", "sink.batch.ms": "50"}}
JSON
}
lines_in() { if [[ -e $1 ]]; then find "$1" -type f -exec cat {} + 2>/dev/null | wc -l; else echo 0; fi; }
stop_workers() { local p; for p in "$@"; do kill "${WORKER_PID[$p]}" 2>/dev/null || true; done
                 for p in "$@"; do wait "${WORKER_PID[$p]}" 2>/dev/null || true; done; }

DB=bench_cluster
psql_db postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
if [[ ,$PARTS, == *,failover,* ]]; then
echo "== cluster: failover (kill -9 of the owner), $RUNS runs, session.timeout.ms=$SESSION_MS, load $(bench_load)"
latencies=()
for run in $(seq "$RUNS"); do
  group=bench-fo-$run-$$; create_group "$group"
  psql_db "$DB" -c "DROP TABLE IF EXISTS f; CREATE TABLE f (id int PRIMARY KEY, v text)"
  out=$BENCH_WORK/fo-$run; ports=()
  for _ in 1 2 3; do start_worker "$group"; ports+=("$STARTED_PORT"); done
  sleep 2
  connector_body "fo$run" f "$out" | curl -fs -X POST -H 'Content-Type: application/json' \
    --data-binary @- "http://127.0.0.1:${ports[0]}/connectors" >/dev/null
  (i=0; while :; do i=$((i + 1)); psql_db "$DB" -c "INSERT INTO f VALUES ($i, 'x')"; sleep 0.05; done) &
  loader=$!
  bench_on_exit "kill $loader"
  owner=
  for _ in $(seq 600); do
    for p in "${ports[@]}"; do [[ " $(running_on "$p") " == *" fo$run "* ]] && owner=$p; done
    [[ -n $owner ]] && (( $(lines_in "$out") > 20 )) && break; sleep 0.1
  done
  [[ -n $owner ]] || { echo "run $run: the connector never ran" >&2; exit 1; }
  kill -9 "${WORKER_PID[$owner]}"; t0=$(bench_now)
  sleep 0.3; before=$(lines_in "$out")
  for _ in $(seq 1200); do (( $(lines_in "$out") > before )) && break; sleep 0.05; done
  t1=$(bench_now)
  (( $(lines_in "$out") > before )) || { echo "run $run: no new row within 60 s" >&2; exit 1; }
  kill "$loader"; wait "$loader" 2>/dev/null || true
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  latencies+=("$s")
  echo "  run $run: ${s} s (load $(bench_load))"
  others=(); for p in "${ports[@]}"; do [[ $p == "$owner" ]] || others+=("$p"); done
  curl -fs -X DELETE "http://127.0.0.1:${others[0]}/connectors/fo$run" >/dev/null || true
  stop_workers "${others[@]}"
done
read -r p50 p99 < <(printf '%s\n' "${latencies[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  i50 = int(0.5 * NR + 0.999); i99 = int(0.99 * NR + 0.999); print v[i50 < 1 ? 1 : i50], v[i99] }')
echo "  failover to the first new row: p50 ${p50} s, p99 ${p99} s (session.timeout.ms=$SESSION_MS)"
session_s=$(awk -v m="$SESSION_MS" 'BEGIN { print m / 1000 }')
bench_record "cluster failover p50 (kill -9, $RUNS runs)" "session.timeout" "$session_s" "$p50" null 0
bench_record "cluster failover p99 (kill -9, $RUNS runs)" "session.timeout" "$session_s" "$p99" null 0
fi

if [[ ,$PARTS, == *,throughput,* ]]; then

echo "== cluster: 8 connectors x $ROWS rows, 1 worker vs 3 workers, load $(bench_load)"
for k in $(seq 0 7); do
  psql_db "$DB" -c "DROP TABLE IF EXISTS t$k; CREATE TABLE t$k (id int PRIMARY KEY, v text NOT NULL);
                    INSERT INTO t$k SELECT g, 'row ' || g FROM generate_series(1, $ROWS) g"
done
throughput() {  # workers -> $THROUGHPUT_S
  local n=$1 group=bench-tp-$1-$$ ports=() k t0 done_all
  create_group "$group"
  for _ in $(seq "$n"); do start_worker "$group"; ports+=("$STARTED_PORT"); done
  sleep 2; psql_db postgres -c CHECKPOINT >/dev/null; sync
  t0=$(bench_now)
  for k in $(seq 0 7); do
    connector_body "tp${n}_$k" "t$k" "$BENCH_WORK/tp$n-$k" | curl -fs -X POST \
      -H 'Content-Type: application/json' --data-binary @- \
      "http://127.0.0.1:${ports[$((k % n))]}/connectors" >/dev/null
  done
  for _ in $(seq 6000); do
    done_all=1
    for k in $(seq 0 7); do (( $(lines_in "$BENCH_WORK/tp$n-$k") >= ROWS )) || { done_all=0; break; }; done
    (( done_all )) && break; sleep 0.1
    if curl -fs "http://127.0.0.1:${ports[0]}/connectors?expand=status" | grep -q '"FAILED"'; then
      echo "$n worker(s): a connector FAILED; see $BENCH_WORK/w*/out.log" >&2; exit 1
    fi
  done
  (( done_all )) || { echo "$n worker(s): the snapshots did not finish in 600 s" >&2; exit 1; }
  THROUGHPUT_S=$(awk -v a="$t0" -v b="$(bench_now)" 'BEGIN { printf "%.2f", b - a }')
  for k in $(seq 0 7); do curl -fs -X DELETE "http://127.0.0.1:${ports[0]}/connectors/tp${n}_$k" >/dev/null || true; done
  stop_workers "${ports[@]}"
}
throughput 1; one=$THROUGHPUT_S; echo "  1 worker:  ${one} s, $(awk -v s="$one" -v r=$((8 * ROWS)) 'BEGIN { printf "%.0f", r / s }') rows/s (load $(bench_load))"
throughput 3; three=$THROUGHPUT_S; echo "  3 workers: ${three} s, $(awk -v s="$three" -v r=$((8 * ROWS)) 'BEGIN { printf "%.0f", r / s }') rows/s (load $(bench_load))"
bench_record "cluster 8 connectors, 3 workers vs 1" "1 worker" "$one" "$three" null $((8 * ROWS))
fi
echo "  uptime: $(uptime)"
