#!/usr/bin/env bash
# PostgreSQL -> Kafka benchmarks, set up the way users run them (integration/bench/lib.sh: the
# PostgreSQL source and the broker in separate server sets), each figure a ratio against a
# reference measured in the same run, best of ROUNDS rounds per side in rotating order:
#
#   sync:      `sluice sync` (PostgreSQL source -> Kafka sink, snapshot.mode=initial_only) vs
#              `kcat -P` producing the identical records — the same keys and the same envelope
#              bytes, pre-rendered to a file from a first sync's topic — to a fresh topic with the
#              same partitions, the same partitioner (murmur2, Java's), acks=all and idempotence,
#              as the Kafka sink produces. The reference never reads PostgreSQL nor encodes:
#              every advantage. Goal >= 0.9x. Record counts checked after every round.
#   streaming: `sluice run` draining a backlog of ROWS updates from its slot into Kafka vs
#              `pg_recvlogical` draining the same backlog (pgoutput) to /dev/null — goal >= 0.9x.
#
# Usage: run.sh [ROWS]   (default 200000). BUILD: the build directory (default ./build);
# ROUNDS=n (default 3). SLUICE_BASE=path/to/sluice adds a third side to the sync rounds, another
# binary (main's build, an A/B in the same rounds; the two Sluice sides swap places every other
# round), printed with its own best and ratio, and drains the streaming backlog a second time
# with it (a second slot made with the first). SYNC_EXTRA='"key": "value", …' adds settings to
# the timed syncs' configuration (BASE_EXTRA for the base side), KCAT_EXTRA='-X k=v …' to kcat's
# (a librdkafka setting given to Sluice goes to the reference too); STREAMING=0 skips the
# streaming part. Starts its own servers and stops everything it started on exit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init kafka
ROWS=${1:-200000}
rounds=${ROUNDS:-3}
bench_servers_up
WORK=$BENCH_WORK
B=$TGT_KAFKA
export PGHOST=$SRC_PG_HOST PGPORT=$SRC_PG_PORT PGUSER=$SRC_PG_USER
DB=kbench
P=kb
# Messages now in a topic (sum of the partitions' end offsets).
count() {
  local args=() p
  for p in 0 1 2 3; do args+=(-t "$1:$p:-1"); done
  kcat -b "$B" -Q "${args[@]}" 2>/dev/null | awk '{ s += $NF } END { print s + 0 }'
}

psql -qX -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -qX -d "$DB" -c "CREATE TABLE t (id bigint PRIMARY KEY, name text, amount numeric(12,2), created timestamp);
  INSERT INTO t SELECT i, 'customer ' || i || ' with a longer name', (i * 1.25)::numeric(12,2),
  '2024-01-01'::timestamp + i * interval '1.5 second' FROM generate_series(1, $ROWS) i; ANALYZE t"
echo "rows: $ROWS, load $(bench_load)"

cfg() {  # cfg NAME PREFIX MODE [EXTRA]
  cat <<JSON
{"name": "$1", "connector.class": "postgres", "database.hostname": "$PGHOST",
 "database.port": "$PGPORT", "database.user": "$PGUSER", "database.dbname": "$DB",
 "slot.name": "$1", "publication.name": "${P}_pub", "snapshot.mode": "$3",
 "topic.prefix": "$2", "sink.type": "kafka", "sink.kafka.bootstrap.servers": "$B",
 "sink.kafka.linger.ms": "20"${4:+, $4}}
JSON
}
cd "$WORK"

# --- sync ---------------------------------------------------------------------------------------
# The reference's input: the records of an untimed first sync, key TAB value per line (JSON
# escapes every tab and newline inside a string, so neither occurs raw in a key or a value).
# The test broker keeps only about 5 MB per partition (librdkafka's mock cluster drops the
# oldest records beyond that), so the records are read while the sync writes them: the topic
# is created first, and a consumer polling every 5 ms reads it from offset 0. An offset that
# falls out of the log before it is read fails the run (auto.offset.reset=error).
# The reader can still fall behind on a busy machine (seen once at 1 M rows: 988,196 read):
# the render is retried, up to 3 times, on a fresh topic; a short or duplicated read fails it.
render_once() {  # render_once ATTEMPT: 0 when records.tsv holds ROWS records with distinct keys
  local topic=$P.render$1 reader i
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(("create " + sys.argv[2] + " 4\n").encode()); reply = s.recv(200).decode()
sys.exit(0 if reply.startswith("ok") else "cannot create the topic: " + reply)' \
    "$(grep '^SLUICE_TEST_KAFKA_CONTROL=' "$BENCH_WORK/tgt/servers.env" | cut -d= -f2-)" \
    "$topic.public.t"
  timeout 600 kcat -b "$B" -C -o beginning -c "$ROWS" -q -t "$topic.public.t" -f '%k\t%s\n' \
    -X fetch.wait.max.ms=5 -X fetch.error.backoff.ms=5 -X fetch.max.bytes=104857600 \
    -X max.partition.fetch.bytes=52428800 -X auto.offset.reset=error > records.tsv &
  reader=$!
  # Untimed, so it may go slower: a flush (every delivery report awaited) every 5,000 records
  # keeps it from running more than the broker's window ahead of the reader.
  cfg "${P}_render$1" "$topic" initial_only | sed 's/}$/, "sink.batch.size": "5000"}/' > render.json
  "$BENCH_SLUICE" sync render.json > render.log 2>&1 || { tail -5 render.log >&2; exit 1; }
  # Once the sync is done the reader has its records within seconds; one the test broker
  # dropped before it was read would otherwise hold the run for the whole 600 s timeout (seen
  # on a loaded machine): 60 s at most.
  for ((i = 0; i < 600; i++)); do kill -0 "$reader" 2>/dev/null || break; sleep 0.1; done
  kill "$reader" 2>/dev/null || true
  if ! wait "$reader"; then
    echo "attempt $1: reading the pre-rendered records failed: $(wc -l < records.tsv) of $ROWS" >&2
    return 1
  fi
  [[ $(wc -l < records.tsv) == "$ROWS" && $(cut -f1 records.tsv | sort -u | wc -l) == "$ROWS" ]] ||
    { echo "attempt $1: pre-rendered $(wc -l < records.tsv) records, expected $ROWS distinct" \
        "keys" >&2; return 1; }
}
for attempt in 1 2 3; do
  render_once "$attempt" && break
  ((attempt < 3)) || exit 1
done
t_run= t_cpu= sluice_best= sluice_cpu= sluice_rss= kcat_best= base_best=
run_kcat() {
  local topic=$P.ref$1 t0
  t0=$(bench_now)
  # shellcheck disable=SC2086  # KCAT_EXTRA: -X options, word-split on purpose
  kcat -b "$B" -P -t "$topic" -K $'\t' -X partitioner=murmur2_random -X enable.idempotence=true \
    -X acks=all -X linger.ms=20 ${KCAT_EXTRA:-} < records.tsv
  t_run=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
  [[ $(count "$topic") == "$ROWS" ]] || { echo "kcat wrote $(count "$topic") records to $topic" >&2; exit 1; }
}
run_sluice() {  # run_sluice ROUND [base]
  local wall user sys rss bin=$BENCH_SLUICE extra=${SYNC_EXTRA:-} name=${P}_sync$1${2:+_base}
  [[ -z ${2:-} ]] || bin=$SLUICE_BASE extra=${BASE_EXTRA:-}
  cfg "$name" "$name" initial_only "$extra" > sync.json
  bench_timed sync.time "$bin" sync sync.json > sync.log 2>&1 || { tail -5 sync.log >&2; exit 1; }
  read -r wall user sys rss < sync.time
  t_run=$wall
  t_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
  if [[ -z ${2:-} ]] && [[ -z $sluice_best || $(bench_best "$wall" "$sluice_best") == "$wall" ]]; then
    sluice_cpu=$t_cpu
    sluice_rss=$rss
  fi
  [[ $(count "$name.public.t") == "$ROWS" ]] || { echo "sluice wrote $(count "$name.public.t") records" >&2; exit 1; }
}
sides=(kcat sluice)
[[ -z ${SLUICE_BASE:-} ]] || { SLUICE_BASE=$(realpath "$SLUICE_BASE"); sides+=(base); }
for round in $(seq 1 "$rounds"); do
  bench_round_order order "$round" "${sides[@]}"
  line="  round $round:"
  for side in "${order[@]}"; do
    case $side in
      kcat) run_kcat "$round"; kcat_best=$(bench_best "$t_run" "$kcat_best"); line+=" kcat -P ${t_run:0:5} s," ;;
      sluice) run_sluice "$round"; sluice_best=$(bench_best "$t_run" "$sluice_best"); line+=" sluice sync ${t_run:0:5} s (CPU ${t_cpu:0:5} s)," ;;
      base) run_sluice "$round" base; base_best=$(bench_best "$t_run" "$base_best"); line+=" base ${t_run:0:5} s (CPU ${t_cpu:0:5} s)," ;;
    esac
  done
  echo "$line load $(bench_load)"
done
printf 'sync PG -> Kafka, %s records, best of %s: kcat -P of the pre-rendered records %.2f s, sluice sync %.2f s\n' \
  "$ROWS" "$rounds" "$kcat_best" "$sluice_best"
echo "  sluice vs kcat -P: $(bench_ratio "$kcat_best" "$sluice_best")x (goal >= 0.9x)   sluice CPU $(awk -v c="$sluice_cpu" -v r="$ROWS" 'BEGIN { printf "%.2f", c * 1000000 / r }') s per M rows, peak RSS $((sluice_rss / 1024)) MB"
[[ -z $base_best ]] || echo "  sluice base ($SLUICE_BASE) vs kcat -P: $(bench_ratio "$kcat_best" "$base_best")x (best $base_best s)"
bench_record "PG → Kafka sync ($ROWS rows)" "kcat -P, identical records" "$kcat_best" "$sluice_best" 0.9 "$ROWS" "$sluice_cpu" "$sluice_rss"
[[ ${STREAMING:-1} != 0 ]] || exit 0

# --- streaming: both slots exist before the backlog; each drains the same WAL -------------------
psql -qX -d "$DB" -c "CREATE PUBLICATION ${P}_pub FOR TABLE t" >/dev/null 2>&1 || true
psql -qX -d "$DB" -c "SELECT pg_create_logical_replication_slot('${P}_ref', 'pgoutput')" >/dev/null
stream_sides=(sluice)
[[ -z ${SLUICE_BASE:-} ]] || stream_sides+=(base)
side_bin() { if [[ $1 == sluice ]]; then echo "$BENCH_SLUICE"; else echo "$SLUICE_BASE"; fi; }
for side in "${stream_sides[@]}"; do  # each side's slot exists before the backlog
  bin=$(side_bin "$side")
  cfg "${P}_stream_$side" "$P.stream_$side" never > "stream_$side.json"
  "$bin" run "stream_$side.json" > "stream_$side.log" 2>&1 &
  pid=$!
  bench_on_exit "kill -9 $pid"
  sleep 3
  kill -TERM "$pid"; wait "$pid" || true
done
for ((i = 0; i < 20; i++)); do
  psql -qX -d "$DB" -c "UPDATE t SET amount = amount + 1 WHERE id % 20 = $i" >/dev/null
done
END_LSN=$(psql -qXAt -d "$DB" -c "SELECT pg_current_wal_lsn()")
bench_settle
t0=$(bench_now)
pg_recvlogical -d "$DB" --slot "${P}_ref" --start -E "$END_LSN" -o proto_version=1 \
  -o publication_names="${P}_pub" -f /dev/null
rl_secs=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
echo "stream:   pg_recvlogical drain  $(awk -v r="$ROWS" -v s="$rl_secs" 'BEGIN { printf "%.0f", r / s }') changes/s (${rl_secs:0:5} s)"
for side in "${stream_sides[@]}"; do
  bin=$(side_bin "$side")
  bench_settle
  t0=$(bench_now)
  /usr/bin/time -o stream2.time -f '%e %U %S %M' "$bin" run "stream_$side.json" > stream2.log 2>&1 &
  pid=$!
  bench_on_exit "pkill -9 -P $pid"
  while (( $(count "$P.stream_$side.public.t") < ROWS )); do
    kill -0 "$pid" 2>/dev/null || { echo "sluice run exited:"; tail -5 stream2.log; exit 1; }
    sleep 0.05
  done
  secs=$(awk -v a="$(bench_now)" -v b="$t0" 'BEGIN { print a - b }')
  pkill -TERM -P "$pid" || true
  wait "$pid" || true
  read -r _ user sys rss < stream2.time
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
  [[ $side == sluice ]] || { echo "stream:   base ($SLUICE_BASE)  $(awk -v r="$ROWS" -v s="$secs" 'BEGIN { printf "%.0f", r / s }') changes/s (${secs:0:5} s, CPU $cpu s)   ratio $(bench_ratio "$rl_secs" "$secs")x, load $(bench_load)"; continue; }
  st_secs=$secs st_rss=$rss st_cpu=$cpu
  echo "stream:   sluice run PG->Kafka  $(awk -v r="$ROWS" -v s="$st_secs" 'BEGIN { printf "%.0f", r / s }') changes/s (${st_secs:0:5} s, CPU $cpu s)   ratio $(bench_ratio "$rl_secs" "$st_secs")x (goal >= 0.9x), load $(bench_load)"
done
bench_record "PG → Kafka streaming drain ($ROWS changes)" "pg_recvlogical to /dev/null" "$rl_secs" "$st_secs" 0.9 "$ROWS" "$st_cpu" "$st_rss"
psql -qX -d "$DB" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '${P}_%' AND NOT active" >/dev/null 2>&1 || true
