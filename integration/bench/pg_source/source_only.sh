#!/usr/bin/env bash
# The PostgreSQL source alone (no sink: pg_source_bench counts and drops the events), on the
# same data in one run, so the figures are the connector's own rates:
#   1. snapshot of a pgbench database (scale SCALE: 100,000 accounts per unit): COPY ... TO STDOUT
#      of every table into /dev/null, one after another (reference), vs pg_source_bench snapshot
#      (snapshot.mode=initial_only: parallel COPY decoded into batches); goal >= 0.8x.
#   2. streaming decode of a backlog (100,000 x SCALE inserts in one transaction, then TXNS pgbench
#      transactions), each reader on its own slot over the same WAL: pg_recvlogical (pgoutput,
#      proto_version 1) into /dev/null (reference) vs pg_source_bench stream; goal >= 0.9x.
# run.sh measures `sluice run` end to end into the file sink instead.
#
# usage: set -a; . DIR/servers.env; set +a
#        BENCH_BIN=$PWD/build/integration/bench/pg_source/pg_source_bench \
#        integration/bench/pg_source/source_only.sh [SCALE] [TXNS]     (defaults 5 and 10000)
set -euo pipefail
scale=${1:-5}
txns=${2:-10000}
: "${SLUICE_TEST_PG_HOST:?source servers.env}" "${BENCH_BIN:?}"
export PGHOST=$SLUICE_TEST_PG_HOST PGPORT=$SLUICE_TEST_PG_PORT PGUSER=$SLUICE_TEST_PG_USER
db=bench_pgsrc_only_$$
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
sql() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$db" -c "$1"; }
cleanup() {
  psql -X -q -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '$db'" > /dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== setup: pgbench scale $scale"
psql -X -q -d postgres -c "CREATE DATABASE $db"
pgbench -i -q -s "$scale" "$db" > /dev/null 2>&1
sql "VACUUM ANALYZE"
tables=$(sql "SELECT string_agg(quote_ident(relname), ' ') FROM pg_class WHERE relkind = 'r' AND relname LIKE 'pgbench_%'")
echo "tables: $tables ($(sql "SELECT sum(n_live_tup) FROM pg_stat_user_tables") rows, $(sql "SELECT pg_size_pretty(pg_database_size('$db'))"))"

echo "== 1. snapshot"
t0=$(now)
for t in $tables; do psql -X -q -d "$db" -c "COPY $t TO STDOUT" > /dev/null; done
t1=$(now); ref=$(elapsed "$t0" "$t1")
echo "COPY ... TO STDOUT > /dev/null: ${ref} s"
out=$("$BENCH_BIN" snapshot "$db"); echo "source alone: $out"
alone=$(echo "$out" | sed -n 's/^seconds=\([0-9.]*\).*/\1/p')
echo "RESULT snapshot, source alone: $(ratio "$ref" "$alone")x COPY TO /dev/null (goal >= 0.8x)"

echo "== 2. streaming decode"
sql "CREATE PUBLICATION bench_pub FOR ALL TABLES"
sql "SELECT pg_create_logical_replication_slot('bench_recv', 'pgoutput')" > /dev/null
sql "SELECT pg_create_logical_replication_slot('bench_sluice', 'pgoutput')" > /dev/null
sql "CREATE TABLE bench_marker (id int PRIMARY KEY)"
sql "INSERT INTO pgbench_accounts SELECT aid + 100000 * $scale, bid, 0, '' FROM pgbench_accounts"
pgbench -n -t "$txns" -c 1 "$db" > /dev/null 2>&1
end=$(sql "SELECT pg_current_wal_lsn()")
sql "INSERT INTO bench_marker VALUES (1)"
echo "backlog: $(sql "SELECT pg_size_pretty(pg_current_wal_lsn() - confirmed_flush_lsn) FROM pg_replication_slots WHERE slot_name = 'bench_recv'") of WAL"
t0=$(now)
/usr/bin/time -f "pg_recvlogical cpu_user=%U cpu_sys=%S" pg_recvlogical -d "$db" -S bench_recv --start --endpos="$end" --no-loop -o proto_version=1 \
  -o publication_names=bench_pub -f /dev/null
t1=$(now); ref=$(elapsed "$t0" "$t1")
echo "pg_recvlogical -> /dev/null: ${ref} s"
out=$(/usr/bin/time -f "cpu_user=%U cpu_sys=%S" "$BENCH_BIN" stream "$db" bench_sluice bench_pub "$end"); echo "source alone: $out"
ours=$(echo "$out" | sed -n 's/^seconds=\([0-9.]*\).*/\1/p')
echo "RESULT streaming decode, source alone: $(ratio "$ref" "$ours")x pg_recvlogical (goal >= 0.9x)"
