#!/usr/bin/env bash
# PostgreSQL source benchmark (not a test), each figure a ratio against a reference measured in
# the same run:
#   snapshot: sluice (snapshot.mode=initial_only, file sink) vs COPY … TO STDOUT > /dev/null
#   stream:   decoding a pgbench backlog: sluice (file sink) vs pg_recvlogical (pgoutput)
# Usage: run.sh [rows=1000000] [pgbench_transactions=20000]
# Uses the server of $SLUICE_TEST_PG_* when exported, else starts its own
# (integration/bench/lib.sh) and stops it on exit. SLUICE_BIN defaults to BUILD's sluice.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=integration/bench/lib.sh
source "$here/../lib.sh"
bench_init pg_source
rows=${1:-1000000}
txns=${2:-20000}
SLUICE_BIN=${SLUICE_BIN:-$BENCH_SLUICE}
if [[ -z ${SLUICE_TEST_PG_HOST:-} ]]; then
  bench_servers_up
  SLUICE_TEST_PG_HOST=$SRC_PG_HOST SLUICE_TEST_PG_PORT=$SRC_PG_PORT SLUICE_TEST_PG_USER=$SRC_PG_USER
fi
bin=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
export PGHOST=$SLUICE_TEST_PG_HOST PGPORT=$SLUICE_TEST_PG_PORT PGUSER=$SLUICE_TEST_PG_USER
db=bench_pgsrc_$$
work=$BENCH_WORK
bench_on_exit "psql -X -q -d postgres -c \"DROP DATABASE IF EXISTS $db WITH (FORCE)\""
bench_on_exit "psql -X -q -d postgres -c \"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '$db' AND NOT active\""
psql -X -q -d postgres -c "CREATE DATABASE $db"
psql -X -q -d "$db" -c "CREATE TABLE t (id bigint PRIMARY KEY, name text, qty int, amount numeric(12,2), ts timestamptz);
  INSERT INTO t SELECT i, 'name ' || i, i % 1000, i * 1.25, now() FROM generate_series(1, $rows) i"
psql -X -q -d "$db" -c "VACUUM ANALYZE t"
now() { date +%s.%N; }
config() {  # mode outdir slot
  cat <<JSON
{"name":"bench","connector.class":"postgres","database.hostname":"$PGHOST","database.port":"$PGPORT",
 "database.user":"$PGUSER","database.dbname":"$db","snapshot.mode":"$1","slot.name":"$3",
 "publication.name":"bench_pub","sink.type":"file","sink.url":"$2","sink.file.fsync":"false",
 "sink.batch.size":"20000","table.include.list":"$4"}
JSON
}
min() { awk -v m="$1" -v d="$2" 'BEGIN { print (m == "" || d < m) ? d : m }'; }
config initial_only "$work/snap" bench_snap public.t > "$work/snap.json"
# Best of three runs each, alternating, so that a burst of load on a shared machine (or the
# page cache absorbing the previous run's output) does not decide the ratio. Each sluice run
# starts from scratch: no slot, no state, no output.
copy_s= sluice_s=
for _ in 1 2 3; do
  t0=$(now); psql -X -q -d "$db" -c "COPY t TO STDOUT" > /dev/null; t1=$(now)
  copy_s=$(min "$copy_s" "$(echo "$t1 - $t0" | bc)")
  psql -X -q -d "$db" -c "SELECT pg_drop_replication_slot('bench_snap') FROM pg_replication_slots WHERE slot_name = 'bench_snap'" >/dev/null
  rm -rf "$work/snap" "$work"/sluice.db* "$work"/*.db "$work"/*.db-*
  t0=$(now); (cd "$work" && "$SLUICE_BIN" run snap.json > snap.log 2>&1); t1=$(now)
  sluice_s=$(min "$sluice_s" "$(echo "$t1 - $t0" | bc)")
done
echo "snapshot of $rows rows: COPY TO /dev/null ${copy_s}s, sluice ${sluice_s}s, ratio (COPY/sluice) $(echo "scale=2; $copy_s / $sluice_s" | bc), load $(cut -d' ' -f1 /proc/loadavg)"
bench_record "PG source snapshot ($rows rows, file sink)" "COPY TO /dev/null" "$copy_s" "$sluice_s" null "$rows"

# Streaming backlog: one pgbench run, decoded three times by each side, each time from its own
# slot created before the backlog (so every run decodes exactly the same WAL), in the order
# recv sluice sluice recv recv sluice so that neither side always runs on a cold cache; best of
# three compared. Sluice is done when its slot's confirmed_flush_lsn reaches the backlog's end:
# it confirms only what the file sink has flushed. One session polls the slot inside the server
# every 10 ms (a psql per poll, or counting lines in the output files, takes CPU from both).
pgbench -q -i -s 1 "$db" >/dev/null 2>&1
psql -X -q -d "$db" -c "CREATE PUBLICATION bench_pub2 FOR TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history"
for i in 1 2 3; do
  psql -X -q -d "$db" -c "SELECT pg_create_logical_replication_slot('bench_recv$i', 'pgoutput')" >/dev/null
  psql -X -q -d "$db" -c "SELECT pg_create_logical_replication_slot('bench_sluice$i', 'pgoutput')" >/dev/null
done
pgbench -n -t "$txns" -c 1 "$db" >/dev/null 2>&1
end=$(psql -X -A -t -d "$db" -c "SELECT pg_current_wal_lsn()")
psql -X -q -d "$db" -c "CHECKPOINT"
recv_s= sluice_stream_s=
run_recv() {
  local t0 t1
  t0=$(now)
  "$bin/pg_recvlogical" -d "$db" -S "bench_recv$1" --start -o proto_version=1 -o publication_names=bench_pub2 -E "$end" -f /dev/null
  t1=$(now)
  recv_s=$(min "$recv_s" "$(echo "$t1 - $t0" | bc)")
}
run_sluice() {
  local t0 t1 spid
  rm -rf "$work/stream" "$work"/sluice.db* "$work"/*.db "$work"/*.db-*
  config never "$work/stream" "bench_sluice$1" 'public.pgbench_.*' | sed 's/"publication.name":"bench_pub"/"publication.name":"bench_pub2"/' > "$work/stream.json"
  t0=$(now)
  (cd "$work" && exec "$SLUICE_BIN" run stream.json > stream.log 2>&1) &
  spid=$!
  psql -X -q -d "$db" -c "DO \$\$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'bench_sluice$1' AND confirmed_flush_lsn >= '$end') LOOP PERFORM pg_sleep(0.01); END LOOP; END \$\$"
  t1=$(now)
  kill -TERM "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  local got
  got=$(cat "$work"/stream/*.jsonl | wc -l)
  [[ $got -ge $((txns * 4)) ]] || { echo "sluice wrote $got events, expected $((txns * 4))" >&2; exit 1; }
  sluice_stream_s=$(min "$sluice_stream_s" "$(echo "$t1 - $t0" | bc)")
}
run_recv 1; run_sluice 1; run_sluice 2; run_recv 2; run_recv 3; run_sluice 3
echo "stream backlog of $txns pgbench transactions ($((txns * 4)) changes), best of 3: pg_recvlogical ${recv_s}s, sluice ${sluice_stream_s}s, ratio (recvlogical/sluice) $(echo "scale=2; $recv_s / $sluice_stream_s" | bc), load $(cut -d' ' -f1 /proc/loadavg)"
bench_record "PG source stream decode ($txns txns, file sink)" "pg_recvlogical" "$recv_s" "$sluice_stream_s" null $((txns * 4))
psql -X -q -d "$db" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench_recv_' OR slot_name LIKE 'bench_sluice_'" >/dev/null 2>&1 || true
