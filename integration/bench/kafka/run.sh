#!/usr/bin/env bash
# PostgreSQL -> Kafka benchmarks, each printed as a ratio against a reference measured in the
# same run:
#   snapshot:  Kafka sink fed by COPY (kafka_sink_bench: envelopes, idempotent acks=all producer,
#              every delivery report awaited) vs `psql COPY … TO STDOUT | kcat -P` (raw lines)
#              — goal >= 1.5x
#   sync:      `sluice sync` (PostgreSQL source -> Kafka sink, snapshot.mode=initial_only) vs
#              the same COPY | kcat -P reference — needs the PostgreSQL source
#   streaming: `sluice run` draining a backlog of ROWS updates from its slot into Kafka vs
#              `pg_recvlogical` draining the same backlog (pgoutput) to /dev/null — goal >= 0.9x;
#              needs the PostgreSQL source
# Usage: run.sh [ROWS]   (default 200000). Uses the servers of SLUICE_TEST_* when set, else
# starts its own with integration/servers/up.sh. BUILD: the build directory (default ./build).
set -euo pipefail
ROWS=${1:-200000}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BENCH=$BUILD/integration/bench/kafka/kafka_sink_bench
SLUICE=${SLUICE_BIN:-$BUILD/api/sluice}
WORK=$(mktemp -d /tmp/sluice-kafka-bench.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  [[ -n "${SLUICE_PID:-}" ]] && kill -9 "$SLUICE_PID" 2>/dev/null || true
  if [[ -n "${OWN_SERVERS:-}" ]]; then "$ROOT/integration/servers/down.sh" "$WORK/servers" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
if [[ -z "${SLUICE_TEST_KAFKA_BOOTSTRAP:-}" ]]; then
  OWN_SERVERS=1
  "$ROOT/integration/servers/up.sh" "$WORK/servers" >/dev/null
  set -a; . "$WORK/servers/servers.env"; set +a
fi
B=$SLUICE_TEST_KAFKA_BOOTSTRAP
export PGHOST=$SLUICE_TEST_PG_HOST PGPORT=$SLUICE_TEST_PG_PORT PGUSER=$SLUICE_TEST_PG_USER
DB=kbench_$$
P=kb$$
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# Messages now in a topic (sum of the partitions' end offsets).
count() {
  local args=() p
  for p in 0 1 2 3; do args+=(-t "$1:$p:-1"); done
  kcat -b "$B" -Q "${args[@]}" 2>/dev/null | awk '{ s += $NF } END { print s + 0 }'
}

psql -qX -d postgres -c "CREATE DATABASE $DB" >/dev/null
trap 'psql -qX -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; cleanup' EXIT
psql -qX -d "$DB" -c "CREATE TABLE t (id bigint PRIMARY KEY, name text, amount numeric(12,2), created timestamp);
  INSERT INTO t SELECT i, 'customer ' || i || ' with a longer name', (i * 1.25)::numeric(12,2),
  '2024-01-01'::timestamp + i * interval '1.5 second' FROM generate_series(1, $ROWS) i; ANALYZE t"
echo "rows: $ROWS"

# --- snapshot ---------------------------------------------------------------------------------
t0=$(now)
psql -qX -d "$DB" -c "COPY t TO STDOUT" | kcat -b "$B" -P -t "$P.ref"
t1=$(now)
ref_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
ref_rate=$(awk -v r="$ROWS" -v s="$ref_secs" 'BEGIN { printf "%.0f", r / s }')
read -r n secs rate < <("$BENCH" "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB" t "$B" "$P.snap")
echo "snapshot: COPY | kcat -P      $ref_rate rows/s (${ref_secs}s)"
echo "snapshot: kafka sink <- COPY  $rate rows/s (${secs}s, $n rows)   ratio $(ratio "$rate" "$ref_rate")x (goal >= 1.5x)"

# --- sluice sync and streaming: need the PostgreSQL source ------------------------------------
cfg() {  # cfg NAME PREFIX MODE
  cat <<JSON
{"name": "$1", "connector.class": "postgres", "database.hostname": "$PGHOST",
 "database.port": "$PGPORT", "database.user": "$PGUSER", "database.dbname": "$DB",
 "slot.name": "$1", "publication.name": "${P}_pub", "snapshot.mode": "$3",
 "topic.prefix": "$2", "sink.type": "kafka", "sink.kafka.bootstrap.servers": "$B",
 "sink.kafka.linger.ms": "20"}
JSON
}
cd "$WORK"
cfg "${P}_sync" "$P.sync" initial_only > sync.json
if ! "$SLUICE" validate sync.json > validate.log 2>&1 && grep -qi "unknown configuration key\|not implemented" validate.log; then
  echo "sync, streaming: skipped — this sluice binary has no PostgreSQL source yet ($(head -c 120 validate.log))"
  exit 0
fi
t0=$(now)
"$SLUICE" sync sync.json > sync.log 2>&1
t1=$(now)
got=$(count "$P.sync.public.t")
sync_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
sync_rate=$(awk -v r="$got" -v s="$sync_secs" 'BEGIN { printf "%.0f", r / s }')
echo "sync:     sluice sync PG->Kafka  $sync_rate rows/s (${sync_secs}s, $got messages)   ratio $(ratio "$sync_rate" "$ref_rate")x vs COPY | kcat -P"

# Streaming: both slots exist before the backlog; each drains the same WAL.
psql -qX -d "$DB" -c "CREATE PUBLICATION ${P}_pub FOR TABLE t" >/dev/null 2>&1 || true
psql -qX -d "$DB" -c "SELECT pg_create_logical_replication_slot('${P}_ref', 'pgoutput')" >/dev/null
cfg "${P}_stream" "$P.stream" never > stream.json
"$SLUICE" run stream.json > stream.log 2>&1 & SLUICE_PID=$!
sleep 3
kill -TERM "$SLUICE_PID"; wait "$SLUICE_PID" || true; SLUICE_PID=
for ((i = 0; i < 20; i++)); do
  psql -qX -d "$DB" -c "UPDATE t SET amount = amount + 1 WHERE id % 20 = $i" >/dev/null
done
END_LSN=$(psql -qXAt -d "$DB" -c "SELECT pg_current_wal_lsn()")
t0=$(now)
pg_recvlogical -d "$DB" --slot "${P}_ref" --start -E "$END_LSN" -o proto_version=1 \
  -o publication_names="${P}_pub" -f /dev/null
t1=$(now)
rl_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
t0=$(now)
"$SLUICE" run stream.json > stream2.log 2>&1 & SLUICE_PID=$!
while (( $(count "$P.stream.public.t") < ROWS )); do
  kill -0 "$SLUICE_PID" 2>/dev/null || { echo "sluice run exited:"; tail -5 stream2.log; exit 1; }
  sleep 0.05
done
t1=$(now)
kill -TERM "$SLUICE_PID"; wait "$SLUICE_PID" || true; SLUICE_PID=
st_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
echo "stream:   pg_recvlogical drain  $(awk -v r="$ROWS" -v s="$rl_secs" 'BEGIN { printf "%.0f", r / s }') changes/s (${rl_secs}s)"
echo "stream:   sluice run PG->Kafka  $(awk -v r="$ROWS" -v s="$st_secs" 'BEGIN { printf "%.0f", r / s }') changes/s (${st_secs}s)   ratio $(ratio "$rl_secs" "$st_secs")x (goal >= 0.9x)"
psql -qX -d "$DB" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '${P}_%'" >/dev/null 2>&1 || true
